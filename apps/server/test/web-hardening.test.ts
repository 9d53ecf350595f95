/**
 * Issue 10, item 9 (server parts): the edges of the HTTP surface. The OpenAPI document is the only
 * public API path, pages with keys, secrets or addresses are never cached, HSTS under https,
 * /metrics behind METRICS_TOKEN, /healthz without driver errors, a CR/LF `next` is a 400, and
 * rate-limit keys sit under QUEUE_PREFIX.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@signals/config';
import { createPrisma } from '@signals/db';
import { createQueues, createRedis } from '@signals/queue';
import { TEST_REDIS_URL, testPrefix } from '@signals/testing';
import { createApp } from '../src/app.ts';
import { createMetrics } from '../src/metrics.ts';
import { keyOf } from '../src/security/ratelimit.ts';
import { manageToken } from '../src/services/subscribers.ts';
import { adminSession, api, type Harness, preSessionForm, startHarness } from './harness.ts';

let h: Harness;
let call: ReturnType<typeof api>;
beforeAll(async () => {
  h = await startHarness({ env: { METRICS_TOKEN: 'metrics-token-0123456789' } });
  call = api(h);
});
afterAll(async () => {
  await h?.close();
});

describe('only /api/openapi.json skips authentication', () => {
  it('serves the document without a key, and nothing else that merely ends like it', async () => {
    expect((await call('GET', '/openapi.json', undefined, { auth: false })).status).toBe(200);
    const wl = await call('POST', '/watchlists', { name: 'Named like the document', slug: 'openapi-json' });
    expect(wl.status).toBe(201);
    // Before the fix these reached the watchlist route unauthenticated (a 404 or the data).
    for (const path of ['/watchlists/openapi.json', '/rules/openapi.json', `/watchlists/${wl.json.id}/openapi.json`]) {
      const r = await call('GET', path, undefined, { auth: false });
      expect(r.status, path).toBe(401);
      expect(r.headers.get('content-type'), path).toBe('application/problem+json');
    }
  });
});

describe('Cache-Control: no-store on pages with keys, secrets and addresses', () => {
  it('marks the API answers that carry a key, a webhook secret or subscriber addresses', async () => {
    const key = await call('POST', '/api-keys', { name: 'cache test' });
    expect(key.status).toBe(201);
    expect(key.headers.get('cache-control')).toBe('no-store');
    const ep = await call('POST', '/webhook-endpoints', { url: 'http://127.0.0.1:9/hook' });
    expect(ep.status).toBe(201);
    expect(ep.json.secret).toMatch(/^whsec_/);
    expect(ep.headers.get('cache-control')).toBe('no-store');
    await h.db.prisma.subscriber.create({ data: { email: 'cached@example.org', status: 'confirmed' } });
    const subs = await call('GET', '/subscribers');
    expect(subs.text).toContain('cached@example.org');
    expect(subs.headers.get('cache-control')).toBe('no-store');
  });

  it('marks the admin pages (the new key) and the public pages opened with a token', async () => {
    const s = await adminSession(h);
    const created = await s.post('/admin/api-keys', { name: 'page key', scopes: 'read' });
    expect(created.status).toBe(201);
    expect(await created.text()).toMatch(/sk_[A-Za-z0-9_-]{20,}/);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const subs = await h.app.request('/admin/subscribers', { headers: { cookie: s.cookie } });
    expect(subs.headers.get('cache-control')).toBe('no-store');

    // Its own subscriber (another address than the test above: the file's database is shared and
    // the tests run shuffled).
    const sub = await h.db.prisma.subscriber.create({ data: { email: 'tokened@example.org', status: 'confirmed' } });
    const token = await manageToken(h.rt, sub.id);
    for (const path of [`/preferences?token=${token}`, `/unsubscribe?token=${token}`]) {
      const r = await h.app.request(path);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('cache-control'), path).toBe('no-store');
    }
    // Pages without anything personal stay cacheable.
    expect((await h.app.request('/subscribe')).headers.get('cache-control')).toBeNull();
  });
});

describe('HSTS', () => {
  it('is sent when PUBLIC_BASE_URL is https, and not over plain http', async () => {
    const plain = await h.app.request('/subscribe');
    expect(plain.headers.get('strict-transport-security')).toBeNull();
    const app = createApp({ ...appDeps(h), baseUrl: 'https://signals.example.org' });
    for (const path of ['/subscribe', '/healthz', '/api/openapi.json']) {
      const r = await app.request(`https://signals.example.org${path}`);
      expect(r.headers.get('strict-transport-security'), path).toBe('max-age=31536000');
    }
  });
});

describe('/metrics behind METRICS_TOKEN', () => {
  it('answers 401 without the token or with a wrong one, Prometheus text with it', async () => {
    const none = await h.app.request('/metrics');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.text()).not.toContain('signals_http_requests_total');
    const wrong = await h.app.request('/metrics', { headers: { authorization: 'Bearer metrics-token-012345678X' } });
    expect(wrong.status).toBe(401);
    const ok = await h.app.request('/metrics', { headers: { authorization: 'Bearer metrics-token-0123456789' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('signals_http_requests_total');
  });

  it('stays open when METRICS_TOKEN is unset', async () => {
    const app = createApp({ ...appDeps(h), env: { ...appDeps(h).env, METRICS_TOKEN: undefined } });
    expect((await app.request('/metrics')).status).toBe(200);
  });
});

describe('/healthz', () => {
  it('says which dependency is down without the driver error text', async () => {
    const prisma = createPrisma({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/nowhere', poolSize: 1 });
    const redis = createRedis(TEST_REDIS_URL, 'producer');
    redis.on('error', () => {});
    const queues = createQueues(redis, testPrefix('hz'));
    const logged: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => logged.push(s) });
    try {
      const app = createApp({
        env: parseEnv({}),
        prisma,
        redis,
        queues,
        logger,
        metrics: createMetrics({ queues, prisma }),
        baseUrl: 'http://localhost',
      });
      const r = await app.request('/healthz');
      expect(r.status).toBe(503);
      const text = await r.text();
      const body = JSON.parse(text);
      expect(body.checks.postgres.ok).toBe(false);
      expect(body.checks.redis.ok).toBe(true);
      expect(Object.keys(body.checks.postgres).sort()).toEqual(['latencyMs', 'ok']);
      expect(text).not.toMatch(/reach|prisma|127\.0\.0\.1|nowhere/i);
      // The operator still finds the cause in the log.
      expect(logged.join('\n')).toMatch(/health check failed/);
      expect(logged.join('\n')).toMatch(/Can't reach database server at 127\.0\.0\.1:1/);
    } finally {
      await queues.close();
      redis.disconnect();
      await prisma.$disconnect();
    }
  });
});

describe('login `next`', () => {
  it('answers 400, not 500, when it carries CR/LF (GET and POST)', async () => {
    const get = await h.app.request('/admin/login?next=%2Fadmin%0d%0aSet-Cookie:%20x=1');
    expect(get.status).toBe(400);
    expect(get.headers.get('set-cookie') ?? '').not.toContain('x=1');
    const f = await preSessionForm(h.app);
    const post = await h.app.request('/admin/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: f.cookie },
      body: new URLSearchParams({
        email: 'admin@example.org',
        password: 'correct horse battery staple',
        _csrf: f.token,
        next: '/admin\r\nSet-Cookie: x=1',
      }).toString(),
    });
    expect(post.status).toBe(400);
    expect(await post.text()).toContain('control characters');
    // A plain `next` still works.
    const ok = await h.app.request('/admin/login?next=%2Fadmin%2Frules');
    expect(ok.status).toBe(200);
  });
});

describe('rate-limit keys', () => {
  it('live under QUEUE_PREFIX', async () => {
    const f = await preSessionForm(h.app);
    const email = 'nobody-prefix@example.org';
    await h.app.request('/admin/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: f.cookie },
      body: new URLSearchParams({ email, password: 'wrong password here', _csrf: f.token }).toString(),
    });
    const keys = await h.redis.keys(`*rl:*${keyOf(email)}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.startsWith(`${h.prefix}:rl:`), k).toBe(true);
  });
});

function appDeps(x: Harness) {
  return {
    env: parseEnv({ DATABASE_URL: x.db.url, QUEUE_PREFIX: x.prefix, LOG_LEVEL: 'silent' }),
    prisma: x.db.prisma,
    redis: x.redis,
    queues: x.queues,
    logger: pino({ level: 'silent' }),
    metrics: createMetrics({ queues: x.queues, prisma: x.db.prisma }),
    baseUrl: 'http://127.0.0.1',
  };
}
