/**
 * Shared domain types and ports. Pure: no I/O, no Date.now() (a Clock is passed in).
 * Adapters (market-data, news, notify, db) implement the ports; apps wire them together.
 */

/** Time source. Production uses {@link systemClock}; tests and replays pin or accelerate it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stays where it is put: for tests and backtests. */
export class FixedClock implements Clock {
  constructor(private t: Date) {}
  now(): Date {
    return new Date(this.t.getTime());
  }
  set(t: Date): void {
    this.t = t;
  }
  advance(ms: number): void {
    this.t = new Date(this.t.getTime() + ms);
  }
}

/** The logging surface packages need (pino's, structurally). Apps pass a pino logger. */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
  /** pino's: lets a hot path skip building a line nobody will see. */
  isLevelEnabled?(level: string): boolean;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

export type Freshness = 'fresh' | 'stale' | 'failed' | 'unknown';

/** One daily bar. `date` is the session date (YYYY-MM-DD, exchange time). Prices are split-adjusted. */
export interface DailyBar {
  symbol: string;
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Dividend- and split-adjusted close, when the source gives one. */
  adjClose?: number;
  volume: number;
  /** When the source says this bar is from. */
  sourceAt: Date;
}

export interface Split {
  date: string;
  /** New shares per old share (4 for NVDA's 4:1 split in July 2021). */
  ratio: number;
}

/** A real-time quote as observed in one poll. */
export interface Quote {
  symbol: string;
  price: number;
  prevClose?: number;
  dayHigh?: number;
  dayLow?: number;
  dayOpen?: number;
  volume?: number;
  marketCap?: number;
  marketState?: string;
  currency?: string;
  name?: string;
  exchange?: string;
  /** Extended hours (Yahoo's preMarketPrice/preMarketTime, postMarketPrice/postMarketTime), when quoted. */
  preMarketPrice?: number;
  preMarketTime?: Date;
  postMarketPrice?: number;
  postMarketTime?: Date;
  /** When the source says the price is from (regularMarketTime). */
  sourceAt: Date;
}

export interface QuoteBatch {
  quotes: Quote[];
  /** Symbols the source answered for but does not know (or that are delisted). */
  unknown: string[];
}

export interface History {
  symbol: string;
  bars: DailyBar[];
  splits: Split[];
  currency?: string;
  exchangeTimezone?: string;
}

/** Port: where prices come from (Yahoo in production, recorded history in replays and tests). */
export interface PriceSource {
  readonly name: string;
  quotes(symbols: readonly string[]): Promise<QuoteBatch>;
  history(symbol: string, from: Date, to: Date): Promise<History>;
}

/** A news item as parsed from a feed, before storage. */
export interface NewsItemInput {
  guid?: string;
  link?: string;
  title: string;
  summary?: string;
  publishedAt?: Date;
}

/** A news item as rules see it. */
export interface NewsItem extends NewsItemInput {
  id: string;
  feedId: string;
  firstSeenAt: Date;
  /** Instrument symbols the item mentions. */
  symbols: string[];
  /** Of those, the ones named in the title (their ticker or alias matched there): ranks headlines. */
  titleSymbols?: string[];
  /** Topic keywords (capex, selloff, short, bubble, earnings, ...). */
  topics: string[];
}

export type Severity = 'info' | 'warning' | 'critical';

/** A parsed, deduplicated and tagged news item on its way to storage (the news store port's input). */
export interface NewsItemToStore {
  /** guid, else link, else sha256(title + date): unique per feed. */
  dedupKey: string;
  /** sha256 of title + summary: a changed hash is an edit, not a new item. */
  contentHash: string;
  guid?: string;
  link?: string;
  title: string;
  summary?: string;
  publishedAt?: Date;
  topics: string[];
  tags: Array<{ instrumentId: string; symbol: string; matched: string }>;
}
