/**
 * PriceSource over Yahoo Finance through yahoo-finance2 (its real quote()/chart() code paths,
 * crumb step included). Every request goes through createYahooFetch (host rewrite, shared budget,
 * timeout, 429/5xx mapping); every logical call through the circuit breaker and a backoff loop.
 * Vendor failures leave here as domain errors only.
 */
import {
  type Clock,
  DomainError,
  type History,
  type IntradayInterval,
  type Logger,
  type PriceSource,
  type Quote,
  SchemaDriftError,
  SourceUnavailableError,
  UnknownSymbolError,
  silentLogger,
  systemClock,
} from '@signals/core';
import type YahooFinance from 'yahoo-finance2';
import { CircuitBreaker } from '../breaker.ts';
import { BudgetExhaustedError, type RequestBudget } from '../budget.ts';
import { type RetryOptions, withRetry } from '../retry.ts';
import type { QuoteBatchResult, QuoteFailure } from '../types.ts';
import { createYahooFetch, snippet } from './fetch.ts';
import { historyFromYahooChart, intradayFromYahooChart, mapQuotes } from './map.ts';
import type { ParsedIntraday } from '../intraday.ts';

export const YAHOO_MAX_BATCH = 50;

export interface YahooPriceSourceOptions {
  /** Send every Yahoo request (crumb step included) to this origin instead (YAHOO_BASE_URL). */
  baseUrl?: string;
  /** The fetch underneath (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Per-request timeout, headers and body (default 10 s). */
  timeoutMs?: number;
  /** Symbols per quote request, at most 50 (default 50). */
  batchSize?: number;
  /** Quote batches in flight at once (default 4). */
  concurrency?: number;
  /** Backoff on 429/5xx/timeouts (default 3 attempts, 500 ms base, 10 s cap). */
  retry?: RetryOptions;
  /** Circuit breaker; one is made (5 failures, 60 s) when omitted. Share it with the ingestor. */
  breaker?: CircuitBreaker;
  /** Shared request budget (RedisRequestBudget): taken once per HTTP request. */
  budget?: RequestBudget;
  clock?: Clock;
  logger?: Logger;
}

export const SYMBOL_RE = /^[A-Z0-9^][A-Z0-9.\-=^]{0,19}$/;

export function normalizeSymbol(s: string): string {
  return s.trim().toUpperCase();
}

function chunk<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** Runs fns with at most `limit` in flight; results in order. */
async function pool<T>(fns: Array<() => Promise<T>>, limit: number): Promise<PromiseSettledResult<T>[]> {
  const out: PromiseSettledResult<T>[] = new Array(fns.length);
  let next = 0;
  const worker = async () => {
    while (next < fns.length) {
      const i = next++;
      try {
        out[i] = { status: 'fulfilled', value: await (fns[i] as () => Promise<T>)() };
      } catch (reason) {
        out[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, fns.length) }, worker));
  return out;
}

export class YahooPriceSource implements PriceSource {
  readonly name = 'yahoo';
  readonly breaker: CircuitBreaker;
  /** yahoo-finance2, loaded and made on the first request (see client()). */
  private yf?: Promise<InstanceType<typeof YahooFinance>>;
  private readonly makeClient: () => Promise<InstanceType<typeof YahooFinance>>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly retry: RetryOptions;
  /** Last body per request key, for SchemaDriftError.raw (bounded). */
  private readonly bodies = new Map<string, string>();

  constructor(opts: YahooPriceSourceOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child({ source: 'yahoo' });
    this.batchSize = Math.min(YAHOO_MAX_BATCH, Math.max(1, opts.batchSize ?? YAHOO_MAX_BATCH));
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.retry = opts.retry ?? {};
    this.breaker = opts.breaker ?? new CircuitBreaker({ source: 'yahoo', clock: this.clock });
    const yfetch = createYahooFetch({
      source: 'yahoo',
      baseUrl: opts.baseUrl,
      fetch: opts.fetch ?? globalThis.fetch,
      timeoutMs: opts.timeoutMs ?? 10_000,
      budget: opts.budget,
      onBody: (k, t) => {
        this.bodies.delete(k);
        this.bodies.set(k, t);
        if (this.bodies.size > 64) this.bodies.delete(this.bodies.keys().next().value as string);
      },
    });
    const log = this.log;
    // yahoo-finance2 (~15 MB with its schemas) loads with the first request: the server, which
    // only checks a symbol now and then, does not hold it from the start.
    this.makeClient = async () => {
      const [{ default: YahooFinanceClass }, { ExtendedCookieJar }] = await Promise.all([
        import('yahoo-finance2'),
        import('yahoo-finance2/lib/cookieJar'),
      ]);
      return new YahooFinanceClass({
        fetch: yfetch,
        // Own jar per source: the crumb step is done against this source's origin.
        cookieJar: new ExtendedCookieJar(),
        suppressNotices: ['yahooSurvey', 'ripHistorical'],
        versionCheck: false,
        queue: { concurrency: this.concurrency },
        validation: { logErrors: false, logOptionsErrors: false },
        logger: {
          info: (...a: unknown[]) => log.debug({ yf: a.map(String).join(' ') }, 'yahoo-finance2'),
          warn: (...a: unknown[]) => log.debug({ yf: a.map(String).join(' ') }, 'yahoo-finance2 warning'),
          error: (...a: unknown[]) => log.debug({ yf: a.map(String).join(' ') }, 'yahoo-finance2 error'),
          debug: () => {},
          dir: () => {},
        },
      });
    };
  }

  private client(): Promise<InstanceType<typeof YahooFinance>> {
    this.yf ??= this.makeClient();
    // A failed load is tried again by the next request.
    this.yf.catch(() => {
      this.yf = undefined;
    });
    return this.yf;
  }

  /** One logical call: breaker gate, backoff loop, breaker bookkeeping. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.breaker.acquire();
    try {
      const v = await withRetry(
        fn,
        this.retry,
        (e) => e instanceof SourceUnavailableError && !(e instanceof BudgetExhaustedError),
        (err, attempt, delay) =>
          this.log.warn(
            { what, attempt: attempt + 1, delayMs: delay, err: (err as Error).message },
            'yahoo request failed, backing off',
          ),
      );
      this.breaker.success();
      return v;
    } catch (err) {
      if (err instanceof BudgetExhaustedError)
        this.breaker.release(); // nothing was asked
      else if (err instanceof SourceUnavailableError) this.breaker.failure(err);
      else this.breaker.success(); // the source answered (schema drift, unknown symbol)
      throw err;
    }
  }

  /** Vendor error -> domain error. */
  private mapError(err: unknown, ctx: { key: string; symbol?: string }): DomainError {
    if (err instanceof DomainError) return err;
    const e = err as Error & { name?: string; code?: number; result?: unknown };
    const msg = e?.message ?? String(err);
    if (
      ctx.symbol &&
      (/No data found|symbol may be delisted/i.test(msg) || (e.name === 'HTTPError' && e.code === 404))
    ) {
      return new UnknownSymbolError(ctx.symbol);
    }
    if (/crumb|cookie/i.test(msg))
      return new SourceUnavailableError('yahoo', `crumb step failed: ${snippet(msg, 200)}`, { cause: err });
    if (e?.name === 'HTTPError') {
      return new SourceUnavailableError('yahoo', `HTTP ${e.code ?? '?'}: ${snippet(msg, 200)}`, {
        cause: err,
        status: e.code,
      });
    }
    const raw = e?.result !== undefined ? e.result : (this.bodies.get(ctx.key) ?? msg);
    return new SchemaDriftError('yahoo', `unexpected answer on ${ctx.key}: ${snippet(msg, 200)}`, raw);
  }

  private async quoteBatch(symbols: string[]): Promise<{ items: unknown[]; drift?: SchemaDriftError }> {
    const key = `/v7/finance/quote?symbols=${symbols.join(',')}`;
    return this.call(`quote x${symbols.length}`, async () => {
      try {
        const res = (await (await this.client()).quote(symbols, { return: 'array' })) as unknown[];
        return { items: res };
      } catch (err) {
        const e = err as { name?: string; result?: unknown };
        // yahoo-finance2's schema refused the answer: keep what our own (lenient) mapping can use.
        if (e?.name === 'FailedYahooValidationError' && Array.isArray(e.result)) {
          const drift = new SchemaDriftError(
            'yahoo',
            `quote answer failed yahoo-finance2 validation: ${(err as Error).message}`,
            e.result,
          );
          return { items: e.result as unknown[], drift };
        }
        throw this.mapError(err, { key });
      }
    });
  }

  /** PriceSource port: like quoteDetails(), but throws the first error when every batch failed. */
  async quotes(symbols: readonly string[]): Promise<QuoteBatchResult> {
    const r = await this.quoteDetails(symbols);
    const valid = new Set(symbols.map(normalizeSymbol).filter((x) => SYMBOL_RE.test(x))).size;
    const failed = r.failures.reduce((n, f) => n + f.symbols.length, 0);
    if (failed > 0 && failed === valid) throw (r.failures[0] as QuoteFailure).error;
    return r;
  }

  /** Quotes in batches of at most 50; per-batch failures are reported, never thrown. */
  async quoteDetails(symbols: readonly string[]): Promise<QuoteBatchResult> {
    const wanted = [...new Set(symbols.map(normalizeSymbol))];
    const invalid = wanted.filter((s) => !SYMBOL_RE.test(s));
    const valid = wanted.filter((s) => SYMBOL_RE.test(s));
    const result: QuoteBatchResult = { quotes: [], unknown: [...invalid], failures: [], missingPrice: [], drift: [] };
    if (!valid.length) return result;
    const batches = chunk(valid, this.batchSize);
    const settled = await pool(
      batches.map((b) => () => this.quoteBatch(b)),
      this.concurrency,
    );
    const fetchedAt = this.clock.now();
    settled.forEach((s, i) => {
      const batch = batches[i] as string[];
      if (s.status === 'rejected') {
        const error = s.reason instanceof DomainError ? s.reason : this.mapError(s.reason, { key: 'quote' });
        result.failures.push({ symbols: batch, error } satisfies QuoteFailure);
        return;
      }
      const m = mapQuotes(s.value.items, fetchedAt);
      if (s.value.drift) result.drift.push(s.value.drift);
      result.quotes.push(...m.quotes);
      result.missingPrice.push(...m.missingPrice);
      for (const sym of batch) if (!m.answered.has(sym)) result.unknown.push(sym);
    });
    return result;
  }

  /** Checks a symbol before it is added to a watchlist. Throws UnknownSymbolError. */
  async validateSymbol(symbol: string): Promise<Quote> {
    const sym = normalizeSymbol(symbol);
    if (!SYMBOL_RE.test(sym)) throw new UnknownSymbolError(symbol);
    const batch = await this.quoteDetails([sym]);
    const failure = batch.failures[0];
    if (failure) throw failure.error;
    const q = batch.quotes.find((x) => x.symbol === sym);
    if (!q) throw new UnknownSymbolError(sym);
    return q;
  }

  async history(symbol: string, from: Date, to: Date): Promise<History> {
    const sym = normalizeSymbol(symbol);
    if (!SYMBOL_RE.test(sym)) throw new UnknownSymbolError(symbol);
    const period2 = to.getTime() > from.getTime() ? to : new Date(from.getTime() + 86_400_000);
    const key = `/v8/finance/chart/${sym}`;
    return this.call(`chart ${sym}`, async () => {
      let res: unknown;
      try {
        res = await (await this.client()).chart(sym, { period1: from, period2, interval: '1d', events: 'div|split' });
      } catch (err) {
        throw this.mapError(err, { key, symbol: sym });
      }
      const h = historyFromYahooChart(sym, res);
      if (h.adjustedSplits.length) {
        this.log.info({ symbol: sym, splits: h.adjustedSplits }, 'adjusted unadjusted prices before split');
      }
      return h;
    });
  }

  /**
   * Intraday bars (pre- and post-market included) from the chart endpoint: one request, through
   * the same budget, breaker and backoff as every other call. Yahoo serves 1m for the last 7 days,
   * 5m/15m for 60 and 1h for 730: callers keep `from` inside that (YAHOO_INTRADAY_LOOKBACK_DAYS).
   */
  async intraday(symbol: string, interval: IntradayInterval, from: Date, to: Date): Promise<ParsedIntraday> {
    const sym = normalizeSymbol(symbol);
    if (!SYMBOL_RE.test(sym)) throw new UnknownSymbolError(symbol);
    const key = `/v8/finance/chart/${sym}?interval=${interval}`;
    return this.call(`chart ${sym} ${interval}`, async () => {
      let res: unknown;
      try {
        res = await (await this.client()).chart(sym, {
          period1: from,
          period2: to,
          interval: interval === '1h' ? '60m' : interval,
          includePrePost: true,
        });
      } catch (err) {
        throw this.mapError(err, { key, symbol: sym });
      }
      const h = intradayFromYahooChart(sym, interval, res);
      if (h.droppedRows || h.outsideSession) {
        this.log.info(
          { symbol: sym, interval, droppedRows: h.droppedRows, outsideSession: h.outsideSession },
          'intraday chart: rows without a usable price or outside the trading day skipped',
        );
      }
      return h;
    });
  }
}
