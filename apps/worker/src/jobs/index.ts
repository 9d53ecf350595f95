import { type Clock, type LoopId, systemClock } from '@signals/core';
import { type Env, loopIntervals, publicBaseUrl, signingKeyConfig, userAgent } from '@signals/config';
import {
  type BarCache,
  createIntradayStore,
  createNewsStore,
  createPriceStore,
  type IntradayRetention,
  type RetentionSettings,
  resolveSigningKeys,
  runRetention,
} from '@signals/db';
import {
  heldAcceleratedClock,
  createIntradayIngestor,
  createPriceIngestor,
  hasIntraday,
  createPriceSource,
  RedisRequestBudget,
  ReplayPriceSource,
} from '@signals/market-data';
import { createNewsIngestor } from '@signals/news';
import { buildSubscriberChannels, createMailer, createWebhookSender, DEFAULT_RETRY_SCHEDULE_MS } from '@signals/notify';
import { startTelegramUpdates, type TelegramLoop } from '../channels/telegram-updates.ts';
import { DEFAULT_EMAIL_SCHEDULE, type DeliveryContext, runDeliveries } from '../delivery/deliver.ts';
import { sweepDeliveries } from '../delivery/sweep.ts';
import type { WorkerMetrics } from '../metrics.ts';
import { createHeartbeat } from '../ops/heartbeat.ts';
import { createLiveness } from '../ops/liveness.ts';
import type { Handlers, Schedule, WorkerDeps } from '../worker.ts';
import { runEvaluationCycle } from './evaluate.ts';
import { newsTick, priceTick } from './ingest.ts';
import { loadReplayNews, replayNewsTick } from './replay-news.ts';

/** Days kept per intraday interval, from INTRADAY_RETENTION_<INTERVAL>_DAYS. */
function intradayRetentionDays(env: Env): IntradayRetention {
  return {
    '1m': env.INTRADAY_RETENTION_1M_DAYS,
    '5m': env.INTRADAY_RETENTION_5M_DAYS,
    '15m': env.INTRADAY_RETENTION_15M_DAYS,
    '1h': env.INTRADAY_RETENTION_1H_DAYS,
  };
}

/** Days kept per retention policy, from the RETENTION_*_DAYS settings. */
export function retentionSettings(env: Env): RetentionSettings {
  return {
    quotes: env.RETENTION_QUOTES_DAYS,
    deliveries: env.RETENTION_DELIVERIES_DAYS,
    deadLetters: env.RETENTION_DEAD_LETTERS_DAYS,
    attempts: env.RETENTION_ATTEMPTS_DAYS,
    news: env.RETENTION_NEWS_DAYS,
    sourceEvents: env.RETENTION_SOURCE_EVENTS_DAYS,
    incidents: env.RETENTION_INCIDENTS_DAYS,
    sessions: env.RETENTION_SESSIONS_DAYS,
    signups: env.RETENTION_SIGNUPS_DAYS,
    alerts: env.RETENTION_ALERTS_DAYS,
  };
}

/** The retention job runs hourly; in a replay hourly in replayed time (at least 5 s apart). */
export function retentionEveryMs(env: Env): number {
  return env.PRICE_SOURCE.startsWith('replay:') ? Math.max(5000, Math.round(3_600_000 / env.REPLAY_SPEED)) : 3_600_000;
}

/**
 * The clock prices and rules run on: the system clock, or with PRICE_SOURCE=replay:<path> a clock
 * that runs REPLAY_SPEED times faster than the worker's clock from REPLAY_START (default: the latest date by which every
 * recorded symbol with enough data has 60 sessions behind it, so the rules have history to look
 * back on). Deliveries always use the system clock. A replay's clock stands at its start until this
 * worker's first job that reads it (a price tick, an evaluation, retention), so however long the
 * process takes to start, no replayed session passes unseen (a backtest of the same bars sees it).
 */
async function marketClock(env: Env, base: Clock): Promise<{ clock: Clock; replay: boolean; release(): void }> {
  if (!env.PRICE_SOURCE.startsWith('replay:')) return { clock: systemClock, replay: false, release() {} };
  let start = env.REPLAY_START ? new Date(`${env.REPLAY_START}T13:00:00Z`) : undefined;
  if (!start) {
    const probe = await ReplayPriceSource.fromPath(env.PRICE_SOURCE.slice('replay:'.length), { clock: systemClock });
    let latest = Number.NEGATIVE_INFINITY;
    for (const s of probe.symbols) {
      const h = await probe.history(s, new Date(0), new Date(8.64e15));
      const t = h.bars[60]?.sourceAt.getTime();
      if (t !== undefined && t > latest) latest = t;
    }
    // Intraday recordings are days, not years: start at their first bar.
    start = new Date(Number.isFinite(latest) ? latest : (probe.firstInstant?.getTime() ?? Date.now()));
  }
  // Held at its start until the first price tick (see heldAcceleratedClock): replayed time begins
  // when this worker starts looking, not while it is still starting.
  const clock = heldAcceleratedClock({ start, speed: env.REPLAY_SPEED, base });
  return { clock, replay: true, release: () => clock.release() };
}

/**
 * The job handlers this process runs, wired from the environment. Handlers are thin: the logic
 * lives in packages (market-data, news, core, notify) and in ../delivery, tested there.
 */
export async function buildHandlers(
  env: Env,
  deps: WorkerDeps,
  metrics?: WorkerMetrics,
): Promise<{
  handlers: Handlers;
  schedules: Schedule[];
  close(): Promise<void>;
}> {
  const mailer = createMailer({
    smtpUrl: env.SMTP_URL ?? 'smtp://127.0.0.1:1025',
    from: env.MAIL_FROM,
    pool: true,
    maxConnections: env.SMTP_MAX_CONNECTIONS,
    rateLimit: env.SMTP_RATE_LIMIT,
    requireTls: env.SMTP_REQUIRE_TLS,
    logger: deps.logger,
  });
  const keys = await resolveSigningKeys(deps.prisma, signingKeyConfig(env));
  const subscriberChannels = buildSubscriberChannels({
    ntfy: { allowedCidrs: env.NTFY_ALLOWED_CIDRS },
    telegram: env.TELEGRAM_BOT_TOKEN
      ? { botToken: env.TELEGRAM_BOT_TOKEN, apiBaseUrl: env.TELEGRAM_API_BASE_URL }
      : undefined,
  });
  const delivery: DeliveryContext = {
    prisma: deps.prisma,
    queues: deps.queues,
    logger: deps.logger,
    clock: deps.clock,
    mailer,
    webhook: createWebhookSender({
      allowedCidrs: env.WEBHOOK_ALLOWED_CIDRS,
      logger: deps.logger,
      clock: deps.clock,
      userAgent: userAgent(publicBaseUrl(env)),
    }),
    publicBaseUrl: publicBaseUrl(env),
    appSecret: keys.current,
    openKeys: keys.accepted,
    subscriberChannels,
    webhookSchedule: env.WEBHOOK_RETRY_SCHEDULE ?? [...DEFAULT_RETRY_SCHEDULE_MS],
    emailSchedule: env.EMAIL_RETRY_SCHEDULE ?? DEFAULT_EMAIL_SCHEDULE,
    leaseMs: env.DELIVERY_LEASE_SEC * 1000,
  };

  const market = await marketClock(env, deps.clock);
  const source = await createPriceSource(env.PRICE_SOURCE, {
    clock: market.clock,
    logger: deps.logger,
    yahoo: {
      baseUrl: env.YAHOO_BASE_URL,
      budget: new RedisRequestBudget({
        redis: deps.redis,
        prefix: deps.prefix,
        limit: env.YAHOO_REQUESTS_PER_MINUTE,
        windowMs: 60_000,
      }),
    },
  });
  const prices = createPriceIngestor({
    source,
    store: createPriceStore(deps.prisma),
    clock: market.clock,
    logger: deps.logger,
  });
  const intradayStore = createIntradayStore(deps.prisma);
  const intradayRetention = intradayRetentionDays(env);
  const retention = retentionSettings(env);
  // Only a source that serves intraday charts (Yahoo) is asked; a replay replays its own files.
  const intraday =
    env.INTRADAY_INTERVALS.length && hasIntraday(source)
      ? createIntradayIngestor({
          source,
          store: { ...intradayStore, recordSourceEvent: createPriceStore(deps.prisma).recordSourceEvent },
          intervals: env.INTRADAY_INTERVALS,
          retentionDays: intradayRetention,
          clock: market.clock,
          logger: deps.logger,
        })
      : undefined;
  const news = createNewsIngestor({
    store: createNewsStore(deps.prisma),
    clock: deps.clock,
    logger: deps.logger,
    fetchOptions: { allowedCidrs: env.FEED_ALLOWED_CIDRS },
  });
  const ingestDeps = { ...deps, clock: market.clock };
  const replayPath = market.replay ? env.PRICE_SOURCE.slice('replay:'.length) : '';
  const replayNews = market.replay ? loadReplayNews(replayPath, deps.logger) : [];
  const replayNewsCursor = { next: 0 };
  const barCache: BarCache = new Map();
  const openMs = env.PRICE_POLL_SEC * 1000;
  const closedMs = env.PRICE_POLL_CLOSED_SEC * 1000;
  const intervals = loopIntervals(env);
  const liveness = createLiveness({ prisma: deps.prisma, logger: deps.logger, loops: intervals });
  const heartbeat = env.HEARTBEAT_URL ? createHeartbeat({ url: env.HEARTBEAT_URL, logger: deps.logger }) : null;
  /** Runs one job of a loop and records the outcome as the loop's heartbeat (in Postgres). */
  const track = async <T>(loop: LoopId, run: () => Promise<T>, succeeded: (r: T) => boolean = () => true) => {
    let r: T;
    try {
      r = await run();
    } catch (err) {
      await liveness.failure(loop, err);
      throw err;
    }
    if (succeeded(r)) await liveness.success(loop);
    return r;
  };

  const handlers: Handlers = {
    deliveries: (payload, d) =>
      track('deliveries', async () => {
        const counts = await runDeliveries(
          { ...delivery, logger: d.logger },
          payload.batch ?? [{ id: payload.deliveryId, attempt: payload.attempt ?? 0 }],
        );
        metrics?.deliveries(counts);
        return counts;
      }),
    prices: (payload, d) =>
      track('prices', async () => {
        market.release();
        // A replay publishes its recorded news as its clock passes each item, on the price tick
        // (every 2 s), so an item is not stored hours of replay time late.
        if (replayNews.length) {
          const r = await replayNewsTick(
            { prisma: d.prisma, clock: market.clock, logger: d.logger },
            replayPath,
            replayNews,
            replayNewsCursor,
          );
          if (r.newItems) await d.queues.add('evaluate', { reason: 'news' });
        }
        return priceTick({ ...ingestDeps, logger: d.logger }, prices, {
          openMs,
          closedMs,
          force: payload.symbols !== undefined,
          intraday,
          extendedHours: env.EXTENDED_HOURS_POLLING,
        });
      }),
    news: (_payload, d) => track('news', () => newsTick({ ...deps, logger: d.logger }, news)),
    evaluate: (_payload, d) =>
      track(
        'evaluate',
        async () => {
          market.release();
          const r = await runEvaluationCycle({
            prisma: d.prisma,
            queues: d.queues,
            clock: market.clock,
            logger: d.logger,
            emailGroupWaitMs: env.EMAIL_GROUP_WAIT_SEC * 1000,
            staleAfterMs: market.replay ? Number.MAX_SAFE_INTEGER : env.QUOTE_STALE_SEC * 1000,
            barCache,
          });
          metrics?.alerts(r.alerts);
          // The dead man's switch: only a cycle that ran counts (one that found another worker
          // evaluating did nothing); never awaited, so a slow checker cannot slow evaluation.
          if (r.ran) heartbeat?.beat();
          return r;
        },
        (r) => r.ran,
      ),
    maintenance: async (payload, d) => {
      if (payload.kind === 'sweep') {
        return track('sweep', () =>
          sweepDeliveries({
            prisma: d.prisma,
            queues: d.queues,
            clock: d.clock,
            logger: d.logger,
            leaseMs: env.DELIVERY_LEASE_SEC * 1000,
            graceMs: payload.graceMs,
          }),
        );
      }
      if (payload.kind === 'retention' || payload.kind === 'prune-intraday') {
        market.release();
        // Market data ages by the market clock (replayed time in a replay), the rest by the wall clock.
        const now = { market: market.clock.now(), wall: d.clock.now() };
        const intradayDeleted = await intradayStore.pruneIntraday(now.market, intradayRetention);
        const r = await runRetention(d.prisma, { now, settings: retention, batchSize: env.RETENTION_BATCH_SIZE });
        const deleted = { ...r.deleted, IntradayBar: Object.values(intradayDeleted).reduce((a, b) => a + b, 0) };
        // One line per run: rows deleted per table (and what a capped run left for the next one).
        d.logger.info(
          { deleted, unfinished: r.unfinished, ms: r.ms, marketNow: now.market.toISOString() },
          'retention',
        );
        return { kind: payload.kind, deleted, unfinished: r.unfinished };
      }
      return { kind: payload.kind };
    },
  };

  const schedules: Schedule[] = [
    {
      id: 'sweep-deliveries',
      queue: 'maintenance',
      everyMs: intervals.sweep.intervalMs,
      payload: { kind: 'sweep' },
    },
    // Retention of every table that grows (RETENTION_*_DAYS, INTRADAY_RETENTION_*_DAYS): hourly,
    // in replayed hours in a replay. Replaces 'prune-intraday' (a scheduler left by an older
    // release runs the same job).
    { id: 'retention', queue: 'maintenance', everyMs: retentionEveryMs(env), payload: { kind: 'retention' } },
    // The tick is frequent; priceTick itself polls only when the market calendar says it is due.
    { id: 'poll-prices', queue: 'prices', everyMs: intervals.prices.intervalMs, payload: { kind: 'poll' } },
    { id: 'poll-news', queue: 'news', everyMs: intervals.news.intervalMs, payload: {} },
    // A safety net: rules also run after every poll that stored something.
    { id: 'evaluate', queue: 'evaluate', everyMs: intervals.evaluate.intervalMs, payload: { reason: 'schedule' } },
  ];
  // The bot's conversation (/start, /stop, /status), in processes that run deliveries.
  let telegramLoop: TelegramLoop | undefined;
  if (subscriberChannels.telegram && (env.WORKER_QUEUES?.includes('deliveries') ?? true)) {
    telegramLoop = startTelegramUpdates({
      prisma: deps.prisma,
      client: subscriberChannels.telegram,
      logger: deps.logger,
      clock: deps.clock,
      redis: deps.redis,
      prefix: deps.prefix,
      // The `telegram` loop of the catalog: /healthz and the System page judge it when the bot is set.
      onRound: (err) => (err === undefined ? liveness.success('telegram') : liveness.failure('telegram', err)),
    });
  }
  return {
    handlers,
    schedules,
    close: async () => {
      await telegramLoop?.close();
      await heartbeat?.close();
      await mailer.close();
    },
  };
}
