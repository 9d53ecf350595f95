/**
 * Worker-thread entry of backtest-runner.ts. One thread runs one backtest plan at a time, loading
 * its rows with its own small Prisma client (made at the first plan that needs the database) and
 * running the engine; between plans it waits for the next message. It reports `started` with its
 * own clock so the time budget counts from when the work really began.
 */
import fs from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createPrisma, type PrismaClient } from '@signals/db';
import { type BacktestPlan, executePlan, type PlanResult } from './backtest.ts';
import { type ThreadError, threadError } from './backtest-errors.ts';

export type ToThread = { id: number; plan: BacktestPlan };
export type FromThread =
  | { type: 'ready' }
  | { id: number; type: 'started'; at: number }
  | { id: number; type: 'done'; result: PlanResult }
  | { id: number; type: 'failed'; message: string; error?: ThreadError };

/**
 * Lowers this thread's CPU priority by `nice` below the process's own (Linux: setpriority on the
 * thread's own id, read from /proc/thread-self), capped at 19. Relative, so a server started with
 * `nice -n 15` never gets a backtest thread above its request thread (root could raise it).
 * Elsewhere, or when not allowed, the thread runs at the process's priority.
 */
function lowerPriority(nice: number) {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0 && tid !== process.pid) {
      os.setPriority(tid, Math.min(19, os.getPriority(process.pid) + nice));
    }
  } catch {
    // not Linux, or not permitted: nothing to lower
  }
}

const port = parentPort;
if (!port) throw new Error('backtest-thread.ts runs as a worker thread only');
const post = (m: FromThread) => port.postMessage(m);
const { databaseUrl, nice } = workerData as { databaseUrl: string; nice: number };
lowerPriority(nice);

let prisma: PrismaClient | undefined;
// A getter, so plans that bring their own data never open a connection.
const db = {
  get prisma() {
    prisma ??= createPrisma({ databaseUrl, poolSize: 2 });
    return prisma;
  },
};

port.on('message', async ({ id, plan }: ToThread) => {
  post({ id, type: 'started', at: Date.now() });
  try {
    post({ id, type: 'done', result: await executePlan(db, plan) });
  } catch (err) {
    const error = threadError(err);
    post({ id, type: 'failed', message: (err as Error).message, ...(error ? { error } : {}) });
  }
});
post({ type: 'ready' });
