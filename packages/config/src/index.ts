/**
 * The environment, parsed once at start with one zod schema. The only code that reads process.env.
 * A missing or malformed variable stops the process with a message naming it.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { hasHashTag, parseRedisUrl } from './redis-url.ts';

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

/** "2021-02-28" yes; "2021-13-01" and "2021-02-30" no (Date would roll them over silently). */
function isCalendarDate(v: string): boolean {
  const [y, m, d] = v.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** "10.0.0.0/8" or "::1/128": an address and a prefix length that fits its family. */
function isCidr(c: string): boolean {
  const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(c);
  if (!m) return false;
  const family = isIP(m[1] as string);
  return family !== 0 && Number(m[2]) <= (family === 4 ? 32 : 128);
}

const cidrList = commaList.refine((list) => list.every(isCidr), {
  message: 'must be a comma-separated list of CIDRs, e.g. 127.0.0.1/32,10.0.0.0/8',
});

/** "signals.example.org", "signals.example.org:8443", "[::1]:3000": what a Host header carries. */
const HOST_RE = /^(\[[0-9a-f:.]+\]|[a-z0-9][a-z0-9.-]*)(:\d{1,5})?$/;
const hostList = commaList
  .transform((list) => list.map((h) => h.toLowerCase()))
  .refine((list) => list.every((h) => HOST_RE.test(h)), {
    message: 'must be a comma-separated list of host names with an optional port, e.g. signals.internal,10.0.0.5:3000',
  });

/** The worker's queues, as named in the queue catalog (apps/worker checks that the two agree). */
export const WORKER_QUEUE_NAMES = ['prices', 'news', 'evaluate', 'deliveries', 'maintenance'] as const;
export type WorkerQueueName = (typeof WORKER_QUEUE_NAMES)[number];

const queueList = commaList
  .refine((list) => list.length > 0 && list.every((q) => (WORKER_QUEUE_NAMES as readonly string[]).includes(q)), {
    message: `must be a comma-separated list of ${WORKER_QUEUE_NAMES.join(', ')}`,
  })
  .transform((list) => [...new Set(list)] as WorkerQueueName[]);

/** Days a kind of row is kept: a whole number in [min, max]. */
const days = (min: number, max: number, dflt: number) =>
  z.coerce
    .number()
    .int('must be a whole number of days')
    .min(min, `must be ${min} to ${max} days`)
    .max(max, `must be ${min} to ${max} days`)
    .default(dflt);

/** Every variable the service reads. Documented one by one in the README ("Configuration"). */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: url(['postgresql:', 'postgres:']).default('postgresql://postgres@127.0.0.1:5432/signals'),
  /**
   * One Redis (`redis://`, `rediss://`) or a Redis Cluster (`redis+cluster://h1:p1,h2:p2`,
   * `rediss+cluster://` for TLS), parsed into the form `createRedis` takes.
   */
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .transform((v, ctx) => {
      try {
        return parseRedisUrl(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
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
    .refine(isCalendarDate, 'must be a calendar date, YYYY-MM-DD (month 01-12, a day the month has)')
    .optional(),
  /** PRICE_SOURCE=replay:...: recorded seconds per real second (default 21600: a day in 4 s). */
  REPLAY_SPEED: z.coerce.number().positive().max(10_000_000).default(21_600),
  /**
   * Intraday intervals kept current from Yahoo's chart endpoint, comma-separated (1m, 5m, 15m, 1h);
   * `none`: no intraday bars. Default 5m.
   */
  INTRADAY_INTERVALS: z
    .string()
    .regex(/^(none|(1m|5m|15m|1h)(,(1m|5m|15m|1h))*)$/, 'must be a comma-separated list of 1m, 5m, 15m, 1h, or none')
    .default('5m')
    .transform((v) => [...new Set(v === 'none' ? [] : v.split(','))] as Array<'1m' | '5m' | '15m' | '1h'>),
  /** Days intraday bars are kept, per interval (Yahoo serves 1m for 7 days, 5m/15m for 60, 1h for 730). */
  INTRADAY_RETENTION_1M_DAYS: z.coerce.number().int().min(1).max(3650).default(7),
  INTRADAY_RETENTION_5M_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  INTRADAY_RETENTION_15M_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  INTRADAY_RETENTION_1H_DAYS: z.coerce.number().int().min(1).max(3650).default(730),
  /**
   * Retention (README "Running for years" > "Retention"; the policies are in @signals/db
   * retention.ts): days each kind of row is kept, pruned by the worker's hourly maintenance job.
   */
  RETENTION_QUOTES_DAYS: days(1, 3650, 14),
  RETENTION_DELIVERIES_DAYS: days(1, 3650, 90),
  RETENTION_DEAD_LETTERS_DAYS: days(1, 3650, 365),
  RETENTION_ATTEMPTS_DAYS: days(1, 3650, 90),
  RETENTION_NEWS_DAYS: days(1, 3650, 180),
  RETENTION_SOURCE_EVENTS_DAYS: days(1, 3650, 90),
  RETENTION_INCIDENTS_DAYS: days(1, 3650, 365),
  /** Days after expiry (0: as soon as expired). */
  RETENTION_SESSIONS_DAYS: days(0, 365, 1),
  RETENTION_SIGNUPS_DAYS: days(1, 365, 30),
  /** 0 (default): alerts are kept forever; else at least 30 days. */
  RETENTION_ALERTS_DAYS: z.coerce
    .number()
    .int()
    .default(0)
    .refine((v) => v === 0 || (v >= 30 && v <= 36_500), 'must be 0 (keep forever) or 30 to 36500 days'),
  /** Rows one retention batch deletes (one statement, one short transaction). */
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(100).max(50_000).default(5000),
  /** Poll quotes at PRICE_POLL_SEC in pre-market (04:00) and post-market (until 20:00 ET) too. */
  EXTENDED_HOURS_POLLING: z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** Yahoo requests allowed per minute, shared by all workers (kept in Redis). */
  YAHOO_REQUESTS_PER_MINUTE: z.coerce.number().int().positive().default(60),
  /** Extra CIDRs webhook URLs may resolve to (private ones are refused otherwise). */
  WEBHOOK_ALLOWED_CIDRS: cidrList.default([]),
  /**
   * Extra CIDRs feed URLs may resolve to (loopback, private, link-local and reserved ranges are
   * refused otherwise, when a feed is added and at every fetch and redirect).
   */
  FEED_ALLOWED_CIDRS: cidrList.default([]),
  /** ntfy server for a topic given without a server (a bare name like `my-alerts`). */
  NTFY_DEFAULT_SERVER: url(['http:', 'https:']).default('https://ntfy.sh'),
  /** Extra CIDRs ntfy topic URLs may resolve to (a self-hosted server on a private network; tests). */
  NTFY_ALLOWED_CIDRS: cidrList.default([]),
  /** Telegram bot token (from @BotFather): enables the Telegram channel. Never logged. */
  TELEGRAM_BOT_TOKEN: z
    .string()
    .regex(/^\d{3,20}:[A-Za-z0-9_-]{20,100}$/, 'must be a bot token as @BotFather gives it (123456:ABC...)')
    .optional(),
  /** The bot's username (without @), for the deep link https://t.me/<username>?start=<token>. */
  TELEGRAM_BOT_USERNAME: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]{3,31}$/, 'must be a Telegram bot username, e.g. MarketSignalsBot')
    .optional(),
  /** Telegram Bot API base URL (default https://api.telegram.org; a local fake in tests). */
  TELEGRAM_API_BASE_URL: url(['http:', 'https:']).default('https://api.telegram.org'),
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
  /**
   * smtp:// to a host other than loopback must upgrade to TLS (STARTTLS) before anything, the
   * credentials included, is sent; unset: required for every host but loopback, `true`: for
   * loopback too, `false`: never (a relay on a trusted network without TLS). smtps:// is always TLS.
   */
  SMTP_REQUIRE_TLS: bool.optional(),
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
  /**
   * The key APP_SECRET had before a rotation: links signed with it are still accepted (nothing new
   * is signed with it). Remove it once the mail sent before the rotation no longer matters.
   */
  APP_SECRET_PREVIOUS: z.string().min(32, 'must be at least 32 characters').optional(),
  /** First admin, created at start if no admin exists. */
  ADMIN_EMAIL: z.string().email().optional(),
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  /**
   * BullMQ key prefix, also used by every other Redis key of the service. A hash tag (`{...}`)
   * keeps every key on one Redis Cluster slot: required when REDIS_URL names a cluster.
   */
  QUEUE_PREFIX: z.string().min(1).default('{signals}'),
  /** Where the run command keeps what it starts itself (embedded Postgres, Redis, mail). Default <repo>/.data. */
  DATA_DIR: z.string().min(1).optional(),
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
  /**
   * Host headers /admin and /api answer besides PUBLIC_BASE_URL's host (other names the server is
   * reached by). Any other Host is refused, so a DNS-rebinding page cannot reach the admin.
   */
  ALLOWED_HOSTS: hostList.default([]),
  /**
   * CIDRs of reverse proxies whose X-Forwarded-For is believed (the client is the right-most
   * address that is not one of them). Empty: the header is ignored and the peer address is the client.
   */
  TRUST_PROXY: cidrList.default([]),
  /**
   * When set, /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`. Unset: open in
   * development, closed (403) with NODE_ENV=production.
   */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * NODE_ENV=production refuses to start with an http:// PUBLIC_BASE_URL; `true` starts anyway,
   * warning at every start (a LAN install without TLS, never the internet).
   */
  ALLOW_INSECURE_HTTP: bool.optional(),
  /**
   * Where the server writes the one-time setup URL (mode 0600) while no admin exists.
   * Default <DATA_DIR>/setup-url.txt.
   */
  SETUP_URL_FILE: z.string().min(1).optional(),
  /** Time budget of one rule preview or API backtest, run off the request thread (seconds). */
  PREVIEW_TIMEOUT_SEC: z.coerce.number().min(0.1).max(600).default(10),
});

/**
 * Rules across variables. A cluster moves multi-key commands (BullMQ's scripts, MULTI, pipelines)
 * only when all their keys share a slot: the prefix's hash tag guarantees that.
 */
const checkedSchema = envSchema.superRefine((env, ctx) => {
  retentionChecks(env, ctx);
  if (env.TELEGRAM_BOT_TOKEN && !env.TELEGRAM_BOT_USERNAME) {
    ctx.addIssue({
      code: 'custom',
      path: ['TELEGRAM_BOT_USERNAME'],
      message: 'is required with TELEGRAM_BOT_TOKEN (the deep link names the bot)',
    });
  }
  if (env.REDIS_URL.cluster && !hasHashTag(env.QUEUE_PREFIX)) {
    ctx.addIssue({
      code: 'custom',
      path: ['QUEUE_PREFIX'],
      message: `must contain a hash tag such as {signals} when REDIS_URL names a Redis Cluster (got "${env.QUEUE_PREFIX}")`,
    });
  }
});

/** Dead letters are kept at least as long as the deliveries that arrived. */
function retentionChecks(env: z.infer<typeof envSchema>, ctx: z.RefinementCtx): void {
  if (env.RETENTION_DEAD_LETTERS_DAYS < env.RETENTION_DELIVERIES_DAYS) {
    ctx.addIssue({
      code: 'custom',
      path: ['RETENTION_DEAD_LETTERS_DAYS'],
      message: `must be at least RETENTION_DELIVERIES_DAYS (${env.RETENTION_DELIVERIES_DAYS}): dead letters are kept longer than deliveries that arrived`,
    });
  }
}

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

/**
 * zod's words for one issue, or ours where they mislead: a variable that is set but is not a
 * number ("PORT=abc") must not read "is required". The value is not repeated (it may be a secret).
 */
function issueMessage(i: z.core.$ZodIssue, source: Record<string, unknown>): string {
  if (i.code !== 'invalid_type') return i.message;
  const name = String(i.path[0] ?? '');
  if (!(name in source)) return 'is required';
  return i.expected === 'number' ? 'must be a number' : `must be a ${i.expected}`;
}

/** Parses an environment (process.env by default). Throws ConfigError naming each bad variable. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  // Treat empty strings as unset, as shells and compose files often produce them.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const r = checkedSchema.safeParse(cleaned);
  if (!r.success) {
    throw new ConfigError(
      r.error.issues.map((i) => ({
        variable: String(i.path[0] ?? '?'),
        message: issueMessage(i, cleaned),
      })),
    );
  }
  return r.data;
}

/**
 * Whether the operator set `name` (an empty string counts as unset, as in parseEnv). The run
 * command starts embedded services only for what was left unset.
 */
export function isSet(name: keyof Env, source: Record<string, string | undefined> = process.env): boolean {
  const v = source[name];
  return v !== undefined && v !== '';
}

/** Derived settings apps need beyond the raw variables. */
export function publicBaseUrl(env: Env): string {
  return (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
}

/** The loops whose liveness is recorded (the catalog is in @signals/core loops.ts). */
export type LoopName = 'prices' | 'news' | 'evaluate' | 'sweep' | 'deliveries' | 'telegram';

/** A loop's interval and whether it follows market hours. */
export interface LoopInterval {
  intervalMs: number;
  marketHours: boolean;
}

/**
 * The Telegram bot's long poll: a round every ≤ 26 s (25 s wait) while Telegram answers; the worker
 * holding the poller lease records it.
 */
export const TELEGRAM_LOOP_INTERVAL_MS = 30_000;

/**
 * How often each loop runs with these settings: the worker schedules its jobs with these intervals
 * and records them with each heartbeat; a judge without a heartbeat yet assumes them. Price polling
 * and evaluation follow market hours except in a replay (which runs at any hour).
 */
export function loopIntervals(
  env: Env,
): Record<Exclude<LoopName, 'telegram'>, LoopInterval> & Partial<Record<'telegram', LoopInterval>> {
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
    // Optional: judged only when the bot is configured.
    ...(env.TELEGRAM_BOT_TOKEN ? { telegram: { intervalMs: TELEGRAM_LOOP_INTERVAL_MS, marketHours: false } } : {}),
  };
}

/**
 * The signing-key settings for subscriber links, as @signals/db's resolveSigningKeys takes them.
 * The server and the worker both pass this, so they resolve the same keys.
 */
export function signingKeyConfig(env: Pick<Env, 'APP_SECRET' | 'APP_SECRET_PREVIOUS'>): {
  appSecret: string | undefined;
  previous: string | undefined;
} {
  return { appSecret: env.APP_SECRET, previous: env.APP_SECRET_PREVIOUS };
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
export {
  checkProductionOrExit,
  type ProductionFinding,
  productionFindings,
  SECURITY_SETTINGS,
  setupUrlFile,
} from './production.ts';
export { hasHashTag, parseRedisUrl, type RedisNode, type RedisTarget } from './redis-url.ts';
export { onShutdown } from './shutdown.ts';
export { APP_NAME, appVersion, userAgent } from './version.ts';
export {
  ENTRY_SOURCES,
  type EntryName,
  isBuilt,
  NODE_FLAGS,
  nodeCommand,
  nodeFlags,
  repoRoot,
} from './launch.ts';
