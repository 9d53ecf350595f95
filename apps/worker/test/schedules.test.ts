/**
 * ensureSchedules on real Redis (a prefix of its own): creates what is missing, repairs what is
 * wrong, and leaves a healthy scheduler alone (not even re-upserted: that would move its job), also
 * when several processes check at the same moment.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createQueues, createRedis, type QueueSet } from '@signals/queue';
import { TEST_REDIS_URL, testPrefix } from '@signals/testing';
import { ensureSchedules, removeRetiredSchedulers } from '../src/ops/schedules.ts';
import type { Schedule } from '../src/worker.ts';
import { deletePrefixKeys, silent } from './helpers.ts';

const SCHEDULES: Schedule[] = [
  { id: 'sweep-deliveries', queue: 'maintenance', everyMs: 60_000, payload: { kind: 'sweep' } },
  { id: 'evaluate', queue: 'evaluate', everyMs: 300_000, payload: { reason: 'schedule' } },
];

describe('self-healing job schedulers', () => {
  const opened: { prefix: string; queues: QueueSet; close(): Promise<void> }[] = [];
  const open = () => {
    const prefix = testPrefix('sched');
    const redis = createRedis(TEST_REDIS_URL, 'worker');
    const queues = createQueues(redis, prefix);
    const o = {
      prefix,
      queues,
      redis,
      async close() {
        await queues.close();
        await redis.quit();
      },
    };
    opened.push(o);
    return o;
  };
  afterEach(async () => {
    for (const o of opened.splice(0)) {
      await o.close();
      await deletePrefixKeys(TEST_REDIS_URL, o.prefix);
    }
  });

  /** Jobs of the queue that will still run (the scheduler's next one). */
  const pending = async (q: QueueSet, key: 'maintenance' | 'evaluate') => {
    const c = await q.get(key).getJobCounts('waiting', 'delayed', 'prioritized', 'active');
    return Object.values(c).reduce((a, b) => a + b, 0);
  };

  it('three processes checking an empty Redis at once leave one scheduler with one job each', async () => {
    const { queues, redis, prefix } = open();
    const results = await Promise.all([1, 2, 3].map(() => ensureSchedules(queues, SCHEDULES, silent, 'timer')));
    expect(results.flat().every((r) => r.problem === 'missing')).toBe(true);
    for (const key of ['maintenance', 'evaluate'] as const) {
      expect(await queues.get(key).getJobSchedulers()).toHaveLength(1);
      expect(await pending(queues, key)).toBe(1);
    }

    // Healthy: only read. No upsert happens (BullMQ counts every job it adds in the queue's `id`).
    const ids = await redis.mget(`${prefix}:maintenance:id`, `${prefix}:evaluate:id`);
    const next = (await queues.get('evaluate').getJobScheduler('evaluate'))?.next;
    expect(await ensureSchedules(queues, SCHEDULES, silent, 'timer')).toEqual([]);
    expect(await redis.mget(`${prefix}:maintenance:id`, `${prefix}:evaluate:id`)).toEqual(ids);
    expect((await queues.get('evaluate').getJobScheduler('evaluate'))?.next).toBe(next);
  });

  it('repairs a scheduler whose next job is gone, or whose interval or payload changed', async () => {
    const { queues, redis } = open();
    await ensureSchedules(queues, SCHEDULES, silent, 'start');
    const q = queues.get('evaluate');
    const s = await q.getJobScheduler('evaluate');
    // A partial loss (BullMQ itself refuses to remove a scheduler's job): the job is gone, its scheduler stays.
    const jobId = `repeat:evaluate:${s?.next}`;
    await redis
      .multi()
      .del(q.toKey(jobId))
      .lrem(q.toKey('wait'), 0, jobId)
      .zrem(q.toKey('delayed'), jobId)
      .zrem(q.toKey('prioritized'), jobId)
      .exec();
    expect(await q.getJobScheduler('evaluate')).toBeTruthy();
    expect(await pending(queues, 'evaluate')).toBe(0);
    expect(await ensureSchedules(queues, SCHEDULES, silent, 'timer')).toEqual([
      { id: 'evaluate', problem: 'next job gone' },
    ]);
    expect(await pending(queues, 'evaluate')).toBe(1);

    const faster = SCHEDULES.map((x) => (x.id === 'evaluate' ? { ...x, everyMs: 60_000 } : x));
    expect(await ensureSchedules(queues, faster, silent, 'timer')).toEqual([
      { id: 'evaluate', problem: 'interval changed' },
    ]);
    expect((await q.getJobScheduler('evaluate'))?.every).toBe(60_000);
    const other = faster.map((x) => (x.id === 'evaluate' ? { ...x, payload: { reason: 'safety net' } } : x));
    expect(await ensureSchedules(queues, other, silent, 'timer')).toEqual([
      { id: 'evaluate', problem: 'payload changed' },
    ]);
    expect((await q.getJobScheduler('evaluate'))?.template?.data).toEqual({ reason: 'safety net' });
    expect(await pending(queues, 'evaluate')).toBe(1);
    expect(await ensureSchedules(queues, other, silent, 'timer')).toEqual([]);
  });

  it("removes an earlier release's retired scheduler at start, only where this process schedules its queue", async () => {
    const { queues } = open();
    const m = queues.get('maintenance');
    // What a 0.15 install leaves in Redis: the intraday pruning under its old id.
    await m.upsertJobScheduler(
      'prune-intraday',
      { every: 3_600_000 },
      { name: 'maintenance', data: { kind: 'prune-intraday' } },
    );
    expect(await m.getJobScheduler('prune-intraday')).toBeTruthy();
    // A send-only worker (no maintenance schedules) leaves it alone, also at start.
    const evaluateOnly = SCHEDULES.filter((x) => x.queue === 'evaluate');
    await ensureSchedules(queues, evaluateOnly, silent, 'start');
    expect(await m.getJobScheduler('prune-intraday')).toBeTruthy();
    // A timer check does not remove it either: that is the start's job.
    await ensureSchedules(queues, SCHEDULES, silent, 'timer');
    expect(await m.getJobScheduler('prune-intraday')).toBeTruthy();
    const lines: object[] = [];
    const logger = { ...silent, info: (o: object | string) => void lines.push(o as object), child: () => logger };
    await ensureSchedules(queues, SCHEDULES, logger, 'start');
    expect(await m.getJobScheduler('prune-intraday')).toBeFalsy();
    expect(lines).toContainEqual({ scheduler: 'prune-intraday', replacedBy: 'retention' });
    expect((await m.getJobSchedulers()).map((x) => x.key)).toEqual(['sweep-deliveries']);
    expect(await removeRetiredSchedulers(queues, SCHEDULES, silent)).toEqual([]);
  });
});
