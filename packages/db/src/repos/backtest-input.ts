/**
 * The one backtest input loader: what `pnpm cli backtest`, POST /api/backtest and the rule preview
 * read from the database, so the same question gets the same data whichever door it came through.
 *
 * - Date bounds are inclusive: `from` is the first session reported, `to` the last one (a date
 *   means the whole day, 00:00 to 23:59:59.999 UTC).
 * - Warm-up: bars from {@link lookbackDays} calendar days before `from`, the rules' longest
 *   look-back as their kinds declare it, so every window is warm on the first reported session.
 * - News is selected and timed by publication (publishedAt, else firstSeenAt), as the engine times
 *   headlines: an item of a feed added later still belongs to the day it was published. In the
 *   replay an item is "seen" when it was published (or first seen, if that was earlier).
 */
import { type History, lookbackDays, type NewsItem, type RuleDefinition, ruleNeedsNews } from '@signals/core';
import type { PrismaClient } from '../generated/client.ts';
import { loadBars, titleSymbols } from './signals.ts';

/** The most news items one backtest replays (oldest first). */
export const BACKTEST_NEWS_TAKE = 20_000;
/** News items are loaded from this long before `from`: the longest news window (maxAgeMin, 7 days). */
export const BACKTEST_NEWS_BEFORE_MS = 7 * 86_400_000;

const DAY_MS = 86_400_000;

/** Inclusive instants of a date range given as YYYY-MM-DD (either may be open). */
export function inclusiveRange(from?: string, to?: string): { from?: Date; to?: Date } {
  return {
    ...(from ? { from: new Date(`${from}T00:00:00.000Z`) } : {}),
    ...(to ? { to: new Date(`${to}T23:59:59.999Z`) } : {}),
  };
}

export interface BacktestInputRequest {
  rules: readonly RuleDefinition[];
  /** Symbols to load bars of (news is tagged with them). */
  symbols: readonly string[];
  /** First reported instant (inclusive); open = all stored history. */
  from?: Date | undefined;
  /** Last instant (inclusive); open = up to the newest bar. */
  to?: Date | undefined;
  /** Bars given by the caller (posted bars): only news is loaded. */
  histories?: History[] | undefined;
  newsTake?: number;
}

export interface BacktestInput {
  histories: History[];
  news: NewsItem[];
  /** First day of bars loaded for warm-up (null: all stored history). */
  warmupFrom: Date | null;
  /** The news cap was reached (later items were left out). */
  newsCapped: boolean;
}

/** Loads the bars (with warm-up) and news a backtest of `rules` over the range needs. */
export async function loadBacktestInput(prisma: PrismaClient, req: BacktestInputRequest): Promise<BacktestInput> {
  const warmupFrom = req.from ? new Date(req.from.getTime() - lookbackDays(req.rules) * DAY_MS) : null;
  let histories = req.histories;
  if (!histories) {
    const bars = await loadBars(prisma, req.symbols, {
      ...(warmupFrom ? { from: warmupFrom } : {}),
      ...(req.to ? { to: req.to } : {}),
    });
    // Stored bars are split-adjusted when written, so no splits are needed here.
    histories = req.symbols.map((symbol) => ({ symbol, bars: bars.get(symbol) ?? [], splits: [] }));
  }
  const take = req.newsTake ?? BACKTEST_NEWS_TAKE;
  // A news rule without symbols matches any item; otherwise only items tagged with the symbols count.
  const anySymbol = req.rules.some((r) => ruleNeedsNews(r) && !r.symbols?.length);
  const news = await loadNewsByPublication(prisma, {
    since: req.from ? new Date(req.from.getTime() - BACKTEST_NEWS_BEFORE_MS) : undefined,
    until: req.to,
    symbols: anySymbol ? undefined : histories.map((h) => h.symbol),
    take,
  });
  return { histories, news, warmupFrom, newsCapped: news.length >= take };
}

/** Stored news published (else first seen) in [since, until], oldest first, seen at publication. */
export async function loadNewsByPublication(
  prisma: PrismaClient,
  opts: { since?: Date | undefined; until?: Date | undefined; symbols?: readonly string[] | undefined; take: number },
): Promise<NewsItem[]> {
  if (opts.symbols && opts.symbols.length === 0) return [];
  const range = { ...(opts.since ? { gte: opts.since } : {}), ...(opts.until ? { lte: opts.until } : {}) };
  const bounded = opts.since !== undefined || opts.until !== undefined;
  const rows = await prisma.newsItem.findMany({
    where: {
      ...(bounded ? { OR: [{ publishedAt: range }, { publishedAt: null, firstSeenAt: range }] } : {}),
      ...(opts.symbols ? { instruments: { some: { instrument: { symbol: { in: [...opts.symbols] } } } } } : {}),
    },
    include: { instruments: { include: { instrument: { select: { symbol: true } } } } },
    orderBy: [{ publishedAt: 'asc' }, { firstSeenAt: 'asc' }, { id: 'asc' }],
    take: opts.take,
  });
  return rows.map((n) => {
    const published = n.publishedAt ?? n.firstSeenAt;
    const item: NewsItem = {
      id: n.id,
      feedId: n.feedId,
      title: n.title,
      // Replayed, an item is known from its publication (a feed added later still counts for its day).
      firstSeenAt: published.getTime() < n.firstSeenAt.getTime() ? published : n.firstSeenAt,
      symbols: n.instruments.map((t) => t.instrument.symbol),
      titleSymbols: titleSymbols(n.title, n.instruments),
      topics: n.topics,
    };
    if (n.guid) item.guid = n.guid;
    if (n.link) item.link = n.link;
    if (n.summary) item.summary = n.summary;
    if (n.publishedAt) item.publishedAt = n.publishedAt;
    return item;
  });
}
