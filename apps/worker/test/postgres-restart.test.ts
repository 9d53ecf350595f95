/**
 * A Postgres restart in the middle of a fan-out, on a private Postgres the test starts (embedded
 * PostgreSQL 18 on a spare port): a worker PROCESS and a server PROCESS keep running, the worker
 * reconnects and finishes, every endpoint gets each event exactly once, and no job or row is lost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertWithDeliveries, createPrisma, type PrismaClient, repoPaths } from '@signals/db';
import { createQueues, createRedis } from '@signals/queue';
import {
  freePort,
  type PostgresServer,
  startPostgresServer,
  startSmtpSink,
  startWebhookReceiver,
  startWorkerProcess,
  TEST_REDIS_URL,
  testPrefix,
  type WorkerProcess,
} from '@signals/testing';
import { DELIVERY_BATCH } from '../src/delivery/deliver.ts';
import { alertFor, seedScenario, until } from './helpers.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
// 60 endpoints: each batch of 50 needs two rounds of the sender's 32 sockets per receiver, 3 s in
// all, well inside the 10 s send timeout (a timed-out send is retried: a repeat this test would count).
const N = 60;

describe('Postgres stopped and started again mid fan-out', () => {
  let pg: PostgresServer;
  let url: string;
  let prisma: PrismaClient;
  const procs: ChildProcess[] = [];
  beforeAll(async () => {
    pg = await startPostgresServer();
    url = await pg.createMigratedDb('signals');
    prisma = createPrisma({ databaseUrl: url, poolSize: 3 });
  });
  afterAll(async () => {
    for (const c of procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await prisma?.$disconnect();
    await pg?.destroy();
  });

  it('delivers every event exactly once; the worker and the server survive and reconnect', async () => {
    const sink = await startSmtpSink();
    // Each answer takes 1.5 s: the first fan-out's sends are in flight while Postgres goes down, so
    // their results must be recorded after it is back.
    const receiver = await startWebhookReceiver({ secret: SECRET, delayMs: 1500 });
    const prefix = testPrefix('pg-restart');
    const s = await seedScenario(prisma);
    await prisma.webhookEndpoint.createMany({
      data: Array.from({ length: N }, (_, i) => ({ url: `${receiver.url}/hook/${i}`, secret: SECRET })),
    });
    // Two fan-outs written now; the second is enqueued while Postgres is down, so its jobs start
    // (and must claim) without it.
    const [a, b] = [
      await createAlertWithDeliveries(prisma, alertFor(s.rule.id, new Date('2025-01-27T21:00:00Z')), {
        now: new Date(),
        emailGroupWaitMs: 0,
      }),
      await createAlertWithDeliveries(prisma, alertFor(s.rule.id, new Date('2025-01-28T21:00:00Z')), {
        now: new Date(),
        emailGroupWaitMs: 0,
      }),
    ];
    expect(a.deliveryIds).toHaveLength(N);
    expect(b.deliveryIds).toHaveLength(N);

    const env = {
      DATABASE_URL: url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      SMTP_URL: sink.url,
      WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
      WEBHOOK_RETRY_SCHEDULE: '0,0.5,1,1,1,1',
      SWEEP_INTERVAL_SEC: '1',
      WORKER_CONCURRENCY: '8',
      PRICE_SOURCE: 'yahoo',
    };
    const logs: string[] = [];
    const worker: WorkerProcess = startWorkerProcess('W', env, { logs });
    procs.push(worker.child);
    const port = await freePort();
    const server = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoPaths().root, 'apps/server/src/main.ts')],
      {
        cwd: repoPaths().root,
        env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    procs.push(server);
    let serverErr = '';
    server.stderr?.on('data', (d: Buffer) => {
      serverErr += d.toString();
    });
    const health = async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) })).status;
      } catch {
        return 0;
      }
    };
    await worker.started(90_000); // code loading takes long on a busy machine
    await until(async () => (await health()) === 200, 60_000, 'the server healthy');

    const redis = createRedis(TEST_REDIS_URL, 'producer');
    const queues = createQueues(redis, prefix);
    await queues.enqueueDeliveries(
      a.deliveryIds.map((id) => ({ id })),
      { batchSize: DELIVERY_BATCH },
    );
    await receiver.waitFor(1, 30_000);
    await pg.stop();
    await queues.enqueueDeliveries(
      b.deliveryIds.map((id) => ({ id })),
      { batchSize: DELIVERY_BATCH },
    );
    const unreachable = (what: string) => logs.some((l) => l.includes(`Postgres is unreachable: ${what}`));
    try {
      await until(
        async () => unreachable('claiming deliveries') && unreachable('recording delivery results'),
        60_000,
        'the worker waiting for Postgres to claim and to record',
      );
    } finally {
      await pg.start();
    }
    expect(await health()).not.toBe(0); // the server answers throughout (503 or 200), it did not crash

    const all = [...a.deliveryIds, ...b.deliveryIds];
    try {
      await until(
        async () => (await prisma.delivery.count({ where: { id: { in: all }, status: 'succeeded' } })) === 2 * N,
        120_000,
        'every delivery succeeded',
      );
    } catch (err) {
      const by = await prisma.delivery.groupBy({ by: ['status'], where: { id: { in: all } }, _count: { _all: true } });
      throw new Error(
        `${(err as Error).message}: ${JSON.stringify(by)}\n${logs
          .filter((l) => /"level":(40|50)|ERR/.test(l))
          .slice(-15)
          .join('\n')}`,
      );
    }
    // Exactly once: each endpoint got the two events, each once, and nothing else.
    const ok = receiver.requests.filter((x) => x.status === 200 && x.verified);
    expect(ok).toHaveLength(2 * N);
    const byPath = new Map<string, string[]>();
    for (const r of ok) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r.id ?? '']);
    expect(byPath.size).toBe(N);
    for (const ids of byPath.values()) expect(new Set(ids).size).toBe(2);
    // No send was cut off and handed back by the lease (an 'interrupted' attempt): every result
    // of a send was recorded. (A send that had not started may have been put off, not repeated.)
    expect(await prisma.deliveryAttempt.count({ where: { deliveryId: { in: all }, outcome: 'interrupted' } })).toBe(0);
    expect(await prisma.deliveryAttempt.count({ where: { deliveryId: { in: all }, outcome: 'ok' } })).toBe(2 * N);

    // Both processes are still the ones started before the restart, and healthy.
    expect(worker.child.exitCode).toBeNull();
    expect(server.exitCode, serverErr).toBeNull();
    await until(async () => (await health()) === 200, 30_000, 'the server healthy again');
    await queues.close();
    await redis.quit();
    expect(await worker.stop()).toBe(0);
    server.kill('SIGTERM');
    await receiver.close();
    await sink.close();
  }, 240_000);
});
