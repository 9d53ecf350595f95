/**
 * Recovery after a Redis loss: a worker CHILD PROCESS (`node --import tsx apps/worker/src/main.ts`)
 * with the default settings (SELF_CHECK_SEC 15, EVALUATE_INTERVAL_SEC 300), every key of its queue
 * prefix deleted (SCAN + DEL on the shared Redis, as a FLUSHALL or a restart without persistence
 * leaves it), and the time until the first successful evaluation cycle after it. "Successful cycle"
 * is observed from outside, as an operator's dead man's switch sees it: the worker calls
 * HEARTBEAT_URL after each cycle that ran, and a local checker timestamps the calls.
 *
 * Nothing is watched (no Yahoo traffic), so cycles come from the evaluation scheduler alone and no
 * cycle is in flight when the keys go. The loss lands at several phases of the worker's 15 s timer;
 * the figure is the slowest trial.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createQueues, createRedis } from '@signals/queue';
import { createTestDb, startWorkerProcess, TEST_REDIS_URL, testPrefix } from '@signals/testing';
import { deletePrefixKeys } from '../apps/worker/test/helpers.ts';
import ensureTemplate from '../packages/testing/src/global-setup.ts';
import { type BenchResult, percentile } from './lib.ts';

const TRIALS = 5;
// Waits after each recovery before the next loss, so the losses fall at different timer phases.
const SPACING_MS = [4100, 9300, 2700, 12_900, 6500];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export default async function run(): Promise<BenchResult[]> {
  await ensureTemplate();
  const db = await createTestDb();
  const prefix = testPrefix('bench-ops');
  const calls: number[] = [];
  const checker = http.createServer((_req, res) => {
    calls.push(Date.now());
    res.writeHead(200).end('OK');
  });
  await new Promise<void>((resolve) => checker.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(checker.address() as AddressInfo).port}/ping/bench`;
  const logs: string[] = [];
  const worker = startWorkerProcess(
    'W',
    { DATABASE_URL: db.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, HEARTBEAT_URL: url, LOG_LEVEL: 'info' },
    { logs },
  );
  const redis = createRedis(TEST_REDIS_URL, 'worker');
  const queues = createQueues(redis, prefix);
  try {
    await worker.started(120_000);
    await until(() => (calls.length ? true : undefined), 60_000, 'the first evaluation cycle');
    const toCycle: number[] = [];
    const toSchedulers: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      await sleep(SPACING_MS[t % SPACING_MS.length] as number);
      const before = calls.length;
      const lost = Date.now();
      await deletePrefixKeys(TEST_REDIS_URL, prefix);
      const cycleAt = await until(() => calls.slice(before).find((c) => c >= lost), 120_000, 'a cycle after the loss');
      toCycle.push((cycleAt - lost) / 1000);
      const back = await until(
        async () =>
          (await queues.get('evaluate').getJobSchedulers()).length === 1 &&
          (await queues.get('maintenance').getJobSchedulers()).length === 2 // sweep-deliveries, retention
            ? Date.now()
            : undefined,
        120_000,
        'the schedulers',
      );
      toSchedulers.push((back - lost) / 1000);
    }
    const sorted = [...toCycle].sort((a, b) => a - b);
    const round = (x: number) => Math.round(x * 10) / 10;
    const repairs = logs.filter((l) => l.includes('job schedulers were missing')).length;
    return [
      {
        name: 'ops.recovery_after_redis_loss.s',
        value: round(sorted[sorted.length - 1] as number),
        unit: 's',
        target: 60,
        better: 'lower',
        note:
          `slowest of ${TRIALS} losses (every key of the queue prefix deleted) to the first successful evaluation cycle, ` +
          `seen as the worker's HEARTBEAT_URL call; worker = child process with default settings (SELF_CHECK_SEC 15, ` +
          `EVALUATE_INTERVAL_SEC 300), nothing watched; trials ${toCycle.map(round).join(', ')} s ` +
          `(median ${round(percentile(sorted, 50))} s); schedulers visible again after ${toSchedulers.map(round).join(', ')} s ` +
          `(the test's 50 ms polling included); ${repairs} repairs logged by the worker`,
      },
    ];
  } finally {
    await worker.stop();
    await queues.close();
    await redis.quit();
    await new Promise<void>((resolve) => checker.close(() => resolve()));
    await deletePrefixKeys(TEST_REDIS_URL, prefix);
    await db.drop();
  }
}
