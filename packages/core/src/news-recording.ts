/**
 * Recorded news for backtests and replays (`pnpm cli backtest --news <file>`, the `.news.json`
 * files beside the intraday fixtures): a JSON array of items timed by publication. Our own format,
 * not a vendor's: `[{ id?, title, summary?, link?, publishedAt, symbols?, topics? }]`. An item is
 * visible to the rules from its `publishedAt` on (replays have no "first seen" other than that).
 */
import { z } from 'zod';
import type { NewsItem } from './domain.ts';
import { ValidationError } from './errors.ts';

const item = z.strictObject({
  id: z.string().min(1).max(200).optional(),
  title: z.string().trim().min(1, 'must not be empty').max(1000),
  summary: z.string().max(20_000).optional(),
  link: z.string().url().optional(),
  publishedAt: z.iso.datetime({ offset: true, error: 'must be an ISO timestamp, e.g. 2025-01-29T21:05:00Z' }),
  symbols: z.array(z.string().trim().toUpperCase().min(1)).max(100).optional(),
  topics: z.array(z.string().trim().toLowerCase().min(1)).max(100).optional(),
});
const MAX_ITEMS = 100_000;

/** "item 3 ("Amazon raises capex ...")": an item of a recording by its place (1-based) and title. */
function itemName(raw: unknown, index: number): string {
  const title = raw && typeof raw === 'object' ? (raw as { title?: unknown }).title : undefined;
  const t = typeof title === 'string' ? title.trim() : '';
  return `item ${index + 1}${t ? ` ("${t.length > 60 ? `${t.slice(0, 57)}...` : t}")` : ''}`;
}

function toItem(n: z.infer<typeof item>, id: string): NewsItem {
  const at = new Date(n.publishedAt);
  const out: NewsItem = {
    id,
    feedId: 'recording',
    title: n.title,
    publishedAt: at,
    firstSeenAt: at,
    symbols: n.symbols ?? [],
    topics: n.topics ?? [],
  };
  if (n.summary !== undefined) out.summary = n.summary;
  if (n.link !== undefined) out.link = n.link;
  return out;
}

/** A news recording read item by item: the good items, and each bad one named with why. */
export interface NewsRecording {
  items: NewsItem[];
  /** "news.json: item 3 ("..."): publishedAt: must be an ISO timestamp ..." per refused item. */
  rejected: string[];
}

/**
 * Reads a news recording item by item (replays: a bad item is skipped with a log line naming the
 * file and the item; the good ones are kept). Throws ValidationError only when the whole file is
 * not a recording (not an array, or too long).
 */
export function readNewsRecording(json: unknown, label = 'news'): NewsRecording {
  if (!Array.isArray(json))
    throw new ValidationError(`${label}: not a news recording (a JSON array of {title, publishedAt, ...} items)`);
  if (json.length > MAX_ITEMS) throw new ValidationError(`${label}: more than ${MAX_ITEMS} items`);
  const items: NewsItem[] = [];
  const rejected: string[] = [];
  json.forEach((raw, k) => {
    const r = item.safeParse(raw);
    if (r.success) items.push(toItem(r.data, r.data.id ?? `${label}-${k}`));
    else {
      const i = r.error.issues[0];
      rejected.push(`${label}: ${itemName(raw, k)}: ${i?.path.join('.') || '(the item)'}: ${i?.message ?? 'invalid'}`);
    }
  });
  return { items, rejected };
}

/** Parses a news recording strictly (the CLI); throws ValidationError naming the file, the first bad item and its field. */
export function parseNewsRecording(json: unknown, label = 'news'): NewsItem[] {
  const r = readNewsRecording(json, label);
  const first = r.rejected[0];
  if (first !== undefined)
    throw new ValidationError(r.rejected.length > 1 ? `${first} (and ${r.rejected.length - 1} more bad items)` : first);
  return r.items;
}
