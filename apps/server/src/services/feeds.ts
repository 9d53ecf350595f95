/**
 * News feeds: status, last fetch and error, items; add and enable/disable. Feed URLs are refused
 * when they point into our own network (see checkFeedUrl); the worker's fetcher checks every fetch.
 */
import { NotFoundError, ValidationError } from '@signals/core';
import { assertPublicUrl, HostResolutionError, UnsafeUrlError } from '@signals/netguard';
import { z } from 'zod';
import type { Runtime } from '../context.ts';
import { text } from '../input.ts';
import { writeOr } from './util.ts';

const feedUrl = text({ min: 1, max: 2000 }).refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
  } catch {
    return false;
  }
}, 'must be an http(s) URL without credentials');

export const feedCreateSchema = z.strictObject({
  url: feedUrl,
  name: text({ min: 1, max: 200 }),
  language: z.enum(['en', 'de']).optional(),
  pollIntervalSec: z.number().int().min(60).max(86_400).optional(),
});
export const feedUpdateSchema = z.strictObject({
  name: text({ min: 1, max: 200 }).optional(),
  enabled: z.boolean().optional(),
  pollIntervalSec: z.number().int().min(60).max(86_400).optional(),
});

type FeedRow = {
  id: string;
  url: string;
  name: string;
  language: string;
  pollIntervalSec: number;
  enabled: boolean;
  lastFetchedAt: Date | null;
  lastSuccessAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  consecutiveFailures: number;
  nextFetchAt: Date | null;
  itemsSeen: number;
  createdAt: Date;
};

export function feedView(f: FeedRow, itemCount?: number) {
  const status = !f.enabled ? 'disabled' : f.consecutiveFailures > 0 ? 'failing' : f.lastSuccessAt ? 'ok' : 'new';
  return {
    id: f.id,
    url: f.url,
    name: f.name,
    language: f.language,
    pollIntervalSec: f.pollIntervalSec,
    enabled: f.enabled,
    status,
    lastFetchedAt: f.lastFetchedAt?.toISOString() ?? null,
    lastSuccessAt: f.lastSuccessAt?.toISOString() ?? null,
    lastError: f.lastError,
    lastErrorAt: f.lastErrorAt?.toISOString() ?? null,
    consecutiveFailures: f.consecutiveFailures,
    nextFetchAt: f.nextFetchAt?.toISOString() ?? null,
    itemsSeen: f.itemsSeen,
    itemCount: itemCount ?? null,
    createdAt: f.createdAt.toISOString(),
  };
}

export async function listFeeds(rt: Runtime, win?: { take: number; skip: number }) {
  const rows = await rt.prisma.feed.findMany({
    orderBy: [{ name: 'asc' }, { id: 'asc' }],
    ...win,
    include: { _count: { select: { items: true } } },
  });
  return rows.map((f) => feedView(f, f._count.items));
}

export async function getFeed(rt: Runtime, id: string) {
  const f = await rt.prisma.feed.findUnique({ where: { id }, include: { _count: { select: { items: true } } } });
  if (!f) throw new NotFoundError('Feed');
  const items = await rt.prisma.newsItem.findMany({
    where: { feedId: id },
    orderBy: { firstSeenAt: 'desc' },
    take: 50,
    include: { instruments: { include: { instrument: { select: { symbol: true } } } } },
  });
  return {
    ...feedView(f, f._count.items),
    items: items.map((i) => ({
      id: i.id,
      title: i.title,
      link: i.link,
      publishedAt: i.publishedAt?.toISOString() ?? null,
      firstSeenAt: i.firstSeenAt.toISOString(),
      topics: i.topics,
      symbols: i.instruments.map((x) => x.instrument.symbol),
    })),
  };
}

/**
 * A URL that points into our own network is refused when the feed is saved (422 at `url`), unless
 * FEED_ALLOWED_CIDRS allows the range: a literal address (127.0.0.1, 10.x, 169.254.169.254, [::1],
 * 0.0.0.0...) or a name resolving to one (localhost, a compose service name). A name that does not
 * resolve now is accepted: the fetcher checks what it resolves to at every fetch and redirect.
 */
async function checkFeedUrl(rt: Runtime, url: string): Promise<void> {
  try {
    await assertPublicUrl(url, { allowedCidrs: rt.env.FEED_ALLOWED_CIDRS, label: 'feed URL' });
  } catch (err) {
    if (err instanceof HostResolutionError) return;
    if (!(err instanceof UnsafeUrlError)) throw err;
    const message =
      err.reason === 'address'
        ? `refused: ${err.refusal ?? 'reserved'} address (allowed only when FEED_ALLOWED_CIDRS lists it)`
        : err.message;
    throw new ValidationError('Feed URL refused', [{ path: 'url', message }], 422);
  }
}

export async function createFeed(rt: Runtime, input: z.infer<typeof feedCreateSchema>) {
  await checkFeedUrl(rt, input.url);
  const f = await writeOr('Feed', 'a feed with this URL already exists', () =>
    rt.prisma.feed.create({
      data: {
        url: input.url,
        name: input.name,
        language: input.language ?? 'en',
        pollIntervalSec: input.pollIntervalSec ?? 300,
      },
    }),
  );
  return feedView(f, 0);
}

export async function updateFeed(rt: Runtime, id: string, input: z.infer<typeof feedUpdateSchema>) {
  if (Object.keys(input).length === 0)
    throw new ValidationError('Nothing to change', [{ path: '', message: 'give at least one field' }]);
  const f = await writeOr('Feed', '', () =>
    rt.prisma.feed.update({
      where: { id },
      data: {
        ...input,
        // Re-enabling a failing feed starts over: the poller fetches it at the next round.
        ...(input.enabled === true ? { consecutiveFailures: 0, nextFetchAt: null } : {}),
      },
    }),
  );
  return feedView(f);
}

/** Deletes a feed; its news items (and their instrument tags) go with it (ON DELETE CASCADE). */
export async function deleteFeed(rt: Runtime, id: string): Promise<void> {
  const r = await rt.prisma.feed.deleteMany({ where: { id } });
  if (r.count === 0) throw new NotFoundError('Feed');
}
