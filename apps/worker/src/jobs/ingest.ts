/**
 * Ingestion ticks. The job schedulers fire every PRICE_POLL_SEC / NEWS_POLL_SEC; each tick decides
 * from the US market calendar and the feeds' own schedule whether there is anything to do, so
 * polling is frequent while NYSE/Nasdaq trade and rare when they are closed.
 */
import { type Clock, extendedPollIntervalMs, type Logger, isMarketOpen, pollIntervalMs } from '@signals/core';
import type { PrismaClient } from '@signals/db';
import type { IntradayIngestor, PriceIngestor } from '@signals/market-data';
import type { NewsIngestor } from '@signals/news';
import type { QueueSet, RedisConnection } from '@signals/queue';

export interface IngestDeps {
  prisma: PrismaClient;
  redis: RedisConnection;
  queues: QueueSet;
  clock: Clock;
  logger: Logger;
  prefix: string;
}

/** Symbols worth polling: active instruments on at least one watchlist. */
async function watchedSymbols(prisma: PrismaClient): Promise<string[]> {
  const rows = await prisma.instrument.findMany({
    where: { status: { not: 'delisted' }, members: { some: {} } },
    select: { symbol: true },
    orderBy: { symbol: 'asc' },
  });
  return rows.map((r) => r.symbol);
}

/**
 * Polls quotes when due (market open: every tick; closed: every `closedMs`), backfills history for
 * symbols that have none, then asks for an evaluation if anything was stored.
 */
export async function priceTick(
  d: IngestDeps,
  ingestor: PriceIngestor,
  opts: {
    openMs: number;
    closedMs: number;
    historyPerTick?: number;
    force?: boolean;
    /** Keeps intraday bars current and backfills new symbols (INTRADAY_INTERVALS). */
    intraday?: IntradayIngestor;
    /** Poll at `openMs` in pre- and post-market too (extended-hours quotes), not only in the session. */
    extendedHours?: boolean;
  },
) {
  const now = d.clock.now();
  const key = `${d.prefix}:prices:last-poll`;
  const last = Number((await d.redis.get(key)) ?? 0);
  const cadence = { openMs: opts.openMs, closedMs: opts.closedMs };
  const interval = opts.extendedHours ? extendedPollIntervalMs(now, cadence) : pollIntervalMs(now, cadence);
  if (!opts.force && now.getTime() - last < interval - 1000) return { polled: false, reason: 'not due' };
  // SET NX guard (real time, not market time: replays run faster): one poll at a time across workers.
  const claimed = await d.redis.set(`${key}:lock`, String(now.getTime()), 'PX', 10_000, 'NX');
  if (!claimed && !opts.force) return { polled: false, reason: 'another worker polls' };
  await d.redis.set(key, String(now.getTime()));

  const symbols = await watchedSymbols(d.prisma);
  const poll = symbols.length ? await ingestor.pollQuotes(symbols) : null;

  // History: backfill new symbols, and extend each symbol once per session.
  const today = now.toISOString().slice(0, 10);
  const needHistory = await d.prisma.instrument.findMany({
    where: {
      symbol: { in: symbols },
      status: 'active',
      OR: [{ historyTo: null }, { historyTo: { lt: new Date(`${today}T00:00:00Z`) }, lastFetchedAt: { not: null } }],
    },
    select: { symbol: true },
    take: opts.historyPerTick ?? 20,
  });
  let bars = 0;
  for (const { symbol } of needHistory) {
    const r = await ingestor.syncHistory(symbol);
    bars += r.bars;
    // The source is degraded: one event was recorded; do not log one failure per remaining symbol.
    if (r.error?.code === 'circuit_open') break;
  }
  // Intraday bars: backfill symbols without any, then one chart request per symbol and interval
  // whenever a new bar has completed (the ingestor decides; it stops at an exhausted budget).
  let intradayBars = 0;
  if (opts.intraday && symbols.length) {
    for (const r of await opts.intraday.sync(symbols)) intradayBars += r.bars;
  }
  await d.redis.del(`${key}:lock`);
  if ((poll?.saved ?? 0) > 0 || bars > 0 || intradayBars > 0) await d.queues.add('evaluate', { reason: 'prices' });
  d.logger.info(
    {
      symbols: symbols.length,
      saved: poll?.saved ?? 0,
      unknown: poll?.unknown.length ?? 0,
      failed: poll?.failed.length ?? 0,
      breaker: poll?.breaker,
      historySynced: needHistory.length,
      bars,
      intradayBars,
      marketOpen: isMarketOpen(now),
    },
    'price poll',
  );
  return { polled: true, saved: poll?.saved ?? 0, bars, intradayBars };
}

/** Polls every enabled feed that is due (its interval, or its backoff after failures). */
export async function newsTick(d: IngestDeps, ingestor: NewsIngestor, opts: { maxFeeds?: number } = {}) {
  const now = d.clock.now();
  const due = await d.prisma.feed.findMany({
    where: { enabled: true, OR: [{ nextFetchAt: null }, { nextFetchAt: { lte: now } }] },
    select: { id: true },
    orderBy: { nextFetchAt: { sort: 'asc', nulls: 'first' } },
    take: opts.maxFeeds ?? 50,
  });
  let fresh = 0;
  // A few at a time: feeds are independent and mostly waiting on the network.
  for (let i = 0; i < due.length; i += 4) {
    const batch = due.slice(i, i + 4);
    const results = await Promise.all(batch.map((f) => ingestor.pollFeed({ id: f.id })));
    for (const r of results) fresh += r.newItems.length;
  }
  if (fresh > 0) await d.queues.add('evaluate', { reason: 'news' });
  if (due.length) d.logger.info({ feeds: due.length, newItems: fresh }, 'news poll');
  return { feeds: due.length, newItems: fresh };
}
