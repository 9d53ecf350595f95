/**
 * Scale-out as users run it: two worker PROCESSES on one Postgres and one Redis, then on a real
 * 3-master Redis Cluster, share a fan-out of 1,000 webhook deliveries; one is SIGKILLed in the
 * middle and started again. At-least-once: every delivery arrives, any repeat carries the same
 * webhook-id (deduplicable by receivers), and repeats come only from what was in flight at the kill
 * (rows claimed, `sending`, when the process died). The kill must really interrupt work: some row
 * is left with an attempt without outcome, recovered from its lease and sent by another worker.
 */
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRedisUrl } from '@signals/config';
import { createAlertWithDeliveries } from '@signals/db';
import { createQueues, createRedis } from '@signals/queue';
import {
  createTestDb,
  freePort,
  type RedisCluster,
  startRedisCluster,
  startSmtpSink,
  startWebhookReceiver,
  startWorkerProcess,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
  type WorkerProcess,
} from '@signals/testing';
import { DELIVERY_BATCH } from '../src/delivery/deliver.ts';
import { alertFor, seedScenario, until } from './helpers.ts';

const N = 1000;
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe.each([
  { redis: 'one Redis', cluster: false },
  { redis: 'a 3-master Redis Cluster', cluster: true },
])('two worker processes on $redis, one SIGKILLed mid fan-out', ({ cluster: onCluster }) => {
  let db: TestDb;
  let cluster: RedisCluster | undefined;
  let redisUrl = TEST_REDIS_URL;
  const procs: WorkerProcess[] = [];
  beforeAll(async () => {
    db = await createTestDb();
    if (onCluster) {
      cluster = await startRedisCluster();
      redisUrl = cluster.url;
    }
  });
  afterAll(async () => {
    for (const { child } of procs) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await db?.drop();
    await cluster?.stop();
  });

  it('delivers all 1,000 at least once, under one webhook-id each; repeats only of what was in flight at the kill', async () => {
    const sink = await startSmtpSink();
    const receiver = await startWebhookReceiver({ secret: SECRET, delayMs: 3 });
    const prefix = testPrefix('multi');
    const s = await seedScenario(db.prisma);
    await db.prisma.webhookEndpoint.createMany({
      data: Array.from({ length: N }, (_, i) => ({ url: `${receiver.url}/hook/${i}`, secret: SECRET })),
    });

    const logs: string[] = [];
    const metricsPort = await freePort();
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      SMTP_URL: sink.url,
      WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
      WEBHOOK_RETRY_SCHEDULE: '0,0.2,0.5,1,1,1',
      // Long enough that the in-flight snapshot below is taken before the sweeper recovers
      // anything (it is taken the moment the process is gone; recovered rows count anyway).
      DELIVERY_LEASE_SEC: '5',
      SWEEP_INTERVAL_SEC: '1',
      WORKER_CONCURRENCY: '8',
      PRICE_SOURCE: 'yahoo',
    };
    const start = (name: string, extraEnv: Record<string, string> = {}) => {
      const w = startWorkerProcess(name, { ...env, ...extraEnv }, { logs });
      procs.push(w);
      return w;
    };
    const a = start('A');
    const b = start('B', { WORKER_METRICS_PORT: String(metricsPort), HOST: '127.0.0.1' });
    await Promise.all([a.started(90_000), b.started(90_000)]); // code loading is slow on a busy machine

    // The fan-out: one alert, 1,000 endpoints, written in one transaction, then enqueued.
    const redis = createRedis(parseRedisUrl(redisUrl), 'producer');
    // A producer has no offline queue: on a cluster, a command sent after 'connect' and before the
    // slots are known fails ("Cluster isn't ready"), and BullMQ keeps that failure for the queue.
    // The test's producer starts when the cluster is ready, as a server does long after its start.
    await until(async () => redis.status === 'ready', 30_000, 'the producer connected');
    const queues = createQueues(redis, prefix);
    const r = await createAlertWithDeliveries(db.prisma, alertFor(s.rule.id, new Date('2025-01-27T21:00:00Z')), {
      now: new Date(),
      emailGroupWaitMs: 0,
    });
    expect(r.deliveryIds).toHaveLength(N);
    await queues.enqueueDeliveries(
      r.deliveryIds.map((id) => ({ id })),
      { batchSize: DELIVERY_BATCH },
    ); // as the evaluation cycle does

    await until(async () => receiver.requests.length >= 150, 30_000, '150 webhooks received');
    const workerA = `${os.hostname()}:${a.child.pid}`;
    const exitedA = new Promise((res) => a.child.once('exit', res));
    a.child.kill('SIGKILL');
    await exitedA;
    // What was in flight at the kill: rows claimed (`sending`) and not recorded, plus any the
    // sweeper already handed back (an `interrupted` attempt) in the meantime.
    const inFlight = new Set(
      [
        ...(await db.prisma.delivery.findMany({
          where: { alertId: r.alertId ?? '', status: 'sending' },
          select: { id: true },
        })),
        ...(await db.prisma.delivery.findMany({
          where: { alertId: r.alertId ?? '', attemptLog: { some: { outcome: 'interrupted' } } },
          select: { id: true },
        })),
      ].map((d) => d.id),
    );
    expect(receiver.requests.length).toBeLessThan(N);
    const a2 = start('A2');

    try {
      await until(
        async () =>
          (await db.prisma.delivery.count({ where: { alertId: r.alertId ?? '', status: 'succeeded' } })) === N,
        180_000, // minutes, not seconds, when other test runs share the machine's two cores
        'all deliveries succeeded',
      );
    } catch (err) {
      const by = await db.prisma.delivery.groupBy({
        by: ['status'],
        where: { alertId: r.alertId ?? '' },
        _count: { _all: true },
      });
      const errors = await db.prisma.delivery.findMany({
        where: { alertId: r.alertId ?? '', status: { not: 'succeeded' } },
        take: 3,
      });
      throw new Error(
        `${(err as Error).message}: ${JSON.stringify(by)} ${JSON.stringify(errors)}\n${logs
          .filter((l) => /"level":(40|50)|ERR|sweep|recovered/.test(l))
          .slice(-25)
          .join('\n')}`,
      );
    }
    const ok = receiver.requests.filter((x) => x.status === 200 && x.verified);
    const idsByPath = new Map<string, Set<string>>();
    for (const req of ok) {
      const set = idsByPath.get(req.path) ?? new Set<string>();
      set.add(req.id ?? '');
      idsByPath.set(req.path, set);
    }
    expect(idsByPath.size).toBe(N); // every endpoint got its event
    for (const ids of idsByPath.values()) expect(ids.size).toBe(1); // repeats, if any, under the same id
    expect(new Set(ok.map((x) => x.id)).size).toBe(N);

    // The kill hit in-flight work: rows with an attempt that never got an outcome (the sweeper
    // recorded it `interrupted` after the lease), each then sent by a worker other than the killed one.
    const interrupted = await db.prisma.delivery.findMany({
      where: { alertId: r.alertId ?? '', attemptLog: { some: { outcome: 'interrupted' } } },
      include: { attemptLog: { orderBy: { startedAt: 'asc' } } },
    });
    expect(interrupted.length).toBeGreaterThan(0);
    for (const d of interrupted) {
      expect(inFlight.has(d.id), d.id).toBe(true);
      expect(d.status).toBe('succeeded');
      const sentBy = d.attemptLog.filter((x) => x.outcome === 'ok').map((x) => x.worker);
      expect(sentBy).toHaveLength(1);
      expect(sentBy[0]).not.toBe(workerA);
    }
    // Repeats: only of deliveries in flight at the kill (sent, not yet recorded), at most once
    // each, so never more than were in flight.
    const endpointByPath = new Map(
      (await db.prisma.webhookEndpoint.findMany({ select: { id: true, url: true } })).map((e) => [
        new URL(e.url).pathname,
        e.id,
      ]),
    );
    const deliveryByEndpoint = new Map(
      (
        await db.prisma.delivery.findMany({
          where: { alertId: r.alertId ?? '' },
          select: { id: true, endpointId: true },
        })
      ).map((d) => [d.endpointId, d.id]),
    );
    const perPath = new Map<string, number>();
    for (const req of ok) perPath.set(req.path, (perPath.get(req.path) ?? 0) + 1);
    const repeated = [...perPath].filter(([, n]) => n > 1);
    for (const [path, n] of repeated) {
      expect(n, path).toBe(2);
      const id = deliveryByEndpoint.get(endpointByPath.get(path) ?? null);
      expect(id && inFlight.has(id), `${path} repeated but was not in flight at the kill`).toBe(true);
    }
    expect(ok.length - N).toBe(repeated.length);
    expect(repeated.length).toBeLessThanOrEqual(inFlight.size);

    const workers = await db.prisma.deliveryAttempt.groupBy({
      by: ['worker'],
      where: { delivery: { alertId: r.alertId ?? '' } },
      _count: { _all: true },
    });
    expect(workers.length).toBeGreaterThanOrEqual(2); // the work was shared
    expect(logs.some((l) => l.includes('"msg":"delivered"'))).toBe(true);

    // Worker B's own metrics and health, as Prometheus and an orchestrator would read them.
    const metricsText = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const completed = Number(
      /signals_worker_jobs_total\{queue="deliveries",outcome="completed"\} (\d+)/.exec(metricsText)?.[1] ?? 0,
    );
    const succeeded = Number(/signals_worker_deliveries_total\{result="succeeded"\} (\d+)/.exec(metricsText)?.[1] ?? 0);
    expect(completed).toBeGreaterThan(0);
    expect(succeeded).toBeGreaterThan(0);
    expect(succeeded).toBeLessThanOrEqual(N);
    expect(metricsText).toMatch(/signals_worker_job_duration_seconds_count\{queue="deliveries"\} \d+/);
    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect(health.status).toBe(200);

    // On the cluster the queues really lived there (and this test's keys go with it).
    if (cluster) expect(await cluster.deletePrefix(prefix)).toBeGreaterThan(0);
    await queues.close();
    await redis.quit();
    // B may have finished the fan-out before A2 was up: stop A2 only once it has started, since a
    // signal that arrives before Node has run any of our code ends a process by the signal.
    await a2.started();
    // Graceful shutdown: both remaining workers exit 0 on SIGTERM.
    expect(await Promise.all([b.stop(), a2.stop()])).toEqual([0, 0]);
    await receiver.close();
    await sink.close();
  }, 300_000);
});
