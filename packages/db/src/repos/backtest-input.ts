/**
 * The one backtest input loader: what `pnpm cli backtest`, POST /api/backtest and the rule preview
 * read from the database, so the same question gets the same data whichever door it came through.
 *
 * - Date bounds are inclusive: `from` is the first session reported, `to` the last one (a date
 *   means the whole day, 00:00 to 23:59:59.999 UTC).
 * - Warm-up: bars from {@link lookbackDays} calendar days before `from`, the rules' longest
 *   look-back as their kinds declare it, so every window is warm on the first reported session.
 * - News from {@link NEWS_WINDOW_MS} before `from` (the engine's news window), selected and
 *   timed by publication (publishedAt, else firstSeenAt), as the engine times headlines: an item of a feed added later still belongs to the day it was published. In the
 *   replay an item is "seen" when it was published (or first seen, if that was earlier).
 * - Resolution: daily bars, or intraday bars (IntradayBar rows) of one interval when asked for
 *   (`interval: '5m'`) or, with `interval: 'auto'`, when a rule reacts within or outside the
 *   session (ruleWantsIntraday: intraday, extended-hours, news and news+price rules) and rows are
 *   stored for the symbols over the range: the finest such interval. The daily bars are loaded
 *   either way (the intraday backtest's warm-up); `resolution` says which was chosen and why.
 */
import {
  type BacktestResolution,
  chooseResolution,
  dailyResolution,
  type History,
  INTRADAY_INTERVALS,
  type IntradayHistory,
  type IntradayInterval,
  intradayResolution,
  lookbackDays,
  type NewsItem,
  NEWS_WINDOW_MS,
  type RuleDefinition,
  ruleNeedsNews,
  ruleWantsIntraday,
} from '@signals/core';
import type { PrismaClient } from '../generated/client.ts';
import { createIntradayStore } from './intraday.ts';
import { loadBars, titleSymbols } from './signals.ts';

/** The most news items one backtest replays (oldest first). */
export const BACKTEST_NEWS_TAKE = 20_000;

const DAY_MS = 86_400_000;
/** Intraday bars are loaded from this long before `from`: the previous sessions' closes and the pre-market. */
const INTRADAY_BEFORE_MS = 7 * DAY_MS;
/** ... and this long after `to` (end of a UTC day): the post-market of that New York day ends by 01:00 UTC. */
const INTRADAY_AFTER_MS = 6 * 3_600_000;
const OPEN_FROM = new Date(0);
const OPEN_TO = new Date(8.64e15);

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
  /**
   * 'auto' (default, as every door asks): the finest interval stored for the symbols over the range
   * when a rule wants intraday bars, else daily. '1d': daily bars. An intraday interval: its
   * IntradayBar rows (ValidationError 422 when none are stored). Posted `histories` are daily.
   * The decision is core's chooseResolution, the same for every door.
   */
  interval?: '1d' | 'auto' | IntradayInterval | undefined;
}

export interface BacktestInput {
  histories: History[];
  news: NewsItem[];
  /** First day of bars loaded for warm-up (null: all stored history). */
  warmupFrom: Date | null;
  /** The news cap was reached (later items were left out). */
  newsCapped: boolean;
  /** Intraday histories of one interval (symbols with bars only) when the backtest runs on them, else null. */
  intraday: IntradayHistory[] | null;
  /** The resolution chosen, and why. */
  resolution: BacktestResolution;
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
    since: req.from ? new Date(req.from.getTime() - NEWS_WINDOW_MS) : undefined,
    until: req.to,
    symbols: anySymbol ? undefined : histories.map((h) => h.symbol),
    take,
  });
  const chosen = await chooseIntraday(prisma, req);
  let intraday: IntradayHistory[] | null = null;
  let resolution: BacktestResolution;
  if ('interval' in chosen) {
    const store = createIntradayStore(prisma);
    const { from, to } = intradayWindow(req.from, req.to);
    intraday = [];
    for (const symbol of req.symbols) {
      const bars = await store.loadIntradayBars(symbol, chosen.interval, from, to);
      if (bars.length) intraday.push({ symbol, interval: chosen.interval, bars });
    }
    resolution = intradayResolution(req.rules, chosen.interval, {
      requested: chosen.requested,
      extended: intraday.some((h) => h.bars.some((b) => b.session !== 'regular')),
    });
  } else resolution = dailyResolution(req.rules, chosen.why);
  return { histories, news, warmupFrom, newsCapped: news.length >= take, intraday, resolution };
}

/** The instants of intraday bars a backtest over [from, to] reads (with the sessions around it). */
function intradayWindow(from: Date | undefined, to: Date | undefined): { from: Date; to: Date } {
  return {
    from: from ? new Date(from.getTime() - INTRADAY_BEFORE_MS) : OPEN_FROM,
    to: to ? new Date(to.getTime() + INTRADAY_AFTER_MS) : OPEN_TO,
  };
}

/** The intraday intervals with IntradayBar rows for any of `symbols` in [from, to] (plus its evening), finest first. */
export async function storedIntradayIntervals(
  prisma: PrismaClient,
  symbols: readonly string[],
  from?: Date,
  to?: Date,
): Promise<IntradayInterval[]> {
  if (!symbols.length) return [];
  const ts = { gte: from ?? OPEN_FROM, lt: to ? new Date(to.getTime() + INTRADAY_AFTER_MS) : OPEN_TO };
  const out: IntradayInterval[] = [];
  for (const interval of INTRADAY_INTERVALS) {
    const row = await prisma.intradayBar.findFirst({
      where: { interval, ts, instrument: { symbol: { in: [...symbols] } } },
      select: { ts: true },
    });
    if (row) out.push(interval);
  }
  return out;
}

/** The one daily/intraday decision (core chooseResolution) over the intervals stored for the request. */
async function chooseIntraday(
  prisma: PrismaClient,
  req: BacktestInputRequest,
): Promise<{ interval: IntradayInterval; requested: boolean } | { why: string }> {
  const asked = req.interval ?? 'auto';
  const posted = req.histories !== undefined;
  // Stored intervals are looked up only when they can matter.
  const lookUp = !posted && asked !== '1d' && (asked !== 'auto' || req.rules.some((r) => ruleWantsIntraday(r)));
  const intervals = lookUp ? await storedIntradayIntervals(prisma, req.symbols, req.from, req.to) : [];
  return chooseResolution(req.rules, asked, {
    intervals,
    dailyOnly: posted ? 'the bars given are daily; without them the stored intraday bars are used' : undefined,
    missing: (interval) =>
      interval
        ? `no ${interval} bars stored for these symbols over the range${intervals.length ? ` (stored: ${intervals.join(', ')})` : ''}`
        : `no intraday bars are stored for ${symbolList(req.symbols)} over the range; the worker stores them when INTRADAY_INTERVALS lists an interval`,
  });
}

/** "NVDA, MSFT" or "A, B, C, D, E and 3 more". */
function symbolList(symbols: readonly string[]): string {
  const n = symbols.length;
  if (n === 0) return 'no symbols';
  return n <= 5 ? symbols.join(', ') : `${symbols.slice(0, 5).join(', ')} and ${n - 5} more`;
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
