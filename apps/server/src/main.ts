import { serve } from '@hono/node-server';
import { createLogger, loadEnvOrExit, onShutdown, publicBaseUrl } from '@signals/config';
import { createPrisma } from '@signals/db';
import { systemClock } from '@signals/core';
import { createPriceSource } from '@signals/market-data';
import { createQueues, createRedis } from '@signals/queue';
import { createApp } from './app.ts';
import { createMetrics } from './metrics.ts';
import { ensureAdminFromEnv } from './services/admins.ts';
import { serverLoops } from './services/system.ts';

const env = loadEnvOrExit();
const logger = createLogger({ name: 'server', level: env.LOG_LEVEL });
const prisma = createPrisma({ databaseUrl: env.DATABASE_URL });
const redis = createRedis(env.REDIS_URL, 'producer');
redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
const queues = createQueues(redis, env.QUEUE_PREFIX);
// One judge of the loops for /healthz, /metrics and the System page.
const loops = serverLoops(prisma, env);
const metrics = createMetrics({ queues, prisma, loops });
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
const app = createApp({ env, prisma, redis, queues, logger, metrics, baseUrl, priceSource, loops });

const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (info) => {
  logger.info({ port: info.port, baseUrl }, `server listening; admin page at ${baseUrl}/admin`);
  if (admin === 'unset')
    logger.warn(`no admin account yet: create one at ${baseUrl}/admin/setup (or set ADMIN_EMAIL and ADMIN_PASSWORD)`);
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
