import { DEFAULT_RETRY_SCHEDULE_MS, nextAttemptDelay, parseRetryAfter, shouldDisableEndpoint } from '@signals/notify';
import { describe, expect, it } from 'vitest';

const middle = () => 0.5; // no jitter
const H = 3_600_000;

describe('retry schedule', () => {
  it('defaults to the Svix schedule', () => {
    expect(DEFAULT_RETRY_SCHEDULE_MS).toEqual([0, 5_000, 300_000, 1_800_000, 2 * H, 5 * H, 10 * H, 10 * H]);
    const delays = DEFAULT_RETRY_SCHEDULE_MS.map((_, i) =>
      nextAttemptDelay(i, undefined, undefined, { random: middle }),
    );
    expect(delays).toEqual([...DEFAULT_RETRY_SCHEDULE_MS]);
    expect(nextAttemptDelay(DEFAULT_RETRY_SCHEDULE_MS.length)).toBeNull();
  });

  it('jitters within the configured spread, never the immediate first attempt', () => {
    expect(nextAttemptDelay(1, undefined, undefined, { random: () => 0 })).toBe(4_500);
    expect(nextAttemptDelay(1, undefined, undefined, { random: () => 0.999999 })).toBe(5_500);
    expect(nextAttemptDelay(2, undefined, undefined, { random: () => 0, jitter: 0.5 })).toBe(150_000);
    expect(nextAttemptDelay(0, undefined, undefined, { random: () => 0 })).toBe(0);
  });

  it('takes a compressed schedule', () => {
    const schedule = [0, 10, 20];
    expect([0, 1, 2, 3].map((i) => nextAttemptDelay(i, schedule, undefined, { jitter: 0 }))).toEqual([0, 10, 20, null]);
  });

  it('never retries before Retry-After, within a cap', () => {
    expect(nextAttemptDelay(1, undefined, 120_000, { random: middle })).toBe(120_000);
    expect(nextAttemptDelay(3, undefined, 1_000, { random: middle })).toBe(1_800_000);
    expect(nextAttemptDelay(1, undefined, 365 * 24 * H, { random: middle })).toBe(24 * H);
    expect(nextAttemptDelay(1, undefined, 365 * 24 * H, { random: middle, maxRetryAfterMs: H })).toBe(H);
    expect(nextAttemptDelay(8, undefined, 1_000)).toBeNull();
    expect(() => nextAttemptDelay(-1)).toThrow(RangeError);
  });

  it('reads Retry-After as seconds or an HTTP-date', () => {
    const now = new Date('2025-01-27T21:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Mon, 27 Jan 2025 21:01:30 GMT', now)).toBe(90_000);
    expect(parseRetryAfter('Mon, 27 Jan 2025 20:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(['60', '30'], now)).toBe(60_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('disables an endpoint after five days of failure', () => {
    const now = new Date('2025-02-10T00:00:00Z');
    expect(shouldDisableEndpoint(new Date('2025-02-05T00:00:00Z'), now)).toBe(true);
    expect(shouldDisableEndpoint(new Date('2025-02-05T00:00:01Z'), now)).toBe(false);
    expect(shouldDisableEndpoint(null, now)).toBe(false);
  });
});
