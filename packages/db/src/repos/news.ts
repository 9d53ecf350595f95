/**
 * News repository: feed state (validators, failures, backoff) and items with their instrument
 * tags. Items are inserted with one createManyAndReturn; edits (same dedup key, new content hash)
 * update the row in place and are reported separately, never as new.
 */
import type { NewsItem, NewsItemToStore } from '@signals/core';
import type { PrismaClient } from '../client.ts';

export interface FeedState {
  id: string;
  url: string;
  name: string;
  language: string;
  pollIntervalSec: number;
  enabled: boolean;
  etag: string | null;
  lastModified: string | null;
  lastFetchedAt: Date | null;
  lastSuccessAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  consecutiveFailures: number;
  nextFetchAt: Date | null;
  itemsSeen: number;
}

/** What the news ingestor hands over (the port type lives in core). */
export type StoredItemInput = NewsItemToStore;

export interface TagInstrument {
  id: string;
  symbol: string;
  name: string | null;
  aliases: string[];
}

export function createNewsStore(prisma: PrismaClient) {
  async function getFeed(id: string): Promise<FeedState | null> {
    return prisma.feed.findUnique({
      where: { id },
      select: {
        id: true,
        url: true,
        name: true,
        language: true,
        pollIntervalSec: true,
        enabled: true,
        etag: true,
        lastModified: true,
        lastFetchedAt: true,
        lastSuccessAt: true,
        lastError: true,
        lastErrorAt: true,
        consecutiveFailures: true,
        nextFetchAt: true,
        itemsSeen: true,
      },
    });
  }

  /** Instruments to tag news with (unknown symbols left out). */
  async function listInstruments(): Promise<TagInstrument[]> {
    return prisma.instrument.findMany({
      where: { status: { not: 'unknown' } },
      select: { id: true, symbol: true, name: true, aliases: true },
      orderBy: { symbol: 'asc' },
    });
  }

  async function saveItems(
    feedId: string,
    input: StoredItemInput[],
    at: Date,
  ): Promise<{ newItems: NewsItem[]; updatedItems: NewsItem[] }> {
    const byKey = new Map<string, StoredItemInput>();
    for (const it of input) if (!byKey.has(it.dedupKey)) byKey.set(it.dedupKey, it);
    if (!byKey.size) return { newItems: [], updatedItems: [] };
    const existing = await prisma.newsItem.findMany({
      where: { feedId, dedupKey: { in: [...byKey.keys()] } },
      select: { id: true, dedupKey: true, contentHash: true, firstSeenAt: true },
    });
    const have = new Map(existing.map((e) => [e.dedupKey, e]));
    const fresh = [...byKey.values()].filter((i) => !have.has(i.dedupKey));
    const edited = [...byKey.values()].filter((i) => {
      const e = have.get(i.dedupKey);
      return e !== undefined && e.contentHash !== i.contentHash;
    });

    const toDomain = (id: string, firstSeenAt: Date, i: StoredItemInput): NewsItem => ({
      id,
      feedId,
      firstSeenAt,
      title: i.title,
      ...(i.guid ? { guid: i.guid } : {}),
      ...(i.link ? { link: i.link } : {}),
      ...(i.summary ? { summary: i.summary } : {}),
      ...(i.publishedAt ? { publishedAt: i.publishedAt } : {}),
      symbols: i.tags.map((t) => t.symbol),
      topics: i.topics,
    });

    return prisma.$transaction(async (tx) => {
      const created = fresh.length
        ? await tx.newsItem.createManyAndReturn({
            data: fresh.map((i) => ({
              feedId,
              dedupKey: i.dedupKey,
              contentHash: i.contentHash,
              guid: i.guid ?? null,
              link: i.link ?? null,
              title: i.title,
              summary: i.summary ?? null,
              publishedAt: i.publishedAt ?? null,
              topics: i.topics,
              firstSeenAt: at,
            })),
            skipDuplicates: true, // another worker inserted it first: theirs counts as new
            select: { id: true, dedupKey: true, firstSeenAt: true },
          })
        : [];
      const newItems: NewsItem[] = [];
      const tagRows: { newsItemId: string; instrumentId: string; matched: string }[] = [];
      for (const c of created) {
        const i = byKey.get(c.dedupKey) as StoredItemInput;
        newItems.push(toDomain(c.id, c.firstSeenAt, i));
        for (const t of i.tags)
          tagRows.push({ newsItemId: c.id, instrumentId: t.instrumentId, matched: t.matched.slice(0, 200) });
      }
      const updatedItems: NewsItem[] = [];
      for (const i of edited) {
        const e = have.get(i.dedupKey) as { id: string; firstSeenAt: Date };
        await tx.newsItem.update({
          where: { id: e.id },
          data: {
            title: i.title,
            summary: i.summary ?? null,
            link: i.link ?? null,
            publishedAt: i.publishedAt ?? null,
            contentHash: i.contentHash,
            topics: i.topics,
          },
        });
        for (const t of i.tags)
          tagRows.push({ newsItemId: e.id, instrumentId: t.instrumentId, matched: t.matched.slice(0, 200) });
        updatedItems.push(toDomain(e.id, e.firstSeenAt, i));
      }
      if (edited.length) {
        await tx.newsItemInstrument.deleteMany({
          where: { newsItemId: { in: edited.map((i) => (have.get(i.dedupKey) as { id: string }).id) } },
        });
      }
      if (tagRows.length) await tx.newsItemInstrument.createMany({ data: tagRows, skipDuplicates: true });
      return { newItems, updatedItems };
    });
  }

  async function recordSuccess(
    feedId: string,
    s: { at: Date; etag: string | null; lastModified: string | null; nextFetchAt: Date; newCount: number },
  ): Promise<void> {
    await prisma.feed.update({
      where: { id: feedId },
      data: {
        etag: s.etag,
        lastModified: s.lastModified,
        lastFetchedAt: s.at,
        lastSuccessAt: s.at,
        lastError: null,
        consecutiveFailures: 0,
        nextFetchAt: s.nextFetchAt,
        itemsSeen: { increment: s.newCount },
      },
    });
  }

  async function recordFailure(
    feedId: string,
    f: { at: Date; error: string; nextFetchAt: Date; consecutiveFailures: number },
  ): Promise<void> {
    await prisma.feed.update({
      where: { id: feedId },
      data: {
        lastFetchedAt: f.at,
        lastError: f.error.slice(0, 1000),
        lastErrorAt: f.at,
        consecutiveFailures: f.consecutiveFailures,
        nextFetchAt: f.nextFetchAt,
      },
    });
  }

  return { getFeed, listInstruments, saveItems, recordSuccess, recordFailure };
}

export type PrismaNewsStore = ReturnType<typeof createNewsStore>;
