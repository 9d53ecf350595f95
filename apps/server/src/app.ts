import { getConnInfo } from '@hono/node-server/conninfo';
import { appVersion, userAgent } from '@signals/config';
import { systemClock } from '@signals/core';
import { createWebhookSender, templatePool } from '@signals/notify';
import { Hono, type MiddlewareHandler } from 'hono';
import { html } from 'hono/html';
import { registerAccountPages } from './admin/account.ts';
import { registerAlertPages } from './admin/alerts.ts';
import { registerSilencePages } from './admin/silences.ts';
import { registerInhibitionPages } from './admin/inhibitions.ts';
import { registerTemplatePages } from './admin/templates.ts';
import { registerAuthPages } from './admin/auth-pages.ts';
import { formProblem } from './admin/common.ts';
import { registerDeliveryPages } from './admin/delivery-pages.ts';
import { registerOpsPages } from './admin/ops-pages.ts';
import { registerRulePages } from './admin/rules.ts';
import { registerWatchlistPages } from './admin/watchlists.ts';
import { createApi } from './api/routes.ts';
import { assetRoutes } from './assets.ts';
import type { AppDeps, AppEnv, Runtime } from './context.ts';
import { type CheckResult, serviceHealth } from '@signals/db';
import { serverLoops } from './services/system.ts';
import { FormError, limitBody } from './input.ts';
import { problem, problemFromError } from './problem.ts';
import { createPublicPages } from './public/pages.ts';
import { createBacktestRunner } from './services/backtest-runner.ts';
import { adminAuth } from './security/auth.ts';
import { clientAddress, trustedProxies } from './security/client-ip.ts';
import { securityHeaders } from './security/headers.ts';
import { allowedHosts, hostGuard } from './security/hosts.ts';
import { metricsAuth } from './security/metrics-auth.ts';
import { proxyHeaderWatch } from './security/proxy-warning.ts';
import { createRateLimiter } from './security/ratelimit.ts';
import { createApiKeyCache } from './security/apikey-cache.ts';
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
    rateLimiter: createRateLimiter(deps.redis, deps.env.QUEUE_PREFIX),
    apiKeys: createApiKeyCache(),
    trustedProxies: trustedProxies(deps.env.TRUST_PROXY),
    proxyWatch: proxyHeaderWatch({ trustProxySet: deps.env.TRUST_PROXY.length > 0, logger: deps.logger }),
    backtests: createBacktestRunner({
      timeoutMs: deps.env.PREVIEW_TIMEOUT_SEC * 1000,
      databaseUrl: deps.env.DATABASE_URL,
      logger: deps.logger,
    }),
    cookieSecure: deps.env.COOKIE_SECURE ?? secureBase,
    templates: deps.templates ?? templatePool(),
    webhookSender:
      deps.webhookSender ??
      createWebhookSender({
        allowedCidrs: deps.env.WEBHOOK_ALLOWED_CIDRS,
        timeoutMs: 10_000,
        logger: deps.logger,
        userAgent: userAgent(deps.baseUrl),
      }),
  };
}

function peerAddress(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined; // app.request() in tests has no socket
  }
}

/**
 * Health checks as the public /healthz shows them: up or down and the latency, without the
 * driver's error text (it can name hosts, users and databases); the text goes to the log.
 */
function publicChecks<K extends string>(checks: Record<K, CheckResult>, logger: AppDeps['logger']) {
  const out = {} as Record<K, { ok: boolean; latencyMs: number }>;
  for (const [name, r] of Object.entries(checks) as [K, CheckResult][]) {
    if (r.error) logger.warn({ check: name, err: r.error }, 'health check failed');
    out[name] = { ok: r.ok, latencyMs: r.latencyMs };
  }
  return out;
}

export function createApp(deps: AppDeps) {
  const rt = createRuntime(deps);
  const app = new Hono<AppEnv>();
  const { logger, metrics } = deps;

  app.use('*', async (c, next) => {
    const t0 = performance.now();
    c.set('requestId', crypto.randomUUID());
    const forwardedFor = c.req.header('x-forwarded-for');
    c.set('clientIp', clientAddress(peerAddress(c), forwardedFor, rt.trustedProxies));
    rt.proxyWatch.observe(forwardedFor, c.req.header('forwarded'));
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

  app.use('*', securityHeaders({ https: rt.baseUrl.startsWith('https:') }));
  // Only the hosts this server is known by reach the admin and the API (DNS rebinding).
  const hosts = hostGuard(rt.baseUrl, allowedHosts(rt.baseUrl, deps.env.ALLOWED_HOSTS));
  app.use('/admin', hosts);
  app.use('/admin/*', hosts);
  app.use('/api', hosts);
  app.use('/api/*', hosts);

  // Postgres, Redis and every loop: 503 naming the overdue loop(s) when one is late, so a load
  // balancer or an uptime checker sees a service that stopped watching, not only one that is down.
  app.get('/healthz', async (c) => {
    const { ok, checks, ...body } = await serviceHealth({ prisma: deps.prisma, redis: deps.redis, statuses: rt.loops });
    return c.json({ version: appVersion(), ...body, checks: publicChecks(checks, logger) }, ok ? 200 : 503);
  });

  app.get(
    '/metrics',
    metricsAuth(deps.env.METRICS_TOKEN, { production: deps.env.NODE_ENV === 'production' }),
    async (c) => {
      const body = await metrics.registry.metrics();
      return c.body(body, 200, { 'content-type': metrics.registry.contentType });
    },
  );

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
  registerInhibitionPages(admin, rt);
  registerTemplatePages(admin, rt);
  registerDeliveryPages(admin, rt);
  registerAccountPages(admin, rt);
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
  // bull-board (~15 MB) loads with the first request to it, not with the server.
  let board: Promise<Hono> | undefined;
  const queueBoard = () => {
    board ??= (async () => {
      const [{ createBullBoard }, { BullMQAdapter }, { HonoAdapter }, { serveStatic }] = await Promise.all([
        import('@bull-board/api'),
        import('@bull-board/api/bullMQAdapter'),
        import('@bull-board/hono'),
        import('@hono/node-server/serve-static'),
      ]);
      const adapter = new HonoAdapter(serveStatic);
      createBullBoard({ queues: deps.queues.all().map((q) => new BullMQAdapter(q)), serverAdapter: adapter });
      adapter.setBasePath('/admin/queues');
      return new Hono().route('/admin/queues', adapter.registerPlugin());
    })();
    board.catch(() => {
      board = undefined; // a failed load is tried again by the next request
    });
    return board;
  };
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
  const toBoard: MiddlewareHandler<AppEnv> = async (c) => (await queueBoard()).fetch(c.req.raw, c.env);
  app.all('/admin/queues', toBoard);
  app.all('/admin/queues/*', toBoard);

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
