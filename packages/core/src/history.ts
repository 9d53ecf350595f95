/**
 * Pure parser for Yahoo's /v8/finance/chart answer (daily interval) into a {@link History}.
 * Shared by the CLI backtest, the replay price source and tests.
 *
 * Split adjustment: Yahoo's chart `close`/`open`/`high`/`low` (and `volume`) are ALREADY
 * split-adjusted for every split up to the moment of the request. Verified on the recorded NVDA
 * answer (4:1 split effective 2021-07-20): the close goes 18.78 -> 18.61 across the split, not
 * 75 -> 18.6, and the 2021 prices are even adjusted for the later 10:1 split of June 2024 (a
 * February 2021 close of 13.24 instead of ~530). So the parser normally has nothing to do. It still
 * checks each split in `events.splits`: when the close ratio across the split date is nearer the
 * split ratio than 1 (an unadjusted source, e.g. a proxy or an older cache), it divides the prices
 * before the split by the ratio and multiplies their volumes, and reports `splitAdjustment: 'parser'`.
 */
import { z } from 'zod';
import { zonedDate } from './calendar.ts';
import type { DailyBar, History, Split } from './domain.ts';
import { SchemaDriftError } from './errors.ts';

const nums = z.array(z.number().nullable());

const splitEvent = z.looseObject({
  date: z.number(),
  numerator: z.number().positive(),
  denominator: z.number().positive(),
});

const chartResultSchema = z.looseObject({
  meta: z.looseObject({
    symbol: z.string().min(1),
    currency: z.string().nullish(),
    exchangeTimezoneName: z.string().nullish(),
  }),
  timestamp: z.array(z.number()).nullish(),
  events: z.looseObject({ splits: z.record(z.string(), splitEvent).nullish() }).nullish(),
  indicators: z.looseObject({
    quote: z
      .array(
        z.looseObject({
          open: nums.nullish(),
          high: nums.nullish(),
          low: nums.nullish(),
          close: nums.nullish(),
          volume: nums.nullish(),
        }),
      )
      .nullish(),
    adjclose: z.array(z.looseObject({ adjclose: nums.nullish() })).nullish(),
  }),
});

/** A parsed chart, with how its split adjustment was established. */
export interface ParsedHistory extends History {
  /** 'source': Yahoo had adjusted (the normal case); 'parser': this parser adjusted; 'none': no splits in range. */
  splitAdjustment: 'source' | 'parser' | 'none';
}

function pickResult(json: unknown): unknown {
  if (json && typeof json === 'object' && 'chart' in json) {
    const chart = (json as { chart: unknown }).chart;
    if (!chart || typeof chart !== 'object') throw new SchemaDriftError('yahoo', 'chart: not an object', json);
    const { result, error } = chart as { result?: unknown; error?: unknown };
    if (error) throw new SchemaDriftError('yahoo', `chart error: ${JSON.stringify(error).slice(0, 200)}`, json);
    if (!Array.isArray(result) || result.length === 0)
      throw new SchemaDriftError('yahoo', 'chart.result is empty', json);
    return result[0];
  }
  return json;
}

function valid(x: number | null | undefined): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0;
}

/**
 * Turns a Yahoo chart body (`{ chart: { result: [...] } }`, or `chart.result[0]` itself) into daily
 * bars: dates as YYYY-MM-DD in the exchange time zone, ascending, one bar per date (a later row for
 * the same date wins, as Yahoo appends the live bar), rows without a usable close skipped, missing
 * open/high/low filled from the close, missing volume as 0. An answer without timestamps (no data
 * in range) gives no bars. A shape it does not know throws {@link SchemaDriftError}.
 */
export function parseYahooChart(json: unknown): ParsedHistory {
  const raw = pickResult(json);
  const parsed = chartResultSchema.safeParse(raw);
  if (!parsed.success) {
    throw new SchemaDriftError('yahoo', `unexpected chart shape: ${parsed.error.issues[0]?.message ?? ''}`, raw);
  }
  const r = parsed.data;
  const symbol = r.meta.symbol;
  const tz = r.meta.exchangeTimezoneName ?? 'America/New_York';
  const ts = r.timestamp ?? [];
  const q = r.indicators.quote?.[0];
  const adj = r.indicators.adjclose?.[0]?.adjclose ?? undefined;
  const splits: Split[] = Object.values(r.events?.splits ?? {})
    .map((s) => ({ date: zonedDate(s.date * 1000, tz), ratio: s.numerator / s.denominator }))
    .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));

  const base = { symbol, splits, currency: r.meta.currency ?? undefined, exchangeTimezone: tz };
  if (ts.length === 0 || !q) return { ...base, bars: [], splitAdjustment: splits.length ? 'source' : 'none' };

  const { open, high, low, close, volume } = q;
  for (const [name, arr] of [
    ['close', close],
    ['open', open],
    ['high', high],
    ['low', low],
    ['volume', volume],
    ['adjclose', adj],
  ] as const) {
    if (arr && arr.length !== ts.length)
      throw new SchemaDriftError('yahoo', `${name} has ${arr.length} entries for ${ts.length} timestamps`, raw);
  }
  if (!close) throw new SchemaDriftError('yahoo', 'chart without closes', raw);

  const byDate = new Map<string, DailyBar>();
  for (let i = 0; i < ts.length; i++) {
    const c = close[i];
    if (!valid(c)) continue;
    const t = ts[i] as number;
    const o = open?.[i];
    const h = high?.[i];
    const l = low?.[i];
    const v = volume?.[i];
    const a = adj?.[i];
    const bar: DailyBar = {
      symbol,
      date: zonedDate(t * 1000, tz),
      open: valid(o) ? o : c,
      high: valid(h) ? Math.max(h, c) : c,
      low: valid(l) ? Math.min(l, c) : c,
      close: c,
      volume: typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0,
      sourceAt: new Date(t * 1000),
    };
    if (valid(a)) bar.adjClose = a;
    byDate.set(bar.date, bar);
  }
  const bars = [...byDate.values()].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  const adjustedByParser = adjustUnadjustedSplits(bars, splits);
  return {
    ...base,
    bars,
    splitAdjustment: splits.length === 0 ? 'none' : adjustedByParser > 0 ? 'parser' : 'source',
  };
}

/**
 * For each split, decides from the closes on either side whether `bars` are already adjusted and,
 * if not, adjusts the bars before the split in place (prices / ratio, volume * ratio; adjClose is
 * left alone, it is adjusted by definition). Returns how many splits it had to apply.
 */
export function adjustUnadjustedSplits(bars: DailyBar[], splits: readonly Split[]): number {
  let applied = 0;
  for (const s of splits) {
    if (!(s.ratio > 0) || s.ratio === 1) continue;
    const k = bars.findIndex((b) => b.date >= s.date);
    if (k <= 0) continue;
    const before = bars[k - 1] as DailyBar;
    const after = bars[k] as DailyBar;
    const jump = Math.log(before.close / after.close);
    const expected = Math.log(s.ratio);
    // Adjusted data moves by an ordinary daily return across the split; unadjusted data by ~ratio.
    if (Math.abs(jump - expected) >= Math.abs(jump)) continue;
    for (let i = 0; i < k; i++) {
      const b = bars[i] as DailyBar;
      b.open /= s.ratio;
      b.high /= s.ratio;
      b.low /= s.ratio;
      b.close /= s.ratio;
      b.volume *= s.ratio;
    }
    applied++;
  }
  return applied;
}
