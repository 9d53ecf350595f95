/**
 * Heartbeats of the loops this process runs, written to Postgres (LoopHeartbeat) where a Redis loss
 * cannot erase them. Writes are throttled per loop and process: the deliveries loop can finish
 * thousands of jobs a second, and one row update every few seconds is all liveness needs (the
 * overdue floor, 10 s, is well above the throttle). A failed write is logged, never thrown: losing
 * a heartbeat must not fail the job that earned it.
 */
import os from 'node:os';
import type { Logger, LoopId } from '@signals/core';
import { type PrismaClient, recordLoopRun } from '@signals/db';

export const WORKER_NAME = `${os.hostname()}:${process.pid}`;

export interface Liveness {
  /** The loop ran successfully just now. */
  success(loop: LoopId): Promise<void>;
  /** The loop's run failed: recorded as its last error (its last success stays). */
  failure(loop: LoopId, err: unknown): Promise<void>;
}

export function createLiveness(o: {
  prisma: PrismaClient;
  logger: Logger;
  /** Each loop's interval and market-hours flag as this process runs it (loopIntervals(env)). */
  loops: Partial<Record<LoopId, { intervalMs: number; marketHours: boolean }>>;
  /** At most one write per loop per this many ms (default 5 s). */
  throttleMs?: number;
}): Liveness {
  const throttle = o.throttleMs ?? 5000;
  const lastWrite = new Map<string, number>();
  const write = async (loop: LoopId, error?: string) => {
    const settings = o.loops[loop];
    if (!settings) return; // an optional loop this process was not configured for
    const key = `${loop}:${error === undefined ? 'ok' : 'err'}`;
    const now = Date.now();
    if (now - (lastWrite.get(key) ?? Number.NEGATIVE_INFINITY) < throttle) return;
    lastWrite.set(key, now);
    try {
      await recordLoopRun(o.prisma, { loop, ...settings, worker: WORKER_NAME, at: new Date(now), error });
    } catch (err) {
      lastWrite.delete(key); // try again with the next run
      o.logger.warn({ loop, err: (err as Error).message }, 'could not record the loop heartbeat');
    }
  };
  return {
    success: (loop) => write(loop),
    failure: (loop, err) => write(loop, err instanceof Error ? err.message : String(err)),
  };
}
