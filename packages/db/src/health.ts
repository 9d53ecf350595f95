import type { PrismaClient } from './generated/client.ts';

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
