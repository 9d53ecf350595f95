/**
 * The server under test: its own database, a unique Redis key space, the local Yahoo server behind
 * the real YahooPriceSource, served on 127.0.0.1:0 for browser tests or called in-process.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { type Logger, pino } from 'pino';
import type { Clock } from '@signals/core';
import { parseEnv } from '@signals/config';
import { YahooPriceSource } from '@signals/market-data';
import { createQueues, createRedis, type QueueSet } from '@signals/queue';
import {
  captured,
  createTestDb,
  startYahooServer,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
  type YahooServer,
} from '@signals/testing';
import type { Redis } from 'ioredis';
import { createApp } from '../src/app.ts';
import { createMetrics } from '../src/metrics.ts';
import { SCOPES } from '../src/api/scopes.ts';
import { createApiKey } from '../src/services/apikeys.ts';
import { ensureAdminFromEnv } from '../src/services/admins.ts';
import { createRuntime, type Runtime } from '../src/app.ts';
import { serverLoops } from '../src/services/system.ts';

export const ADMIN_EMAIL = 'admin@example.org';
export const ADMIN_PASSWORD = 'correct horse battery staple';

export interface Harness {
  db: TestDb;
  redis: Redis;
  queues: QueueSet;
  prefix: string;
  yahoo: YahooServer;
  app: ReturnType<typeof createApp>;
  /** The app's runtime helpers, for service calls in tests (e.g. a subscriber's signed link). */
  rt: Runtime;
  /** Bearer key of an API key made for the tests (every scope). */
  apiKey: string;
  /** http://127.0.0.1:<port> when listen() was called. */
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function startHarness(
  opts: {
    env?: Record<string, string>;
    /** The app's clock (default the system clock): a testClock() lets a test assert exact times. */
    clock?: Clock;
    /** The app's logger (default silent): a pino logger writing to a test's stream, to read log lines. */
    logger?: Logger;
  } = {},
): Promise<Harness> {
  const db = await createTestDb();
  const redis = createRedis(TEST_REDIS_URL, 'producer');
  redis.on('error', () => {});
  const prefix = testPrefix('srv');
  const queues = createQueues(redis, prefix);
  const yahoo = await startYahooServer();
  const env = parseEnv({
    DATABASE_URL: db.url,
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    LOG_LEVEL: 'silent',
    QUEUE_PREFIX: prefix,
    ...opts.env,
  });
  const priceSource = new YahooPriceSource({ baseUrl: yahoo.url, retry: { attempts: 1 }, timeoutMs: 5000 });
  const logger = opts.logger ?? pino({ level: 'silent' });
  const metrics = createMetrics({ queues, prisma: db.prisma, loops: serverLoops(db.prisma, env) });
  const deps = {
    env,
    prisma: db.prisma,
    redis,
    queues,
    logger,
    metrics,
    baseUrl: 'http://127.0.0.1',
    priceSource,
    ...(opts.clock ? { clock: opts.clock } : {}),
  };
  await ensureAdminFromEnv(db.prisma, env);
  let app = createApp(deps);
  const rt = createRuntime(deps);
  const { key } = await createApiKey(rt, { name: 'tests', scopes: [...SCOPES] }, { userId: null, granted: SCOPES });
  let server: ServerType | undefined;
  const h: Harness = {
    db,
    redis,
    queues,
    prefix,
    yahoo,
    app,
    rt,
    apiKey: key,
    url: '',
    async listen() {
      // Links in pages and emails point at the real address once it is known.
      const s = serve({ fetch: (req, env) => app.fetch(req, env), port: 0, hostname: '127.0.0.1' });
      await new Promise<void>((resolve) => s.once('listening', () => resolve()));
      server = s;
      const port = (s.address() as AddressInfo).port;
      h.url = `http://127.0.0.1:${port}`;
      app = createApp({ ...deps, baseUrl: h.url, env: { ...env, PUBLIC_BASE_URL: h.url } });
      h.app = app;
      return h.url;
    },
    async close() {
      if (server) await new Promise<void>((resolve) => server?.close(() => resolve()));
      await queues.close().catch(() => {});
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await yahoo.close();
      await db.drop();
    },
  };
  return h;
}

/**
 * GETs a pre-session form (login or setup) the way a browser does: its login-CSRF cookie (as a
 * Cookie header value) and the same token from the hidden `_csrf` field.
 */
export async function preSessionForm(
  app: { request: (path: string, init?: RequestInit) => Response | Promise<Response> },
  path = '/admin/login',
): Promise<{ cookie: string; token: string; setCookie: string; html: string; status: number }> {
  const res = await app.request(path);
  const html = await res.text();
  // Throws rather than answering '' when the form or its cookie is missing: every caller needs both.
  const setCookie = captured(
    /^((?:__Host-)?signals_login_csrf=.*)$/m,
    res.headers.getSetCookie().join('\n'),
    `login-CSRF cookie of ${path}`,
  );
  const cookie = setCookie.split(';')[0] as string;
  const token = captured(/name="_csrf" value="([^"]+)"/, html, `_csrf field of ${path}`);
  return { cookie, token, setCookie, html, status: res.status };
}

/** Logs in through the form (fetching its CSRF token first); the session cookie as a Cookie header value. */
export async function loginSession(
  app: { request: (path: string, init?: RequestInit) => Response | Promise<Response> },
  email = ADMIN_EMAIL,
  password = ADMIN_PASSWORD,
): Promise<{ res: Response; cookie: string; setCookie: string }> {
  const f = await preSessionForm(app);
  const res = await app.request('/admin/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: f.cookie },
    body: new URLSearchParams({ email, password, _csrf: f.token }).toString(),
  });
  const setCookie = res.headers.getSetCookie().find((x) => /^(__Host-)?signals_session=/.test(x)) ?? '';
  return { res, setCookie, cookie: setCookie.split(';')[0] ?? '' };
}

/**
 * A logged-in admin for in-process page tests: the session cookie, the page CSRF token, and a
 * form POST that carries both, as the browser does.
 */
export async function adminSession(h: Harness) {
  const { cookie } = await loginSession(h.app);
  const page = await (await h.app.request('/admin', { headers: { cookie } })).text();
  const csrf = captured(/name="csrf-token" content="([^"]+)"/, page, 'csrf-token meta of /admin');
  const post = (path: string, body: Record<string, string>) =>
    h.app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ _csrf: csrf, ...body }).toString(),
    });
  return { cookie, csrf, post };
}

/** Options for {@link api} that call with `key` instead of the harness's own. */
export const asKey = (key: string) => ({ auth: false, headers: { authorization: `Bearer ${key}` } });

/** JSON request helper for the API (Bearer key by default). */
export function api(h: Harness) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    opts: { raw?: string; headers?: Record<string, string>; auth?: boolean } = {},
  ) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.auth !== false) headers.authorization = `Bearer ${h.apiKey}`;
    let payload: string | undefined;
    if (opts.raw !== undefined) payload = opts.raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await h.app.request(`/api${path}`, {
      method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    // biome-ignore lint/suspicious/noExplicitAny: test convenience
    return { status: res.status, headers: res.headers, text, json: json as any };
  };
}

/** Daily bars for `symbol`: a flat-ish series with one fall of `dropPct` % on `dropDate`. */
export function syntheticBars(opts: { start: string; days: number; dropDate: string; dropPct: number; base?: number }) {
  const out: { date: string; open: number; high: number; low: number; close: number; volume: number }[] = [];
  let price = opts.base ?? 100;
  const d = new Date(`${opts.start}T00:00:00Z`);
  while (out.length < opts.days) {
    const day = d.getUTCDay();
    if (day !== 0 && day !== 6) {
      const date = d.toISOString().slice(0, 10);
      const prev = price;
      price = date === opts.dropDate ? prev * (1 - opts.dropPct / 100) : prev * (1 + (out.length % 2 ? 0.002 : -0.001));
      out.push({
        date,
        open: prev,
        high: Math.max(prev, price),
        low: Math.min(prev, price),
        close: price,
        volume: 1_000_000,
      });
    }
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}
