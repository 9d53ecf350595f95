/**
 * Yahoo /v8/finance/chart answers at an intraday interval (1m, 5m, 15m, 1h; with or without
 * includePrePost) -> IntradayHistory. Recorded files (the replay source, `--history`) and the live
 * adapter come through here. Lenient where Yahoo is untidy, strict where a wrong price would
 * follow: a row without a usable close is dropped and counted (Yahoo sends null rows for minutes
 * without trades and a trailing empty row for the bar in progress), a missing volume is 0, a bar
 * outside the trading day is dropped and counted; a body that is not a chart throws
 * SchemaDriftError with the raw body kept.
 */
import {
  barSession,
  type IntradayBar,
  type IntradayHistory,
  type IntradayInterval,
  parseIntradayInterval,
  SchemaDriftError,
} from '@signals/core';
import { type ChartRow, readChart, recordedBody } from './history.ts';

export interface ParsedIntraday extends IntradayHistory {
  /** Rows dropped for lack of a usable close or price. */
  droppedRows: number;
  /** Rows dropped because the market was closed at their timestamp. */
  outsideSession: number;
}

/** The intraday interval of a chart body or recorded exchange, or undefined (daily, or not a chart). */
export function chartInterval(json: unknown): IntradayInterval | undefined {
  let body: { chart?: { result?: Array<{ meta?: { dataGranularity?: unknown } }> } } | undefined;
  try {
    body = recordedBody(json) as typeof body;
  } catch {
    return undefined; // a recording without a usable body is no chart (its reader says why)
  }
  return parseIntradayInterval(body?.chart?.result?.[0]?.meta?.dataGranularity);
}

const num = (v: number | null | undefined): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;

/**
 * Parses an intraday chart body ({ chart: { result } }) or a recorded exchange
 * ({ response: { bodyJson } }). `interval` is taken from meta.dataGranularity unless given.
 */
export function intradayFromRawChart(
  json: unknown,
  opts: { source?: string; interval?: IntradayInterval } = {},
): ParsedIntraday {
  const source = opts.source ?? 'replay';
  const { body, result: r, rows } = readChart(json, source);
  if (!r.meta.symbol) throw new SchemaDriftError(source, 'not a usable chart: no symbol at meta.symbol', body);
  const interval = opts.interval ?? parseIntradayInterval(r.meta.dataGranularity);
  if (!interval) {
    throw new SchemaDriftError(
      source,
      `chart for ${r.meta.symbol} is not intraday (dataGranularity ${String(r.meta.dataGranularity)})`,
      body,
    );
  }
  return buildIntraday({
    symbol: r.meta.symbol,
    interval,
    rows,
    currency: r.meta.currency ?? undefined,
    timeZone: r.meta.exchangeTimezoneName ?? undefined,
  });
}

/**
 * Chart rows (the raw body's columns, or yahoo-finance2's chart() quotes) -> bars: rows without a
 * usable close are dropped and counted, rows outside the trading day are dropped and counted, a
 * missing volume is 0, open/high/low fall back to the close, duplicates keep the last row.
 */
export function buildIntraday(input: {
  symbol: string;
  interval: IntradayInterval;
  rows: readonly ChartRow[];
  currency?: string | undefined;
  timeZone?: string | undefined;
}): ParsedIntraday {
  const symbol = input.symbol.toUpperCase();
  const interval = input.interval;
  const byTime = new Map<number, IntradayBar>();
  let dropped = 0;
  let outside = 0;
  for (const row of input.rows) {
    const close = num(row.close);
    const tMs = row.at.getTime();
    if (close === undefined || close <= 0 || !Number.isFinite(tMs)) {
      dropped++;
      continue;
    }
    const session = barSession(tMs);
    if (session === null) {
      outside++;
      continue;
    }
    const open = num(row.open) ?? close;
    const high = Math.max(num(row.high) ?? close, open, close);
    const low = Math.min(num(row.low) ?? close, open, close);
    if (!(open > 0 && low > 0)) {
      dropped++;
      continue;
    }
    byTime.set(tMs, {
      symbol,
      interval,
      at: new Date(tMs),
      open,
      high,
      low,
      close,
      volume: Math.max(0, Math.round(num(row.volume) ?? 0)),
      session,
    });
  }
  const bars = [...byTime.values()].sort((a, b) => a.at.getTime() - b.at.getTime());
  return {
    symbol,
    interval,
    bars,
    ...(input.currency ? { currency: input.currency } : {}),
    exchangeTimezone: input.timeZone ?? 'America/New_York',
    droppedRows: dropped,
    outsideSession: outside,
  };
}
