import { LOOP_IDS, LOOPS, systemClock } from '@signals/core';
import {
  appVersion,
  checkProductionOrExit,
  createLogger,
  loadEnvOrExit,
  loopIntervals,
  onShutdown,
  publicBaseUrl,
} from '@signals/config';
import { createPrisma, loopStatus, serviceHealth } from '@signals/db';
import { createQueues, createRedis } from '@signals/queue';
import { buildHandlers } from './jobs/index.ts';
import { createWorkerMetrics, startMetricsServer } from './metrics.ts';
import { checkIncidents } from './ops/incidents.ts';
import { ensureSchedules } from './ops/schedules.ts';
import { type SelfCheck, startSelfCheck } from './ops/self-check.ts';
import { selectQueues, startWorkers } from './worker.ts';

const env = loadEnvOrExit();
const logger = createLogger({ name: 'worker', level: env.LOG_LEVEL });
// NODE_ENV=production: the links the worker mails must be https and reachable (exit 78 otherwise).
checkProductionOrExit(env, logger, 'worker');
const prisma = createPrisma({ databaseUrl: env.DATABASE_URL });
const redis = createRedis(env.REDIS_URL, 'worker');
redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
const queues = createQueues(redis, env.QUEUE_PREFIX);
const startedAt = new Date();

const deps = {
  prisma,
  redis,
  queues,
  prefix: env.QUEUE_PREFIX,
  logger,
  clock: systemClock,
  concurrency: env.WORKER_CONCURRENCY,
};
const intervals = loopIntervals(env);
// This process's /healthz and /metrics judge the loops of the queues it runs; the server judges them all.
const ownLoops = LOOP_IDS.filter((id) => env.WORKER_QUEUES?.includes(LOOPS[id].queue) ?? true);
const ownStatus = async () =>
  (await loopStatus(prisma, { now: new Date(), expected: intervals, watchingSince: startedAt })).filter((s) =>
    ownLoops.includes(s.loop),
  );
const metrics = createWorkerMetrics({ loops: ownStatus });
const built = await buildHandlers(env, deps, metrics);
const selected = selectQueues(built, env.WORKER_QUEUES);

// Signals are handled before any worker takes a job: a SIGTERM that arrives while the workers or the
// metrics server are still starting waits for them, then stops them cleanly (no job left stalled).
let starting: Promise<Awaited<ReturnType<typeof startWorkers>>> | undefined;
let metricsStarting: Promise<Awaited<ReturnType<typeof startMetricsServer>>> | undefined;
let selfCheck: SelfCheck | undefined;
onShutdown({
  logger,
  what: 'no new jobs, finishing active ones (unfinished ones are picked up again)',
  timeoutMs: 30_000,
  steps: [
    async () => selfCheck?.close(),
    async () => (await starting)?.close(),
    async () => (await metricsStarting)?.close(),
    () => built.close(),
    () => queues.close(),
    () => redis.quit(),
    () => prisma.$disconnect(),
  ],
});

starting = startWorkers(deps, selected.handlers, selected.schedules);
const running = await starting;
metrics.observe(running.workers);

// Self-healing and watching, on a local timer (it runs when Redis has lost every key):
// - schedules: re-create this process's job schedulers when Redis lost them; right after such a
//   loss, sweep at once with no grace (no job survived, so every due delivery is an orphan);
// - incidents: report loops overdue for DEGRADED_AFTER_SEC (any loop: the process that runs it may
//   be the one that is down), and their recovery.
const sweeps = selected.schedules.some((s) => s.queue === 'maintenance');
selfCheck = startSelfCheck({
  intervalMs: env.SELF_CHECK_SEC * 1000,
  logger,
  tasks: {
    schedules: async (trigger) => {
      const repairs = await ensureSchedules(queues, selected.schedules, logger, trigger);
      if (sweeps && repairs.some((r) => r.problem === 'missing'))
        await queues.add('maintenance', { kind: 'sweep', graceMs: 0 });
    },
    incidents: () =>
      checkIncidents({
        prisma,
        queues,
        logger,
        publicBaseUrl: publicBaseUrl(env),
        expected: intervals,
        watchingSince: startedAt,
        degradedAfterMs: env.DEGRADED_AFTER_SEC * 1000,
      }),
  },
});
// After a reconnect Redis may be a new, empty instance (a restart without persistence, a failover):
// check at once instead of waiting for the timer.
redis.on('ready', () => {
  logger.info('redis connection ready; checking the job schedulers');
  void selfCheck?.run('schedules', 'reconnect');
});

metricsStarting =
  env.WORKER_METRICS_PORT === undefined
    ? undefined
    : startMetricsServer({
        registry: metrics.registry,
        port: env.WORKER_METRICS_PORT,
        host: env.HOST,
        health: async () => ({
          version: appVersion(),
          ...(await serviceHealth({ prisma, redis, statuses: ownStatus })),
        }),
      });
const metricsServer = await metricsStarting;
if (metricsServer) logger.info({ port: metricsServer.port }, 'worker metrics on /metrics, health on /healthz');
logger.info({ queues: running.workers.map((w) => w.name), concurrency: env.WORKER_CONCURRENCY }, 'worker started');
