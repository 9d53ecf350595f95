/**
 * News in a replay (PRICE_SOURCE=replay:<path>): the recorded news beside the price recordings
 * (`*.news.json` in the folder, or `<file>.news.json` beside a single file; see
 * fixtures/yahoo-intraday/README.md) is stored as the replay clock passes each item's publication
 * time, with firstSeenAt = publishedAt, so news and news+price rules meet the prices they moved.
 * Items go to one disabled feed ("replay:<path>") that no fetch ever polls; storing is idempotent.
 * Items without symbols or topics are tagged as the live news poller tags what it fetches (the same
 * tagger over the instruments stored: the watchlists' and the replayed symbols'); given tags are
 * kept (@signals/news recordedTags).
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Clock, type Logger, type NewsItem, readNewsRecording } from '@signals/core';
import { createNewsStore, type PrismaClient } from '@signals/db';
import { compileTagger, contentHash, recordedTags } from '@signals/news';

/**
 * The recorded news for a replay path (empty when there is none). A file that is not a news
 * recording is skipped with a warning naming it and the problem (as malformed charts are); a bad
 * item is skipped with a warning naming the file and the item, and the file's good items are kept.
 */
export function loadReplayNews(replayPath: string, logger?: Logger): NewsItem[] {
  const st = fs.statSync(replayPath);
  const files = st.isDirectory()
    ? fs
        .readdirSync(replayPath)
        .filter((f) => f.endsWith('.news.json'))
        .sort()
        .map((f) => path.join(replayPath, f))
    : [replayPath.replace(/\.json$/, '.news.json')].filter((f) => fs.existsSync(f));
  const out: NewsItem[] = [];
  for (const f of files) {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(f, 'utf8'));
    } catch (err) {
      logger?.warn({ file: f, err: (err as Error).message }, 'replay: skipping a news file that is not JSON');
      continue;
    }
    try {
      const r = readNewsRecording(json, path.basename(f));
      for (const why of r.rejected) logger?.warn({ file: f, err: why }, 'replay: skipping a bad news item');
      out.push(...r.items);
    } catch (err) {
      logger?.warn(
        { file: f, err: (err as Error).message },
        'replay: skipping a news file that is not a news recording',
      );
    }
  }
  return out.sort((a, b) => a.firstSeenAt.getTime() - b.firstSeenAt.getTime());
}

export interface ReplayNewsDeps {
  prisma: PrismaClient;
  clock: Clock;
  logger: Logger;
}

/**
 * Where a replay's news stands: items before `next` (of the list sorted by publication) are stored.
 * Without it every tick would store every item published so far again (idempotent, but a year of
 * news makes each tick slower and slower); with it a tick stores only what the clock just passed.
 */
export interface ReplayNewsCursor {
  next: number;
}

/** Stores the recorded items published up to the replay clock's now; returns how many were new. */
export async function replayNewsTick(
  d: ReplayNewsDeps,
  replayPath: string,
  items: readonly NewsItem[],
  cursor: ReplayNewsCursor = { next: 0 },
) {
  const now = d.clock.now().getTime();
  let end = cursor.next;
  while (end < items.length && (items[end] as NewsItem).firstSeenAt.getTime() <= now) end++;
  const due = items.slice(cursor.next, end);
  if (!due.length) return { newItems: 0 };
  const url = `replay:${replayPath}`;
  const feed = await d.prisma.feed.upsert({
    where: { url },
    create: { url, name: 'Replayed news', enabled: false },
    update: {},
    select: { id: true },
  });
  const store = createNewsStore(d.prisma);
  const known = await store.listInstruments();
  const instruments = new Map(known.map((i) => [i.symbol, i.id]));
  const tagger = compileTagger(known);
  let fresh = 0;
  // One call per publication time: each item is first seen when it was published.
  for (const n of due) {
    const tags = recordedTags(n, tagger);
    const r = await store.saveItems(
      feed.id,
      [
        {
          dedupKey: n.id,
          contentHash: contentHash(n),
          title: n.title,
          ...(n.summary !== undefined ? { summary: n.summary } : {}),
          ...(n.link !== undefined ? { link: n.link } : {}),
          ...(n.publishedAt !== undefined ? { publishedAt: n.publishedAt } : {}),
          topics: tags.topics,
          tags: tags.matches
            .filter((m) => instruments.has(m.symbol))
            .map((m) => ({ instrumentId: instruments.get(m.symbol) as string, symbol: m.symbol, matched: m.matched })),
        },
      ],
      n.firstSeenAt,
    );
    fresh += r.newItems.length;
  }
  // Only once all of them are stored: a failed tick is retried from the same item (saving is idempotent).
  cursor.next = end;
  if (fresh) d.logger.info({ newItems: fresh }, 'replay: recorded news published');
  return { newItems: fresh };
}
