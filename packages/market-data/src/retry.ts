import { DomainError, SourceUnavailableError } from '@signals/core';

export interface RetryOptions {
  /** Attempts in all, the first included (default 3). */
  attempts?: number;
  /** First backoff step (default 500 ms); doubles each retry. */
  baseDelayMs?: number;
  /** Ceiling for one wait, Retry-After included (default 10 s). */
  maxDelayMs?: number;
  /** Waits; tests may pass a fast one. Default: setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1) (default Math.random). */
  random?: () => number;
}

export const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Exponential backoff with "full jitter" (AWS architecture blog): wait a random time in
 * [0, min(max, base * 2^n)], but at least the server's Retry-After when it sent one.
 */
export function backoffDelay(
  attempt: number,
  err: unknown,
  o: Required<Omit<RetryOptions, 'sleep' | 'attempts'>>,
): number {
  const cap = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** attempt);
  const jittered = Math.floor(o.random() * cap);
  const retryAfter = err instanceof SourceUnavailableError ? (err.retryAfterMs ?? 0) : 0;
  return Math.min(o.maxDelayMs, Math.max(jittered, retryAfter));
}

/** Retries `fn` while it throws a retryable DomainError for which `shouldRetry` agrees. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions = {},
  shouldRetry: (err: unknown) => boolean = (e) => e instanceof DomainError && e.retryable,
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 3);
  const o = {
    baseDelayMs: opts.baseDelayMs ?? 500,
    maxDelayMs: opts.maxDelayMs ?? 10_000,
    random: opts.random ?? Math.random,
  };
  const sleep = opts.sleep ?? defaultSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt + 1 >= attempts || !shouldRetry(err)) throw err;
      const delay = backoffDelay(attempt, err, o);
      onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}
