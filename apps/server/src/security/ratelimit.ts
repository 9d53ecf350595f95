/**
 * Fixed-window counters in Redis (INCR + PEXPIRE in one MULTI), shared by every server process.
 * Used for login attempts (per IP and per email) and the public subscribe forms.
 */
import type { RedisConnection } from '@signals/queue';
import { createHash } from 'node:crypto';
import { HttpProblem } from '../problem.ts';

export interface Limit {
  /** Key part after the prefix, e.g. `login:ip:1.2.3.4`. Hash personal data before passing it. */
  key: string;
  max: number;
  windowSec: number;
}

export interface RateLimiter {
  /** Counts one hit on every limit; the first limit exceeded, or null. */
  hit(limits: Limit[]): Promise<{ limit: Limit; retryAfterSec: number } | null>;
  /** Clears limits (after a successful login). */
  reset(keys: string[]): Promise<void>;
}

export function keyOf(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 24);
}

export function createRateLimiter(redis: RedisConnection, prefix: string): RateLimiter {
  return {
    async hit(limits) {
      const multi = redis.multi();
      for (const l of limits) {
        multi.incr(`${prefix}rl:${l.key}`);
        multi.pexpire(`${prefix}rl:${l.key}`, l.windowSec * 1000, 'NX');
        multi.pttl(`${prefix}rl:${l.key}`);
      }
      const res = (await multi.exec()) ?? [];
      for (let i = 0; i < limits.length; i++) {
        const count = Number(res[i * 3]?.[1] ?? 0);
        const ttl = Number(res[i * 3 + 2]?.[1] ?? 0);
        const l = limits[i] as Limit;
        if (count > l.max) return { limit: l, retryAfterSec: Math.max(1, Math.ceil(ttl / 1000)) };
      }
      return null;
    },
    async reset(keys) {
      if (keys.length) await redis.del(...keys.map((k) => `${prefix}rl:${k}`));
    },
  };
}

/** Throws a 429 problem when a limit is exceeded. */
export async function enforce(rl: RateLimiter, limits: Limit[], what = 'Too many requests'): Promise<void> {
  const over = await rl.hit(limits);
  if (over) {
    throw new HttpProblem(
      429,
      what,
      { detail: `try again in ${over.retryAfterSec} s` },
      { 'retry-after': String(over.retryAfterSec) },
    );
  }
}
