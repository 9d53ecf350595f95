/**
 * The environment, parsed once at start with one zod schema. The only code that reads process.env.
 * A missing or malformed variable stops the process with a message naming it.
 */
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL (${protocols.join(' or ')})` },
  );

/** "a, b,,c" -> ["a", "b", "c"] */
const commaList = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

const cidrList = commaList.refine((list) => list.every((c) => /^[0-9a-fA-F:.]+\/\d{1,3}$/.test(c)), {
  message: 'must be a comma-separated list of CIDRs, e.g. 127.0.0.1/32,10.0.0.0/8',
});

/** The worker's queues, as named in the queue catalog (apps/worker checks that the two agree). */
export const WORKER_QUEUE_NAMES = ['prices', 'news', 'evaluate', 'deliveries', 'maintenance'] as const;
export type WorkerQueueName = (typeof WORKER_QUEUE_NAMES)[number];

const queueList = commaList
  .refine((list) => list.length > 0 && list.every((q) => (WORKER_QUEUE_NAMES as readonly string[]).includes(q)), {
    message: `must be a comma-separated list of ${WORKER_QUEUE_NAMES.join(', ')}`,
  })
  .transform((list) => [...new Set(list)] as WorkerQueueName[]);

/** Every variable the service reads. Documented one by one in the README ("Configuration"). */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: url(['postgresql:', 'postgres:']).default('postgresql://postgres@127.0.0.1:5432/signals'),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Base URL people reach the server at: links in emails point here. Defaults to http://localhost:PORT. */
  PUBLIC_BASE_URL: url(['http:', 'https:']).optional(),
  /** SMTP server for outgoing mail. Unset: the run command starts an embedded mail catcher. */
  SMTP_URL: url(['smtp:', 'smtps:']).optional(),
  MAIL_FROM: z.string().min(3).default('Market Signals <alerts@localhost>'),
  /** Routes every Yahoo request (crumb step included) to this server. Unset in production. */
  YAHOO_BASE_URL: url(['http:', 'https:']).optional(),
  /** yahoo (default) or replay:<path to a recorded chart file or folder>. */
  PRICE_SOURCE: z
    .string()
    .regex(/^(yahoo|replay:.+)$/, 'must be "yahoo" or "replay:<path>"')
    .default('yahoo'),
  /** Quote polling while NYSE/Nasdaq are open, in seconds. */
  PRICE_POLL_SEC: z.coerce.number().int().min(5).max(3600).default(60),
  /** Quote polling while the market is closed (nights, weekends, holidays), in seconds. */
  PRICE_POLL_CLOSED_SEC: z.coerce.number().int().min(60).max(86_400).default(1800),
  /** How often the worker looks for feeds that are due (each feed has its own interval). */
  NEWS_POLL_SEC: z.coerce.number().int().min(5).max(3600).default(60),
  /** A quote older than this while the market is open is stale: no rule evaluates on it. */
  QUOTE_STALE_SEC: z.coerce.number().int().min(30).max(86_400).default(900),
  /** PRICE_SOURCE=replay:...: the recorded time the replay starts at (default: its first bar). */
  REPLAY_START: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date, YYYY-MM-DD')
    .optional(),
  /** PRICE_SOURCE=replay:...: recorded seconds per real second (default 21600: a day in 4 s). */
  REPLAY_SPEED: z.coerce.number().positive().max(10_000_000).default(21_600),
  /** Yahoo requests allowed per minute, shared by all workers (kept in Redis). */
  YAHOO_REQUESTS_PER_MINUTE: z.coerce.number().int().positive().default(60),
  /** Extra CIDRs webhook URLs may resolve to (private ones are refused otherwise). */
  WEBHOOK_ALLOWED_CIDRS: cidrList.default([]),
  /** Comma-separated webhook retry delays in seconds (default: 0,5,300,1800,7200,18000,36000,36000). */
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, 'must be comma-separated seconds, e.g. 0,5,300')
    .transform((v) => v.split(',').map((s) => Number(s) * 1000))
    .optional(),
  /** Comma-separated email retry delays in seconds (default: 0,30,120,600,1800,7200). */
  EMAIL_RETRY_SCHEDULE: z
    .string()
    .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, 'must be comma-separated seconds, e.g. 0,30,120')
    .transform((v) => v.split(',').map((s) => Number(s) * 1000))
    .optional(),
  /** Alertmanager-style group_wait for immediate email: alerts within it go out as one message. */
  EMAIL_GROUP_WAIT_SEC: z.coerce.number().min(0).max(3600).default(30),
  /** Pooled SMTP connections per worker process. */
  SMTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(100).default(5),
  /** Email messages per second per worker process (SMTP rate limit). */
  SMTP_RATE_LIMIT: z.coerce.number().int().positive().default(50),
  /** A delivery left "sending" this long by a stopped worker is retried (longer than any send). */
  DELIVERY_LEASE_SEC: z.coerce.number().min(1).max(3600).default(120),
  /** How often the sweeper looks for due deliveries that have no job (after a Redis loss). */
  SWEEP_INTERVAL_SEC: z.coerce.number().min(1).max(3600).default(15),
  /** How often the evaluation job scheduler runs all rules (they also run after every poll that stored data). */
  EVALUATE_INTERVAL_SEC: z.coerce.number().int().min(5).max(3600).default(300),
  /**
   * How often each worker process checks, on a local timer (not a Redis job), that the job
   * schedulers of its queues exist (re-creating them after a Redis loss) and whether a loop has
   * become degraded or recovered. At most 30 s: after any loss of Redis state work resumes within 60 s.
   */
  SELF_CHECK_SEC: z.coerce.number().min(1).max(30).default(15),
  /** A loop overdue this long raises a service.degraded event (webhooks, email to admins); its next run, service.recovered. */
  DEGRADED_AFTER_SEC: z.coerce.number().min(0).max(86_400).default(300),
  /**
   * Dead man's switch: an http(s) URL (e.g. a healthchecks.io check) the worker calls after each
   * successful evaluation cycle, so an outside checker notices when the calls stop.
   */
  HEARTBEAT_URL: url(['http:', 'https:']).optional(),
  /** Key for signed subscriber links; unset: a random key is generated once and kept in Postgres. */
  APP_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** First admin, created at start if no admin exists. */
  ADMIN_EMAIL: z.string().email().optional(),
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  /** BullMQ key prefix (a hash tag keeps every key on one Redis Cluster slot). */
  QUEUE_PREFIX: z.string().min(1).default('{signals}'),
  /** Port of the worker's own /metrics and /healthz (unset: no listener). One port per process. */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /**
   * Which queues this worker process runs (and schedules), default all: e.g. `deliveries,maintenance`
   * for processes that only send, scaled apart from the ones that poll and evaluate.
   */
  WORKER_QUEUES: queueList.optional(),
  /** Jobs each worker process runs at once, per queue. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Mark cookies Secure even behind a TLS-terminating proxy that speaks http to us. */
  COOKIE_SECURE: bool.optional(),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}\n` +
        'See "Configuration" in the README.',
    );
    this.name = 'ConfigError';
  }
}

/** Parses an environment (process.env by default). Throws ConfigError naming each bad variable. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  // Treat empty strings as unset, as shells and compose files often produce them.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const r = envSchema.safeParse(cleaned);
  if (!r.success) {
    throw new ConfigError(
      r.error.issues.map((i) => ({
        variable: String(i.path[0] ?? '?'),
        message: i.code === 'invalid_type' && i.input === undefined ? 'is required' : i.message,
      })),
    );
  }
  return r.data;
}

/** Derived settings apps need beyond the raw variables. */
export function publicBaseUrl(env: Env): string {
  return (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
}

/** The loops whose liveness is recorded (the catalog is in @signals/core loops.ts). */
export type LoopName = 'prices' | 'news' | 'evaluate' | 'sweep' | 'deliveries';

/**
 * How often each loop runs with these settings: the worker schedules its jobs with these intervals
 * and records them with each heartbeat; a judge without a heartbeat yet assumes them. Price polling
 * and evaluation follow market hours except in a replay (which runs at any hour).
 */
export function loopIntervals(env: Env): Record<LoopName, { intervalMs: number; marketHours: boolean }> {
  const replay = env.PRICE_SOURCE.startsWith('replay:');
  const sweepMs = env.SWEEP_INTERVAL_SEC * 1000;
  return {
    // The tick is frequent; priceTick itself polls only when the market calendar says it is due.
    prices: { intervalMs: replay ? 2000 : Math.min(env.PRICE_POLL_SEC * 1000, 60_000), marketHours: !replay },
    news: { intervalMs: env.NEWS_POLL_SEC * 1000, marketHours: false },
    evaluate: { intervalMs: env.EVALUATE_INTERVAL_SEC * 1000, marketHours: !replay },
    sweep: { intervalMs: sweepMs, marketHours: false },
    // A due delivery waits at most the sweeper's grace (60 s) plus one sweep for a job.
    deliveries: { intervalMs: 60_000 + sweepMs, marketHours: false },
  };
}

/**
 * Loads the environment or exits: the message names the variable, no stack trace.
 * Apps call this once at start.
 */
export function loadEnvOrExit(source: Record<string, string | undefined> = process.env): Env {
  try {
    return parseEnv(source);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

export { createLogger, redactUrl, REDACT_PATHS } from './logger.ts';
export { onShutdown } from './shutdown.ts';
