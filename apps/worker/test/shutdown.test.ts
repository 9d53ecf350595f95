import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { FixedClock } from '@signals/core';
import { createQueues, createRedis } from '@signals/queue';
import { createTestDb, TEST_REDIS_URL, type TestDb, testPrefix } from '@signals/testing';
import { parseEnv } from '@signals/config';
import { selectQueues, startWorkers, type WorkerDeps } from '../src/worker.ts';

describe('worker lifecycle', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    await db?.drop();
  });

  function deps(prefix: string): WorkerDeps {
    const redis = createRedis(TEST_REDIS_URL, 'worker');
    return {
      prisma: db.prisma,
      redis,
      queues: createQueues(redis, prefix),
      prefix,
      logger: pino({ level: 'silent' }),
      clock: new FixedClock(new Date('2026-01-05T15:00:00Z')),
      concurrency: 2,
    };
  }

  it('finishes the active job before close() resolves, and takes no new work after', async () => {
    const d = deps(testPrefix('shutdown'));
    const done: string[] = [];
    let started!: () => void;
    const startedP = new Promise<void>((r) => {
      started = r;
    });
    const running = await startWorkers(d, {
      evaluate: async (payload) => {
        started();
        await new Promise((r) => setTimeout(r, 400));
        done.push(payload.reason);
      },
    });
    await d.queues.add('evaluate', { reason: 'first' });
    await startedP;
    await running.close();
    expect(done).toEqual(['first']);

    await d.queues.add('evaluate', { reason: 'after-close' });
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toEqual(['first']);
    const waiting = await d.queues.get('evaluate').getWaitingCount();
    expect(waiting).toBe(1);
    await d.queues.close();
    await d.redis.quit();
  });

  it('refuses a payload that does not match the catalog without retrying it', async () => {
    const d = deps(testPrefix('badpayload'));
    let calls = 0;
    const running = await startWorkers(d, {
      evaluate: async () => {
        calls++;
      },
    });
    const q = d.queues.get('evaluate');
    const job = await q.add('evaluate', { reason: 42 }, { attempts: 3 });
    for (let i = 0; i < 50 && !(await job.isFailed()); i++) await new Promise((r) => setTimeout(r, 50));
    const failed = await q.getJob(job.id as string);
    expect(await failed?.isFailed()).toBe(true);
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toMatch(/invalid evaluate payload/);
    expect(calls).toBe(0);
    await running.close();
    await d.queues.close();
    await d.redis.quit();
  });

  it('registers job schedulers once, however many processes start', async () => {
    const prefix = testPrefix('sched');
    const a = deps(prefix);
    const b = deps(prefix);
    const schedules = [
      { id: 'sweep', queue: 'maintenance' as const, everyMs: 60_000, payload: { kind: 'sweep' as const } },
    ];
    const ra = await startWorkers(a, {}, schedules);
    const rb = await startWorkers(b, {}, schedules);
    const list = await a.queues.get('maintenance').getJobSchedulers();
    expect(list.map((s) => s.key)).toEqual(['sweep']);
    await ra.close();
    await rb.close();
    await a.queues.close();
    await b.queues.close();
    await a.redis.quit();
    await b.redis.quit();
  });

  it('runs and schedules only the queues named in WORKER_QUEUES', async () => {
    const d = deps(testPrefix('only'));
    const ran: string[] = [];
    const built = {
      handlers: {
        evaluate: async () => void ran.push('evaluate'),
        maintenance: async () => void ran.push('maintenance'),
        deliveries: async () => void ran.push('deliveries'),
      },
      schedules: [
        { id: 'sweep', queue: 'maintenance' as const, everyMs: 60_000, payload: { kind: 'sweep' as const } },
        { id: 'evaluate', queue: 'evaluate' as const, everyMs: 60_000, payload: { reason: 'schedule' as const } },
      ],
    };
    const env = parseEnv({ WORKER_QUEUES: ' deliveries, maintenance,deliveries ' });
    expect(env.WORKER_QUEUES).toEqual(['deliveries', 'maintenance']);
    const selected = selectQueues(built, env.WORKER_QUEUES);
    const running = await startWorkers(d, selected.handlers, selected.schedules);
    expect(running.workers.map((w) => w.name).sort()).toEqual(['deliveries', 'maintenance']);
    expect((await d.queues.get('maintenance').getJobSchedulers()).map((s) => s.key)).toEqual(['sweep']);
    expect(await d.queues.get('evaluate').getJobSchedulers()).toEqual([]);

    await d.queues.add('evaluate', { reason: 'manual' });
    await d.queues.add('maintenance', { kind: 'sweep' });
    for (let i = 0; i < 200 && !ran.includes('maintenance'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(ran).toEqual(['maintenance']);
    expect(await d.queues.get('evaluate').getWaitingCount()).toBe(1); // left for a process that runs it
    // Unset: every queue.
    expect(selectQueues(built, parseEnv({}).WORKER_QUEUES)).toBe(built);
    await running.close();
    await d.queues.close();
    await d.redis.quit();
  });
});
