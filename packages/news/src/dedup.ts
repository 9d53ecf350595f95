import { createHash } from 'node:crypto';
import type { NewsItemInput } from '@signals/core';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** guid, else link, else sha256(title + date): unique per feed. */
export function dedupKey(item: NewsItemInput): string {
  if (item.guid?.trim()) return `guid:${item.guid.trim()}`;
  if (item.link?.trim()) return `link:${item.link.trim()}`;
  return `hash:${sha256(`${item.title.trim()}\n${item.publishedAt?.toISOString() ?? ''}`)}`;
}

/** sha256 over title + summary: an edit changes it (and updates the row, not counted as new). */
export function contentHash(item: Pick<NewsItemInput, 'title' | 'summary'>): string {
  return sha256(`${item.title.trim()}\n${(item.summary ?? '').trim()}`);
}
