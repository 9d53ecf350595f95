/**
 * When to try a delivery again. Pure: the random source is a parameter.
 *
 * The default schedule is Svix's: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
 * (8 attempts over about 27.6 hours). Tests pass a compressed schedule.
 */

export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  0,
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

/** Svix disables an endpoint after 5 days of continuous failure. */
export const DEFAULT_DISABLE_AFTER_MS = 5 * 24 * 3_600_000;

export interface DelayOptions {
  /** Spread each delay by up to ±jitter (a fraction; default 0.1) so retries do not stampede. */
  jitter?: number;
  /** Source of randomness in [0, 1) (default Math.random). */
  random?: () => number;
  /** A Retry-After longer than this is cut to it (default 24 h): a receiver cannot park a delivery forever. */
  maxRetryAfterMs?: number;
}

/**
 * Delay before the next attempt, or null when the schedule is used up (the delivery is dead).
 *
 * @param attemptsMade attempts already made (0 before the first one).
 * @param schedule delay before attempt i (0-based); its length is the number of attempts.
 * @param retryAfterMs the receiver's Retry-After: the next attempt is never earlier than it.
 */
export function nextAttemptDelay(
  attemptsMade: number,
  schedule: readonly number[] = DEFAULT_RETRY_SCHEDULE_MS,
  retryAfterMs?: number,
  options: DelayOptions = {},
): number | null {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 0) {
    throw new RangeError('nextAttemptDelay: attemptsMade must be a non-negative integer');
  }
  const base = schedule[attemptsMade];
  if (base === undefined) return null;
  const jitter = Math.min(Math.max(options.jitter ?? 0.1, 0), 1);
  const random = options.random ?? Math.random;
  const spread = base > 0 ? base * jitter * (2 * random() - 1) : 0;
  const delay = Math.max(0, Math.round(base + spread));
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs <= 0) return delay;
  const cap = options.maxRetryAfterMs ?? 24 * 3_600_000;
  return Math.max(delay, Math.round(Math.min(retryAfterMs, cap)));
}

/**
 * Retry-After in milliseconds from now: delay-seconds (`120`) or an HTTP-date. Undefined when
 * absent or unreadable; 0 for a date in the past.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: Date): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) {
    const seconds = Number(v);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
  }
  // An HTTP-date names a weekday and a month; Date.parse would also accept "-5" or "2025".
  if (!/[A-Za-z]/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

/** True once an endpoint has failed without a single success for `disableAfterMs` (default 5 days). */
export function shouldDisableEndpoint(
  failingSince: Date | null | undefined,
  now: Date,
  disableAfterMs = DEFAULT_DISABLE_AFTER_MS,
): boolean {
  return !!failingSince && now.getTime() - failingSince.getTime() >= disableAfterMs;
}
