/** Feed text -> items, through rss-parser's parseString (RSS 0.9x/1/2 and Atom). */
import type { NewsItemInput } from '@signals/core';
import Parser from 'rss-parser';
import { FeedFetchError } from './errors.ts';

export interface ParsedFeed {
  title?: string;
  link?: string;
  items: NewsItemInput[];
  /** Entries without a title, summary, link or id: nothing to keep. */
  skipped: number;
}

// `<rss>` without a version attribute is common in the wild (uolNoticias.rss): read it as RSS 2.
const parser = new Parser({ defaultRSS: 2 });

/** The first element of a document, past the XML declaration, comments, PIs and DOCTYPE. */
export function rootElement(text: string): { name: string | undefined; doctypeHtml: boolean } {
  const head = text.slice(0, 8192);
  const doctypeHtml = /<!DOCTYPE\s+html/i.test(head);
  const stripped = head
    .replace(/^\uFEFF/, '')
    .replace(/<\?[\s\S]*?\?>/g, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<!DOCTYPE[^>[]*(\[[\s\S]*?\])?\s*>/gi, '');
  const m = /<\s*([A-Za-z_][\w:.-]*)/.exec(stripped);
  return { name: m?.[1], doctypeHtml };
}

const FEED_ROOTS = new Set(['rss', 'feed', 'rdf:rdf', 'rdf', 'channel']);

/** Throws not_a_feed for HTML pages and other documents that are not RSS/Atom. */
export function assertFeedDocument(text: string, url: string): void {
  const { name, doctypeHtml } = rootElement(text);
  const root = name?.toLowerCase();
  if (doctypeHtml || root === 'html' || root === 'head' || root === 'body') {
    throw new FeedFetchError('not_a_feed', 'the answer is an HTML page, not a feed', url);
  }
  if (!root || !FEED_ROOTS.has(root)) {
    throw new FeedFetchError('not_a_feed', 'the answer is not an RSS or Atom document', url);
  }
}

const TAGS = /<[^>]*>/g;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Plain text from an HTML snippet (for summaries when the feed gives only HTML). */
export function stripHtml(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(TAGS, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const cp = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
        return Number.isFinite(cp) && cp > 0 && cp < 0x110000 ? String.fromCodePoint(cp) : m;
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .replace(/\s+/g, ' ')
    .trim();
}

const text = (v: unknown): string | undefined => {
  if (typeof v === 'string') return v.trim() || undefined;
  if (v && typeof v === 'object' && '_' in v && typeof (v as { _: unknown })._ === 'string')
    return (v as { _: string })._.trim() || undefined;
  return undefined;
};

function date(...vs: unknown[]): Date | undefined {
  for (const v of vs) {
    if (typeof v !== 'string' || !v) continue;
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return new Date(t);
  }
  return undefined;
}

const SUMMARY_MAX = 2000;

/** Parses feed text with rss-parser. Throws parse_error / not_a_feed. */
export async function parseFeed(xml: string, url = 'feed'): Promise<ParsedFeed> {
  assertFeedDocument(xml, url);
  let out: Awaited<ReturnType<typeof parser.parseString>>;
  try {
    out = await parser.parseString(xml);
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    // The parser's message quotes the document: it stays in `cause`, not in what admins read.
    if (/not recognized as RSS/i.test(msg)) {
      throw new FeedFetchError('not_a_feed', 'the answer is not an RSS or Atom document', url, { cause: err });
    }
    throw new FeedFetchError('parse_error', 'the feed is not well-formed XML', url, { cause: err });
  }
  const items: NewsItemInput[] = [];
  let skipped = 0;
  for (const it of out.items ?? []) {
    const raw = it as Record<string, unknown>;
    const summaryText =
      text(raw.contentSnippet) ??
      (text(raw.summary) ? stripHtml(text(raw.summary) as string) : undefined) ??
      (text(raw.content) ? stripHtml(text(raw.content) as string) : undefined);
    const summary = summaryText ? summaryText.slice(0, SUMMARY_MAX) : undefined;
    const title = text(raw.title) ? stripHtml(text(raw.title) as string) : undefined;
    const guid = text(raw.guid) ?? text(raw.id);
    const link = text(raw.link);
    if (!title && !summary) {
      skipped++;
      continue;
    }
    const item: NewsItemInput = { title: title ?? (summary as string).slice(0, 200) };
    if (guid) item.guid = guid;
    if (link) item.link = link;
    if (summary) item.summary = summary;
    const publishedAt = date(raw.isoDate, raw.pubDate, raw.published, raw.updated, raw.date);
    if (publishedAt) item.publishedAt = publishedAt;
    items.push(item);
  }
  const feed: ParsedFeed = { items, skipped };
  if (out.title) feed.title = out.title;
  if (out.link) feed.link = out.link;
  return feed;
}
