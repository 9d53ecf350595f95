/**
 * The one Yahoo chart parser: chart data -> domain History, for the Yahoo adapter (yahoo-finance2's
 * chart() result), the replay source, the CLI's `backtest --history`, bench and tests (recorded
 * /v8/finance/chart bodies via {@link parseYahooChart}). packages/core never sees this vendor shape.
 *
 * Split adjustment, one rule for every door ({@link adjustUnadjustedSplits}): Yahoo's chart closes
 * are ALREADY split-adjusted up to the request (verified on the recorded NVDA answer: 18.78 -> 18.61
 * across the 4:1 split of 2021-07-20). When a source delivers unadjusted prices (a proxy, an old
 * cache), the bars before the split are divided by the ratio here, so a split never looks like a crash.
 */
import { type DailyBar, type History, SchemaDriftError, type Split } from '@signals/core';
import { z } from 'zod';

export interface ChartRow {
  at: Date;
  open: number | null | undefined;
  high: number | null | undefined;
  low: number | null | undefined;
  close: number | null | undefined;
  volume: number | null | undefined;
  adjClose?: number | null | undefined;
}

export interface ChartSplit {
  at: Date;
  numerator: number;
  denominator: number;
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();

/** Session date (YYYY-MM-DD) of an instant in the exchange's time zone. */
export function sessionDate(at: Date, timeZone = 'America/New_York'): string {
  let f = fmtCache.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    } catch {
      f = new Intl.DateTimeFormat('en-CA', { timeZone: 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' });
    }
    fmtCache.set(timeZone, f);
  }
  return f.format(at);
}

const num = (v: number | null | undefined): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;

export interface BuildHistoryInput {
  symbol: string;
  rows: ChartRow[];
  splits?: ChartSplit[];
  timeZone?: string;
  currency?: string;
}

export interface BuiltHistory extends History {
  /** Splits whose unadjusted prices were adjusted here (empty when the source had done it). */
  adjustedSplits: Split[];
  /** Rows dropped for lack of a usable close. */
  droppedRows: number;
  /** 'source': the source had adjusted (Yahoo's normal case); 'parser': adjusted here; 'none': no splits. */
  splitAdjustment: 'source' | 'parser' | 'none';
}

/**
 * For each split, decides from the closes on either side whether `bars` are already adjusted and,
 * if not, adjusts the bars before it (prices / ratio, volume * ratio) in place. Adjusted data moves
 * by an ordinary daily return across the split, unadjusted data by about the ratio: the bars are
 * adjusted when the log jump is nearer log(ratio) than 0. adjClose is left alone: it is
 * split-adjusted by definition. Returns the splits it applied.
 */
export function adjustUnadjustedSplits(bars: DailyBar[], splits: readonly Split[]): Split[] {
  const applied: Split[] = [];
  for (const s of splits) {
    if (!(s.ratio > 0) || s.ratio === 1) continue;
    const k = bars.findIndex((b) => b.date >= s.date);
    if (k <= 0) continue;
    const jump = Math.log((bars[k - 1] as DailyBar).close / (bars[k] as DailyBar).close);
    if (Math.abs(jump - Math.log(s.ratio)) >= Math.abs(jump)) continue;
    for (let i = 0; i < k; i++) {
      const b = bars[i] as DailyBar;
      bars[i] = {
        ...b,
        open: b.open / s.ratio,
        high: b.high / s.ratio,
        low: b.low / s.ratio,
        close: b.close / s.ratio,
        volume: Math.round(b.volume * s.ratio),
      };
    }
    applied.push(s);
  }
  return applied;
}

/** Builds a sorted, de-duplicated, split-adjusted History from chart rows. */
export function buildHistory(input: BuildHistoryInput): BuiltHistory {
  const tz = input.timeZone ?? 'America/New_York';
  const byDate = new Map<string, DailyBar>();
  let dropped = 0;
  for (const r of input.rows) {
    const close = num(r.close);
    if (close === undefined || close <= 0 || Number.isNaN(r.at.getTime())) {
      dropped++;
      continue;
    }
    const open = num(r.open) ?? close;
    const high = Math.max(num(r.high) ?? close, open, close);
    const low = Math.min(num(r.low) ?? close, open, close);
    const adj = num(r.adjClose);
    const date = sessionDate(r.at, tz);
    const prev = byDate.get(date);
    // Yahoo may append a live bar for the current session next to the daily one: keep the latest.
    if (prev && prev.sourceAt.getTime() > r.at.getTime()) continue;
    byDate.set(date, {
      symbol: input.symbol,
      date,
      open,
      high,
      low,
      close,
      ...(adj !== undefined && adj > 0 ? { adjClose: adj } : {}),
      volume: Math.max(0, Math.round(num(r.volume) ?? 0)),
      sourceAt: r.at,
    });
  }
  const bars = [...byDate.values()].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  const splits: Split[] = [...(input.splits ?? [])]
    .filter((s) => s.numerator > 0 && s.denominator > 0)
    .sort((a, b) => a.at.getTime() - b.at.getTime())
    .map((s) => ({ date: sessionDate(s.at, tz), ratio: s.numerator / s.denominator }));
  const adjustedSplits = adjustUnadjustedSplits(bars, splits);
  return {
    symbol: input.symbol,
    bars,
    splits,
    ...(input.currency ? { currency: input.currency } : {}),
    exchangeTimezone: tz,
    adjustedSplits,
    droppedRows: dropped,
    splitAdjustment: splits.length === 0 ? 'none' : adjustedSplits.length > 0 ? 'parser' : 'source',
  };
}

// ------------------------------------------------------------------------------------------------
// Raw /v8/finance/chart bodies (recorded files; the replay source)
// ------------------------------------------------------------------------------------------------

const numArr = z.array(z.number().nullable());
/** One chart result as Yahoo sends it, daily or intraday: the one schema both parsers read. */
export const RawChartResult = z.object({
  meta: z
    .object({
      symbol: z.string(),
      currency: z.string().nullish(),
      exchangeTimezoneName: z.string().nullish(),
      /** "1d", "5m", ...: which parser a recorded file needs (intraday.ts chartInterval). */
      dataGranularity: z.string().nullish(),
    })
    .passthrough(),
  timestamp: z.array(z.number()),
  indicators: z.object({
    quote: z
      .array(
        z.object({
          open: numArr.optional(),
          high: numArr.optional(),
          low: numArr.optional(),
          close: numArr,
          volume: numArr.optional(),
        }),
      )
      .min(1),
    adjclose: z.array(z.object({ adjclose: numArr.optional() })).optional(),
  }),
  events: z
    .object({
      splits: z
        .record(z.string(), z.object({ date: z.number(), numerator: z.number(), denominator: z.number() }))
        .optional(),
    })
    .passthrough()
    .optional(),
});
export const RawChartBody = z.object({ chart: z.object({ result: z.array(RawChartResult).min(1) }) });

/**
 * The body of a recorded exchange (`{ request, response: { status?, bodyJson | bodyText } }`), or
 * `json` itself when it is a plain body: the one place a recording is unwrapped (the replay price
 * source, `pnpm cli backtest --history`, the chart readers). Throws SchemaDriftError naming
 * `source` when the exchange holds no usable body: a non-2xx answer, a bodyText that is not JSON,
 * or no body at all.
 */
export function recordedBody(json: unknown, source = 'recording'): unknown {
  if (!json || typeof json !== 'object' || Array.isArray(json) || !('response' in json)) return json;
  const res = (json as { response: unknown }).response;
  if (!res || typeof res !== 'object') throw new SchemaDriftError(source, '"response" is not an object', json);
  const { status, bodyJson, bodyText } = res as { status?: unknown; bodyJson?: unknown; bodyText?: unknown };
  if (typeof status === 'number' && (status < 200 || status >= 300))
    throw new SchemaDriftError(source, `the recorded answer is HTTP ${status}, not a chart`, json);
  if (bodyJson !== undefined) return bodyJson;
  if (typeof bodyText === 'string') {
    try {
      return JSON.parse(bodyText) as unknown;
    } catch {
      throw new SchemaDriftError(source, "the recorded answer's bodyText is not JSON", json);
    }
  }
  throw new SchemaDriftError(source, 'the recorded exchange has no body (response.bodyJson)', json);
}

/**
 * The one reader of Yahoo chart bodies, daily or intraday: the schema, the first result, timestamps
 * and closes in step, one ChartRow per timestamp. Throws SchemaDriftError (raw body kept) when the
 * shape is not a usable chart, e.g. the chart-notimestamp-* answers or a chart.error answer.
 */
export function readChart(
  json: unknown,
  source: string,
): { body: unknown; result: z.infer<typeof RawChartResult>; rows: ChartRow[] } {
  const body = recordedBody(json, source);
  const parsed = RawChartBody.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SchemaDriftError(
      source,
      `not a usable chart: ${issue?.message ?? 'invalid'} at ${issue?.path.join('.') ?? ''}`,
      body,
    );
  }
  const r = parsed.data.chart.result[0] as z.infer<typeof RawChartResult>;
  const q = r.indicators.quote[0] as z.infer<typeof RawChartResult>['indicators']['quote'][number];
  const adj = r.indicators.adjclose?.[0]?.adjclose;
  if (q.close.length !== r.timestamp.length) {
    throw new SchemaDriftError(
      source,
      `chart for ${r.meta.symbol}: ${r.timestamp.length} timestamps but ${q.close.length} closes`,
      body,
    );
  }
  const rows: ChartRow[] = r.timestamp.map((t, i) => ({
    at: new Date(t * 1000),
    open: q.open?.[i],
    high: q.high?.[i],
    low: q.low?.[i],
    close: q.close[i],
    volume: q.volume?.[i],
    adjClose: adj?.[i],
  }));
  return { body, result: r, rows };
}

/**
 * Maps a raw chart body ({ chart: { result: [...] } }) or a recorded exchange
 * ({ response: { bodyJson: { chart } } }) to a History (see readChart for what is refused).
 */
export function parseYahooChart(json: unknown, source = 'yahoo'): BuiltHistory {
  const { result: r, rows } = readChart(json, source);
  const splits: ChartSplit[] = Object.values(r.events?.splits ?? {}).map((s) => ({
    at: new Date(s.date * 1000),
    numerator: s.numerator,
    denominator: s.denominator,
  }));
  return buildHistory({
    symbol: r.meta.symbol.toUpperCase(),
    rows,
    splits,
    timeZone: r.meta.exchangeTimezoneName ?? undefined,
    currency: r.meta.currency ?? undefined,
  });
}
