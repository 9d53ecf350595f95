/**
 * Building alerts: a price-like event's alert (title, prices, members, its headlines) and the
 * related news of a confirmation, in one place for every evaluator.
 */
import { sessionOpenMs } from '../calendar.ts';
import type { NewsItem } from '../domain.ts';
import { publishedMs, rankHeadlines, selectHeadlines } from '../headlines.ts';
import { matchesNews } from '../kinds/news-match.ts';
import type { NewsSpec, Obs, Sig } from '../kinds/signal.ts';
import { formatMeasure, formatValue } from '../units.ts';
import type { Compiled } from './compile.ts';
import { type Ctx, nowIso, observeCached } from './context.ts';
import { type AlertCandidate, type AlertDetails, BASKET_SUBJECT, NEWS_SUBJECT, type RelatedNews } from './types.ts';

/**
 * The headlines an alert stores and every surface renders (details.headlines): title, link and
 * publication time of its related news, in their order.
 */
export function alertHeadlines(
  related: readonly RelatedNews[],
): { title: string; link: string | null; publishedAt: string | null }[] {
  return related.map((n) => ({ title: n.title, link: n.link ?? null, publishedAt: n.publishedAt ?? null }));
}

export function toRelated(n: NewsItem): RelatedNews {
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
export function relatedNews(
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

export interface PriceAlertInfo {
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

export function emitPriceAlert(
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

export function emitNewsAlert(
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
