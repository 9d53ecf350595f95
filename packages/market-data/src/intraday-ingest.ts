/**
 * Intraday ingestion: backfills an instrument's intraday bars the first time it is seen (as far
 * back as Yahoo serves the interval and the retention keeps) and keeps them current while the
 * market trades, pre- and post-market included. Every fetch is one chart request through the
 * source (so through the shared Yahoo request budget, the breaker and the backoff); a symbol is
 * asked again only when a new bar has completed since its last stored one, so polling costs one
 * request per symbol and interval per bar, not per tick. Never throws for source faults: schema
 * drift is recorded (raw kept) and the symbol skipped, an exhausted budget or an open breaker ends
 * the round, rows without prices are skipped by the parser with a log line.
 */
import {
  type Clock,
  CircuitOpenError,
  DomainError,
  INTERVAL_MS,
  type IntradayBar,
  type IntradayInterval,
  isExtendedHours,
  type Logger,
  SchemaDriftError,
  SourceUnavailableError,
  silentLogger,
  UnknownSymbolError,
  systemClock,
  YAHOO_INTRADAY_LOOKBACK_DAYS,
} from '@signals/core';
import { BudgetExhaustedError } from './budget.ts';
import type { ParsedIntraday } from './intraday.ts';

/** What the ingestor needs from a source (YahooPriceSource implements it). */
export interface IntradaySource {
  readonly name: string;
  intraday(symbol: string, interval: IntradayInterval, from: Date, to: Date): Promise<ParsedIntraday>;
}

export function hasIntraday(s: unknown): s is IntradaySource {
  return typeof (s as Partial<IntradaySource> | null)?.intraday === 'function';
}

/** Where bars go (createIntradayStore in @signals/db), plus the price store's event log. */
export interface IntradayBarStore {
  saveIntradayBars(input: {
    symbol: string;
    interval: IntradayInterval;
    bars: readonly IntradayBar[];
    fetchedAt: Date;
  }): Promise<{ upserted: number }>;
  intradayRange(symbol: string, interval: IntradayInterval): Promise<{ from: Date; to: Date } | null>;
  recordSourceEvent(e: { source: string; kind: string; message: string; payload?: unknown; at: Date }): Promise<void>;
}

export interface IntradayIngestorOptions {
  source: IntradaySource;
  store: IntradayBarStore;
  /** Intervals kept current (default ['5m']). */
  intervals?: readonly IntradayInterval[];
  /** Days kept per interval: the backfill reaches no further back than this nor than Yahoo serves. */
  retentionDays?: Partial<Record<IntradayInterval, number>>;
  clock?: Clock;
  logger?: Logger;
  /** A symbol the source does not know is not asked again for this long (default 24 h). */
  unknownRecheckMs?: number;
}

export interface IntradaySyncResult {
  symbol: string;
  interval: IntradayInterval;
  status: 'ok' | 'not_due' | 'unknown' | 'error';
  kind?: 'backfill' | 'update';
  bars: number;
  droppedRows?: number;
  error?: DomainError;
}

const DAY_MS = 86_400_000;

export function createIntradayIngestor(o: IntradayIngestorOptions) {
  const clock = o.clock ?? systemClock;
  const log = (o.logger ?? silentLogger).child({ component: 'intraday-ingestor', source: o.source.name });
  const intervals = o.intervals ?? ['5m'];
  const recheckMs = o.unknownRecheckMs ?? DAY_MS;
  /** Symbols the source did not know, and when: not asked again (and not budgeted) until recheckMs. */
  const unknownSince = new Map<string, number>();

  /** Oldest instant a first backfill asks for: Yahoo's limit and the retention, whichever is nearer. */
  function backfillFrom(interval: IntradayInterval, now: Date): Date {
    const days = Math.min(
      YAHOO_INTRADAY_LOOKBACK_DAYS[interval],
      o.retentionDays?.[interval] ?? Number.POSITIVE_INFINITY,
    );
    // Yahoo refuses a 1m request reaching exactly 7 days back: stay a little inside the limit.
    return new Date(now.getTime() - days * DAY_MS + 3_600_000);
  }

  async function syncOne(symbol: string, interval: IntradayInterval): Promise<IntradaySyncResult> {
    const now = clock.now();
    const unknownAt = unknownSince.get(symbol);
    if (unknownAt !== undefined && now.getTime() - unknownAt < recheckMs) {
      return { symbol, interval, status: 'unknown', bars: 0 };
    }
    const range = await o.store.intradayRange(symbol, interval);
    const step = INTERVAL_MS[interval];
    // Due when a bar after the last stored one has completed (its start + 2 intervals have passed).
    if (range && range.to.getTime() + 2 * step > now.getTime()) {
      return { symbol, interval, status: 'not_due', bars: 0 };
    }
    // Re-read the last stored bar: it may have been stored while it was still forming.
    const from = range
      ? new Date(Math.max(range.to.getTime(), backfillFrom(interval, now).getTime()))
      : backfillFrom(interval, now);
    const kind = range ? 'update' : 'backfill';
    try {
      const h = await o.source.intraday(symbol, interval, from, now);
      // A bar still forming (its end is in the future) is not stored: its close is not a close yet.
      const done = h.bars.filter((b) => b.at.getTime() + step <= now.getTime());
      const { upserted } = await o.store.saveIntradayBars({ symbol, interval, bars: done, fetchedAt: now });
      if (h.droppedRows) {
        log.info({ symbol, interval, droppedRows: h.droppedRows }, 'intraday: rows without a usable price skipped');
      }
      return { symbol, interval, status: 'ok', kind, bars: upserted, droppedRows: h.droppedRows };
    } catch (err) {
      const e =
        err instanceof DomainError ? err : new SourceUnavailableError(o.source.name, String((err as Error)?.message));
      if (e instanceof UnknownSymbolError) {
        unknownSince.set(symbol, now.getTime());
        log.warn({ symbol, interval }, 'intraday chart: unknown symbol, not asked again for a day');
        return { symbol, interval, status: 'unknown', kind, bars: 0, error: e };
      }
      if (e instanceof SchemaDriftError) {
        log.error({ event: 'schema_drift', symbol, interval, err: e.message }, 'intraday chart: schema drift, skipped');
        await o.store.recordSourceEvent({
          source: o.source.name,
          kind: 'schema_drift',
          message: `intraday ${symbol} ${interval}: ${e.message}`.slice(0, 1000),
          payload: e.raw,
          at: now,
        });
      } else {
        log.warn({ symbol, interval, code: e.code, err: e.message }, 'intraday chart failed; stored bars kept');
      }
      return { symbol, interval, status: 'error', kind, bars: 0, error: e };
    }
  }

  /**
   * One round over `symbols`: backfills symbols without bars (any time), updates the others while
   * the market is in pre-market, the regular session or post-market (and once after it closes, to
   * pick up the last bars). Stops early when the budget is exhausted or the breaker is open.
   */
  async function sync(symbols: readonly string[]): Promise<IntradaySyncResult[]> {
    const out: IntradaySyncResult[] = [];
    const now = clock.now();
    const trading = isExtendedHours(now) || isExtendedHours(now.getTime() - 2 * 3_600_000);
    for (const symbol of symbols) {
      for (const interval of intervals) {
        if (!trading && (await o.store.intradayRange(symbol, interval))) {
          out.push({ symbol, interval, status: 'not_due', bars: 0 });
          continue;
        }
        const r = await syncOne(symbol, interval);
        out.push(r);
        if (r.error instanceof BudgetExhaustedError || r.error instanceof CircuitOpenError) {
          log.warn({ code: r.error.code }, 'intraday round stopped: no requests left for now');
          return out;
        }
      }
    }
    return out;
  }

  return { sync, syncOne, backfillFrom };
}

export type IntradayIngestor = ReturnType<typeof createIntradayIngestor>;
