/**
 * The rule engine: pure, deterministic, allocation-light. The worker calls {@link evaluate} once
 * per poll cycle; the backtester ({@link backtest} in backtest.ts) replays history bar by bar
 * through the same code.
 *
 * ## Alert lifecycle per (rule, subject)
 * ```
 *  inactive --condition--> pending --held pendingSec / session close--> firing
 *     ^   \______________________(no pending needed)_____________________^  |
 *     |                                                                      | recovered by rearmFraction
 *     +-- cooldown elapsed -- cooldown <-- cooldown not yet elapsed -- resolved (optional notice)
 * ```
 * - The subject is the symbol (basket rules: `__basket__`; news rules without a symbol: `__news__`).
 * - An event starts when an armed rule's condition becomes true; its dedup key is
 *   `${ruleId}:${subject}:${eventStart}` (eventStart = the session date, or `n-${newsItemId}` for
 *   news events), so whoever evaluates the same data computes the same key; at most one event per
 *   rule, subject and session. Resolved notices use `${dedupKey}:resolved`.
 * - While firing, the rule stays quiet. The event resolves when the measured move recovers to
 *   `(1 - rearmFraction) x threshold` (default fraction 0.5), or when the rule's window has rolled
 *   past the event's last qualifying session (a 1-session rule's event is over the next session).
 *   A new qualifying window that shares no session return with the event's last one (or a move in
 *   the other direction) is a new event: it ends the old one and fires if the cooldown allows.
 * - Cooldown: after firing, no new event before `lastFiredAt + cooldownSec`.
 * - Never evaluated on stale/failed/unknown series or on zero, negative or NaN prices: such
 *   (rule, subject) pairs are reported in `skipped` and their state is left as it is.
 */
import { marketPhase, nextTradingDay, sessionCloseMs, sessionOpenMs, zonedDate } from './calendar.ts';
import { compileKeywords, type KeywordMatcher } from './keywords.ts';
import type { Clock, NewsItem, Quote, Severity } from './domain.ts';
import {
  type ConfirmationParams,
  describeRule,
  type NewsMatchParams,
  type PctMoveParams,
  type RuleDefinition,
  type RuleKind,
} from './rules.ts';
import { indexOfDate, rollingMax, type SymbolSeries } from './series.ts';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export type AlertPhase = 'inactive' | 'pending' | 'firing' | 'resolved' | 'cooldown';

/** Engine-private part of a state (stored as JSON in RuleState.data). */
export interface RuleStateData {
  /** Dedup key of the current or last event. */
  eventKey?: string;
  /** Session date (or `n-<itemId>`) the current, pending or last event started at. */
  eventStart?: string;
  /** Last session date the condition held during the current event. */
  lastQualDate?: string;
  /** Direction of the current event: 1 up, -1 down. */
  sign?: number;
  /** News rules: firstSeenAt (epoch ms) and id of the newest item handled. */
  lastItemAt?: number;
  lastItemId?: string;
  /** news_price confirmation, while pending: the item, the reference price and the deadline (epoch ms). */
  itemId?: string;
  itemTitle?: string;
  itemAt?: number;
  refPrice?: number;
  deadline?: number;
}

/** State of one (rule, subject): plain JSON (ISO strings, numbers), stored in Postgres. */
export interface RuleStateSnapshot {
  ruleId: string;
  subject: string;
  phase: AlertPhase;
  /** When the phase was entered (ISO). */
  since: string | null;
  lastValue: number | null;
  /** Most extreme value of the current/last event. */
  peakValue: number | null;
  lastFiredAt: string | null;
  cooldownUntil: string | null;
  data: RuleStateData;
}

export interface RelatedNews {
  id: string;
  title: string;
  link?: string;
  publishedAt?: string;
  firstSeenAt: string;
  symbols: string[];
  topics: string[];
}

/** Plain JSON attached to an alert (templates, webhooks, the alert page). */
export interface AlertDetails {
  ruleName: string;
  description: string;
  kind: RuleKind;
  severity: Severity;
  /** Prices behind the value (current, reference, high/low, volume ...), by name. */
  prices: Record<string, number | string | null>;
  /** Basket members and their moves. */
  members?: { symbol: string; move: number; marketCap?: number }[];
  relatedNews: RelatedNews[];
  /** Rule description text of the wrapped rule, for confirmations. */
  note?: string;
}

export interface AlertCandidate {
  /** Unique per event: `${ruleId}:${subject}:${eventStart}` (resolved notices: `...:resolved`). */
  dedupKey: string;
  ruleId: string;
  subject: string;
  /** The instrument, when the subject is one. */
  symbol?: string;
  status: 'firing' | 'resolved';
  severity: Severity;
  /** Measured value: a fraction for moves (-0.169 = -16.9 %), z for vol_scaled_move, a multiple for volume_spike, a price for price_cross. */
  value: number;
  /** Threshold in the same unit, signed like the move. */
  threshold: number;
  /** ISO instants: start of the measured window (session open or news time) and the observation. */
  windowStart: string;
  windowEnd: string;
  /** ISO instant of the evaluation that raised it. */
  firedAt: string;
  /** Session date (or `n-<newsItemId>`) the event started. */
  eventStart: string;
  title: string;
  details: AlertDetails;
}

export type SkipReason = 'no_data' | 'stale' | 'failed' | 'unknown' | 'invalid_price' | 'insufficient_history';

export interface SkippedEvaluation {
  ruleId: string;
  subject: string;
  reason: SkipReason;
}

export interface EvaluateInput {
  rules: readonly RuleDefinition[];
  /** Series by symbol (see {@link SymbolSeries}). */
  series: ReadonlyMap<string, SymbolSeries>;
  /**
   * Recent news (at least the confirmation window, e.g. the last day). Items already handled are
   * recognised from the state (newest firstSeenAt per rule and subject), so passing an item twice
   * is harmless.
   */
  news?: readonly NewsItem[];
  /** Current states by {@link stateKey}; missing ones are inactive. Not mutated. */
  states: ReadonlyMap<string, RuleStateSnapshot>;
  clock: Clock;
}

export interface EvaluateOutput {
  /** Alerts to write (in the same transaction as the states). */
  alerts: AlertCandidate[];
  /** Only the states that changed, by {@link stateKey}. */
  states: Map<string, RuleStateSnapshot>;
  /** Pairs not evaluated, and why (stale data, bad prices, too little history). */
  skipped: SkippedEvaluation[];
}

export const BASKET_SUBJECT = '__basket__';
export const NEWS_SUBJECT = '__news__';

/** Key of a state in the maps: `${ruleId}:${subject}`. */
export function stateKey(ruleId: string, subject: string): string {
  return `${ruleId}:${subject}`;
}

/** Dedup key of an event. */
export function dedupKey(ruleId: string, subject: string, eventStart: string): string {
  return `${ruleId}:${subject}:${eventStart}`;
}

// ---------------------------------------------------------------------------------------------
// Compiled rules (cached per definition object)
// ---------------------------------------------------------------------------------------------

type PriceKind = 'price_cross' | 'pct_move' | 'drawdown' | 'vol_scaled_move' | 'volume_spike';

/** Numeric form of a price condition. */
interface PriceSpec {
  kind: PriceKind;
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

interface NewsSpec {
  keywords: KeywordMatcher | null;
  topics: readonly string[];
  requireSymbol: boolean;
  maxAgeMs: number;
}

interface Compiled {
  def: RuleDefinition;
  id: string;
  kind: RuleKind;
  description: string;
  symbols: readonly string[] | undefined;
  severity: Severity;
  cooldownMs: number;
  pendingMs: number;
  confirmAtClose: boolean;
  rearmLevel: number;
  notifyResolved: boolean;
  price: PriceSpec | null;
  basket: { n: number; thr: number; dir: number; capWeighted: boolean; minMembers: number } | null;
  news: NewsSpec | null;
  /** price_news confirmation. */
  confirmNews: { beforeMs: number; afterMs: number; requireNews: boolean; filter: NewsSpec | null } | null;
  /** news_price confirmation. */
  confirmPrice: { minMove: number; dir: number; withinMs: number } | null;
  /** session: "extended": pre- and post-market prices are observed too. */
  extended: boolean;
  keys: Map<string, string>;
}

const compiledCache = new WeakMap<RuleDefinition, Compiled>();

function dirOf(d: 'up' | 'down' | 'either'): number {
  return d === 'up' ? 1 : d === 'down' ? -1 : 0;
}

function priceSpec(kind: PriceKind, params: unknown): PriceSpec {
  switch (kind) {
    case 'price_cross': {
      const p = params as { level: number; direction: 'up' | 'down' };
      return {
        kind,
        dir: dirOf(p.direction),
        thr: p.level,
        n: 1,
        intraday: false,
        extremes: false,
        independentAfter: 1,
      };
    }
    case 'pct_move': {
      const p = params as PctMoveParams;
      const n = p.sessions ?? 1;
      return {
        kind,
        dir: dirOf(p.direction),
        thr: p.thresholdPct / 100,
        n,
        intraday: p.intraday === true,
        extremes: p.extremes === true,
        independentAfter: n,
      };
    }
    case 'drawdown': {
      const p = params as { sessions: number; thresholdPct: number };
      return {
        kind,
        dir: -1,
        thr: p.thresholdPct / 100,
        n: p.sessions,
        intraday: false,
        extremes: false,
        independentAfter: p.sessions,
      };
    }
    case 'vol_scaled_move': {
      const p = params as { lookback: number; k: number; direction: 'up' | 'down' | 'either' };
      return {
        kind,
        dir: dirOf(p.direction),
        thr: p.k,
        n: p.lookback,
        intraday: false,
        extremes: false,
        independentAfter: 1,
      };
    }
    case 'volume_spike': {
      const p = params as { sessions: number; multiple: number };
      return { kind, dir: 1, thr: p.multiple, n: p.sessions, intraday: false, extremes: false, independentAfter: 1 };
    }
  }
}

function newsSpec(p: NewsMatchParams, hasSymbols: boolean): NewsSpec {
  return {
    keywords: compileKeywords(p.keywords),
    topics: p.topics ?? [],
    requireSymbol: p.requireSymbol ?? hasSymbols,
    maxAgeMs: (p.maxAgeMin ?? 1440) * 60_000,
  };
}

function compile(def: RuleDefinition): Compiled {
  const cached = compiledCache.get(def);
  if (cached) return cached;
  const hasSymbols = (def.symbols?.length ?? 0) > 0;
  const c: Compiled = {
    def,
    id: def.id,
    kind: def.kind,
    description: describeRule(def),
    symbols: def.symbols,
    severity: def.severity,
    cooldownMs: def.cooldownSec * 1000,
    pendingMs: (def.pendingSec ?? 0) * 1000,
    confirmAtClose: def.confirmAtClose === true,
    rearmLevel: 1 - (def.rearmFraction ?? 0.5),
    notifyResolved: def.notifyResolved === true,
    price: null,
    basket: null,
    news: null,
    confirmNews: null,
    confirmPrice: null,
    extended: false,
    keys: new Map(),
  };
  switch (def.kind) {
    case 'basket_move': {
      const p = def.params;
      c.basket = {
        n: p.sessions,
        thr: p.thresholdPct / 100,
        dir: dirOf(p.direction),
        capWeighted: p.weighting === 'market_cap',
        minMembers: p.minMembers ?? def.symbols?.length ?? 0,
      };
      break;
    }
    case 'news_match':
      c.news = newsSpec(def.params, hasSymbols);
      break;
    case 'confirmation': {
      const p: ConfirmationParams = def.params;
      if (p.mode === 'price_news') {
        c.price = priceSpec(p.price.kind, p.price.params);
        const filter =
          p.keywords?.length || p.topics?.length
            ? newsSpec({ keywords: p.keywords, topics: p.topics, requireSymbol: true }, true)
            : null;
        c.extended = (p.price.params as { session?: string }).session === 'extended';
        c.confirmNews = {
          beforeMs: (p.beforeMin ?? 120) * 60_000,
          afterMs: (p.afterMin ?? 15) * 60_000,
          requireNews: p.requireNews !== false,
          filter,
        };
      } else {
        c.news = newsSpec(p.news, hasSymbols);
        c.news.requireSymbol = true;
        c.confirmPrice = { minMove: p.minMovePct / 100, dir: dirOf(p.direction), withinMs: p.withinMin * 60_000 };
        c.extended = p.session === 'extended';
      }
      break;
    }
    default:
      c.price = priceSpec(def.kind, def.params);
      c.extended = (def.params as { session?: string }).session === 'extended';
  }
  compiledCache.set(def, c);
  return c;
}

function keyOf(c: Compiled, subject: string): string {
  let k = c.keys.get(subject);
  if (k === undefined) {
    k = stateKey(c.id, subject);
    c.keys.set(subject, k);
  }
  return k;
}

// ---------------------------------------------------------------------------------------------
// Observations and signals (scratch objects: no allocation per evaluation)
// ---------------------------------------------------------------------------------------------

/** The current observation of one symbol. */
interface Obs {
  /** 0 ok, otherwise the refusal. */
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

function newObs(): Obs {
  return {
    refused: null,
    L: 0,
    price: 0,
    high: 0,
    low: 0,
    volume: 0,
    quotePrev: Number.NaN,
    date: '',
    atMs: Number.NaN,
    fromQuote: false,
    isClose: true,
    extended: false,
  };
}

function good(x: number | undefined): x is number {
  return x !== undefined && x > 0 && x < Number.POSITIVE_INFINITY;
}

function observe(s: SymbolSeries, o: Obs): Obs {
  o.refused = null;
  if (s.freshness !== 'fresh') {
    o.refused = s.freshness;
    return o;
  }
  const q = s.quote;
  const len = s.length;
  const lastDate = len > 0 ? (s.dates[len - 1] as string) : '';
  if (q && s.quoteDate !== undefined && s.quoteDate >= lastDate) {
    if (!good(q.price)) {
      o.refused = 'invalid_price';
      return o;
    }
    o.fromQuote = true;
    o.L = s.quoteDate === lastDate ? len - 1 : len;
    o.price = q.price;
    o.high = good(q.dayHigh) && q.dayHigh > q.price ? q.dayHigh : q.price;
    o.low = good(q.dayLow) && q.dayLow < q.price ? q.dayLow : q.price;
    o.volume = q.volume !== undefined && q.volume >= 0 ? q.volume : 0;
    o.quotePrev = good(q.prevClose) ? q.prevClose : Number.NaN;
    o.date = s.quoteDate;
    o.atMs = q.sourceAt.getTime();
    o.isClose = o.atMs >= sessionCloseMs(o.date);
    return o;
  }
  if (len === 0) {
    o.refused = 'no_data';
    return o;
  }
  const i = len - 1;
  const bad = s.pre.bad;
  if ((bad[len] as number) !== (bad[i] as number)) {
    o.refused = 'invalid_price';
    return o;
  }
  o.fromQuote = false;
  o.L = i;
  o.price = s.close[i] as number;
  o.high = s.high[i] as number;
  o.low = s.low[i] as number;
  o.volume = s.volume[i] as number;
  o.quotePrev = Number.NaN;
  o.date = s.dates[i] as string;
  o.atMs = Number.NaN;
  o.isClose = true;
  return o;
}

/**
 * The observation of a rule with session "extended": the regular one, unless the quote carries a
 * pre- or post-market price newer than its regular price (Yahoo's preMarketPrice/postMarketPrice,
 * or a backtest's pre/post bar). That price is measured against the last regular close (the
 * quote's price outside the session) and belongs to the session it leads into: post-market of D
 * and pre-market of the next trading day are both the next session's move against D's close, so
 * an event that starts in the evening continues, with the same dedup key, into the next session.
 */
function observeExtended(s: SymbolSeries, o: Obs): Obs {
  observe(s, o);
  o.extended = false;
  if (o.refused !== null || !o.fromQuote) return o;
  const q = s.quote as Quote;
  const regAt = q.sourceAt.getTime();
  let at = regAt;
  let price = 0;
  let post = false;
  if (good(q.postMarketPrice) && q.postMarketTime && q.postMarketTime.getTime() > at) {
    at = q.postMarketTime.getTime();
    price = q.postMarketPrice;
    post = true;
  }
  if (good(q.preMarketPrice) && q.preMarketTime && q.preMarketTime.getTime() > at) {
    at = q.preMarketTime.getTime();
    price = q.preMarketPrice;
    post = false;
  }
  if (at === regAt) return o;
  // Yahoo leaves old pre/post fields on the quote: a price stamped outside its phase is not used.
  // The instant a bar or quote completes may be the phase's end itself (20:00 for the last post bar).
  const phase = marketPhase(at - 1);
  if (phase !== (post ? 'post' : 'pre')) return o;
  const day = zonedDate(at - 1);
  const date = post ? nextTradingDay(day) : day;
  let L = s.length;
  while (L > 0 && (s.dates[L - 1] as string) >= date) L--;
  o.extended = true;
  o.L = L;
  o.price = price;
  o.high = price;
  o.low = price;
  o.volume = 0;
  o.quotePrev = q.price;
  o.date = date;
  o.atMs = at;
  o.isClose = false;
  return o;
}

function obsAtMs(o: Obs): number {
  if (Number.isNaN(o.atMs)) o.atMs = sessionCloseMs(o.date);
  return o.atMs;
}

/** Result of one condition check. */
interface Sig {
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

function newSig(): Sig {
  return { active: false, strength: 0, value: 0, threshold: 0, sign: 1, ref: 0, windowStart: '' };
}

/** Bars a..b (inclusive) all valid? */
function clean(s: SymbolSeries, a: number, b: number): boolean {
  const bad = s.pre.bad;
  return (bad[b + 1] as number) === (bad[a] as number);
}

/** Sets sig for a signed move against threshold `thr` in direction `dir`. */
function directional(sig: Sig, move: number, thr: number, dir: number): void {
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

/** Computes a price condition. Returns null when evaluated, else why not. */
function priceSignal(p: PriceSpec, s: SymbolSeries, o: Obs, sig: Sig): SkipReason | null {
  const L = o.L;
  const c = s.close;
  switch (p.kind) {
    case 'pct_move': {
      if (p.intraday) {
        let ref = o.quotePrev;
        if (!(ref > 0)) {
          if (L < 1 || !clean(s, L - 1, L - 1)) return L < 1 ? 'insufficient_history' : 'invalid_price';
          ref = c[L - 1] as number;
        }
        let move = o.price / ref - 1;
        if (p.extremes) {
          const up = o.high / ref - 1;
          const down = o.low / ref - 1;
          move = p.dir > 0 ? up : p.dir < 0 ? down : up >= -down ? up : down;
        }
        directional(sig, move, p.thr, p.dir);
        sig.ref = ref;
        sig.windowStart = L >= 1 ? (s.dates[L - 1] as string) : o.date;
        return null;
      }
      const a = L - p.n;
      if (a < 0) return 'insufficient_history';
      if (!clean(s, a, a)) return 'invalid_price';
      const ref = c[a] as number;
      directional(sig, o.price / ref - 1, p.thr, p.dir);
      sig.ref = ref;
      sig.windowStart = s.dates[a] as string;
      return null;
    }
    case 'drawdown': {
      // Rolling high over the current session and the n-1 before it.
      const a = L - p.n + 1;
      if (a < 0) return 'insufficient_history';
      if (!clean(s, a, L - 1)) return 'invalid_price';
      const rm = rollingMax(s, p.n - 1);
      const prior = rm[L - 1] as number;
      const peak = Math.max(prior, o.high);
      directional(sig, o.price / peak - 1, p.thr, -1);
      sig.ref = peak;
      sig.windowStart = s.dates[a] as string;
      return null;
    }
    case 'vol_scaled_move': {
      // Standard deviation of the n daily returns before the current session: ret[L-n .. L-1].
      const m = p.n;
      const a = L - m;
      if (a < 1) return 'insufficient_history';
      if (!clean(s, a - 1, L - 1)) return 'invalid_price';
      const pre = s.pre;
      const s1 = (pre.retSum[L] as number) - (pre.retSum[a] as number);
      const s2 = (pre.retSq[L] as number) - (pre.retSq[a] as number);
      const mean = s1 / m;
      const variance = (s2 - m * mean * mean) / (m - 1);
      if (!(variance > 0)) return 'insufficient_history';
      // A pre/post-market price is measured against the last regular close (the quote's price).
      const ref = o.extended && o.quotePrev > 0 ? o.quotePrev : (c[L - 1] as number);
      const z = (o.price / ref - 1) / Math.sqrt(variance);
      directional(sig, z, p.thr, p.dir);
      sig.ref = ref;
      sig.windowStart = s.dates[a - 1] as string;
      return null;
    }
    case 'volume_spike': {
      const a = L - p.n;
      if (a < 0) return 'insufficient_history';
      const avg = ((s.pre.volSum[L] as number) - (s.pre.volSum[a] as number)) / p.n;
      if (!(avg > 0)) return 'insufficient_history';
      const ratio = o.volume / avg;
      sig.active = ratio >= p.thr;
      sig.strength = ratio / p.thr;
      sig.value = ratio;
      sig.threshold = p.thr;
      sig.sign = 1;
      sig.ref = avg;
      sig.windowStart = s.dates[a] as string;
      return null;
    }
    case 'price_cross': {
      if (L < 1) return 'insufficient_history';
      if (!clean(s, L - 1, L - 1)) return 'invalid_price';
      const prev = c[L - 1] as number;
      const level = p.thr;
      if (p.dir > 0) {
        sig.active = prev < level && o.high >= level;
        sig.value = o.high;
      } else {
        sig.active = prev > level && o.low <= level;
        sig.value = o.low;
      }
      // A crossing is an edge: once the condition is gone the rule is re-armed.
      sig.strength = sig.active ? 1 : 0;
      sig.threshold = level;
      sig.sign = p.dir;
      sig.ref = prev;
      sig.windowStart = s.dates[L - 1] as string;
      return null;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation context
// ---------------------------------------------------------------------------------------------

/** Where results go: the public evaluate collects changes; the backtester writes through. */
interface EngineSink {
  read: ReadonlyMap<string, RuleStateSnapshot>;
  write: Map<string, RuleStateSnapshot>;
  alerts: AlertCandidate[];
  /** null: count only (backtests). */
  skipped: SkippedEvaluation[] | null;
  skipCounts: Map<string, number> | null;
}

interface Ctx {
  now: number;
  nowIso: string | null;
  series: ReadonlyMap<string, SymbolSeries>;
  news: readonly NewsItem[];
  sink: EngineSink;
  obs: Map<SymbolSeries, Obs>;
  /** Observations with pre- and post-market prices (rules with session "extended"). */
  obsExt: Map<SymbolSeries, Obs>;
}

function nowIso(ctx: Ctx): string {
  if (ctx.nowIso === null) ctx.nowIso = new Date(ctx.now).toISOString();
  return ctx.nowIso;
}

function getState(ctx: Ctx, key: string): RuleStateSnapshot | undefined {
  const { read, write } = ctx.sink;
  if (read === write) return read.get(key);
  return write.get(key) ?? read.get(key);
}

function setState(ctx: Ctx, key: string, s: RuleStateSnapshot): void {
  ctx.sink.write.set(key, s);
}

function skip(ctx: Ctx, c: Compiled, subject: string, reason: SkipReason): void {
  const { skipped, skipCounts } = ctx.sink;
  if (skipped) skipped.push({ ruleId: c.id, subject, reason });
  if (skipCounts) skipCounts.set(`${c.id}|${reason}`, (skipCounts.get(`${c.id}|${reason}`) ?? 0) + 1);
}

/** The observation rule `c` sees: with pre/post-market prices when its session is "extended". */
function observeFor(ctx: Ctx, c: Compiled, s: SymbolSeries): Obs {
  if (!c.extended) return observeCached(ctx, s);
  let o = ctx.obsExt.get(s);
  if (!o) {
    o = observeExtended(s, newObs());
    ctx.obsExt.set(s, o);
  }
  return o;
}

function observeCached(ctx: Ctx, s: SymbolSeries): Obs {
  let o = ctx.obs.get(s);
  if (!o) {
    o = observe(s, newObs());
    ctx.obs.set(s, o);
  }
  return o;
}

function ms(iso: string | null): number {
  return iso === null ? Number.NEGATIVE_INFINITY : Date.parse(iso);
}

function inactiveState(c: Compiled, subject: string): RuleStateSnapshot {
  return {
    ruleId: c.id,
    subject,
    phase: 'inactive',
    since: null,
    lastValue: null,
    peakValue: null,
    lastFiredAt: null,
    cooldownUntil: null,
    data: {},
  };
}

// ---------------------------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------------------------

function fmtPct(x: number): string {
  const v = Math.round(x * 10_000) / 100;
  return `${v > 0 ? '+' : ''}${v} %`;
}

function valueText(c: Compiled, value: number, threshold: number): string {
  const kind = c.price?.kind ?? (c.basket ? 'basket_move' : 'news_match');
  switch (kind) {
    case 'vol_scaled_move':
      return `${value > 0 ? '+' : ''}${Math.round(value * 100) / 100} sd (threshold ${threshold} sd)`;
    case 'volume_spike':
      return `volume ${Math.round(value * 100) / 100}x average (threshold ${threshold}x)`;
    case 'price_cross':
      return `${value} crossed ${threshold}`;
    case 'news_match':
      return `${fmtPct(value)} (threshold ${fmtPct(threshold)})`;
    default:
      return `${fmtPct(value)} (threshold ${fmtPct(threshold)})`;
  }
}

function toRelated(n: NewsItem): RelatedNews {
  const r: RelatedNews = {
    id: n.id,
    title: n.title,
    firstSeenAt: n.firstSeenAt.toISOString(),
    symbols: n.symbols,
    topics: n.topics,
  };
  if (n.link !== undefined) r.link = n.link;
  if (n.publishedAt !== undefined) r.publishedAt = n.publishedAt.toISOString();
  return r;
}

function newsTime(n: NewsItem): number {
  return (n.publishedAt ?? n.firstSeenAt).getTime();
}

function matchesNews(spec: NewsSpec, n: NewsItem): boolean {
  let textOk = spec.keywords === null && spec.topics.length === 0;
  if (!textOk && spec.keywords !== null) {
    textOk = spec.keywords.test(n.summary ? `${n.title}\n${n.summary}` : n.title);
  }
  if (!textOk && spec.topics.length > 0) {
    for (const t of n.topics) {
      if (spec.topics.includes(t.toLowerCase())) {
        textOk = true;
        break;
      }
    }
  }
  return textOk;
}

/** News mentioning one of `symbols` with a time in [from, to], oldest first (max 10). */
function relatedNews(
  ctx: Ctx,
  symbols: readonly string[],
  from: number,
  to: number,
  filter: NewsSpec | null,
): NewsItem[] {
  const out: NewsItem[] = [];
  for (const n of ctx.news) {
    const t = newsTime(n);
    if (t < from || t > to) continue;
    let mentions = false;
    for (const s of symbols) {
      if (n.symbols.includes(s)) {
        mentions = true;
        break;
      }
    }
    if (!mentions) continue;
    if (filter && !matchesNews(filter, n)) continue;
    out.push(n);
    if (out.length >= 10) break;
  }
  return out;
}

const DEFAULT_NEWS_BEFORE_MS = 120 * 60_000;
const DEFAULT_NEWS_AFTER_MS = 15 * 60_000;

interface PriceAlertInfo {
  symbol?: string;
  /** Symbols whose news is related (the symbol, or the basket members). */
  symbols: readonly string[];
  sig: Sig;
  /** The observation behind the prices (null for baskets: see members). */
  obs: Obs | null;
  /** End of the measured window (ms). */
  endMs: number;
  members?: AlertDetails['members'];
  extra?: Record<string, number | string>;
  news?: NewsItem[];
}

function emitPriceAlert(
  ctx: Ctx,
  c: Compiled,
  subject: string,
  status: 'firing' | 'resolved',
  key: string,
  eventStart: string,
  info: PriceAlertInfo,
): void {
  const sig = info.sig;
  const o = info.obs;
  const end = info.endMs;
  const news =
    info.news ??
    relatedNews(ctx, info.symbols, ctx.now - DEFAULT_NEWS_BEFORE_MS, ctx.now + DEFAULT_NEWS_AFTER_MS, null);
  const prices: AlertDetails['prices'] = { windowStart: sig.windowStart };
  if (Number.isFinite(sig.ref)) prices.reference = sig.ref;
  if (o) {
    prices.current = o.price;
    prices.high = o.high;
    prices.low = o.low;
    prices.volume = o.volume;
    prices.observedAt = new Date(end).toISOString();
    prices.source = o.extended ? 'extended_hours' : o.fromQuote ? 'quote' : 'daily_bar';
  }
  const label = subject === BASKET_SUBJECT ? 'Basket' : subject;
  const title =
    status === 'firing'
      ? `${c.def.name}: ${label} ${valueText(c, sig.value, sig.threshold)}`
      : `Resolved: ${c.def.name}: ${label} now ${valueText(c, sig.value, sig.threshold)}`;
  const details: AlertDetails = {
    ruleName: c.def.name,
    description: c.description,
    kind: c.kind,
    severity: c.severity,
    prices,
    relatedNews: news.map(toRelated),
  };
  if (info.extra) Object.assign(prices, info.extra);
  if (info.members) details.members = info.members;
  const a: AlertCandidate = {
    dedupKey: status === 'firing' ? key : `${key}:resolved`,
    ruleId: c.id,
    subject,
    status,
    severity: c.severity,
    value: sig.value,
    threshold: sig.threshold,
    // Resolved notices span the whole event: from its first session to now.
    windowStart: new Date(
      sessionOpenMs(status === 'firing' || !DATE.test(eventStart) ? sig.windowStart : eventStart),
    ).toISOString(),
    windowEnd: new Date(end).toISOString(),
    firedAt: nowIso(ctx),
    eventStart,
    title,
    details,
  };
  if (info.symbol !== undefined) a.symbol = info.symbol;
  ctx.sink.alerts.push(a);
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

// ---------------------------------------------------------------------------------------------
// The state machine for price-like rules (per symbol and basket)
// ---------------------------------------------------------------------------------------------

/** Sessions from `date` to the current observation (which sits at index L), Infinity if `date` is not in the window. */
function sessionsSince(s: SymbolSeries, date: string | undefined, o: Obs): number {
  if (date === undefined) return Number.POSITIVE_INFINITY;
  if (date === o.date) return 0;
  const i = indexOfDate(s, date, o.L);
  return i < 0 ? Number.POSITIVE_INFINITY : o.L - i;
}

/** A copy of `p` in another phase (explicit fields: one object shape for the JIT, no spreads). */
function mk(
  p: RuleStateSnapshot,
  phase: AlertPhase,
  since: string | null,
  lastValue: number | null,
  data: RuleStateData = p.data,
  peakValue: number | null = p.peakValue,
  cooldownUntil: string | null = p.cooldownUntil,
): RuleStateSnapshot {
  return {
    ruleId: p.ruleId,
    subject: p.subject,
    phase,
    since,
    lastValue,
    peakValue,
    lastFiredAt: p.lastFiredAt,
    cooldownUntil,
    data,
  };
}

/** State data of a price event. */
function priceData(
  d: RuleStateData,
  eventStart: string | undefined,
  lastQualDate: string,
  sign: number,
): RuleStateData {
  const out: RuleStateData = { lastQualDate, sign };
  if (d.eventKey !== undefined) out.eventKey = d.eventKey;
  if (eventStart !== undefined) out.eventStart = eventStart;
  return out;
}

function priceStep(
  ctx: Ctx,
  c: Compiled,
  subject: string,
  key: string,
  s: SymbolSeries,
  o: Obs,
  sig: Sig,
  info: PriceAlertInfo,
): void {
  const prev = getState(ctx, key);
  const independentAfter = c.price ? c.price.independentAfter : (c.basket?.n ?? 1);
  const phase: AlertPhase = prev ? prev.phase : 'inactive';
  switch (phase) {
    case 'firing': {
      const p = prev as RuleStateSnapshot;
      const d = p.data;
      const since = sessionsSince(s, d.lastQualDate, o);
      if (sig.active) {
        if (o.date !== d.lastQualDate && (since >= independentAfter || sig.sign !== d.sign)) {
          // A new, independent move: the old event is over.
          if (c.notifyResolved)
            emitPriceAlert(ctx, c, subject, 'resolved', d.eventKey ?? key, d.eventStart ?? '', info);
          if (ctx.now >= ms(p.cooldownUntil)) {
            startEvent(ctx, c, subject, key, p, o, sig, info);
          } else {
            setState(ctx, key, mk(p, 'cooldown', nowIso(ctx), sig.value));
          }
          return;
        }
        if (d.lastQualDate === o.date && p.lastValue === sig.value) return;
        const peak = p.peakValue === null || Math.abs(sig.value) > Math.abs(p.peakValue) ? sig.value : p.peakValue;
        const data = d.lastQualDate === o.date ? d : priceData(d, d.eventStart, o.date, d.sign ?? sig.sign);
        setState(ctx, key, mk(p, 'firing', p.since, sig.value, data, peak));
        return;
      }
      if (sig.strength <= c.rearmLevel || c.rearmLevel >= 1 || since >= independentAfter) {
        if (c.notifyResolved) emitPriceAlert(ctx, c, subject, 'resolved', d.eventKey ?? key, d.eventStart ?? '', info);
        setState(ctx, key, mk(p, 'resolved', nowIso(ctx), sig.value));
        return;
      }
      if (p.lastValue !== sig.value) setState(ctx, key, mk(p, 'firing', p.since, sig.value));
      return;
    }
    case 'resolved':
    case 'cooldown': {
      const p = prev as RuleStateSnapshot;
      if (ctx.now < ms(p.cooldownUntil)) {
        if (phase === 'resolved') setState(ctx, key, mk(p, 'cooldown', nowIso(ctx), p.lastValue));
        return;
      }
      if (!sig.active) {
        setState(ctx, key, mk(p, 'inactive', nowIso(ctx), p.lastValue));
        return;
      }
      startEvent(ctx, c, subject, key, p, o, sig, info);
      return;
    }
    case 'pending': {
      const p = prev as RuleStateSnapshot;
      if (!sig.active) {
        setState(ctx, key, mk(p, 'inactive', nowIso(ctx), sig.value));
        return;
      }
      if (p.data.eventStart !== o.date && !o.isClose) {
        // Pending is per session: a new session starts its own pending period.
        setState(ctx, key, mk(p, 'pending', nowIso(ctx), sig.value, priceData(p.data, o.date, o.date, sig.sign)));
        return;
      }
      const held = !c.confirmAtClose && ctx.now - ms(p.since) >= c.pendingMs;
      if (o.isClose || held) {
        fire(ctx, c, subject, key, p, o, sig, info, p.data.eventStart ?? o.date, ms(p.since));
        return;
      }
      return;
    }
    default: {
      if (!sig.active) return;
      startEvent(ctx, c, subject, key, prev, o, sig, info);
    }
  }
}

function startEvent(
  ctx: Ctx,
  c: Compiled,
  subject: string,
  key: string,
  prev: RuleStateSnapshot | undefined,
  o: Obs,
  sig: Sig,
  info: PriceAlertInfo,
): void {
  const base = prev ?? inactiveState(c, subject);
  if (base.data.eventKey === dedupKey(c.id, subject, o.date)) {
    // Same session as the last event: that alert exists already (one event per session).
    setState(
      ctx,
      key,
      mk(base, 'firing', nowIso(ctx), sig.value, priceData(base.data, base.data.eventStart, o.date, sig.sign)),
    );
    return;
  }
  if (!o.isClose && (c.confirmAtClose || c.pendingMs > 0)) {
    setState(ctx, key, mk(base, 'pending', nowIso(ctx), sig.value, priceData(base.data, o.date, o.date, sig.sign)));
    return;
  }
  fire(ctx, c, subject, key, base, o, sig, info, o.date, ctx.now);
}

function fire(
  ctx: Ctx,
  c: Compiled,
  subject: string,
  key: string,
  base: RuleStateSnapshot,
  o: Obs,
  sig: Sig,
  info: PriceAlertInfo,
  eventStart: string,
  conditionSince: number,
): void {
  const cn = c.confirmNews;
  if (cn) {
    const news = relatedNews(ctx, info.symbols, conditionSince - cn.beforeMs, conditionSince + cn.afterMs, cn.filter);
    if (cn.requireNews && news.length === 0) {
      if (ctx.now < conditionSince + cn.afterMs) {
        // Wait (pending) for the confirming news.
        if (base.phase !== 'pending') {
          const data = priceData(base.data, eventStart, o.date, sig.sign);
          setState(ctx, key, mk(base, 'pending', new Date(conditionSince).toISOString(), sig.value, data));
        }
        return;
      }
      // Unconfirmed: dropped; the rule tries again after the cooldown.
      const until = new Date(ctx.now + c.cooldownMs).toISOString();
      setState(ctx, key, mk(base, 'cooldown', nowIso(ctx), sig.value, base.data, base.peakValue, until));
      return;
    }
    info.news = news;
  }
  const k = dedupKey(c.id, subject, eventStart);
  emitPriceAlert(ctx, c, subject, 'firing', k, eventStart, info);
  const iso = nowIso(ctx);
  setState(ctx, key, {
    ruleId: c.id,
    subject,
    phase: 'firing',
    since: iso,
    lastValue: sig.value,
    peakValue: sig.value,
    lastFiredAt: iso,
    cooldownUntil: new Date(ctx.now + c.cooldownMs).toISOString(),
    data: { eventKey: k, eventStart, lastQualDate: o.date, sign: sig.sign },
  });
}

// ---------------------------------------------------------------------------------------------
// Rule kinds
// ---------------------------------------------------------------------------------------------

const sigScratch = newSig();

function evalPriceRule(ctx: Ctx, c: Compiled): void {
  const p = c.price as PriceSpec;
  const syms = c.symbols;
  if (syms) {
    for (let i = 0; i < syms.length; i++) evalPriceSymbol(ctx, c, p, syms[i] as string);
  } else {
    for (const sym of ctx.series.keys()) evalPriceSymbol(ctx, c, p, sym);
  }
}

function evalPriceSymbol(ctx: Ctx, c: Compiled, p: PriceSpec, sym: string): void {
  const s = ctx.series.get(sym);
  if (!s) {
    skip(ctx, c, sym, 'no_data');
    return;
  }
  const o = observeFor(ctx, c, s);
  if (o.refused !== null) {
    skip(ctx, c, sym, o.refused);
    return;
  }
  const sig = sigScratch;
  const why = priceSignal(p, s, o, sig);
  if (why !== null) {
    skip(ctx, c, sym, why);
    return;
  }
  const key = keyOf(c, sym);
  // Fast path: nothing to do for an armed rule whose condition is false.
  if (!sig.active) {
    const prev = getState(ctx, key);
    if (prev === undefined || prev.phase === 'inactive') return;
  }
  const info: PriceAlertInfo = { symbol: sym, symbols: [sym], sig, obs: o, endMs: obsAtMs(o) };
  priceStep(ctx, c, sym, key, s, o, sig, info);
}

function evalBasket(ctx: Ctx, c: Compiled): void {
  const b = c.basket as NonNullable<Compiled['basket']>;
  const members = c.symbols ?? [];
  // Members are evaluated on the latest session any of them has; older ones count as stale.
  let date = '';
  for (const m of members) {
    const s = ctx.series.get(m);
    if (!s) continue;
    const o = observeCached(ctx, s);
    if (o.refused === null && o.date > date) date = o.date;
  }
  let used = 0;
  let sumMove = 0;
  let capNow = 0;
  let capThen = 0;
  let capsKnown = true;
  let windowStart = '';
  let lead: SymbolSeries | null = null;
  let leadObs: Obs | null = null;
  let worst: SkipReason = 'stale';
  const moves: { symbol: string; move: number; marketCap?: number }[] = [];
  for (const m of members) {
    const s = ctx.series.get(m);
    if (!s) {
      worst = 'no_data';
      continue;
    }
    const o = observeCached(ctx, s);
    if (o.refused !== null || o.date !== date) {
      if (o.refused === 'invalid_price') worst = 'invalid_price';
      continue;
    }
    const a = o.L - b.n;
    if (a < 0) {
      worst = 'insufficient_history';
      continue;
    }
    if (!clean(s, a, a)) {
      worst = 'invalid_price';
      continue;
    }
    const move = o.price / (s.close[a] as number) - 1;
    used++;
    sumMove += move;
    const cap = s.marketCap;
    if (cap !== undefined && cap > 0) {
      capNow += cap;
      capThen += cap / (1 + move);
    } else capsKnown = false;
    const ws = s.dates[a] as string;
    if (windowStart === '' || ws < windowStart) windowStart = ws;
    if (!lead) {
      lead = s;
      leadObs = o;
    }
    const entry: { symbol: string; move: number; marketCap?: number } = { symbol: m, move };
    if (cap !== undefined) entry.marketCap = cap;
    moves.push(entry);
  }
  if (used < b.minMembers || used === 0 || !lead || !leadObs) {
    skip(ctx, c, BASKET_SUBJECT, worst);
    return;
  }
  const weighted = b.capWeighted && capsKnown;
  const move = weighted ? capNow / capThen - 1 : sumMove / used;
  const sig = sigScratch;
  directional(sig, move, b.thr, b.dir);
  sig.ref = weighted ? capThen : Number.NaN;
  sig.windowStart = windowStart;
  const key = keyOf(c, BASKET_SUBJECT);
  const info: PriceAlertInfo = {
    symbols: members,
    sig,
    obs: null,
    endMs: obsAtMs(leadObs),
    members: moves,
    extra: weighted
      ? {
          weighting: 'market_cap',
          marketValueThen: capThen,
          marketValueNow: capNow,
          marketValueChange: capNow - capThen,
        }
      : { weighting: b.capWeighted ? 'equal (market caps missing)' : 'equal', members: used },
  };
  priceStep(ctx, c, BASKET_SUBJECT, key, lead, leadObs, sig, info);
}

/** News items sorted by (firstSeenAt, id), once per evaluation. */
function sortedNews(news: readonly NewsItem[]): NewsItem[] {
  return [...news].sort((a, b) => {
    const d = a.firstSeenAt.getTime() - b.firstSeenAt.getTime();
    return d !== 0 ? d : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

function isNewer(n: NewsItem, d: RuleStateData): boolean {
  if (d.lastItemAt === undefined) return true;
  const t = n.firstSeenAt.getTime();
  return t > d.lastItemAt || (t === d.lastItemAt && n.id > (d.lastItemId ?? ''));
}

function evalNewsRule(ctx: Ctx, c: Compiled): void {
  const spec = c.news as NewsSpec;
  const scope = c.symbols;
  const groups = new Map<string, NewsItem[]>();
  for (const n of ctx.news) {
    const t = n.firstSeenAt.getTime();
    if (t > ctx.now || ctx.now - t > spec.maxAgeMs) continue;
    if (!matchesNews(spec, n)) continue;
    let subject: string | undefined;
    if (scope?.length) {
      for (const s of scope) {
        if (n.symbols.includes(s)) {
          subject = s;
          break;
        }
      }
    } else if (c.confirmPrice) {
      subject = n.symbols.find((s) => ctx.series.has(s));
    }
    if (subject === undefined) {
      if (spec.requireSymbol) continue;
      subject = NEWS_SUBJECT;
    }
    let g = groups.get(subject);
    if (!g) {
      g = [];
      groups.set(subject, g);
    }
    g.push(n);
  }
  // Subjects with news now, plus those whose state may need to move on (pending, firing, cooldown).
  const subjects = new Set(groups.keys());
  if (scope) for (const s of scope) subjects.add(s);
  if (!c.confirmPrice) subjects.add(NEWS_SUBJECT);
  for (const subject of subjects) {
    const key = keyOf(c, subject);
    const prev = getState(ctx, key);
    const items = groups.get(subject);
    const fresh = items && prev ? items.filter((n) => isNewer(n, prev.data)) : (items ?? []);
    if (c.confirmPrice) newsPriceStep(ctx, c, subject, key, prev, fresh);
    else newsMatchStep(ctx, c, subject, key, prev, fresh);
  }
}

function seen(d: RuleStateData, items: readonly NewsItem[]): RuleStateData {
  const last = items[items.length - 1] as NewsItem;
  return { ...d, lastItemAt: last.firstSeenAt.getTime(), lastItemId: last.id };
}

/**
 * The steps news rules share before looking for an event: with no new items, a firing (news events
 * are instantaneous: firing lasts one evaluation) or finished cooldown goes back to rest; while
 * cooling down, new items are only marked as seen. True when the step is complete.
 */
function settledWithoutEvent(
  ctx: Ctx,
  key: string,
  base: RuleStateSnapshot,
  items: readonly NewsItem[],
  coolingDown: boolean,
): boolean {
  if (items.length === 0) {
    if (base.phase === 'firing' || (base.phase === 'cooldown' && !coolingDown))
      setState(ctx, key, { ...base, phase: coolingDown ? 'cooldown' : 'inactive', since: nowIso(ctx) });
    return true;
  }
  if (coolingDown) {
    setState(ctx, key, { ...base, phase: 'cooldown', data: seen(base.data, items) });
    return true;
  }
  return false;
}

function emitNewsAlert(
  ctx: Ctx,
  c: Compiled,
  subject: string,
  key: string,
  eventStart: string,
  items: readonly RelatedNews[],
  startMs: number,
  move: { value: number; threshold: number; ref: number; price: number } | null,
): void {
  const first = items[0] as RelatedNews;
  const symbol = subject === NEWS_SUBJECT ? undefined : subject;
  const prices: AlertDetails['prices'] = {};
  if (move) {
    prices.reference = move.ref;
    prices.current = move.price;
  } else if (symbol) {
    const s = ctx.series.get(symbol);
    if (s) {
      const o = observeCached(ctx, s);
      if (o.refused === null) prices.current = o.price;
    }
  }
  const more = items.length > 1 ? ` (+${items.length - 1} more)` : '';
  const a: AlertCandidate = {
    dedupKey: key,
    ruleId: c.id,
    subject,
    status: 'firing',
    severity: c.severity,
    value: move ? move.value : items.length,
    threshold: move ? move.threshold : 1,
    windowStart: new Date(startMs).toISOString(),
    windowEnd: nowIso(ctx),
    firedAt: nowIso(ctx),
    eventStart,
    title: `${c.def.name}: ${symbol ? `${symbol}: ` : ''}${first.title}${more}${move ? ` (${fmtPct(move.value)})` : ''}`,
    details: {
      ruleName: c.def.name,
      description: c.description,
      kind: c.kind,
      severity: c.severity,
      prices,
      relatedNews: items.slice(0, 10),
    },
  };
  if (symbol !== undefined) a.symbol = symbol;
  ctx.sink.alerts.push(a);
}

function newsMatchStep(
  ctx: Ctx,
  c: Compiled,
  subject: string,
  key: string,
  prev: RuleStateSnapshot | undefined,
  items: NewsItem[],
): void {
  const base = prev ?? inactiveState(c, subject);
  const coolingDown = ctx.now < ms(base.cooldownUntil);
  if (settledWithoutEvent(ctx, key, base, items, coolingDown)) return;
  const first = items[0] as NewsItem;
  const eventStart = `n-${first.id}`;
  const k = dedupKey(c.id, subject, eventStart);
  emitNewsAlert(ctx, c, subject, k, eventStart, items.slice(0, 10).map(toRelated), newsTime(first), null);
  const iso = nowIso(ctx);
  setState(ctx, key, {
    ...base,
    phase: 'firing',
    since: iso,
    lastValue: items.length,
    peakValue: items.length,
    lastFiredAt: iso,
    cooldownUntil: new Date(ctx.now + c.cooldownMs).toISOString(),
    data: { ...seen(base.data, items), eventKey: k, eventStart },
  });
}

function clearPending(d: RuleStateData): RuleStateData {
  const { itemId: _i, itemTitle: _t, itemAt: _a, refPrice: _r, deadline: _d, ...rest } = d;
  return rest;
}

function newsPriceStep(
  ctx: Ctx,
  c: Compiled,
  subject: string,
  key: string,
  prev: RuleStateSnapshot | undefined,
  items: NewsItem[],
): void {
  const cp = c.confirmPrice as NonNullable<Compiled['confirmPrice']>;
  const base = prev ?? inactiveState(c, subject);
  const coolingDown = ctx.now < ms(base.cooldownUntil);
  const s = ctx.series.get(subject);
  const o = s ? observeFor(ctx, c, s) : null;
  if (base.phase === 'pending') {
    const d = base.data;
    let data = items.length ? seen(d, items) : d;
    if (o && o.refused === null && d.refPrice !== undefined && d.itemId !== undefined) {
      const move = o.price / d.refPrice - 1;
      const sig = sigScratch;
      directional(sig, move, cp.minMove, cp.dir);
      if (sig.active) {
        const item = ctx.news.find((n) => n.id === d.itemId);
        const related: RelatedNews = item
          ? toRelated(item)
          : {
              id: d.itemId,
              title: d.itemTitle ?? '(news item)',
              firstSeenAt: base.since ?? nowIso(ctx),
              symbols: [subject],
              topics: [],
            };
        const eventStart = `n-${d.itemId}`;
        const k = dedupKey(c.id, subject, eventStart);
        const move0 = { value: move, threshold: sig.threshold, ref: d.refPrice, price: o.price };
        emitNewsAlert(ctx, c, subject, k, eventStart, [related], d.itemAt ?? ms(base.since), move0);
        const iso = nowIso(ctx);
        data = clearPending({ ...data, eventKey: k, eventStart });
        setState(ctx, key, {
          ...base,
          phase: 'firing',
          since: iso,
          lastValue: move,
          peakValue: move,
          lastFiredAt: iso,
          cooldownUntil: new Date(ctx.now + c.cooldownMs).toISOString(),
          data,
        });
        return;
      }
      if (ctx.now > (d.deadline ?? 0)) {
        setState(ctx, key, {
          ...base,
          phase: 'inactive',
          since: nowIso(ctx),
          lastValue: move,
          data: clearPending(data),
        });
        return;
      }
      if (base.lastValue !== move || data !== d) setState(ctx, key, { ...base, lastValue: move, data });
      return;
    }
    if (o?.refused) skip(ctx, c, subject, o.refused);
    if (ctx.now > (d.deadline ?? 0)) {
      setState(ctx, key, { ...base, phase: 'inactive', since: nowIso(ctx), data: clearPending(data) });
    } else if (data !== d) setState(ctx, key, { ...base, data });
    return;
  }
  if (settledWithoutEvent(ctx, key, base, items, coolingDown)) return;
  // Only items still inside their confirmation window can start one.
  const live = items.filter((n) => newsTime(n) + cp.withinMs > ctx.now);
  if (live.length === 0) {
    setState(ctx, key, { ...base, data: seen(base.data, items) });
    return;
  }
  if (!o || o.refused !== null) {
    // No usable price: leave the items unseen so a later evaluation can pick them up.
    skip(ctx, c, subject, o?.refused ?? 'no_data');
    return;
  }
  const item = live[0] as NewsItem;
  setState(ctx, key, {
    ...base,
    phase: 'pending',
    since: nowIso(ctx),
    lastValue: 0,
    data: {
      ...seen(base.data, items),
      itemId: item.id,
      itemTitle: item.title,
      itemAt: newsTime(item),
      refPrice: o.price,
      deadline: newsTime(item) + cp.withinMs,
      eventStart: `n-${item.id}`,
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/**
 * The engine core: evaluates `rules` at instant `now` and writes to `sink`. {@link evaluate} and
 * the backtester both run through here.
 */
function runRules(
  rules: readonly RuleDefinition[],
  series: ReadonlyMap<string, SymbolSeries>,
  news: readonly NewsItem[],
  now: number,
  sink: EngineSink,
): void {
  const ctx: Ctx = { now, nowIso: null, series, news, sink, obs: new Map(), obsExt: new Map() };
  for (let i = 0; i < rules.length; i++) {
    const c = compile(rules[i] as RuleDefinition);
    if (c.price) evalPriceRule(ctx, c);
    else if (c.basket) evalBasket(ctx, c);
    else if (c.news) evalNewsRule(ctx, c);
  }
}

/**
 * Evaluates every rule against the current observations.
 *
 * Pure and deterministic: the same input gives the same output; time comes only from
 * `input.clock` (read once). `input.states` is not mutated; the result holds only the states that
 * changed, to be written with the alerts in one transaction. Two workers evaluating the same data
 * produce the same dedup keys, so the unique index on Alert.dedupKey makes the second a no-op.
 *
 * Cost: O(rules x symbols) with O(1) work per pair (precomputed windows in {@link SymbolSeries});
 * the only allocations are for state changes and alerts.
 */
export function evaluate(input: EvaluateInput): EvaluateOutput {
  const now = input.clock.now().getTime();
  const sink: EngineSink = {
    read: input.states,
    write: new Map(),
    alerts: [],
    skipped: [],
    skipCounts: null,
  };
  runRules(input.rules, input.series, input.news?.length ? sortedNews(input.news) : [], now, sink);
  return { alerts: sink.alerts, states: sink.write, skipped: sink.skipped ?? [] };
}
