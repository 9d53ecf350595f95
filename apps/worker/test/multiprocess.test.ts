/**
 * Scale-out as users run it: two worker PROCESSES on one Postgres and one Redis, then on a real
 * 3-master Redis Cluster, share a fan-out of 1,000 webhook deliveries; one is SIGKILLed in the
 * middle and started again. Every delivery arrives, and any repeat carries the same webhook-id
 * (at-least-once, deduplicable by receivers).
 */
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

  it('delivers all 1,000 exactly under one webhook-id each, shared by both processes', async () => {
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
      DELIVERY_LEASE_SEC: '2',
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
    a.child.kill('SIGKILL');
    const killedAt = receiver.requests.length;
    expect(killedAt).toBeLessThan(N);
    await new Promise((res) => a.child.once('exit', res));
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
    const dupes = ok.length - N;
    // Only sends in flight at the SIGKILL may repeat (sent, not yet recorded): at most the killed
    // process's concurrency x the batch size, and always under the same webhook-id (checked above).
    expect(dupes).toBeLessThanOrEqual(8 * DELIVERY_BATCH);

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
