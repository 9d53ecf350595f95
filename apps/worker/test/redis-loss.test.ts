/**
 * The Redis-loss drill, as an operator would run it: a real worker PROCESS on replayed Nvidia and
 * Microsoft history (accelerated clock), a rule, 120 webhook endpoints behind a receiver that
 * verifies signatures with standardwebhooks, and an email subscriber. The first -6 % session fires
 * and while its deliveries are in flight every key of the queue prefix is deleted (what a Redis
 * restart without persistence, a failover to an empty replica or a FLUSHALL does): job schedulers,
 * waiting and active jobs, locks, markers. Nothing calls the sweeper or re-creates anything by hand:
 * the worker must notice on its own, re-create its schedulers, deliver what was written before the
 * loss, then poll, evaluate and deliver the later -6 % session, each message exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { createQueues, createRedis } from '@signals/queue';
import {
  createTestDb,
  fixturePath,
  type ReceivedWebhook,
  startSmtpSink,
  startWebhookReceiver,
  startWorkerProcess,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
  type WorkerProcess,
} from '@signals/testing';
import { deletePrefixKeys, freePort, until } from './helpers.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ENDPOINTS = 120; // three delivery jobs of 50: one active, two waiting when the keys go
// NVDA closes -6.75 % on Mon 13 Dec 2021 and -6.80 % on Thu 16 Dec; MSFT moves less than 4 %.
const REPLAY_START = '2021-12-13';
// A replayed day in 8 s: each event stays the latest session for 8 s (four 2 s ticks: room for a
// poll and a cycle on a loaded machine), and the second comes ~24 s after the first, by which
// time the loss has been repaired (the self-check runs every 2 s, the repair sweeps at once, with
// no grace). The clock, not the product, sets the pace of this test: at 3,600 it idled ~40 s, at
// 7,200 ~13 s.
const REPLAY_SPEED = '10800';

// The two drills share nothing (each its own database, key prefix and worker; the second its own
// redis-server), so they run at once: most of their time is spent waiting for processes and clocks.
describe.concurrent('Redis loses every key of the prefix while alerts are in flight', () => {
  const dbs: TestDb[] = [];
  const workers: WorkerProcess[] = [];
  let privateRedis: ChildProcess | undefined;
  /** A database of the drill's own: the other drill's heartbeats must not count here. */
  async function ownDb(): Promise<TestDb> {
    const db = await createTestDb();
    dbs.push(db);
    return db;
  }
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    privateRedis?.kill('SIGKILL');
    await Promise.all(dbs.map((db) => db.drop()));
  });

  it('re-creates its schedulers, sends what was written before, then detects and delivers a later event once', async ({
    expect,
  }) => {
    const db = await ownDb();
    const sink = await startSmtpSink();
    const receiver = await startWebhookReceiver({ secret: SECRET, delayMs: 1000 });
    const prefix = testPrefix('redisloss');
    const wl = await db.prisma.watchlist.create({ data: { slug: 'ai-leaders', name: 'AI leaders' } });
    for (const [symbol, name] of [
      ['NVDA', 'NVIDIA'],
      ['MSFT', 'Microsoft'],
    ] as const) {
      const inst = await db.prisma.instrument.create({ data: { symbol, name } });
      await db.prisma.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: inst.id } });
    }
    const rule = await db.prisma.rule.create({
      data: {
        name: 'AI leader falls 6 % in a session',
        kind: 'pct_move',
        params: { sessions: 1, thresholdPct: 6, direction: 'down' },
        watchlistId: wl.id,
        severity: 'critical',
        cooldownSec: 0,
      },
    });
    await db.prisma.webhookEndpoint.createMany({
      data: Array.from({ length: ENDPOINTS }, (_, i) => ({ url: `${receiver.url}/hook/${i}`, secret: SECRET })),
    });
    await db.prisma.subscriber.create({
      data: { email: 'desk@example.com', status: 'confirmed', subscriptions: { create: [{ watchlistId: wl.id }] } },
    });

    const logs: string[] = [];
    const worker = startWorkerProcess(
      'W',
      {
        DATABASE_URL: db.url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        SMTP_URL: sink.url,
        WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
        PRICE_SOURCE: `replay:${fixturePath('yahoo')}`,
        REPLAY_START,
        REPLAY_SPEED,
        EMAIL_GROUP_WAIT_SEC: '0',
        SWEEP_INTERVAL_SEC: '2',
        SELF_CHECK_SEC: '2',
        // One delivery job at a time, so at the loss one is active and the others wait.
        WORKER_CONCURRENCY: '1',
      },
      { logs },
    );
    workers.push(worker);
    await worker.started(120_000);

    // The first event fires; its fan-out is on its way when the keys go.
    const first = await until(
      () => db.prisma.alert.findFirst({ where: { ruleId: rule.id, subject: 'NVDA' } }).then((a) => a ?? undefined),
      60_000,
      'the 13 Dec alert',
    );
    expect(first.dedupKey).toBe(`${rule.id}:NVDA:2021-12-13`);
    const firstIds = (await db.prisma.delivery.findMany({ where: { alertId: first.id }, select: { id: true } })).map(
      (d) => d.id,
    );
    expect(firstIds).toHaveLength(ENDPOINTS + 1);
    await receiver.waitFor(1, 30_000);
    const deleted = await deletePrefixKeys(TEST_REDIS_URL, prefix);
    const lostAt = new Date();
    expect(deleted).toBeGreaterThan(10);
    const sentBeforeLoss = await db.prisma.delivery.count({ where: { id: { in: firstIds }, status: 'succeeded' } });
    expect(sentBeforeLoss).toBeLessThan(ENDPOINTS + 1); // the loss did land mid-delivery

    // Every scheduler is back (nobody but the worker created them) and every loop ran after the loss.
    const redis = createRedis(TEST_REDIS_URL, 'worker');
    const queues = createQueues(redis, prefix);
    const schedulers = await until(
      async () => {
        const all = (
          await Promise.all(
            (['maintenance', 'prices', 'news', 'evaluate'] as const).map((q) => queues.get(q).getJobSchedulers()),
          )
        ).flat();
        return all.length === 5 ? all : undefined;
      },
      60_000,
      'the five job schedulers',
    );
    expect(schedulers.map((s) => s.key).sort()).toEqual([
      'evaluate',
      'poll-news',
      'poll-prices',
      'retention',
      'sweep-deliveries',
    ]);
    await until(
      async () => {
        const beats = await db.prisma.loopHeartbeat.findMany({ where: { lastSuccessAt: { gt: lostAt } } });
        return ['prices', 'evaluate', 'sweep'].every((l) => beats.some((b) => b.loop === l));
      },
      60_000,
      'price polling, evaluation and the sweep after the loss',
    );

    // Deliveries written before the loss (the active job's and the two waiting jobs') are all sent.
    await until(
      async () =>
        (await db.prisma.delivery.count({ where: { id: { in: firstIds }, status: 'succeeded' } })) === firstIds.length,
      90_000,
      'every delivery of the first alert',
    ).catch(async (err: Error) => {
      // Say where they stand and what the worker warned about, so a failure can be read.
      const rows = await db.prisma.delivery.groupBy({
        by: ['status'],
        where: { id: { in: firstIds } },
        _count: { _all: true },
      });
      throw new Error(
        `${err.message}: ${rows.map((r) => `${r.status} ${r._count._all}`).join(', ')}\n${logs
          .filter((l) => /"level":(40|50)|ERR/.test(l))
          .slice(-15)
          .join('\n')}`,
      );
    });

    // The later event is detected from the bars in Postgres and delivered.
    const second = await until(
      () =>
        db.prisma.alert
          .findFirst({ where: { ruleId: rule.id, dedupKey: `${rule.id}:NVDA:2021-12-16` } })
          .then((a) => a ?? undefined),
      120_000,
      'the 16 Dec alert',
    );
    expect(second.value).toBeCloseTo(-0.068, 3);
    const secondIds = (await db.prisma.delivery.findMany({ where: { alertId: second.id }, select: { id: true } })).map(
      (d) => d.id,
    );
    expect(secondIds).toHaveLength(ENDPOINTS + 1);
    await until(
      async () =>
        (await db.prisma.delivery.count({ where: { id: { in: secondIds }, status: 'succeeded' } })) ===
        secondIds.length,
      60_000,
      'every delivery of the second alert',
    );

    // Exactly once per webhook-id, every one verified; one email per alert.
    const ok = receiver.requests.filter((r) => r.status === 200);
    expect(ok.every((r) => r.verified)).toBe(true);
    const perId = new Map<string, ReceivedWebhook[]>();
    for (const r of ok) perId.set(r.id ?? '', [...(perId.get(r.id ?? '') ?? []), r]);
    expect(perId.size).toBe(2 * ENDPOINTS);
    expect([...perId.values()].filter((v) => v.length !== 1)).toEqual([]);
    const alertIds = ok.map((r) => (r.body as { data: { alert: { id: string } } }).data.alert.id);
    expect(alertIds.filter((id) => id === first.id)).toHaveLength(ENDPOINTS);
    expect(alertIds.filter((id) => id === second.id)).toHaveLength(ENDPOINTS);
    const mails = sink.messages.filter((m) => m.to.includes('desk@example.com'));
    expect(mails.map((m) => m.subject).filter((s) => s.includes('NVDA'))).toHaveLength(2);
    expect(await db.prisma.alert.count({ where: { ruleId: rule.id } })).toBe(2);

    // Nothing crashed: the same process did all of it, and said what it repaired.
    expect(worker.child.exitCode).toBeNull();
    expect(logs.some((l) => l.includes('job schedulers were missing or wrong in Redis'))).toBe(true);

    await queues.close();
    await redis.quit();
    await receiver.close();
    await sink.close();
  }, 420_000);

  it('a Redis restart without persistence: the worker re-creates its schedulers as soon as it reconnects', async ({
    expect,
  }) => {
    const db = await ownDb();
    // A private redis-server on a spare port (the shared one is never restarted), no persistence.
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-redis-'));
    const startRedis = async () => {
      const child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: 'ignore' },
      );
      const probe = createRedis(`redis://127.0.0.1:${port}`, 'worker');
      probe.on('error', () => {}); // refused until it listens
      await until(async () => (await probe.ping().catch(() => null)) === 'PONG', 20_000, 'the private redis-server');
      await probe.quit();
      return child;
    };
    privateRedis = await startRedis();
    const redisUrl = `redis://127.0.0.1:${port}`;
    const logs: string[] = [];
    const worker = startWorkerProcess(
      'R',
      {
        DATABASE_URL: db.url,
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: testPrefix('restart'),
        SWEEP_INTERVAL_SEC: '1',
        // The timer would repair too, but not for 30 s: what repairs here is the reconnect.
        SELF_CHECK_SEC: '30',
      },
      { logs },
    );
    workers.push(worker);
    await worker.started(120_000);

    const old = privateRedis;
    await new Promise<void>((resolve) => {
      old.once('exit', () => resolve());
      old.kill('SIGTERM');
    });
    const restartedAt = new Date();
    privateRedis = await startRedis(); // the same address, empty
    await until(
      async () => logs.some((l) => l.includes('"trigger":"reconnect"') && l.includes('"problem":"missing"')),
      25_000,
      'the schedulers re-created on reconnect',
    );
    await until(
      async () =>
        ((await db.prisma.loopHeartbeat.findUnique({ where: { loop: 'sweep' } }))?.lastSuccessAt?.getTime() ?? 0) >
        restartedAt.getTime(),
      25_000,
      'a sweep after the restart',
    );
    expect(worker.child.exitCode).toBeNull();
    await worker.stop();
    privateRedis.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
