import type { LoopStatus } from '@signals/core';
import type { PrismaClient } from './generated/client.ts';
import { loopHealth } from './repos/loops.ts';

/** The part of an ioredis connection a health check needs. */
export interface PingableRedis {
  status: string;
  ping(): Promise<string>;
  once(event: 'ready', listener: () => void): unknown;
}

export interface CheckResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

async function timed(fn: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - t0) };
  } catch (err) {
    return { ok: false, latencyMs: Math.round(performance.now() - t0), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Postgres and Redis, each with a short timeout so a hung dependency makes /healthz 503, not hang. */
export async function checkHealth(deps: { prisma: PrismaClient; redis: PingableRedis }, timeoutMs = 2000) {
  const [postgres, redis] = await Promise.all([
    timed(() => deps.prisma.$queryRaw`SELECT 1`, timeoutMs),
    timed(async () => {
      // A fail-fast producer connection refuses commands until it is ready: wait for that first.
      if (deps.redis.status !== 'ready')
        await new Promise<void>((resolve) => deps.redis.once('ready', () => resolve()));
      return deps.redis.ping();
    }, timeoutMs),
  ]);
  return { ok: postgres.ok && redis.ok, checks: { postgres, redis } };
}

/**
 * What /healthz answers, on the server and on each worker: Postgres, Redis and the loops. Not ok
 * when a dependency does not answer or a loop is overdue; `overdue` names the loops.
 */
export async function serviceHealth(
  deps: {
    prisma: PrismaClient;
    redis: PingableRedis;
    /** The loops to judge, already judged (loopStatus with the process's settings, maybe filtered). */
    statuses: () => Promise<LoopStatus[]>;
  },
  timeoutMs = 2000,
) {
  // One after the other: on a cold connection pool the loop queries would queue the Postgres
  // check behind them. Loops are judged only when Postgres answers; if they cannot be judged in
  // time the answer is 503 (a watchdog that cannot see the loops must not say they are fine).
  const base = await checkHealth(deps, timeoutMs);
  let judged: LoopStatus[] = [];
  let loopsCheck: CheckResult = { ok: false, latencyMs: 0, error: 'not judged: Postgres did not answer' };
  if (base.checks.postgres.ok) {
    loopsCheck = await timed(async () => {
      judged = await deps.statuses();
    }, timeoutMs);
  }
  const loops = loopHealth(judged);
  const ok = base.ok && loopsCheck.ok && loops.ok;
  return {
    ok,
    status: ok ? 'ok' : 'unavailable',
    overdue: loops.overdue,
    checks: { ...base.checks, loops: loopsCheck },
    loops: loops.loops,
  };
}
