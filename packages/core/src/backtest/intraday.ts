/**
 * Backtests on intraday bars: the bars are replayed one by one as the live quotes the worker would
 * have seen (the regular session's last price, open, high, low and volume so far against the
 * previous close; pre- and post-market bars as Yahoo's preMarketPrice/postMarketPrice beside the
 * last regular close), with the clock at each bar's end and news visible from its time. The same
 * {@link evaluate} runs, so intraday, extended-hours, news and news+price rules fire when they
 * would have fired live. Daily bars for the windows (previous closes, volatility lookbacks) are
 * the regular-session aggregates of the intraday bars, after any daily history given for warm-up.
 */
import { zonedDate } from '../calendar.ts';
import { type BacktestOptions, type BacktestResult, BacktestTally } from './daily.ts';
import { type DailyBar, FixedClock, type History, type NewsItem, type Quote } from '../domain.ts';
import { evaluate, type RuleStateSnapshot } from '../engine/index.ts';
import { ValidationError } from '../errors.ts';
import { NEWS_WINDOW_MS } from '../headlines.ts';
import {
  dailyFromIntraday,
  INTERVAL_MS,
  type IntradayBar,
  type IntradayHistory,
  type IntradayInterval,
} from '../intraday.ts';
import type { RuleDefinition } from '../rules.ts';
import { createSeries, type SymbolSeries } from '../series.ts';

export interface IntradayBacktestOptions extends BacktestOptions {
  /** Daily history per symbol for warm-up (sessions before the intraday bars; later ones are ignored). */
  daily?: readonly History[];
}

export interface IntradayBacktestResult extends BacktestResult {
  interval: IntradayInterval;
  /** Bar steps replayed. */
  steps: number;
}

interface Track {
  s: SymbolSeries;
  bars: IntradayBar[];
  p: number;
  /** Next daily date index not yet visible. */
  d: number;
  /** The regular session being built: date, open, high, low, volume, last price. */
  day: string;
  open: number;
  high: number;
  low: number;
  vol: number;
  last: number;
  /** Close of the session before `day`. */
  prevClose: number;
  /** The regular quote (what Yahoo shows, outside the session too) and the pre/post-market ones. */
  reg: Quote;
  pre: Quote;
  post: Quote;
  seenRegular: boolean;
}

/**
 * Replays intraday histories (one interval) through the rules. `opts.from`/`opts.to` are dates
 * (YYYY-MM-DD, New York) or ISO instants; alerts' `at` is the ISO start of the bar they fired on.
 */
export function backtestIntraday(
  rules: readonly RuleDefinition[],
  histories: readonly IntradayHistory[],
  opts: IntradayBacktestOptions = {},
): IntradayBacktestResult {
  if (!histories.length) throw new ValidationError('backtest: no intraday history');
  const interval = (histories[0] as IntradayHistory).interval;
  const step = INTERVAL_MS[interval];
  const seen = new Set<string>();
  const tracks: Track[] = [];
  const seriesMap = new Map<string, SymbolSeries>();
  for (const h of histories) {
    if (h.interval !== interval) {
      throw new ValidationError(`backtest: mixed intervals (${interval} and ${h.interval} for ${h.symbol})`);
    }
    if (seen.has(h.symbol)) throw new ValidationError(`backtest: two histories for ${h.symbol}`);
    seen.add(h.symbol);
    const fromBars = dailyFromIntraday(h);
    const first = fromBars[0]?.date ?? '9999-12-31';
    const warm = (opts.daily?.find((d) => d.symbol === h.symbol)?.bars ?? []).filter((b) => b.date < first);
    const s = createSeries({ symbol: h.symbol, bars: [...warm, ...fromBars] as DailyBar[] });
    s.length = 0;
    seriesMap.set(h.symbol, s);
    tracks.push({
      s,
      bars: h.bars,
      p: 0,
      d: 0,
      day: '',
      open: 0,
      high: 0,
      low: 0,
      vol: 0,
      last: Number.NaN,
      prevClose: warm.length ? (warm[warm.length - 1] as DailyBar).close : Number.NaN,
      reg: { symbol: h.symbol, price: 0, sourceAt: new Date(0) },
      pre: { symbol: h.symbol, price: 0, sourceAt: new Date(0), preMarketPrice: 0, preMarketTime: new Date(0) },
      post: { symbol: h.symbol, price: 0, sourceAt: new Date(0), postMarketPrice: 0, postMarketTime: new Date(0) },
      seenRegular: false,
    });
  }
  const toMs = (v: string | undefined, endOfDay: boolean): number => {
    if (v === undefined) return endOfDay ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    if (/^\d{4}-\d{2}-\d{2}$/.test(v))
      return Date.parse(`${v}T00:00:00Z`) + (endOfDay ? 86_400_000 + 5 * 3_600_000 : 0);
    return Date.parse(v);
  };
  const reportFrom = toMs(opts.from, false);
  const until = toMs(opts.to, true);

  const ends = new Set<number>();
  for (const t of tracks) for (const b of t.bars) ends.add(b.at.getTime() + step);
  const steps = [...ends].filter((e) => e <= until).sort((a, b) => a - b);

  const news = [...(opts.news ?? [])].sort((a, b) => a.firstSeenAt.getTime() - b.firstSeenAt.getTime());
  let newsLo = 0;
  let newsHi = 0;
  let window: readonly NewsItem[] = [];
  const states = new Map<string, RuleStateSnapshot>();
  const clock = new FixedClock(new Date(0));
  const tally = new BacktestTally(rules);
  let evaluations = 0;

  for (const now of steps) {
    for (const t of tracks) {
      let q: Quote | null = null;
      while (t.p < t.bars.length && (t.bars[t.p] as IntradayBar).at.getTime() + step <= now) {
        q = apply(t, t.bars[t.p] as IntradayBar, step);
        t.p++;
      }
      const s = t.s;
      if (!q) {
        s.freshness = 'stale';
        continue;
      }
      const qDate = zonedDate(q.sourceAt);
      while (t.d < s.dates.length && (s.dates[t.d] as string) <= qDate) t.d++;
      s.length = t.d;
      s.quote = q;
      s.quoteDate = qDate;
      s.freshness = 'fresh';
    }
    clock.set(new Date(now));
    if (news.length) {
      const lo = newsLo;
      const hi = newsHi;
      while (newsHi < news.length && (news[newsHi] as NewsItem).firstSeenAt.getTime() <= now) newsHi++;
      while (newsLo < newsHi && (news[newsLo] as NewsItem).firstSeenAt.getTime() <= now - NEWS_WINDOW_MS) newsLo++;
      // Most bars bring no news: keep the same window array then.
      if (newsLo !== lo || newsHi !== hi) window = news.slice(newsLo, newsHi);
    }
    const out = evaluate({ rules, series: seriesMap, news: window, states, clock });
    evaluations += rules.length * tracks.length;
    for (const [k, v] of out.states) states.set(k, v);
    tally.countSkips(out);
    if (now < reportFrom) continue;
    tally.record(out, new Date(now - step).toISOString());
  }

  const sessions = new Set(steps.map((t) => zonedDate(t - 1))).size;
  return {
    alerts: tally.reported(opts.includeResolved),
    summary: tally.summary(),
    sessions,
    evaluations,
    states,
    interval,
    steps: steps.length,
  };
}

/** Copies the regular-session fields of `from` into `to` (the pre/post quotes of a track). */
function copyRegular(to: Quote, from: Quote): void {
  to.price = from.price;
  to.sourceAt.setTime(from.sourceAt.getTime());
  if (from.prevClose !== undefined) to.prevClose = from.prevClose;
  if (from.dayOpen !== undefined) to.dayOpen = from.dayOpen;
  if (from.dayHigh !== undefined) to.dayHigh = from.dayHigh;
  if (from.dayLow !== undefined) to.dayLow = from.dayLow;
  if (from.volume !== undefined) to.volume = from.volume;
}

/**
 * Folds one completed bar into the symbol's track; returns the quote the worker would see after
 * it. The track's three quote objects (regular, pre, post) are updated in place: the engine reads
 * a quote during one evaluation and keeps nothing of it, and a backtest of millions of bars would
 * otherwise spend its time collecting garbage.
 */
function apply(t: Track, b: IntradayBar, step: number): Quote {
  const endMs = b.at.getTime() + step;
  const reg = t.reg;
  if (b.session === 'regular') {
    const date = zonedDate(b.at);
    if (date !== t.day) {
      if (t.day !== '') t.prevClose = t.last;
      t.day = date;
      t.open = b.open;
      t.high = b.high;
      t.low = b.low;
      t.vol = 0;
    }
    if (b.high > t.high) t.high = b.high;
    if (b.low < t.low) t.low = b.low;
    t.vol += b.volume;
    t.last = b.close;
    reg.price = b.close;
    reg.dayOpen = t.open;
    reg.dayHigh = t.high;
    reg.dayLow = t.low;
    reg.volume = t.vol;
    reg.sourceAt.setTime(endMs);
    if (t.prevClose > 0) reg.prevClose = t.prevClose;
    t.seenRegular = true;
    return reg;
  }
  // Outside the session Yahoo's quote keeps the last regular price (or, before any regular bar
  // was seen, the last close of the warm-up history) and adds the pre/post-market price.
  if (!t.seenRegular) {
    reg.price = t.prevClose > 0 ? t.prevClose : b.open;
    reg.sourceAt.setTime(b.at.getTime() - 1);
  }
  if (b.session === 'pre') {
    copyRegular(t.pre, reg);
    t.pre.preMarketPrice = b.close;
    (t.pre.preMarketTime as Date).setTime(endMs);
    return t.pre;
  }
  copyRegular(t.post, reg);
  t.post.postMarketPrice = b.close;
  (t.post.postMarketTime as Date).setTime(endMs);
  return t.post;
}
