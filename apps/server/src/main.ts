import { serve } from '@hono/node-server';
import { createLogger, loadEnvOrExit, onShutdown, publicBaseUrl } from '@signals/config';
import { createPrisma, issueSetupToken, setupUrl } from '@signals/db';
import { systemClock } from '@signals/core';
import { createPriceSource } from '@signals/market-data';
import { createQueues, createRedis } from '@signals/queue';
import { createApp } from './app.ts';
import { createMetrics } from './metrics.ts';
import { ensureAdminFromEnv, setupBanner } from './services/admins.ts';
import { serverLoops } from './services/system.ts';

const env = loadEnvOrExit();
const logger = createLogger({ name: 'server', level: env.LOG_LEVEL });
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
    process.stdout.write(setupBanner(setupUrl(baseUrl, setup.token), setup.expiresAt));
    logger.warn(
      'no admin account yet: open the one-time setup URL printed above (or run `pnpm cli setup-url` for a new one)',
    );
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
