import { createHash } from 'node:crypto';
import { type Clock, SourceUnavailableError, systemClock } from '@signals/core';
import type { Cluster, Redis } from 'ioredis';

/** The request budget ran out for this window: no request was sent. Not a source failure. */
export class BudgetExhaustedError extends SourceUnavailableError {
  constructor(source: string, limit: number, windowMs: number, retryAfterMs: number) {
    super(source, `request budget exhausted (${limit} per ${windowMs} ms); next window in ${retryAfterMs} ms`, {
      retryAfterMs,
    });
  }
}

/** A shared budget of outgoing requests: every worker asks it before each request to the vendor. */
export interface RequestBudget {
  /** Takes one request from the budget or throws BudgetExhaustedError. */
  take(): Promise<void>;
}

export interface RedisRequestBudgetOptions {
  /** One Redis or a Redis Cluster (the window's one key decides the node). */
  redis: Redis | Cluster;
  /** Key prefix (per deployment, per test). */
  prefix: string;
  /** Source name ("yahoo"), part of the key and of error messages. */
  source?: string;
  /** Requests allowed per window, across all processes sharing `prefix`. */
  limit: number;
  /** Window length (default 60 s). */
  windowMs?: number;
  clock?: Clock;
}

// Fixed window: one counter per window index. INCR and the first PEXPIRE run atomically; past the
// limit the counter is given back so a burst of refusals does not inflate it.
const TAKE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return n
`;
const TAKE_SHA = createHash('sha1').update(TAKE).digest('hex');

/** Fixed-window request budget in Redis, shared by every worker that uses the same prefix. */
export class RedisRequestBudget implements RequestBudget {
  private readonly o: Required<Omit<RedisRequestBudgetOptions, 'clock'>> & { clock: Clock };

  constructor(opts: RedisRequestBudgetOptions) {
    this.o = { source: 'yahoo', windowMs: 60_000, clock: systemClock, ...opts };
  }

  private key(now: number): string {
    return `${this.o.prefix}:budget:${this.o.source}:${Math.floor(now / this.o.windowMs)}`;
  }

  private async run(key: string): Promise<number> {
    const args = [String(this.o.limit), String(this.o.windowMs * 2)];
    // EVALSHA, and EVAL where the node does not know the script yet (which caches it there). Both
    // go to the node owning `key`; SCRIPT LOAD would go to any node of a cluster.
    try {
      return Number(await this.o.redis.evalsha(TAKE_SHA, 1, key, ...args));
    } catch (e) {
      if (!String(e).includes('NOSCRIPT')) throw e;
    }
    return Number(await this.o.redis.eval(TAKE, 1, key, ...args));
  }

  async take(): Promise<void> {
    const now = this.o.clock.now().getTime();
    const n = await this.run(this.key(now));
    if (n === 0) {
      const retryAfter = this.o.windowMs - (now % this.o.windowMs);
      throw new BudgetExhaustedError(this.o.source, this.o.limit, this.o.windowMs, retryAfter);
    }
  }

  /** Requests taken in the current window (for metrics and tests). */
  async used(): Promise<number> {
    const v = await this.o.redis.get(this.key(this.o.clock.now().getTime()));
    return v ? Number(v) : 0;
  }
}
