/**
 * Series input of the rule engine: one symbol's daily bars as typed arrays with the windows the
 * rules need precomputed once (prefix sums of returns, squared returns and volume; rolling highs
 * on demand), so each evaluation is O(1) and allocation-free.
 */
import { zonedDate } from './calendar.ts';
import type { DailyBar, Freshness, History, Quote } from './domain.ts';
import { ValidationError } from './errors.ts';

/** Precomputed windows; built by {@link createSeries}, shared by {@link withQuote} copies. */
export interface SeriesPrecomputed {
  /** ret[i] = close[i] / close[i-1] - 1 (0 at i = 0 or next to an invalid bar). */
  readonly ret: Float64Array;
  /** Prefix sums (length n + 1): sum of ret[0..i-1]. */
  readonly retSum: Float64Array;
  /** Prefix sums of ret². */
  readonly retSq: Float64Array;
  /** Prefix sums of volume. */
  readonly volSum: Float64Array;
  /** Prefix counts of invalid bars (close, high or low not a finite number > 0). */
  readonly bad: Int32Array;
  /** Rolling maxima of `high` by window length (rollMax(w)[i] = max(high[i-w+1..i])), built on first use. */
  readonly rollMax: Map<number, Float64Array>;
}

/**
 * One symbol as the engine sees it: completed daily bars (ascending, split-adjusted) plus an
 * optional live quote and the freshness of the observation.
 *
 * During a session pass the live quote: the bars are the completed sessions and the quote is the
 * current one (a bar for the quote's own date, as Yahoo appends during the session, is ignored in
 * favour of the quote). Without a quote the last bar is the current observation (backtests).
 */
export interface SymbolSeries {
  readonly symbol: string;
  /** Session dates, YYYY-MM-DD, strictly ascending. */
  readonly dates: readonly string[];
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
  /** Bars visible to the rules (the first `length`). Backtests advance it bar by bar. */
  length: number;
  /** Live quote, if any. */
  quote?: Quote;
  /** Session date (New York) of the quote, computed by {@link createSeries} / {@link withQuote}. */
  quoteDate?: string;
  /** Only 'fresh' series are evaluated; stale, failed and unknown ones are refused. */
  freshness: Freshness;
  /** Market capitalisation (for market-cap-weighted baskets); defaults to quote.marketCap. */
  marketCap?: number;
  readonly pre: SeriesPrecomputed;
}

export interface SeriesOptions {
  quote?: Quote;
  /** Default 'fresh'. */
  freshness?: Freshness;
  marketCap?: number;
  /** Time zone of the quote's session date (default America/New_York). */
  timeZone?: string;
}

function ok(x: number): boolean {
  return x > 0 && x < Number.POSITIVE_INFINITY;
}

/**
 * Builds a series from bars (must be ascending by date, one per date). Invalid bars (zero,
 * negative or NaN prices) are kept in place, counted, and refused by any rule whose window touches
 * them.
 */
export function createSeries(
  input: Pick<History, 'symbol' | 'bars'> | { symbol: string; bars: readonly DailyBar[] },
  opts: SeriesOptions = {},
): SymbolSeries {
  const bars = input.bars;
  const n = bars.length;
  const dates: string[] = new Array(n);
  const open = new Float64Array(n);
  const high = new Float64Array(n);
  const low = new Float64Array(n);
  const close = new Float64Array(n);
  const volume = new Float64Array(n);
  const ret = new Float64Array(n);
  const retSum = new Float64Array(n + 1);
  const retSq = new Float64Array(n + 1);
  const volSum = new Float64Array(n + 1);
  const bad = new Int32Array(n + 1);
  let prevDate = '';
  for (let i = 0; i < n; i++) {
    const b = bars[i] as DailyBar;
    if (b.date <= prevDate)
      throw new ValidationError(
        `${input.symbol}: bars must be strictly ascending by date (${b.date} after ${prevDate})`,
      );
    prevDate = b.date;
    dates[i] = b.date;
    open[i] = b.open;
    high[i] = b.high;
    low[i] = b.low;
    close[i] = b.close;
    const v = b.volume;
    volume[i] = v >= 0 && v < Number.POSITIVE_INFINITY ? v : 0;
    const good = ok(b.close) && ok(b.high) && ok(b.low);
    bad[i + 1] = (bad[i] as number) + (good ? 0 : 1);
    const prevGood = i > 0 && (bad[i] as number) === (bad[i - 1] as number);
    const r = i > 0 && good && prevGood ? b.close / (close[i - 1] as number) - 1 : 0;
    ret[i] = r;
    retSum[i + 1] = (retSum[i] as number) + r;
    retSq[i + 1] = (retSq[i] as number) + r * r;
    volSum[i + 1] = (volSum[i] as number) + (volume[i] as number);
  }
  const series: SymbolSeries = {
    symbol: input.symbol,
    dates,
    open,
    high,
    low,
    close,
    volume,
    length: n,
    freshness: opts.freshness ?? 'fresh',
    pre: { ret, retSum, retSq, volSum, bad, rollMax: new Map() },
  };
  if (opts.marketCap !== undefined) series.marketCap = opts.marketCap;
  if (opts.quote) attachQuote(series, opts.quote, opts.timeZone);
  return series;
}

function attachQuote(s: SymbolSeries, quote: Quote, tz?: string): void {
  s.quote = quote;
  s.quoteDate = zonedDate(quote.sourceAt, tz);
  if (s.marketCap === undefined && quote.marketCap !== undefined) s.marketCap = quote.marketCap;
}

/**
 * A copy of `series` (sharing its arrays and precomputed windows) with a new live quote and
 * freshness: the worker builds the history once and attaches each poll's quote cheaply.
 */
export function withQuote(
  series: SymbolSeries,
  quote: Quote | undefined,
  freshness: Freshness = 'fresh',
  tz?: string,
): SymbolSeries {
  const s: SymbolSeries = { ...series, freshness };
  delete s.quote;
  delete s.quoteDate;
  if (quote) {
    if (quote.marketCap !== undefined) s.marketCap = quote.marketCap;
    attachQuote(s, quote, tz);
  }
  return s;
}

/** rollMax(w)[i] = max(high[i-w+1..i]) (partial window for i < w-1); O(n) once per window length. */
export function rollingMax(s: SymbolSeries, w: number): Float64Array {
  const cached = s.pre.rollMax.get(w);
  if (cached) return cached;
  const h = s.high;
  const n = h.length;
  const out = new Float64Array(n);
  const dq = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let i = 0; i < n; i++) {
    const v = h[i] as number;
    while (tail > head && (h[dq[tail - 1] as number] as number) <= v) tail--;
    dq[tail++] = i;
    if ((dq[head] as number) <= i - w) head++;
    out[i] = h[dq[head] as number] as number;
  }
  s.pre.rollMax.set(w, out);
  return out;
}

/** Index of `date` in the series' dates (binary search), or -1. */
export function indexOfDate(s: SymbolSeries, date: string, end = s.dates.length): number {
  let lo = 0;
  let hi = end - 1;
  const d = s.dates;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = d[mid] as string;
    if (v === date) return mid;
    if (v < date) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
