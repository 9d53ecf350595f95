import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parseEnv } from '@signals/config';
import { createQueues, createRedis } from '@signals/queue';
import { recordLoopRun } from '@signals/db';
import { createTestDb, TEST_REDIS_URL, type TestDb, testPrefix } from '@signals/testing';
import { createApp } from '../src/app.ts';
import { createMetrics } from '../src/metrics.ts';

describe('server: /healthz and /metrics', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    await db?.drop();
  });

  function appWith(redisUrl: string) {
    const redis = createRedis(redisUrl, 'producer', { retryStrategy: () => null });
    redis.on('error', () => {});
    const queues = createQueues(redis, testPrefix('srv'));
    const metrics = createMetrics({ queues, prisma: db.prisma });
    const env = parseEnv({ DATABASE_URL: db.url });
    const app = createApp({
      env,
      prisma: db.prisma,
      redis,
      queues,
      logger: pino({ level: 'silent' }),
      metrics,
      baseUrl: 'http://x',
    });
    return { app, redis, queues };
  }

  it('answers 200 when Postgres and Redis answer', async () => {
    const { app, redis, queues } = appWith(TEST_REDIS_URL);
    // The first probe opens the connection pool: on a loaded machine that alone can take longer
    // than a check's 2 s budget, as it can for a real server that just started. Probe as an
    // orchestrator does, a few times.
    let res = await app.request('/healthz');
    for (let i = 0; i < 5 && res.status !== 200; i++) res = await app.request('/healthz');
    const body = await res.json();
    expect(res.status).toBe(200);
    expect(body.checks.postgres.ok).toBe(true);
    expect(body.checks.redis.ok).toBe(true);
    expect(body.checks.loops.ok).toBe(true);
    expect(body.overdue).toEqual([]);
    await queues.close();
    redis.disconnect();
  });

  it('answers 503 naming the loop whose heartbeat is older than three intervals, and 200 once it beats', async () => {
    const { app, redis, queues } = appWith(TEST_REDIS_URL);
    const beat = (loop: 'news' | 'sweep', agoSec: number, intervalSec: number) =>
      recordLoopRun(db.prisma, {
        loop,
        intervalMs: intervalSec * 1000,
        marketHours: false,
        worker: 'test:1',
        at: new Date(Date.now() - agoSec * 1000),
      });
    await beat('sweep', 5, 15);
    await beat('news', 200, 60); // 3 x 60 s ago and more
    const late = await app.request('/healthz');
    const body = await late.json();
    expect(late.status).toBe(503);
    expect(body.overdue).toEqual(['news']);
    expect(body.loops.news.reason).toMatch(/last ran 200 s ago, expected every 60 s/);
    expect(body.loops.sweep.state).toBe('ok');
    await beat('news', 0, 60);
    expect((await app.request('/healthz')).status).toBe(200);
    await db.prisma.loopHeartbeat.deleteMany();
    await queues.close();
    redis.disconnect();
  });

  it('answers 503 naming Redis when Redis is unreachable', async () => {
    const { app, redis } = appWith('redis://127.0.0.1:1');
    const res = await app.request('/healthz');
    const body = await res.json();
    expect(res.status).toBe(503);
    expect(body.checks.redis.ok).toBe(false);
    expect(body.checks.postgres.ok).toBe(true);
    redis.disconnect();
  });

  it('serves Prometheus text with HTTP, queue and freshness metrics', async () => {
    const { app, redis, queues } = appWith(TEST_REDIS_URL);
    await db.prisma.instrument.create({ data: { symbol: 'MSFT', freshness: 'stale' } });
    const hour = 3600_000;
    await db.prisma.silence.createMany({
      data: [
        { subject: 'MSFT', endsAt: new Date(Date.now() + hour), comment: 'now' },
        {
          subject: 'MSFT',
          startsAt: new Date(Date.now() + hour),
          endsAt: new Date(Date.now() + 2 * hour),
          comment: 'later',
        },
        {
          subject: 'MSFT',
          startsAt: new Date(Date.now() - 2 * hour),
          endsAt: new Date(Date.now() - hour),
          comment: 'over',
        },
      ],
    });
    await app.request('/healthz');
    const res = await app.request('/metrics');
    const text = await res.text();
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    expect(text).toMatch(/^# TYPE signals_http_requests_total counter$/m);
    expect(text).toMatch(/signals_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
    expect(text).toMatch(/signals_instruments\{freshness="stale"\} 1/);
    expect(text).toMatch(/signals_queue_jobs\{queue="deliveries",state="waiting"\} 0/);
    expect(text).toMatch(/^signals_silences\{state="active"\} 1$/m); // a silence left on shows here
    expect(text).toMatch(/^signals_silences\{state="pending"\} 1$/m);
    await queues.close();
    redis.disconnect();
  });

  it('answers unknown routes with problem+json 404', async () => {
    const { app, redis } = appWith(TEST_REDIS_URL);
    const res = await app.request('/no/such/route');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await res.json()).title).toBe('Not Found');
    redis.disconnect();
  });
});
