/**
 * Intraday bars: the domain shape (one bar per instrument, interval and start instant, tagged with
 * the part of the trading day it belongs to) and what the rest of the system derives from them.
 * Pure: the vendor formats are parsed in @signals/market-data; the calendar decides the sessions.
 */
import { marketPhase, zonedDate } from './calendar.ts';
import type { DailyBar, Quote } from './domain.ts';

/** Intervals Yahoo's chart endpoint serves that we store. */
export const INTRADAY_INTERVALS = ['1m', '5m', '15m', '1h'] as const;
export type IntradayInterval = (typeof INTRADAY_INTERVALS)[number];

export const INTERVAL_MS: Readonly<Record<IntradayInterval, number>> = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
};

/** How far back Yahoo serves each interval (1m: 7 days, 5m/15m: 60 days, 1h: 730 days). */
export const YAHOO_INTRADAY_LOOKBACK_DAYS: Readonly<Record<IntradayInterval, number>> = {
  '1m': 7,
  '5m': 60,
  '15m': 60,
  '1h': 730,
};

/** The part of the trading day a bar belongs to (by its start instant). */
export type BarSession = 'pre' | 'regular' | 'post';

export interface IntradayBar {
  symbol: string;
  interval: IntradayInterval;
  /** Start of the bar (Yahoo's timestamp). */
  at: Date;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  session: BarSession;
}

export interface IntradayHistory {
  symbol: string;
  interval: IntradayInterval;
  /** Ascending by `at`, one per instant. */
  bars: IntradayBar[];
  currency?: string;
  exchangeTimezone?: string;
}

/** Normalises an interval name ('60m' is Yahoo's other name for '1h'); undefined when not intraday. */
export function parseIntradayInterval(v: unknown): IntradayInterval | undefined {
  if (v === '60m') return '1h';
  return typeof v === 'string' && (INTRADAY_INTERVALS as readonly string[]).includes(v)
    ? (v as IntradayInterval)
    : undefined;
}

/** Session of a bar starting at `at`, or null when the market is closed then (weekend, holiday, night). */
export function barSession(at: Date | number): BarSession | null {
  const p = marketPhase(at);
  return p === 'closed' ? null : p;
}

/**
 * Daily bars from the regular-session intraday bars (open of the first, close of the last, high
 * and low over all, summed volume): what a daily chart of the same days says. Extended-hours bars
 * are not part of the daily bar, as on Yahoo's daily chart.
 */
export function dailyFromIntraday(h: Pick<IntradayHistory, 'symbol' | 'bars'>): DailyBar[] {
  const out: DailyBar[] = [];
  let cur: DailyBar | null = null;
  for (const b of h.bars) {
    if (b.session !== 'regular') continue;
    const date = zonedDate(b.at);
    if (!cur || cur.date !== date) {
      cur = {
        symbol: h.symbol,
        date,
        open: b.open,
        high: b.high,
        low: b.low,
        close: b.close,
        volume: b.volume,
        sourceAt: b.at,
      };
      out.push(cur);
      continue;
    }
    if (b.high > cur.high) cur.high = b.high;
    if (b.low < cur.low) cur.low = b.low;
    cur.close = b.close;
    cur.volume += b.volume;
  }
  return out;
}

/**
 * The quote Yahoo shows right after bar `i` of `bars` (one symbol, ascending) has completed: during
 * the session the last price with the day's open, high, low and volume so far and the previous
 * regular close; outside it the last regular price (stamped at the session's end) plus the
 * pre/post-market price of bar `i`. `prevClose` is the close before the first bar, if known. The
 * replay source answers with this; backtestIntraday builds the same quotes incrementally.
 */
export function intradayQuoteAt(bars: readonly IntradayBar[], i: number, prevClose?: number): Quote {
  const b = bars[i] as IntradayBar;
  const step = INTERVAL_MS[b.interval];
  let r = i;
  while (r >= 0 && (bars[r] as IntradayBar).session !== 'regular') r--;
  let q: Quote;
  if (r < 0) {
    q = {
      symbol: b.symbol,
      price: prevClose !== undefined && prevClose > 0 ? prevClose : b.open,
      sourceAt: new Date(b.at.getTime() - 1),
    };
  } else {
    const last = bars[r] as IntradayBar;
    const day = zonedDate(last.at);
    let open = last.open;
    let high = last.high;
    let low = last.low;
    let volume = 0;
    let k = r;
    for (; k >= 0; k--) {
      const x = bars[k] as IntradayBar;
      if (x.session !== 'regular') continue;
      if (zonedDate(x.at) !== day) break;
      open = x.open;
      if (x.high > high) high = x.high;
      if (x.low < low) low = x.low;
      volume += x.volume;
    }
    let prev = prevClose;
    for (; k >= 0; k--) {
      const x = bars[k] as IntradayBar;
      if (x.session === 'regular') {
        prev = x.close;
        break;
      }
    }
    q = {
      symbol: b.symbol,
      price: last.close,
      dayOpen: open,
      dayHigh: high,
      dayLow: low,
      volume,
      sourceAt: new Date(last.at.getTime() + step),
    };
    if (prev !== undefined && prev > 0) q.prevClose = prev;
  }
  if (b.session === 'pre') {
    q.preMarketPrice = b.close;
    q.preMarketTime = new Date(b.at.getTime() + step);
  } else if (b.session === 'post') {
    q.postMarketPrice = b.close;
    q.postMarketTime = new Date(b.at.getTime() + step);
  }
  return q;
}
