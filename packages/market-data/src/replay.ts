/**
 * A PriceSource over recorded daily history, driven by an injected Clock: quotes() answers with
 * the bar that is "current" at clock time (the last bar whose timestamp is not in the future) and
 * history() never reveals bars after it. For tests, backtests and PRICE_SOURCE=replay:<path>.
 *
 * Intraday recordings (charts at 1m/5m/15m/1h) are replayed bar by bar: quotes() answers with the
 * quote Yahoo would have shown after the last completed bar (pre/post-market bars as its
 * preMarketPrice/postMarketPrice, see intradayQuoteAt), history() with the regular sessions'
 * daily aggregates once each session has closed, and intraday() with the completed bars, so the
 * worker stores them as it would from Yahoo.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  type Clock,
  type DailyBar,
  dailyFromIntraday,
  isTradingDay,
  sessionCloseMs,
  type History,
  INTERVAL_MS,
  type IntradayBar,
  type IntradayHistory,
  type IntradayInterval,
  intradayQuoteAt,
  type Logger,
  type PriceSource,
  type Quote,
  type QuoteBatch,
  SchemaDriftError,
  UnknownSymbolError,
  silentLogger,
} from '@signals/core';
import { parseYahooChart, recordedBody } from './history.ts';
import { chartInterval, intradayFromRawChart, type ParsedIntraday } from './intraday.ts';

const DEFAULT_CLOSE_AFTER_MS = 6.5 * 3600_000;

export interface ReplayPriceSourceOptions {
  clock: Clock;
  logger?: Logger;
  name?: string;
  /**
   * How long after its timestamp a daily bar's close is known. Default: a New York listing's bar is
   * known at its session's close from the exchange calendar (so half days such as the day after
   * Thanksgiving close at 13:00), other bars 6.5 h after their timestamp (Yahoo stamps daily bars
   * at the session open). Replays never show a close before it happened.
   */
  closeAfterMs?: number;
}

/** A clock that runs `speed` times faster than `base`, starting at `start`. */
export function acceleratedClock(opts: { start: Date; speed: number; base?: Clock }): Clock {
  const base = opts.base ?? { now: () => new Date() };
  const t0 = base.now().getTime();
  const s0 = opts.start.getTime();
  return { now: () => new Date(s0 + (base.now().getTime() - t0) * opts.speed) };
}

/** An accelerated clock that stands at its start until {@link HeldClock.release} is called. */
export interface HeldClock extends Clock {
  /** Starts the clock running from its start (once; later calls do nothing). */
  release(): void;
  readonly running: boolean;
}

/**
 * A replay's clock: stands at `start` until released, then runs `speed` times faster than `base`.
 * A worker releases it at its first price tick, so the time it takes to start (loading modules,
 * connecting, a slow machine) is not replayed time nobody looked at: at REPLAY_SPEED 14400 a
 * 40 s start would otherwise skip the first week of the recording, and a daily move in it that a
 * backtest of the same bars finds.
 */
export function heldAcceleratedClock(opts: { start: Date; speed: number; base?: Clock }): HeldClock {
  let running: Clock | undefined;
  return {
    now: () => running?.now() ?? new Date(opts.start.getTime()),
    release() {
      running ??= acceleratedClock(opts);
    },
    get running() {
      return running !== undefined;
    },
  };
}

function mergeHistories(a: History, b: History): History {
  const byDate = new Map<string, DailyBar>();
  for (const bar of [...a.bars, ...b.bars]) byDate.set(bar.date, bar);
  const bars = [...byDate.values()].sort((x, y) => (x.date < y.date ? -1 : x.date > y.date ? 1 : 0));
  const splits = [...a.splits, ...b.splits.filter((s) => !a.splits.some((t) => t.date === s.date))];
  return { ...a, bars, splits };
}

/**
 * One intraday series per symbol from several recordings (different days): the interval with the
 * most recordings (then the most bars) is kept and its files merged, later files winning a bar;
 * recordings of the symbol at other intervals are skipped with a warning naming them.
 */
function mergeIntraday(all: ParsedIntraday[], files: Map<ParsedIntraday, string>, log: Logger): IntradayHistory[] {
  const bySymbol = new Map<string, ParsedIntraday[]>();
  for (const h of all) bySymbol.set(h.symbol, [...(bySymbol.get(h.symbol) ?? []), h]);
  const out: IntradayHistory[] = [];
  for (const [symbol, list] of bySymbol) {
    const byInterval = new Map<string, ParsedIntraday[]>();
    for (const h of list) byInterval.set(h.interval, [...(byInterval.get(h.interval) ?? []), h]);
    const size = (g: ParsedIntraday[]) => g.reduce((n, h) => n + h.bars.length, 0);
    const [keep] = [...byInterval.values()].sort((a, b) => b.length - a.length || size(b) - size(a));
    if (!keep) continue;
    for (const h of list) {
      if (h.interval !== keep[0]?.interval) {
        log.warn(
          { file: files.get(h), symbol, interval: h.interval, kept: keep[0]?.interval },
          "replay: an intraday recording at another interval than the symbol's others skipped",
        );
      }
    }
    const byTime = new Map<number, IntradayBar>();
    for (const h of keep) for (const b of h.bars) byTime.set(b.at.getTime(), b);
    const first = keep[0] as ParsedIntraday;
    out.push({
      symbol,
      interval: first.interval,
      bars: [...byTime.values()].sort((a, b) => a.at.getTime() - b.at.getTime()),
      ...(first.currency ? { currency: first.currency } : {}),
    });
  }
  return out;
}

export class ReplayPriceSource implements PriceSource {
  readonly name: string;
  private readonly clock: Clock;
  private readonly closeAfterMs: number | undefined;
  private readonly bySymbol = new Map<string, History>();
  /** Bar timestamps per symbol (ms), for binary search. */
  private readonly times = new Map<string, number[]>();
  /** Intraday recordings per symbol (one interval each) and their bar end times (ms). */
  private readonly intradayBy = new Map<string, IntradayHistory>();
  private readonly intradayEnds = new Map<string, number[]>();

  constructor(histories: History[], opts: ReplayPriceSourceOptions, intraday: IntradayHistory[] = []) {
    this.name = opts.name ?? 'replay';
    this.clock = opts.clock;
    this.closeAfterMs = opts.closeAfterMs;
    for (const h of histories) {
      const sym = h.symbol.toUpperCase();
      const prev = this.bySymbol.get(sym);
      this.bySymbol.set(sym, prev ? mergeHistories(prev, h) : { ...h, symbol: sym });
    }
    for (const h of intraday) {
      const sym = h.symbol.toUpperCase();
      this.intradayBy.set(sym, h);
      const step = INTERVAL_MS[h.interval];
      this.intradayEnds.set(
        sym,
        h.bars.map((b) => b.at.getTime() + step),
      );
      // The regular sessions' daily bars, after any daily recording of the same symbol.
      const daily: History = { symbol: sym, bars: dailyFromIntraday(h), splits: [] };
      const prev = this.bySymbol.get(sym);
      this.bySymbol.set(sym, prev ? mergeHistories(prev, daily) : daily);
    }
    for (const [sym, h] of this.bySymbol)
      this.times.set(
        sym,
        h.bars.map((b) => this.knownAt(h, b)),
      );
  }

  /**
   * Loads a recorded chart file (an exchange with response.bodyJson.chart, or a plain chart body)
   * or every such *.json file in a folder. Files of other kinds are skipped; malformed charts are
   * skipped with a warning when loading a folder and throw SchemaDriftError for a single file.
   */
  static async fromPath(p: string, opts: ReplayPriceSourceOptions): Promise<ReplayPriceSource> {
    const log = opts.logger ?? silentLogger;
    const st = await fs.stat(p);
    const files = st.isDirectory()
      ? (await fs.readdir(p))
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => path.join(p, f))
      : [p];
    const histories: History[] = [];
    const intraday: ParsedIntraday[] = [];
    const intradayFiles = new Map<ParsedIntraday, string>();
    for (const f of files) {
      let json: unknown;
      try {
        json = JSON.parse(await fs.readFile(f, 'utf8'));
      } catch (err) {
        if (!st.isDirectory()) throw new SchemaDriftError('replay', `${f}: not JSON (${(err as Error).message})`, null);
        log.warn({ file: f }, 'replay: skipping a file that is not JSON');
        continue;
      }
      let body: unknown;
      try {
        body = recordedBody(json, f);
      } catch (err) {
        // A recorded error answer (HTTP 429, no body) in a folder is another kind of recording.
        if (!st.isDirectory()) throw err;
        continue;
      }
      if (st.isDirectory() && !(body && typeof body === 'object' && 'chart' in body)) continue;
      try {
        if (chartInterval(json) !== undefined) {
          const h = intradayFromRawChart(json, { source: 'replay' });
          intraday.push(h);
          intradayFiles.set(h, f);
          if (h.droppedRows) log.info({ file: f, droppedRows: h.droppedRows }, 'replay: rows without a price skipped');
        } else histories.push(parseYahooChart(json, 'replay'));
      } catch (err) {
        if (!st.isDirectory()) throw err;
        log.warn({ file: f, err: (err as Error).message }, 'replay: skipping a malformed chart');
      }
    }
    return new ReplayPriceSource(histories, opts, mergeIntraday(intraday, intradayFiles, log));
  }

  /** Symbols with intraday recordings. */
  get intradaySymbols(): string[] {
    return [...this.intradayBy.keys()];
  }

  /** First instant of the recordings (the earliest bar, daily or intraday). */
  get firstInstant(): Date | undefined {
    let min = Number.POSITIVE_INFINITY;
    for (const h of this.bySymbol.values()) if (h.bars[0]) min = Math.min(min, h.bars[0].sourceAt.getTime());
    for (const h of this.intradayBy.values()) if (h.bars[0]) min = Math.min(min, h.bars[0].at.getTime());
    return Number.isFinite(min) ? new Date(min) : undefined;
  }

  /** Index of the last intraday bar completed at t, or -1. */
  private intradayIndexAt(sym: string, t: number): number {
    const ends = this.intradayEnds.get(sym) ?? [];
    let lo = 0;
    let hi = ends.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((ends[mid] as number) <= t) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /** Completed intraday bars of `symbol` starting in [from, to) at clock time (IntradayIngestor's source port). */
  async intraday(symbol: string, interval: IntradayInterval, from: Date, to: Date): Promise<ParsedIntraday> {
    const sym = symbol.trim().toUpperCase();
    const h = this.intradayBy.get(sym);
    // A symbol recorded at daily resolution only has no intraday bars: not an error in a replay.
    if (!h) return { symbol: sym, interval, bars: [], droppedRows: 0, outsideSession: 0 };
    const now = this.clock.now().getTime();
    const step = INTERVAL_MS[h.interval];
    const bars =
      h.interval === interval
        ? h.bars.filter(
            (b: IntradayBar) =>
              b.at.getTime() >= from.getTime() && b.at.getTime() < to.getTime() && b.at.getTime() + step <= now,
          )
        : [];
    return { symbol: sym, interval, bars, droppedRows: 0, outsideSession: 0 };
  }

  /** When a bar's close is known (see {@link ReplayPriceSourceOptions.closeAfterMs}). */
  private knownAt(h: History, b: DailyBar): number {
    if (this.closeAfterMs !== undefined) return b.sourceAt.getTime() + this.closeAfterMs;
    const ny = (h.exchangeTimezone ?? 'America/New_York') === 'America/New_York';
    return ny && isTradingDay(b.date) ? sessionCloseMs(b.date) : b.sourceAt.getTime() + DEFAULT_CLOSE_AFTER_MS;
  }

  get symbols(): string[] {
    return [...this.bySymbol.keys()];
  }

  /** Index of the last bar whose close is known at t, or -1. */
  private indexAt(sym: string, t: number): number {
    const ts = this.times.get(sym) ?? [];
    let lo = 0;
    let hi = ts.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((ts[mid] as number) <= t) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  async quotes(symbols: readonly string[]): Promise<QuoteBatch> {
    const now = this.clock.now().getTime();
    const out: QuoteBatch = { quotes: [], unknown: [] };
    for (const raw of symbols) {
      const sym = raw.trim().toUpperCase();
      const ih = this.intradayBy.get(sym);
      if (ih) {
        const i = this.intradayIndexAt(sym, now);
        if (i < 0) continue; // before the recording starts: no price yet
        // The close before the intraday recording, from a daily recording of the symbol if any.
        const first = ih.bars[0]?.at.getTime() ?? 0;
        const before = this.bySymbol.get(sym)?.bars.filter((b) => b.sourceAt.getTime() < first - 12 * 3_600_000);
        const q = intradayQuoteAt(ih.bars, i, before?.[before.length - 1]?.close);
        if (ih.currency) q.currency = ih.currency;
        out.quotes.push(q);
        continue;
      }
      const h = this.bySymbol.get(sym);
      if (!h) {
        out.unknown.push(sym);
        continue;
      }
      const i = this.indexAt(sym, now);
      if (i < 0) continue; // before the recording starts: no price yet
      const bar = h.bars[i] as DailyBar;
      const prev = i > 0 ? (h.bars[i - 1] as DailyBar) : undefined;
      const q: Quote = {
        symbol: sym,
        price: bar.close,
        dayOpen: bar.open,
        dayHigh: bar.high,
        dayLow: bar.low,
        volume: bar.volume,
        sourceAt: new Date(this.times.get(sym)?.[i] ?? this.knownAt(h, bar)),
      };
      if (prev) q.prevClose = prev.close;
      if (h.currency) q.currency = h.currency;
      out.quotes.push(q);
    }
    return out;
  }

  async history(symbol: string, from: Date, to: Date): Promise<History> {
    const sym = symbol.trim().toUpperCase();
    const h = this.bySymbol.get(sym);
    if (!h) throw new UnknownSymbolError(sym);
    const lo = from.getTime();
    const hi = to.getTime();
    const now = this.clock.now().getTime();
    const known = this.times.get(sym) ?? [];
    const bars = h.bars.filter(
      (b, i) => b.sourceAt.getTime() >= lo && b.sourceAt.getTime() <= hi && (known[i] as number) <= now,
    );
    const first = bars[0]?.date ?? '9999';
    const last = bars[bars.length - 1]?.date ?? '0000';
    return { ...h, bars, splits: h.splits.filter((s) => s.date >= first && s.date <= last) };
  }
}
