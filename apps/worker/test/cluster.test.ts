/**
 * Redis Cluster, the engine users move to when one Redis is not enough: a real 3-master cluster
 * started from `redis-server --cluster-enabled yes` on spare ports. (The 1,000-delivery fan-out
 * with two worker processes and a SIGKILL runs on it in multiprocess.test.ts.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { FixedClock } from '@signals/core';
import { parseRedisUrl } from '@signals/config';
import { createAlertWithDeliveries, repoPaths } from '@signals/db';
import { RedisRequestBudget } from '@signals/market-data';
import { createRedis } from '@signals/queue';
import {
  createTestDb,
  type RedisCluster,
  startRedisCluster,
  startSmtpSink,
  startWebhookReceiver,
  type TestDb,
  testPrefix,
} from '@signals/testing';
import { alertFor, type Harness, seedScenario, startHarness, until } from './helpers.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let db: TestDb;
  let h: Harness | undefined;
  beforeAll(async () => {
    [cluster, db] = await Promise.all([startRedisCluster(), createTestDb()]);
  });
  afterAll(async () => {
    await h?.close();
    await db?.drop();
    await cluster?.stop();
  });

  it('loses nothing when every key of the prefix is deleted on every master mid fan-out: the sweeper re-enqueues from Postgres', async () => {
    const N = 200;
    const prefix = testPrefix('cluster-loss');
    const sink = await startSmtpSink();
    // 150 ms per request: the fan-out takes seconds, so the loss lands in the middle of it.
    const receiver = await startWebhookReceiver({ secret: SECRET, delayMs: 150 });
    const s = await seedScenario(db.prisma);
    await db.prisma.webhookEndpoint.createMany({
      data: Array.from({ length: N }, (_, i) => ({ url: `${receiver.url}/hook/${i}`, secret: SECRET })),
    });
    h = await startHarness({
      prisma: db.prisma,
      prefix,
      smtpUrl: sink.url,
      concurrency: 2,
      redisUrl: parseRedisUrl(cluster.url),
    });
    expect(h.running.workers[0]?.opts.connection).toBeInstanceOf(Cluster);
    const alert = alertFor(s.rule.id, new Date('2025-01-27T21:00:00Z'));
    // Ten deliveries per job: jobs are waiting, active and done when the keys go.
    const fan = await createAlertWithDeliveries(db.prisma, alert, { now: new Date(), emailGroupWaitMs: 0 });
    expect(fan.deliveryIds).toHaveLength(N);
    await h.queues.enqueueDeliveries(
      fan.deliveryIds.map((id) => ({ id })),
      { batchSize: 10 },
    );
    await receiver.waitFor(20, 30_000);
    const deleted = await cluster.deletePrefix(prefix);
    expect(deleted).toBeGreaterThan(0);
    expect(receiver.requests.length).toBeLessThan(N);

    await until(
      async () => {
        await h?.sweep();
        const done = await db.prisma.delivery.count({ where: { alertId: fan.alertId ?? '', status: 'succeeded' } });
        return done === N;
      },
      90_000,
      `all ${N} delivered after the state loss`,
    );
    const ok = receiver.requests.filter((x) => x.status === 200 && x.verified);
    const idsByPath = new Map<string, Set<string>>();
    for (const req of ok) idsByPath.set(req.path, (idsByPath.get(req.path) ?? new Set()).add(req.id ?? ''));
    expect(idsByPath.size).toBe(N); // every endpoint got its event
    for (const ids of idsByPath.values()) expect(ids.size).toBe(1); // repeats only under the same webhook-id
    await h.close();
    h = undefined;
    await receiver.close();
    await sink.close();
  }, 150_000);

  it('shares the Yahoo request budget across connections, whichever master holds the window key', async () => {
    const redis = createRedis(parseRedisUrl(cluster.url), 'worker'); // the budget's users are workers
    try {
      const clock = new FixedClock(new Date('2025-02-15T12:00:00Z'));
      // Twelve prefixes land on all three masters; each budget allows 2 per window.
      for (let i = 0; i < 12; i++) {
        const prefix = testPrefix(`budget${i}`);
        const a = new RedisRequestBudget({ redis, prefix, limit: 2, clock });
        const b = new RedisRequestBudget({ redis, prefix, limit: 2, clock });
        await a.take();
        await b.take();
        await expect(a.take()).rejects.toThrow(/request budget exhausted/);
        expect(await b.used()).toBe(2);
      }
    } finally {
      await redis.quit();
    }
  });
});

describe('an invalid REDIS_URL', () => {
  const root = repoPaths().root;
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  function runEntry(entry: string, env: Record<string, string>, args: string[] = []) {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry), ...args], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    return new Promise<{ code: number | null; stderr: string }>((resolve) =>
      child.once('exit', (code) => resolve({ code, stderr })),
    );
  }

  it('stops the worker, the server and the run command at start, naming REDIS_URL (exit 78)', async () => {
    const bad = { REDIS_URL: 'redis+cluster://10.0.0.1:7000,10.0.0.2:notaport' };
    const results = await Promise.all([
      runEntry('apps/worker/src/main.ts', bad),
      runEntry('apps/server/src/main.ts', bad),
      runEntry('apps/cli/src/main.ts', bad, ['start']),
    ]);
    for (const r of results) {
      expect(r.code).toBe(78);
      expect(r.stderr).toMatch(/REDIS_URL: node 2 \("10\.0\.0\.2:notaport"\) is not host:port/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  }, 120_000); // three processes loading their code at once on a busy machine

  it('stops the worker when a cluster is named but QUEUE_PREFIX has no hash tag (exit 78)', async () => {
    const r = await runEntry('apps/worker/src/main.ts', {
      REDIS_URL: 'redis+cluster://127.0.0.1:7000',
      QUEUE_PREFIX: 'signals',
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/QUEUE_PREFIX: must contain a hash tag/);
  }, 60_000);
});
