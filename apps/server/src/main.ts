import { serve } from '@hono/node-server';
import {
  checkProductionOrExit,
  createLogger,
  loadEnvOrExit,
  onShutdown,
  publicBaseUrl,
  setupUrlFile,
} from '@signals/config';
import { createPrisma, issueSetupToken, repoPaths, setupUrl } from '@signals/db';
import { systemClock } from '@signals/core';
import { createPriceSource } from '@signals/market-data';
import { createQueues, createRedis } from '@signals/queue';
import { createApp } from './app.ts';
import { createMetrics } from './metrics.ts';
import { ensureAdminFromEnv, publishSetupUrl } from './services/admins.ts';
import { serverLoops } from './services/system.ts';

const env = loadEnvOrExit();
const logger = createLogger({ name: 'server', level: env.LOG_LEVEL });
// NODE_ENV=production: exits 78 on settings that would leak passwords or send dead links.
checkProductionOrExit(env, logger);
if (env.TRUST_PROXY.length === 0) {
  logger.info(
    'TRUST_PROXY is unset: X-Forwarded-For is ignored and the TCP peer is the client (a warning follows if requests arrive through a proxy)',
  );
}
const prisma = createPrisma({ databaseUrl: env.DATABASE_URL });
const redis = createRedis(env.REDIS_URL, 'producer');
redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
const queues = createQueues(redis, env.QUEUE_PREFIX);
// One judge of the loops for /healthz, /metrics and the System page.
const loops = serverLoops(prisma, env);
const metrics = createMetrics({ queues, prisma, loops, replay: env.PRICE_SOURCE.startsWith('replay:') });
const baseUrl = publicBaseUrl(env);
// Symbols added on the admin page are checked against the same source the poller uses.
const priceSource = await createPriceSource(env.PRICE_SOURCE, {
  clock: systemClock,
  logger,
  yahoo: { ...(env.YAHOO_BASE_URL ? { baseUrl: env.YAHOO_BASE_URL } : {}) },
});
const admin = await ensureAdminFromEnv(prisma, env).catch((err: Error) => {
  logger.error({ err: err.message }, 'could not check for an admin account (is the database migrated?)');
  return 'unknown' as const;
});
if (admin === 'created') logger.info('first admin created from ADMIN_EMAIL/ADMIN_PASSWORD');
// No admin and none from the environment: this process's own one-time setup URL (others stay valid).
const setup =
  admin === 'unset'
    ? await issueSetupToken(prisma).catch((err: Error) => {
        logger.error({ err: err.message }, 'could not create a setup token; run `pnpm cli setup-url` later');
        return null;
      })
    : null;
const app = createApp({ env, prisma, redis, queues, logger, metrics, baseUrl, priceSource, loops });

const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (info) => {
  logger.info({ port: info.port, baseUrl }, `server listening; admin page at ${baseUrl}/admin`);
  if (setup) {
    // The URL goes to a file only the operator reads, and to the console only when it is one:
    // under compose or systemd stdout is the log stream, which others read and ship.
    publishSetupUrl({
      url: setupUrl(baseUrl, setup.token),
      expiresAt: setup.expiresAt,
      file: setupUrlFile(env, repoPaths().root),
      console: process.stdout,
      logger,
    });
  }
});

onShutdown({
  logger,
  what: 'no new connections, finishing requests in flight',
  timeoutMs: 10_000,
  steps: [
    () => new Promise<void>((resolve) => server.close(() => resolve())),
    () => queues.close(),
    () => redis.quit(),
    () => prisma.$disconnect(),
  ],
});
