import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { serveStatic } from '@hono/node-server/serve-static';
import { systemClock } from '@signals/core';
import { createWebhookSender } from '@signals/notify';
import { Hono, type MiddlewareHandler } from 'hono';
import { html } from 'hono/html';
import { registerAlertPages } from './admin/alerts.ts';
import { registerSilencePages } from './admin/silences.ts';
import { registerAuthPages } from './admin/auth-pages.ts';
import { formProblem } from './admin/common.ts';
import { registerDeliveryPages } from './admin/delivery-pages.ts';
import { registerOpsPages } from './admin/ops-pages.ts';
import { registerRulePages } from './admin/rules.ts';
import { registerWatchlistPages } from './admin/watchlists.ts';
import { createApi } from './api/routes.ts';
import { assetRoutes } from './assets.ts';
import type { AppDeps, AppEnv, Runtime } from './context.ts';
import { serviceHealth } from '@signals/db';
import { serverLoops } from './services/system.ts';
import { FormError, limitBody } from './input.ts';
import { problem, problemFromError } from './problem.ts';
import { createPublicPages } from './public/pages.ts';
import { adminAuth } from './security/auth.ts';
import { createRateLimiter } from './security/ratelimit.ts';
import { loadSession } from './security/session.ts';
import { page } from './views/layout.ts';

export type { AppDeps, AppEnv, Auth, Runtime } from './context.ts';

/** Fills in defaults and builds the shared helpers. */
export function createRuntime(deps: AppDeps): Runtime {
  const secureBase = (deps.env.PUBLIC_BASE_URL ?? deps.baseUrl).startsWith('https:');
  return {
    ...deps,
    clock: deps.clock ?? systemClock,
    loops: deps.loops ?? serverLoops(deps.prisma, deps.env),
    rateLimiter: createRateLimiter(deps.redis, deps.keyPrefix ?? 'signals:'),
    cookieSecure: deps.env.COOKIE_SECURE ?? secureBase,
    webhookSender:
      deps.webhookSender ??
      createWebhookSender({ allowedCidrs: deps.env.WEBHOOK_ALLOWED_CIDRS, timeoutMs: 10_000, logger: deps.logger }),
  };
}

const HTML_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function clientIp(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // app.request() in tests has no socket
  }
}

export function createApp(deps: AppDeps) {
  const rt = createRuntime(deps);
  const app = new Hono<AppEnv>();
  const { logger, metrics } = deps;

  app.use('*', async (c, next) => {
    const t0 = performance.now();
    c.set('requestId', crypto.randomUUID());
    c.set('clientIp', clientIp(c));
    c.set('auth', undefined);
    await next();
    const route = c.req.routePath || 'unmatched';
    const seconds = (performance.now() - t0) / 1000;
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    metrics.httpDuration.observe({ method: c.req.method, route }, seconds);
    if (route !== '/healthz' && route !== '/metrics') {
      // Path only: query strings can hold tokens (confirm, unsubscribe).
      logger.info(
        {
          reqId: c.get('requestId'),
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          ms: Math.round(seconds * 1000),
        },
        'request',
      );
    }
  });

  // Security headers on every answer; a strict CSP on our own HTML (the queue dashboard has its own assets).
  app.use('*', async (c, next) => {
    await next();
    c.header('x-content-type-options', 'nosniff');
    // Confirm/unsubscribe URLs carry tokens: never leak them in a Referer.
    c.header('referrer-policy', 'no-referrer');
    if ((c.res.headers.get('content-type') ?? '').startsWith('text/html') && !c.req.path.startsWith('/admin/queues')) {
      c.header('content-security-policy', HTML_CSP);
      c.header('x-frame-options', 'DENY');
    }
  });

  // Postgres, Redis and every loop: 503 naming the overdue loop(s) when one is late, so a load
  // balancer or an uptime checker sees a service that stopped watching, not only one that is down.
  app.get('/healthz', async (c) => {
    const { ok, ...body } = await serviceHealth({ prisma: deps.prisma, redis: deps.redis, statuses: rt.loops });
    return c.json(body, ok ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    const body = await metrics.registry.metrics();
    return c.body(body, 200, { 'content-type': metrics.registry.contentType });
  });

  app.route('/assets', assetRoutes());
  app.route('/api', createApi(rt));

  // --- Admin -------------------------------------------------------------------------------
  const admin = new Hono<AppEnv>();
  admin.use('*', limitBody);
  admin.use('*', async (c, next) => {
    const p = c.req.path.replace(/^\/admin/, '') || '/';
    // The queue dashboard has its own guard below.
    if (p === '/login' || p === '/setup' || p === '/queues' || p.startsWith('/queues/')) return next();
    return adminAuth(rt)(c, next);
  });
  registerAuthPages(admin, rt);
  registerOpsPages(admin, rt);
  registerWatchlistPages(admin, rt);
  registerRulePages(admin, rt);
  registerAlertPages(admin, rt);
  registerSilencePages(admin, rt);
  registerDeliveryPages(admin, rt);
  admin.onError((err, c) => {
    const p = formProblem(err) ?? (err instanceof FormError ? { message: err.message, status: 400, errors: [] } : null);
    const status = p?.status ?? (problemFromError(c, err).status as number);
    if (status >= 500 && !p) logger.error({ err, reqId: c.get('requestId'), path: c.req.path }, 'unhandled error');
    const title = status === 404 ? 'Not found' : status < 500 ? 'Request refused' : 'Something went wrong';
    const message =
      p?.message ?? (status < 500 ? (err as Error).message : 'The error was logged. Try again, or go back.');
    return c.html(
      page({ title, body: html`<p>${message}</p><p><a href="/admin">Back to the admin page</a></p>` }),
      status as 400,
    );
  });
  app.route('/admin', admin);

  // Queue dashboard, behind the same login. Its own UI calls its JSON API without our CSRF token:
  // a state-changing call must come from our own origin (SameSite=Lax already keeps the cookie
  // off cross-site requests).
  const board = new HonoAdapter(serveStatic);
  createBullBoard({ queues: deps.queues.all().map((q) => new BullMQAdapter(q)), serverAdapter: board });
  board.setBasePath('/admin/queues');
  const boardGuard: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (!['GET', 'HEAD'].includes(c.req.method)) {
      const origin = c.req.header('origin');
      const own = new URL(c.req.url).origin;
      const sameSite = c.req.header('sec-fetch-site');
      if (origin ? origin !== own && origin !== rt.baseUrl : sameSite !== 'same-origin') {
        return c.text('Forbidden: cross-origin request', 403);
      }
      return adminAuthNoCsrf(c, next);
    }
    return adminAuthNoCsrf(c, next);
  };
  const adminAuthNoCsrf: MiddlewareHandler<AppEnv> = async (c, next) => {
    const s = await loadSession(rt, c);
    if (!s) return c.redirect(`/admin/login?next=${encodeURIComponent('/admin/queues')}`, 303);
    c.set('auth', { kind: 'session', userId: s.userId, email: s.email, sessionId: s.id, csrfToken: s.csrfToken });
    return next();
  };
  app.use('/admin/queues', boardGuard);
  app.use('/admin/queues/*', boardGuard);
  app.route('/admin/queues', board.registerPlugin());

  // --- Public pages ------------------------------------------------------------------------
  app.get('/', (c) => c.redirect('/subscribe', 302));
  app.route('/', createPublicPages(rt));

  app.notFound((c) => problem(c, 404, 'Not Found', { detail: `No route for ${c.req.method} ${c.req.path}` }));
  app.onError((err, c) => {
    const res = problemFromError(c, err);
    if (res.status >= 500) logger.error({ err, reqId: c.get('requestId'), path: c.req.path }, 'unhandled error');
    return res;
  });
  return app;
}
