import { systemClock } from '@signals/core';
import { createLogger, loadEnvOrExit, onShutdown } from '@signals/config';
import { checkHealth, createPrisma } from '@signals/db';
import { createQueues, createRedis } from '@signals/queue';
import { buildHandlers } from './jobs/index.ts';
import { createWorkerMetrics, startMetricsServer } from './metrics.ts';
import { selectQueues, startWorkers } from './worker.ts';

const env = loadEnvOrExit();
const logger = createLogger({ name: 'worker', level: env.LOG_LEVEL });
const prisma = createPrisma({ databaseUrl: env.DATABASE_URL });
const redis = createRedis(env.REDIS_URL, 'worker');
redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
const queues = createQueues(redis, env.QUEUE_PREFIX);

const deps = {
  prisma,
  redis,
  queues,
  prefix: env.QUEUE_PREFIX,
  logger,
  clock: systemClock,
  concurrency: env.WORKER_CONCURRENCY,
};
const metrics = createWorkerMetrics();
const built = await buildHandlers(env, deps, metrics);

// Signals are handled before any worker takes a job: a SIGTERM that arrives while the workers or the
// metrics server are still starting waits for them, then stops them cleanly (no job left stalled).
let starting: Promise<Awaited<ReturnType<typeof startWorkers>>> | undefined;
let metricsStarting: Promise<Awaited<ReturnType<typeof startMetricsServer>>> | undefined;
onShutdown({
  logger,
  what: 'no new jobs, finishing active ones (unfinished ones are picked up again)',
  timeoutMs: 30_000,
  steps: [
    async () => (await starting)?.close(),
    async () => (await metricsStarting)?.close(),
    () => built.close(),
    () => queues.close(),
    () => redis.quit(),
    () => prisma.$disconnect(),
  ],
});

const selected = selectQueues(built, env.WORKER_QUEUES);
starting = startWorkers(deps, selected.handlers, selected.schedules);
const running = await starting;
metrics.observe(running.workers);
metricsStarting =
  env.WORKER_METRICS_PORT === undefined
    ? undefined
    : startMetricsServer({
        registry: metrics.registry,
        port: env.WORKER_METRICS_PORT,
        host: env.HOST,
        health: () => checkHealth({ prisma, redis }),
      });
const metricsServer = await metricsStarting;
if (metricsServer) logger.info({ port: metricsServer.port }, 'worker metrics on /metrics, health on /healthz');
logger.info({ queues: running.workers.map((w) => w.name), concurrency: env.WORKER_CONCURRENCY }, 'worker started');
