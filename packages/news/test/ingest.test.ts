import fs from 'node:fs';
import { FixedClock } from '@signals/core';
import { createNewsStore, type PrismaClient } from '@signals/db';
import { createTestDb, fixturePath, startFeedServer, type FeedServer, type TestDb } from '@signals/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNewsIngestor } from '../src/index.ts';
import { captureLogger } from './helpers.ts';

let db: TestDb;
let prisma: PrismaClient;
let server: FeedServer;

beforeAll(async () => {
  db = await createTestDb();
  prisma = db.prisma;
  server = await startFeedServer();
  await prisma.instrument.createMany({
    data: [
      { symbol: 'NVDA', name: 'NVIDIA Corporation', aliases: ['Nvidia'] },
      { symbol: 'MSFT', name: 'Microsoft Corporation' },
      { symbol: 'META', name: 'Meta Platforms, Inc.' },
      { symbol: 'NOW', name: 'ServiceNow, Inc.' },
    ],
  });
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});
beforeEach(() => server.clearFaults());

const rss = (items: Array<{ guid: string; title: string; description: string }>) =>
  `<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Markets</title><link>https://example.test/</link>${items
    .map(
      (i) =>
        `<item><guid>${i.guid}</guid><title>${i.title}</title><description>${i.description}</description><pubDate>Mon, 27 Jan 2025 15:00:00 GMT</pubDate></item>`,
    )
    .join('')}</channel></rss>`;

let n = 0;
async function newFeed(path: string) {
  return prisma.feed.create({ data: { url: `${server.url}${path}`, name: `feed ${++n}`, pollIntervalSec: 300 } });
}
function setup() {
  const clock = new FixedClock(new Date('2025-01-27T16:00:00Z'));
  const logger = captureLogger();
  const ingestor = createNewsIngestor({
    store: createNewsStore(prisma),
    clock,
    logger,
    // The local feed server is on 127.0.0.1: allowed as FEED_ALLOWED_CIDRS would.
    fetchOptions: { timeoutMs: 2000, maxBytes: 512 * 1024, allowedCidrs: ['127.0.0.1/32'] },
  });
  return { clock, logger, ingestor };
}
const itemCount = (feedId: string) => prisma.newsItem.count({ where: { feedId } });

/** A good poll of a dynamic feed, then the fault: nothing new is stored, the feed state shows it. */
async function faultCase(path: string, fault: Parameters<FeedServer['setFault']>[1], kind: string) {
  server.setFeed(path, rss([{ guid: 'a1', title: 'Nvidia rallies', description: 'Chips up' }]));
  const feed = await newFeed(path);
  const { ingestor, logger, clock } = setup();
  const ok = await ingestor.pollFeed(feed);
  expect(ok.newItems).toHaveLength(1);
  server.setFault(path, fault);
  clock.advance(301_000);
  const r = await ingestor.pollFeed(feed);
  expect(r.error?.kind).toBe(kind);
  expect(r.newItems).toEqual([]);
  expect(await itemCount(feed.id)).toBe(1);
  const lines = logger.find('warn', new RegExp(`feed fetch failed \\(${kind}\\)`));
  expect(lines).toHaveLength(1);
  expect(lines[0]?.obj.url).toBe(feed.url);
  const st = await prisma.feed.findUniqueOrThrow({ where: { id: feed.id } });
  expect(st.lastError).toMatch(new RegExp(`feed_${kind}`));
  expect(st.consecutiveFailures).toBe(1);
  expect(st.lastErrorAt?.toISOString()).toBe(clock.now().toISOString());
  expect(st.lastSuccessAt?.getTime()).toBeLessThan(clock.now().getTime());
  expect(st.nextFetchAt?.getTime()).toBe(clock.now().getTime() + 600_000); // 300 s * 2^1
  expect(st.itemsSeen).toBe(1);
  return { feed, ingestor, clock, st };
}

describe('news ingestion', () => {
  it('stores new items with dedup keys, topics and instrument tags', async () => {
    const feed = await newFeed('/feeds/guardian.rss');
    const { ingestor, logger } = setup();
    const r = await ingestor.pollFeed(feed);
    expect(r.error).toBeUndefined();
    expect(r.newItems).toHaveLength(55);
    expect(await itemCount(feed.id)).toBe(55);
    const st = await prisma.feed.findUniqueOrThrow({ where: { id: feed.id } });
    expect(st.itemsSeen).toBe(55);
    expect(st.etag).toBeTruthy();
    expect(st.lastSuccessAt).not.toBeNull();
    expect(logger.find('info', /feed polled: 55 new, 0 updated of 55/)).toHaveLength(1);
    const keys = await prisma.newsItem.findMany({ where: { feedId: feed.id }, select: { dedupKey: true } });
    expect(new Set(keys.map((k) => k.dedupKey)).size).toBe(55);
  });

  it('tags stored items with instruments and topics (German and English)', async () => {
    server.setFeed(
      '/dyn/de.rss',
      rss([
        { guid: 'de1', title: 'Deepseek-Schock: Nvidia verliert 17 Prozent', description: 'Ausverkauf bei KI-Werten' },
        {
          guid: 'de2',
          title: 'Meta und Microsoft legen Quartalszahlen vor',
          description: 'Die Investitionspläne bleiben',
        },
        { guid: 'de3', title: 'Why now is the time to rethink tech', description: 'A short essay' },
      ]),
    );
    const feed = await newFeed('/dyn/de.rss');
    const { ingestor } = setup();
    const r = await ingestor.pollFeed(feed);
    const byGuid = Object.fromEntries(r.newItems.map((i) => [i.guid, i]));
    expect(byGuid.de1?.symbols).toEqual(['NVDA']);
    expect(byGuid.de1?.topics.sort()).toEqual(['ai', 'deepseek', 'selloff']);
    expect(byGuid.de2?.symbols.sort()).toEqual(['META', 'MSFT']);
    expect(byGuid.de2?.topics.sort()).toEqual(['capex', 'earnings']);
    expect(byGuid.de3?.symbols).toEqual([]);
    const tags = await prisma.newsItemInstrument.findMany({
      where: { newsItemId: byGuid.de2?.id },
      include: { instrument: true },
    });
    expect(tags.map((t) => t.instrument.symbol).sort()).toEqual(['META', 'MSFT']);
    expect(tags.find((t) => t.instrument.symbol === 'META')?.matched).toBe('Meta');
  });

  it('304 not modified: conditional GET, nothing new, feed state still a success', async () => {
    const feed = await newFeed('/feeds/heise.atom');
    const { ingestor, clock } = setup();
    expect((await ingestor.pollFeed(feed)).newItems).toHaveLength(15);
    clock.advance(301_000);
    server.resetRequests();
    const r = await ingestor.pollFeed(feed);
    expect(r.notModified).toBe(true);
    expect(r.newItems).toEqual([]);
    expect(server.requests[0]?.headers['if-none-match']).toBeTruthy();
    expect(server.requests[0]?.status).toBe(304);
    const st = await prisma.feed.findUniqueOrThrow({ where: { id: feed.id } });
    expect(st.lastSuccessAt?.toISOString()).toBe(clock.now().toISOString());
    expect(st.itemsSeen).toBe(15);
    expect(await itemCount(feed.id)).toBe(15);
  });

  it('an edited item updates the stored row and does not count as new', async () => {
    server.setFeed(
      '/dyn/edit.rss',
      rss([
        { guid: 'e1', title: 'Nvidia falls', description: 'first version' },
        { guid: 'e2', title: 'Microsoft steady', description: 'unchanged' },
      ]),
    );
    const feed = await newFeed('/dyn/edit.rss');
    const { ingestor, clock } = setup();
    expect((await ingestor.pollFeed(feed)).newItems).toHaveLength(2);
    const before = await prisma.newsItem.findFirstOrThrow({ where: { feedId: feed.id, guid: 'e1' } });
    server.setFeed(
      '/dyn/edit.rss',
      rss([
        {
          guid: 'e1',
          title: 'Nvidia falls 17% as Deepseek spooks investors',
          description: 'updated with Meta reaction',
        },
        { guid: 'e2', title: 'Microsoft steady', description: 'unchanged' },
      ]),
    );
    clock.advance(301_000);
    const r = await ingestor.pollFeed(feed);
    expect(r.newItems).toEqual([]);
    expect(r.updatedItems.map((i) => i.guid)).toEqual(['e1']);
    expect(r.updatedItems[0]?.symbols.sort()).toEqual(['META', 'NVDA']);
    const after = await prisma.newsItem.findFirstOrThrow({ where: { feedId: feed.id, guid: 'e1' } });
    expect(after.id).toBe(before.id);
    expect(after.title).toBe('Nvidia falls 17% as Deepseek spooks investors');
    expect(after.contentHash).not.toBe(before.contentHash);
    expect(after.firstSeenAt.toISOString()).toBe(before.firstSeenAt.toISOString());
    expect(after.topics).toContain('deepseek');
    expect(await itemCount(feed.id)).toBe(2);
    expect((await prisma.feed.findUniqueOrThrow({ where: { id: feed.id } })).itemsSeen).toBe(2);
    expect(await prisma.newsItemInstrument.count({ where: { newsItemId: after.id } })).toBe(2);
  });

  it('the non-UTF-8 feed (encoding.rss) is stored decoded', async () => {
    const feed = await newFeed('/feeds/encoding.rss?charset=none');
    const { ingestor } = setup();
    const r = await ingestor.pollFeed(feed);
    expect(r.newItems.length).toBeGreaterThan(0);
    const titles = (
      await prisma.newsItem.findMany({ where: { feedId: feed.id }, select: { title: true, summary: true } })
    )
      .map((t) => `${t.title} ${t.summary ?? ''}`)
      .join(' ');
    expect(titles).not.toContain('\uFFFD');
    expect(titles).toMatch(/[ãçéíóúâê]/);
  });

  it('a feed over the size cap: nothing stored, feed state shows it', async () => {
    await faultCase('/dyn/oversize.rss', 'oversize', 'too_large');
  });

  it('a redirect loop: nothing stored, feed state shows it', async () => {
    await faultCase('/dyn/loop.rss', 'redirect-loop', 'redirect_loop');
  });

  it('a feed that turned into HTML: nothing stored, old items kept, feed state shows it', async () => {
    await faultCase('/dyn/html.rss', 'html', 'not_a_feed');
  });

  it('backs off exponentially while failing and recovers on success', async () => {
    const { feed, ingestor, clock } = await faultCase('/dyn/down.rss', '500', 'http_status');
    // Before nextFetchAt the feed is not fetched at all.
    server.resetRequests();
    const skipped = await ingestor.pollFeed(feed);
    expect(skipped.skipped).toBe('backoff');
    expect(server.count()).toBe(0);
    clock.advance(600_000);
    await ingestor.pollFeed(feed);
    let st = await prisma.feed.findUniqueOrThrow({ where: { id: feed.id } });
    expect(st.consecutiveFailures).toBe(2);
    expect(st.nextFetchAt?.getTime()).toBe(clock.now().getTime() + 1_200_000);
    server.clearFaults();
    clock.advance(1_200_000);
    const ok = await ingestor.pollFeed(feed);
    expect(ok.error).toBeUndefined();
    st = await prisma.feed.findUniqueOrThrow({ where: { id: feed.id } });
    expect(st.consecutiveFailures).toBe(0);
    expect(st.lastError).toBeNull();
    expect(st.nextFetchAt?.getTime()).toBe(clock.now().getTime() + 300_000);
  });

  it('every recorded feed ingests without a crash', async () => {
    const { ingestor } = setup();
    for (const f of fs.readdirSync(fixturePath('rss')).filter((x) => /\.(rss|atom)$/.test(x))) {
      const feed = await newFeed(`/feeds/${f}?pass=all`);
      const r = await ingestor.pollFeed(feed);
      if (f === 'unrecognized.rss') expect(r.error?.kind).toBe('not_a_feed');
      else expect(r.error).toBeUndefined();
    }
  });
});
