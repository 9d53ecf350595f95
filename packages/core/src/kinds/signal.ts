/**
 * What a rule kind's signal computation works with: the current observation of a symbol, the
 * scratch result of one condition check, and the compiled specs the engine keeps per rule. Shared
 * by the kind modules (which compute signals) and engine/ (which runs the lifecycle around them).
 *
 * Hot-path note: the engine calls `PriceSpec.signal` once per rule x symbol x bar. The function is
 * resolved from the registry once, when a rule is compiled, and kept on the spec: no registry
 * lookup, closure or allocation per evaluation.
 */
import type { KeywordMatcher } from '../keywords.ts';
import type { SymbolSeries } from '../series.ts';

export type SkipReason =
  | 'no_data'
  | 'stale'
  | 'failed'
  | 'unknown'
  | 'invalid_price'
  | 'insufficient_history'
  /** A basket whose members with data hold less than its minimum coverage. */
  | 'incomplete'
  /** A news+price confirmation of a story published during a session seen only at its close (daily data). */
  | 'needs_intraday';

/** The current observation of one symbol (a reused scratch object). */
export interface Obs {
  /** null when usable, otherwise the refusal. */
  refused: SkipReason | null;
  /** Completed bars before the current observation. */
  L: number;
  price: number;
  high: number;
  low: number;
  volume: number;
  /** Previous close as the quote states it (NaN when unknown). */
  quotePrev: number;
  date: string;
  /** Instant of the observation (ms); NaN until needed for bars. */
  atMs: number;
  fromQuote: boolean;
  /** The observation is a session close (completed bar, or a quote after the close). */
  isClose: boolean;
  /** A pre- or post-market price (rules with session "extended" only). */
  extended: boolean;
}

/** Result of one condition check (a reused scratch object). */
export interface Sig {
  active: boolean;
  /** Move in the rule's direction relative to the threshold (>= 1 when active); for re-arm. */
  strength: number;
  value: number;
  threshold: number;
  /** 1 up, -1 down. */
  sign: number;
  /** Reference price (start of the window) and first date of the window. */
  ref: number;
  windowStart: string;
}

export function newSig(): Sig {
  return { active: false, strength: 0, value: 0, threshold: 0, sign: 1, ref: 0, windowStart: '' };
}

/** A price kind's signal: fills `sig` and returns null, or returns why it could not be evaluated. */
export type PriceSignalFn = (p: PriceSpec, s: SymbolSeries, o: Obs, sig: Sig) => SkipReason | null;

/** Numeric form of a per-symbol price condition. */
export interface PriceSpec {
  kind: string;
  /** The kind's computation (resolved once at compile time). */
  signal: PriceSignalFn;
  /** 1 up, -1 down, 0 either. */
  dir: number;
  /** Threshold as a fraction (pct rules), k (vol), multiple (volume), level (cross). */
  thr: number;
  /** Sessions of the measured window / lookback. */
  n: number;
  intraday: boolean;
  extremes: boolean;
  /** Sessions after which a qualifying window shares no return with an earlier one. */
  independentAfter: number;
}

export interface NewsSpec {
  keywords: KeywordMatcher | null;
  topics: readonly string[];
  requireSymbol: boolean;
  maxAgeMs: number;
}

export interface BasketSpec {
  n: number;
  thr: number;
  dir: number;
  capWeighted: boolean;
  /** Members needed (0: use minCoverage). */
  minMembers: number;
  /** Share of the weight that must have data. */
  minCoverage: number;
}

/** price_news confirmation: the news that must (or may) accompany a price event. */
export interface ConfirmNewsSpec {
  beforeMs: number;
  afterMs: number;
  requireNews: boolean;
  filter: NewsSpec | null;
}

/** news_price confirmation: the move that must follow a news item. */
export interface ConfirmPriceSpec {
  minMove: number;
  dir: number;
  withinMs: number;
}

/**
 * How the engine evaluates a rule of a kind: per symbol on a price signal (optionally waiting for
 * news), as a basket, or on news (optionally waiting for a move). Exactly one of price, basket,
 * news is set.
 */
export interface EngineSpec {
  price?: PriceSpec;
  basket?: BasketSpec;
  news?: NewsSpec;
  confirmNews?: ConfirmNewsSpec;
  confirmPrice?: ConfirmPriceSpec;
  /** session "extended": the rule observes pre- and post-market prices too. */
  extended?: boolean;
}

export function dirOf(d: 'up' | 'down' | 'either'): number {
  return d === 'up' ? 1 : d === 'down' ? -1 : 0;
}

/** Bars a..b (inclusive) all valid? */
export function clean(s: SymbolSeries, a: number, b: number): boolean {
  const bad = s.pre.bad;
  return (bad[b + 1] as number) === (bad[a] as number);
}

/** Sets sig for a signed move against threshold `thr` in direction `dir`. */
export function directional(sig: Sig, move: number, thr: number, dir: number): void {
  if (dir > 0) {
    sig.active = move >= thr;
    sig.strength = move / thr;
    sig.threshold = thr;
  } else if (dir < 0) {
    sig.active = move <= -thr;
    sig.strength = -move / thr;
    sig.threshold = -thr;
  } else {
    const m = move < 0 ? -move : move;
    sig.active = m >= thr;
    sig.strength = m / thr;
    sig.threshold = move < 0 ? -thr : thr;
  }
  sig.value = move;
  sig.sign = move < 0 ? -1 : 1;
}
