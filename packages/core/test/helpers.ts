/** Small builders for engine tests: synthetic bars on real trading days, rules with defaults. */
import {
  addDays,
  type DailyBar,
  FixedClock,
  isTradingDay,
  type NewsItem,
  type Quote,
  type RuleDefinition,
  type RuleStateSnapshot,
  type SymbolSeries,
  sessionCloseMs,
  evaluate,
} from '../src/index.ts';

/** `n` consecutive trading days starting at `from` (inclusive, if it is one). */
export function tradingDays(from: string, n: number): string[] {
  const out: string[] = [];
  let d = from;
  while (out.length < n) {
    if (isTradingDay(d)) out.push(d);
    d = addDays(d, 1);
  }
  return out;
}

export interface BarSpec {
  close: number;
  high?: number;
  low?: number;
  volume?: number;
}

/** Bars from closes (or specs) on consecutive trading days from `from` (default 2025-01-02). */
export function makeBars(symbol: string, specs: readonly (number | BarSpec)[], from = '2025-01-02'): DailyBar[] {
  const days = tradingDays(from, specs.length);
  return specs.map((x, i) => {
    const s = typeof x === 'number' ? { close: x } : x;
    const date = days[i] as string;
    return {
      symbol,
      date,
      open: s.close,
      high: s.high ?? s.close,
      low: s.low ?? s.close,
      close: s.close,
      volume: s.volume ?? 1_000_000,
      sourceAt: new Date(sessionCloseMs(date)),
    };
  });
}

export function rule<K extends RuleDefinition['kind']>(
  kind: K,
  params: Extract<RuleDefinition, { kind: K }>['params'],
  extra: Partial<Omit<RuleDefinition, 'kind' | 'params'>> = {},
): RuleDefinition {
  return {
    id: extra.id ?? `${kind}-1`,
    name: extra.name ?? `${kind} test`,
    severity: 'warning',
    cooldownSec: 0,
    ...extra,
    kind,
    params,
  } as RuleDefinition;
}

export function quote(symbol: string, price: number, at: string, extra: Partial<Quote> = {}): Quote {
  return { symbol, price, sourceAt: new Date(at), ...extra };
}

export function news(id: string, title: string, at: string, extra: Partial<NewsItem> = {}): NewsItem {
  return {
    id,
    feedId: 'feed-1',
    title,
    firstSeenAt: new Date(at),
    publishedAt: new Date(at),
    symbols: [],
    topics: [],
    ...extra,
  };
}

/** Runs evaluate repeatedly like a worker would: states carried over, changes merged. */
export class Harness {
  states = new Map<string, RuleStateSnapshot>();
  clock = new FixedClock(new Date(0));
  constructor(readonly rules: RuleDefinition[]) {}
  run(at: string, series: SymbolSeries[], items: NewsItem[] = []) {
    this.clock.set(new Date(at));
    const out = evaluate({
      rules: this.rules,
      series: new Map(series.map((s) => [s.symbol, s])),
      news: items,
      states: this.states,
      clock: this.clock,
    });
    for (const [k, v] of out.states) this.states.set(k, v);
    return out;
  }
}

/** A recorded chart through the one Yahoo parser (packages/market-data); core itself knows no vendor format. */
