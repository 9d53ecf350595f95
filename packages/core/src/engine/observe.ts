/**
 * Observations: what a rule sees of a symbol now (the live quote, or the last completed bar; with
 * session "extended", a newer pre- or post-market price), written into reused scratch objects so
 * an evaluation allocates nothing per pair. A stale, failed or bad series is refused, never read.
 */
import { marketPhase, nextTradingDay, sessionCloseMs, zonedDate } from '../calendar.ts';
import type { Quote } from '../domain.ts';
import type { Obs } from '../kinds/signal.ts';
import type { SymbolSeries } from '../series.ts';

export function newObs(): Obs {
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

export function observe(s: SymbolSeries, o: Obs): Obs {
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
export function observeExtended(s: SymbolSeries, o: Obs): Obs {
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

export function obsAtMs(o: Obs): number {
  if (Number.isNaN(o.atMs)) o.atMs = sessionCloseMs(o.date);
  return o.atMs;
}
