/** yahoo-finance2 results -> domain types, leniently: only the fields we use must be sane. */
import { type IntradayInterval, parseIntradayInterval, type Quote, SchemaDriftError } from '@signals/core';
import { buildIntraday, type ParsedIntraday } from '../intraday.ts';
import { buildHistory, type BuiltHistory, type ChartRow, type ChartSplit } from '../history.ts';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length ? v : undefined);
/** regularMarketTime: a Date after yahoo-finance2's coercion, epoch seconds in raw payloads. */
function when(v: unknown): Date | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v < 1e11 ? v * 1000 : v);
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : new Date(t);
  }
  return undefined;
}

export interface MappedQuotes {
  quotes: Quote[];
  /** Symbols present in the answer (with or without a price). */
  answered: Set<string>;
  /** Answered without a usable price. */
  missingPrice: string[];
  /** Entries that were not even an object with a symbol. */
  garbage: number;
}

/** Maps quote objects (coerced by yahoo-finance2, or raw from a drifted payload). */
export function mapQuotes(items: unknown[], fetchedAt: Date): MappedQuotes {
  const quotes: Quote[] = [];
  const answered = new Set<string>();
  const missingPrice: string[] = [];
  let garbage = 0;
  for (const item of items) {
    const q = item as Record<string, unknown> | null;
    const rawSymbol = q && typeof q === 'object' ? str(q.symbol) : undefined;
    if (!q || !rawSymbol) {
      garbage++;
      continue;
    }
    const symbol = rawSymbol.toUpperCase();
    if (q.quoteType === 'NONE') continue; // Yahoo's "delisted": reported as unknown by the caller
    answered.add(symbol);
    const price = num(q.regularMarketPrice);
    if (price === undefined || price <= 0) {
      missingPrice.push(symbol);
      continue;
    }
    const quote: Quote = { symbol, price, sourceAt: when(q.regularMarketTime) ?? fetchedAt };
    const set = <K extends keyof Quote>(k: K, v: Quote[K] | undefined) => {
      if (v !== undefined) quote[k] = v;
    };
    set('prevClose', num(q.regularMarketPreviousClose));
    set('dayHigh', num(q.regularMarketDayHigh));
    set('dayLow', num(q.regularMarketDayLow));
    set('dayOpen', num(q.regularMarketOpen));
    set('volume', num(q.regularMarketVolume));
    set('marketCap', num(q.marketCap));
    set('marketState', str(q.marketState));
    set('currency', str(q.currency));
    set('name', str(q.longName) ?? str(q.shortName) ?? str(q.displayName));
    set('exchange', str(q.fullExchangeName) ?? str(q.exchange));
    // Extended hours: only a positive price with its own time counts (Yahoo leaves stale or
    // missing fields around outside those hours).
    const pre = num(q.preMarketPrice);
    const preAt = when(q.preMarketTime);
    if (pre !== undefined && pre > 0 && preAt) {
      quote.preMarketPrice = pre;
      quote.preMarketTime = preAt;
    }
    const post = num(q.postMarketPrice);
    const postAt = when(q.postMarketTime);
    if (post !== undefined && post > 0 && postAt) {
      quote.postMarketPrice = post;
      quote.postMarketTime = postAt;
    }
    quotes.push(quote);
  }
  return { quotes, answered, missingPrice, garbage };
}

interface YfChartQuote {
  date: Date;
  open?: number | null;
  high?: number | null;
  low?: number | null;
  close?: number | null;
  volume?: number | null;
  adjclose?: number | null;
}
interface YfChartResult {
  meta: { symbol: string; currency?: string; exchangeTimezoneName?: string };
  quotes: YfChartQuote[];
  events?: { splits?: Array<{ date: Date; numerator: number; denominator: number }> };
}

/** Maps yahoo-finance2's chart() result (return: "array") to a split-adjusted History. */
export function historyFromYahooChart(symbol: string, result: unknown): BuiltHistory {
  const r = result as YfChartResult;
  const rows: ChartRow[] = (r.quotes ?? []).map((q) => ({
    at: q.date instanceof Date ? q.date : new Date(q.date as unknown as string),
    open: q.open,
    high: q.high,
    low: q.low,
    close: q.close,
    volume: q.volume,
    adjClose: q.adjclose,
  }));
  const splits: ChartSplit[] = (r.events?.splits ?? []).map((s) => ({
    at: s.date instanceof Date ? s.date : new Date(Number(s.date) * 1000),
    numerator: Number(s.numerator),
    denominator: Number(s.denominator),
  }));
  return buildHistory({
    symbol: symbol.toUpperCase(),
    rows,
    splits,
    timeZone: r.meta?.exchangeTimezoneName,
    currency: r.meta?.currency,
  });
}

/** Maps yahoo-finance2's chart() result at an intraday interval to bars (see buildIntraday). */
export function intradayFromYahooChart(symbol: string, interval: IntradayInterval, result: unknown): ParsedIntraday {
  const r = result as YfChartResult & { meta?: { dataGranularity?: unknown } };
  // Yahoo answers a range beyond an interval's limit with coarser bars: never store those as `interval`.
  const got = r.meta?.dataGranularity;
  if (got !== undefined && parseIntradayInterval(got) !== interval) {
    throw new SchemaDriftError('yahoo', `asked ${symbol} for ${interval} bars, got ${String(got)}`, result);
  }
  return buildIntraday({
    symbol,
    interval,
    rows: (r.quotes ?? []).map((q) => ({
      at: q.date instanceof Date ? q.date : new Date(q.date as unknown as string),
      open: q.open,
      high: q.high,
      low: q.low,
      close: q.close,
      volume: q.volume,
    })),
    currency: r.meta?.currency,
    timeZone: r.meta?.exchangeTimezoneName,
  });
}
