/**
 * "Why it moved": the headlines an alert carries. ONE function chooses them for every alert (live
 * evaluation and backtests alike), and the alert stores them, so email, webhook, chat formats and
 * the admin page all show the same items in the same order.
 *
 * Chosen: items that name the alert's subject(s) (tagged with the symbol, or a basket member),
 * published (else first seen) from the measured window's start minus 2 h to the alert plus 15 min,
 * but at most a week back (the news the worker and backtests hold); best first: the subject named
 * in the title, then a matching topic (the rule's topics, or any topic for a price rule), then in
 * order of publication (the story as it unfolded); one story once (same link, else same title);
 * at most 5.
 */
import type { NewsItem } from './domain.ts';

export const HEADLINES_MAX = 5;
export const HEADLINES_BEFORE_MS = 2 * 3600_000;
export const HEADLINES_AFTER_MS = 15 * 60_000;
/**
 * The engine's news window: news older than this is not in its input. The worker loads this much
 * news per cycle, backtests load it before their first day and slide it along the replay, and an
 * alert's headlines reach back at most this far. A week: the longest news window a rule can ask
 * for (news_match maxAgeMin, at most 10,080 minutes).
 */
export const NEWS_WINDOW_MS = 7 * 86_400_000;

const NO_NEWS: NewsItem[] = [];

/** When an item counts as published: its publication time, else when it was first seen. */
export function publishedMs(n: NewsItem): number {
  return (n.publishedAt ?? n.firstSeenAt).getTime();
}

const wordCache = new Map<string, RegExp>();
function namedInTitle(n: NewsItem, symbols: readonly string[]): boolean {
  if (n.titleSymbols) return n.titleSymbols.some((s) => symbols.includes(s));
  // Without tagging details, the ticker itself as a word in the title.
  for (const s of symbols) {
    let re = wordCache.get(s);
    if (!re) {
      re = new RegExp(`(^|[^A-Za-z0-9])${s.replace(/[.^$*+?()[\]{}|\\-]/g, '\\$&')}($|[^A-Za-z0-9])`, 'i');
      wordCache.set(s, re);
    }
    if (re.test(n.title)) return true;
  }
  return false;
}

function score(n: NewsItem, symbols: readonly string[], topics: readonly string[] | undefined): number {
  let s = namedInTitle(n, symbols) ? 2 : 0;
  const topical = topics?.length ? n.topics.some((t) => topics.includes(t.toLowerCase())) : n.topics.length > 0;
  if (topical) s += 1;
  return s;
}

/** Orders candidate items best first (see the module comment) and keeps at most {@link HEADLINES_MAX}. */
export function rankHeadlines(
  items: readonly NewsItem[],
  symbols: readonly string[],
  topics?: readonly string[],
): NewsItem[] {
  // Most alerts have no news at all: no allocation for them (the cycle raises thousands).
  if (items.length === 0) return NO_NEWS;
  const ranked = items
    .map((n) => ({ n, s: score(n, symbols, topics), t: publishedMs(n) }))
    .sort((a, b) => b.s - a.s || a.t - b.t || (a.n.id < b.n.id ? -1 : a.n.id > b.n.id ? 1 : 0));
  // One story once: the same link (or, without one, the same title) from several feeds counts once.
  const seen = new Set<string>();
  const out: NewsItem[] = [];
  for (const { n } of ranked) {
    const key = n.link?.trim() || n.title.trim().toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(n);
    if (out.length >= HEADLINES_MAX) break;
  }
  return out;
}

export interface HeadlineQuery {
  /** The alert's subject(s): its symbol, or a basket's members. */
  symbols: readonly string[];
  /** Start of the alert's measured window (ms). */
  windowStartMs: number;
  /** The alert (evaluation) time (ms). */
  alertMs: number;
  /** The rule's topics, if it has any. */
  topics?: readonly string[];
}

/** The alert's headlines out of `news` (see the module comment). */
export function selectHeadlines(news: readonly NewsItem[], q: HeadlineQuery): NewsItem[] {
  if (news.length === 0) return NO_NEWS;
  const from = Math.max(q.windowStartMs - HEADLINES_BEFORE_MS, q.alertMs - NEWS_WINDOW_MS);
  const to = q.alertMs + HEADLINES_AFTER_MS;
  const hits: NewsItem[] = [];
  for (const n of news) {
    const t = publishedMs(n);
    if (t < from || t > to) continue;
    if (!n.symbols.some((s) => q.symbols.includes(s))) continue;
    hits.push(n);
  }
  return rankHeadlines(hits, q.symbols, q.topics);
}
