/**
 * The rule engine: pure, deterministic, allocation-light. The worker calls {@link evaluate} once
 * per poll cycle; the backtester ({@link backtest} in backtest.ts) replays history bar by bar
 * through the same code. This file is the lifecycle and the registry's user: what a kind means
 * (its params, its signal computation) is in kinds/<kind>.ts, compiled once per rule definition;
 * an alert's headlines are chosen in headlines.ts, its value rendered by units.ts.
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
import type { Clock, NewsItem, Quote, Severity } from './domain.ts';
import { publishedMs, rankHeadlines, selectHeadlines } from './headlines.ts';
import { measureBasket } from './kinds/basket-move.ts';
import { matchesNews } from './kinds/news-match.ts';
import {
  type BasketSpec,
  type ConfirmNewsSpec,
  type ConfirmPriceSpec,
  directional,
  type NewsSpec,
  newSig,
  type Obs,
  type PriceSpec,
  type Sig,
  type SkipReason,
} from './kinds/signal.ts';
import { describeRule, kindModule, type RuleDefinition, type RuleKind } from './rules.ts';
import { indexOfDate, type SymbolSeries } from './series.ts';
import { formatMeasure, formatValue, type Unit } from './units.ts';

export type { SkipReason } from './kinds/signal.ts';

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
  /** Basket members without data, left out of the measure. */
  missing?: string[];
  /** The alert's headlines, best first (headlines.ts); stored as details.headlines by the worker. */
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
  /** Unit of value and threshold (from the rule's kind); render with formatValue/formatThreshold. */
  unit: Unit;
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

export interface SkippedEvaluation {
  ruleId: string;
  subject: string;
  reason: SkipReason;
  /** Why, in words, when the reason alone does not say (an incomplete basket names its missing members). */
  detail?: string;
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
  unit: Unit;
  price: PriceSpec | null;
  basket: BasketSpec | null;
  news: NewsSpec | null;
  /** price_news confirmation. */
  confirmNews: ConfirmNewsSpec | null;
  /** news_price confirmation. */
  confirmPrice: ConfirmPriceSpec | null;
  /** session: "extended": pre- and post-market prices are observed too. */
  extended: boolean;
  keys: Map<string, string>;
}

const compiledCache = new WeakMap<RuleDefinition, Compiled>();

/** Compiles a rule once per definition object: its kind module turns the params into engine specs. */
function compile(def: RuleDefinition): Compiled {
  const cached = compiledCache.get(def);
  if (cached) return cached;
  const m = kindModule(def.kind);
  const spec = m.engine(def.params, def);
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
    unit: m.unit(def.params),
    price: spec.price ?? null,
    basket: spec.basket ?? null,
    news: spec.news ?? null,
    confirmNews: spec.confirmNews ?? null,
    confirmPrice: spec.confirmPrice ?? null,
    extended: spec.extended === true,
    keys: new Map(),
  };
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

// ---------------------------------------------------------------------------------------------
// Evaluation context
// ---------------------------------------------------------------------------------------------

/** Where results go: states are read from `read` (not mutated), changes collected in `write`. */
interface EngineSink {
  read: ReadonlyMap<string, RuleStateSnapshot>;
  write: Map<string, RuleStateSnapshot>;
  alerts: AlertCandidate[];
  skipped: SkippedEvaluation[];
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
  return write.get(key) ?? read.get(key);
}

function setState(ctx: Ctx, key: string, s: RuleStateSnapshot): void {
  ctx.sink.write.set(key, s);
}

function skip(ctx: Ctx, c: Compiled, subject: string, reason: SkipReason, detail?: string): void {
  ctx.sink.skipped.push(
    detail === undefined ? { ruleId: c.id, subject, reason } : { ruleId: c.id, subject, reason, detail },
  );
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

/**
 * The headlines an alert stores and every surface renders (details.headlines): title, link and
 * publication time of its related news, in their order.
 */
export function alertHeadlines(
  related: readonly RelatedNews[],
): { title: string; link: string | null; publishedAt: string | null }[] {
  return related.map((n) => ({ title: n.title, link: n.link ?? null, publishedAt: n.publishedAt ?? null }));
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

/** News mentioning one of `symbols` with a time in [from, to] (a confirmation's evidence; ranked when the alert is built). */
function relatedNews(
  ctx: Ctx,
  symbols: readonly string[],
  from: number,
  to: number,
  filter: NewsSpec | null,
): NewsItem[] {
  const out: NewsItem[] = [];
  for (const n of ctx.news) {
    const t = publishedMs(n);
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
  }
  return out;
}

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
  /** Basket members left out of the measure. */
  missing?: string[];
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
  // Resolved notices span the whole event: from its first session to now.
  const windowStartMs = sessionOpenMs(status === 'firing' || !DATE.test(eventStart) ? sig.windowStart : eventStart);
  const news = info.news
    ? rankHeadlines(info.news, info.symbols, c.confirmNews?.filter?.topics)
    : selectHeadlines(ctx.news, { symbols: info.symbols, windowStartMs, alertMs: ctx.now });
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
  const label =
    subject === BASKET_SUBJECT
      ? `Basket${info.missing?.length ? ` (without ${info.missing.join(', ')})` : ''}`
      : subject;
  const title =
    status === 'firing'
      ? `${c.def.name}: ${label} ${formatMeasure(sig.value, sig.threshold, c.unit)}`
      : `Resolved: ${c.def.name}: ${label} now ${formatMeasure(sig.value, sig.threshold, c.unit)}`;
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
  if (info.missing?.length) details.missing = info.missing;
  const a: AlertCandidate = {
    dedupKey: status === 'firing' ? key : `${key}:resolved`,
    ruleId: c.id,
    subject,
    status,
    severity: c.severity,
    value: sig.value,
    threshold: sig.threshold,
    unit: c.unit,
    windowStart: new Date(windowStartMs).toISOString(),
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
  const why = p.signal(p, s, o, sig);
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

/** "members without data: AMD, AVGO (coverage 71 %)". */
function basketGap(missing: readonly string[], coverage: number): string {
  return `members without data: ${missing.join(', ')} (coverage ${Math.round(coverage * 100)} %)`;
}

function evalBasket(ctx: Ctx, c: Compiled): void {
  const b = c.basket as BasketSpec;
  const members = c.symbols ?? [];
  const m = measureBasket(b, members, (sym) => {
    const s = ctx.series.get(sym);
    return s ? { s, o: observeCached(ctx, s) } : undefined;
  });
  if (!m.ok) {
    skip(ctx, c, BASKET_SUBJECT, m.reason, m.missing.length ? basketGap(m.missing, m.coverage) : undefined);
    return;
  }
  const sig = sigScratch;
  directional(sig, m.move, b.thr, b.dir);
  sig.ref = m.weighted ? m.capThen : Number.NaN;
  sig.windowStart = m.windowStart;
  const key = keyOf(c, BASKET_SUBJECT);
  const info: PriceAlertInfo = {
    symbols: members,
    sig,
    obs: null,
    endMs: obsAtMs(m.leadObs),
    members: m.members,
    extra: m.weighted
      ? {
          weighting: 'market_cap',
          marketValueThen: m.capThen,
          marketValueNow: m.capNow,
          marketValueChange: m.capNow - m.capThen,
        }
      : { weighting: b.capWeighted ? 'equal (market caps missing)' : 'equal', members: m.used },
  };
  // Measured without some members: the alert says which.
  if (m.missing.length) info.missing = m.missing;
  priceStep(ctx, c, BASKET_SUBJECT, key, m.lead, m.leadObs, sig, info);
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
    unit: c.unit,
    windowStart: new Date(startMs).toISOString(),
    windowEnd: nowIso(ctx),
    firedAt: nowIso(ctx),
    eventStart,
    title: `${c.def.name}: ${symbol ? `${symbol}: ` : ''}${first.title}${more}${move ? ` (${formatValue(move.value, c.unit)})` : ''}`,
    details: {
      ruleName: c.def.name,
      description: c.description,
      kind: c.kind,
      severity: c.severity,
      prices,
      relatedNews: [...items],
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
  const ranked = rankHeadlines(items, subject === NEWS_SUBJECT ? [] : [subject], c.news?.topics);
  emitNewsAlert(ctx, c, subject, k, eventStart, ranked.map(toRelated), publishedMs(first), null);
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
  const cp = c.confirmPrice as ConfirmPriceSpec;
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
  const live = items.filter((n) => publishedMs(n) + cp.withinMs > ctx.now);
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
      itemAt: publishedMs(item),
      refPrice: o.price,
      deadline: publishedMs(item) + cp.withinMs,
      eventStart: `n-${item.id}`,
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/**
 * The engine core: evaluates `rules` at instant `now` and writes to `sink`. The backtesters
 * (backtest.ts, backtest-intraday.ts) replay through {@link evaluate}, so they run through here too.
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
  };
  runRules(input.rules, input.series, input.news?.length ? sortedNews(input.news) : [], now, sink);
  return { alerts: sink.alerts, states: sink.write, skipped: sink.skipped };
}
