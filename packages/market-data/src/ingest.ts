/**
 * Price ingestion: polls quotes and syncs daily history from a PriceSource into a PriceStore
 * (Postgres, packages/db/src/repos/prices.ts). Never throws for source faults: each fault is
 * logged once per poll, nothing is stored from an answer without prices, the affected
 * instruments' freshness says what happened, and the breaker's open/close is recorded as ONE
 * "degraded"/"recovered" SourceEvent.
 */
import {
  CircuitOpenError,
  type Clock,
  type DailyBar,
  DomainError,
  type Logger,
  type PriceSource,
  type Quote,
  SchemaDriftError,
  SourceUnavailableError,
  UnknownSymbolError,
  silentLogger,
  systemClock,
} from '@signals/core';
import type { CircuitBreaker } from './breaker.ts';
import { BudgetExhaustedError } from './budget.ts';
import { hasQuoteDetails, isQuoteBatchResult, type QuoteFailure } from './types.ts';

/** Where ingested prices go. Implemented over Prisma by createPriceStore in @signals/db. */
export interface PriceStore {
  /** Inserts snapshots and updates each instrument's last price, freshness "fresh", status active. */
  saveQuotes(input: { quotes: Quote[]; fetchedAt: Date; source: string }): Promise<{ saved: number }>;
  /** Marks instruments stale/failed with the reason (prices kept as they were). */
  markFailed(input: { symbols: string[]; freshness: 'stale' | 'failed'; error: string; at: Date }): Promise<void>;
  /** Marks instruments unknown; returns the symbols that were not unknown before (one event each). */
  markUnknown(input: { symbols: string[]; at: Date; source: string }): Promise<string[]>;
  /** Upserts daily bars (one statement) and widens the instrument's history range. */
  saveBars(input: { symbol: string; bars: DailyBar[]; fetchedAt: Date; source: string }): Promise<{ upserted: number }>;
  /** Stored history range (session dates), or null before the first backfill. */
  historyRange(symbol: string): Promise<{ from: string; to: string } | null>;
  recordSourceEvent(e: { source: string; kind: string; message: string; payload?: unknown; at: Date }): Promise<void>;
  /** Records "degraded"/"recovered" only when it changes the source's last recorded state. */
  recordSourceTransition(e: {
    source: string;
    kind: 'degraded' | 'recovered';
    message: string;
    at: Date;
  }): Promise<boolean>;
}

export interface PriceIngestorOptions {
  source: PriceSource;
  store: PriceStore;
  clock?: Clock;
  logger?: Logger;
  /** The breaker the source uses (YahooPriceSource exposes its own as `.breaker`). */
  breaker?: CircuitBreaker;
  /** First backfill length (default 400 days: more than a year of sessions). */
  backfillDays?: number;
  /** Incremental syncs re-read this many days before the stored end (revisions; default 7). */
  overlapDays?: number;
  /** Symbols found unknown are not asked again for this long (default 24 h). */
  unknownRecheckMs?: number;
}

export interface PollResult {
  requested: number;
  saved: number;
  unknown: string[];
  /** Symbols skipped because they were found unknown recently. */
  skippedUnknown: string[];
  failed: Array<{ symbols: string[]; error: string; code: string }>;
  missingPrice: string[];
  breaker: 'closed' | 'open' | 'half_open' | 'none';
}

export interface SyncResult {
  symbol: string;
  status: 'ok' | 'error';
  bars: number;
  from?: string;
  to?: string;
  /** A split appeared in an incremental sync: the whole stored range was fetched again. */
  refetched?: boolean;
  error?: DomainError;
}

const DAY = 86_400_000;

function errText(e: DomainError): string {
  return `${e.code}: ${e.message}`.slice(0, 500);
}

export function createPriceIngestor(o: PriceIngestorOptions) {
  const clock = o.clock ?? systemClock;
  const log = (o.logger ?? silentLogger).child({ component: 'price-ingestor', source: o.source.name });
  const breaker = o.breaker ?? (o.source as { breaker?: CircuitBreaker }).breaker;
  const backfillDays = o.backfillDays ?? 400;
  const overlapDays = o.overlapDays ?? 7;
  const recheckMs = o.unknownRecheckMs ?? DAY;
  const unknownSince = new Map<string, number>();
  let lastTransition: 'degraded' | 'recovered' | undefined;

  async function noteBreaker(): Promise<PollResult['breaker']> {
    if (!breaker) return 'none';
    const state = breaker.state;
    const now = clock.now();
    if (state !== 'closed' && lastTransition !== 'degraded') {
      const msg = `${o.source.name} degraded: circuit open after repeated failures (${breaker.lastError ?? 'unknown error'}); next try at ${breaker.retryAt.toISOString()}`;
      if (await o.store.recordSourceTransition({ source: o.source.name, kind: 'degraded', message: msg, at: now })) {
        log.error({ event: 'source_degraded', retryAt: breaker.retryAt.toISOString() }, msg);
      }
      lastTransition = 'degraded';
    } else if (state === 'closed' && lastTransition !== 'recovered') {
      const msg = `${o.source.name} recovered: requests succeed again`;
      if (await o.store.recordSourceTransition({ source: o.source.name, kind: 'recovered', message: msg, at: now })) {
        log.info({ event: 'source_recovered' }, msg);
      }
      lastTransition = 'recovered';
    }
    return state;
  }

  async function recordDrift(err: SchemaDriftError, context: string): Promise<void> {
    log.error(
      { event: 'schema_drift', context, err: err.message },
      `${o.source.name} schema drift (${context}): raw payload kept in SourceEvent`,
    );
    await o.store.recordSourceEvent({
      source: o.source.name,
      kind: 'schema_drift',
      message: `${context}: ${err.message}`.slice(0, 1000),
      payload: err.raw,
      at: clock.now(),
    });
  }

  async function handleUnknown(symbols: string[]): Promise<void> {
    if (!symbols.length) return;
    const now = clock.now();
    for (const s of symbols) unknownSince.set(s, now.getTime());
    const fresh = await o.store.markUnknown({ symbols, at: now, source: o.source.name });
    if (fresh.length)
      log.warn({ event: 'unknown_symbols', symbols: fresh }, `unknown or delisted symbols: ${fresh.join(', ')}`);
  }

  async function handleFailures(failures: QuoteFailure[]): Promise<PollResult['failed']> {
    const out: PollResult['failed'] = [];
    for (const f of failures) {
      const e = f.error;
      out.push({ symbols: f.symbols, error: e.message, code: e.code });
      if (e instanceof SchemaDriftError) await recordDrift(e, `quotes for ${f.symbols.length} symbols`);
    }
    // One log line per kind of failure and one UPDATE per (freshness, message).
    const groups = new Map<string, { freshness: 'stale' | 'failed'; symbols: string[]; e: DomainError }>();
    for (const f of failures) {
      const freshness = f.error instanceof SchemaDriftError ? 'failed' : 'stale';
      const key = `${freshness}|${errText(f.error)}`;
      const g = groups.get(key) ?? { freshness, symbols: [], e: f.error };
      g.symbols.push(...f.symbols);
      groups.set(key, g);
    }
    for (const g of groups.values()) {
      const what =
        g.e instanceof CircuitOpenError
          ? 'circuit open, not asked'
          : g.e instanceof BudgetExhaustedError
            ? 'request budget exhausted, not asked'
            : g.e instanceof SchemaDriftError
              ? 'answer unusable (schema drift)'
              : 'source unavailable';
      log.warn(
        { event: 'quotes_failed', code: g.e.code, symbols: g.symbols.length, err: g.e.message },
        `quotes failed for ${g.symbols.length} symbols (${what}): ${g.e.message}; marked ${g.freshness}`,
      );
      await o.store.markFailed({ symbols: g.symbols, freshness: g.freshness, error: errText(g.e), at: clock.now() });
    }
    return out;
  }

  async function pollQuotes(symbols: readonly string[]): Promise<PollResult> {
    const now = clock.now().getTime();
    const all = [...new Set(symbols.map((s) => s.trim().toUpperCase()).filter(Boolean))];
    const skippedUnknown: string[] = [];
    const ask: string[] = [];
    for (const s of all) {
      const since = unknownSince.get(s);
      if (since !== undefined && now - since < recheckMs) skippedUnknown.push(s);
      else ask.push(s);
    }
    const res: PollResult = {
      requested: all.length,
      saved: 0,
      unknown: [],
      skippedUnknown,
      failed: [],
      missingPrice: [],
      breaker: 'none',
    };
    if (!ask.length) {
      res.breaker = await noteBreaker();
      return res;
    }
    let failures: QuoteFailure[] = [];
    try {
      const batch = hasQuoteDetails(o.source) ? await o.source.quoteDetails(ask) : await o.source.quotes(ask);
      const fetchedAt = clock.now();
      if (batch.quotes.length) {
        res.saved = (await o.store.saveQuotes({ quotes: batch.quotes, fetchedAt, source: o.source.name })).saved;
        for (const q of batch.quotes) unknownSince.delete(q.symbol);
      }
      res.unknown = batch.unknown;
      await handleUnknown(batch.unknown);
      if (isQuoteBatchResult(batch)) {
        failures = batch.failures;
        res.missingPrice = batch.missingPrice;
        for (const d of batch.drift) await recordDrift(d, 'quotes (usable prices kept)');
      }
      if (res.missingPrice.length) {
        log.warn(
          { event: 'quotes_without_price', symbols: res.missingPrice },
          `answer without a price for ${res.missingPrice.join(', ')}: nothing stored`,
        );
        await o.store.markFailed({
          symbols: res.missingPrice,
          freshness: 'stale',
          error: 'answer without a price',
          at: fetchedAt,
        });
      }
    } catch (err) {
      const e =
        err instanceof DomainError
          ? err
          : new SourceUnavailableError(o.source.name, `unexpected error: ${(err as Error)?.message ?? String(err)}`, {
              cause: err,
            });
      failures = [{ symbols: ask, error: e }];
    }
    res.failed = await handleFailures(failures);
    res.breaker = await noteBreaker();
    return res;
  }

  async function syncHistory(symbol: string, opts: { from?: Date; full?: boolean } = {}): Promise<SyncResult> {
    const sym = symbol.trim().toUpperCase();
    const now = clock.now();
    const range = opts.full || opts.from ? null : await o.store.historyRange(sym);
    const from =
      opts.from ??
      (range ? new Date(Date.parse(range.to) - overlapDays * DAY) : new Date(now.getTime() - backfillDays * DAY));
    const out: SyncResult = { symbol: sym, status: 'ok', bars: 0 };
    try {
      let h = await o.source.history(sym, from, now);
      // A split inside an incremental window means the stored bars are now on the old basis:
      // fetch the whole stored range again so every bar is adjusted the same way.
      if (range && h.splits.some((s) => s.date > range.to)) {
        const full = new Date(Date.parse(range.from));
        log.info({ symbol: sym, splits: h.splits }, 'split in incremental window: refetching stored range');
        h = await o.source.history(sym, full, now);
        out.refetched = true;
      }
      if (!h.bars.length) {
        log.info({ symbol: sym, from: from.toISOString() }, 'history: no bars in range; nothing stored');
      } else {
        out.bars = (
          await o.store.saveBars({ symbol: sym, bars: h.bars, fetchedAt: clock.now(), source: o.source.name })
        ).upserted;
        out.from = h.bars[0]?.date;
        out.to = h.bars[h.bars.length - 1]?.date;
      }
    } catch (err) {
      const e =
        err instanceof DomainError
          ? err
          : new SourceUnavailableError(o.source.name, `unexpected error: ${(err as Error)?.message ?? String(err)}`, {
              cause: err,
            });
      out.status = 'error';
      out.error = e;
      if (e instanceof UnknownSymbolError) {
        await handleUnknown([sym]);
      } else if (e instanceof SchemaDriftError) {
        await recordDrift(e, `history ${sym}`);
        await o.store.markFailed({ symbols: [sym], freshness: 'failed', error: errText(e), at: clock.now() });
      } else {
        log.warn(
          { event: 'history_failed', symbol: sym, code: e.code, err: e.message },
          `history for ${sym} failed: ${e.message}; marked stale`,
        );
        await o.store.markFailed({ symbols: [sym], freshness: 'stale', error: errText(e), at: clock.now() });
      }
    }
    await noteBreaker();
    return out;
  }

  return { pollQuotes, syncHistory };
}

export type PriceIngestor = ReturnType<typeof createPriceIngestor>;
