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
const recording = z.array(item).max(100_000);

/** Parses a news recording; throws ValidationError naming the first bad item and field. */
export function parseNewsRecording(json: unknown, label = 'news'): NewsItem[] {
  const r = recording.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ValidationError(`${label}: ${i?.path.join('.') || '(top level)'}: ${i?.message ?? 'invalid'}`);
  }
  return r.data.map((n, k) => {
    const at = new Date(n.publishedAt);
    const out: NewsItem = {
      id: n.id ?? `${label}-${k}`,
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
  });
}
