/**
 * Fixed-window counters in Redis, shared by every server process. Keys live under the configured
 * QUEUE_PREFIX (`<prefix>:rl:<key>`), next to the queues, so one prefix names everything this
 * deployment keeps in Redis. Each counter is one key in its own MULTI (INCR + PEXPIRE NX + PTTL):
 * no command spans two keys, so the limiter works on Redis Cluster whatever the prefix's hash tag.
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
  /** Current count of a key (0 when absent): for slow-downs that never refuse. */
  count(key: string): Promise<number>;
  /** Clears limits (after a successful login). */
  reset(keys: string[]): Promise<void>;
}

export function keyOf(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 24);
}

/** The part of an ioredis connection (single node or Cluster) the limiter uses. */
export type LimiterRedis = Pick<RedisConnection, 'multi' | 'get' | 'del'>;

/** The Redis key of a limit: `<QUEUE_PREFIX>:rl:<key>`. */
export function rateLimitKey(prefix: string, key: string): string {
  return `${prefix}:rl:${key}`;
}

export function createRateLimiter(redis: LimiterRedis, prefix: string): RateLimiter {
  const k = (key: string) => rateLimitKey(prefix, key);
  return {
    async hit(limits) {
      const results = await Promise.all(
        limits.map((l) =>
          redis
            .multi()
            .incr(k(l.key))
            .pexpire(k(l.key), l.windowSec * 1000, 'NX')
            .pttl(k(l.key))
            .exec(),
        ),
      );
      for (const [i, res] of results.entries()) {
        const count = Number(res?.[0]?.[1] ?? 0);
        const ttl = Number(res?.[2]?.[1] ?? 0);
        const l = limits[i] as Limit;
        if (count > l.max) return { limit: l, retryAfterSec: Math.max(1, Math.ceil(ttl / 1000)) };
      }
      return null;
    },
    async count(key) {
      return Number((await redis.get(k(key))) ?? 0);
    },
    async reset(keys) {
      // One DEL per key: on a Cluster the keys may sit on different slots.
      await Promise.all(keys.map((key) => redis.del(k(key))));
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
