/**
 * Worker-thread entry of backtest-runner.ts. One thread runs one backtest plan at a time, loading
 * its rows with its own small Prisma client (made at the first plan that needs the database) and
 * running the engine; between plans it waits for the next message. It reports `started` with its
 * own clock so the time budget counts from when the work really began.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createPrisma, type PrismaClient } from '@signals/db';
import { type BacktestPlan, executePlan, type PlanResult } from './backtest.ts';

export type ToThread = { id: number; plan: BacktestPlan };
export type FromThread =
  | { type: 'ready' }
  | { id: number; type: 'started'; at: number }
  | { id: number; type: 'done'; result: PlanResult }
  | { id: number; type: 'failed'; message: string };

const port = parentPort;
if (!port) throw new Error('backtest-thread.ts runs as a worker thread only');
const post = (m: FromThread) => port.postMessage(m);
const { databaseUrl } = workerData as { databaseUrl: string };

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
    post({ id, type: 'failed', message: (err as Error).message });
  }
});
post({ type: 'ready' });
