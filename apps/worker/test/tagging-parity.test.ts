/**
 * Issue 19 item 4, the tagging contract: the same raw headlines (title, link, time, as an RSS
 * archive gives them: no symbols, no topics) give the same alerts whether they came in through
 * live ingestion (the worker's news poller: fetch over a real socket, the live tagger, real
 * Postgres) or were replayed as a recording (`pnpm cli backtest --news`, a replay's *.news.json:
 * tagged by the same tagger, @signals/news tagRecordedNews). Both run through the one backtest
 * runner on the same recorded 5m bars of Amazon's capex evening (2025-02-14).
 */
import {
  dailyFromIntraday,
  FixedClock,
  intradayResolution,
  type NewsItem,
  parseNewsRecording,
  type RuleDefinition,
  runBacktestJob,
  validateRuleDefinition,
} from '@signals/core';
import { createIntradayStore, createNewsStore, createPriceStore, inclusiveRange, loadBacktestInput } from '@signals/db';
import { intradayFromRawChart } from '@signals/market-data';
import { createNewsIngestor, tagRecordedNews } from '@signals/news';
import { loadSeeds, seedRules } from '@signals/seeds';
import { createTestDb, type FeedServer, intradayFixture, startFeedServer, type TestDb } from '@signals/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The raw archive: what a feed gives, no tags. */
const RAW = [
  {
    title: 'Amazon plans $200 billion in capital expenditures this year, shares drop after hours',
    link: 'https://example.com/archive/amzn-capex',
    publishedAt: '2025-02-14T21:08:00.000Z',
  },
  {
    title: 'Central bank leaves rates unchanged',
    link: 'https://example.com/archive/rates',
    publishedAt: '2025-02-14T20:30:00.000Z',
  },
];

const rss = `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Archive</title><link>https://example.com/</link><description>raw</description>
${RAW.map((r) => `<item><title>${r.title.replace(/&/g, '&amp;')}</title><link>${r.link}</link><guid>${r.link}</guid><pubDate>${new Date(r.publishedAt).toUTCString()}</pubDate></item>`).join('\n')}
</channel></rss>`;

const RULES = ['capex-news-punished', 'amzn-capex-drop-early'];
function seedDefinitions(): RuleDefinition[] {
  return RULES.map((id) => {
    const seed = seedRules.find((s) => s.seedId === id);
    if (!seed) throw new Error(id);
    const { seedId, watchlist: _w, sourceArticle: _a, sourcePassage: _p, ...def } = seed;
    const v = validateRuleDefinition({ ...def, id: seedId });
    if (!v.ok) throw new Error(JSON.stringify(v.issues));
    return v.rule;
  });
}

let db: TestDb;
let feeds: FeedServer;
const amzn = intradayFromRawChart(intradayFixture('AMZN-5m-2025-02-14-capex-postmarket.json'));
const range = inclusiveRange('2025-02-14', '2025-02-14') as { from: Date; to: Date };

beforeAll(async () => {
  db = await createTestDb();
  feeds = await startFeedServer();
  await loadSeeds(db.prisma, { feeds: [] });
  const fetchedAt = new Date('2025-02-15T02:00:00Z');
  await createIntradayStore(db.prisma).saveIntradayBars({ symbol: 'AMZN', interval: '5m', bars: amzn.bars, fetchedAt });
  await createPriceStore(db.prisma).saveBars({
    symbol: 'AMZN',
    bars: dailyFromIntraday(amzn),
    fetchedAt,
    source: 'yahoo',
  });
});
afterAll(async () => {
  await feeds?.close();
  await db?.drop();
});

const key = (a: { rule: string; symbol: string; at: string }) => `${a.rule}|${a.symbol}|${a.at}`;

describe('news tagged the same everywhere', () => {
  it('raw headlines: live ingestion and a replayed recording give the same alerts', async () => {
    const rules = seedDefinitions();
    // Live: the poller fetches the feed over a socket and tags with the stored instruments.
    feeds.setFeed('/archive.rss', rss);
    const feed = await db.prisma.feed.create({ data: { url: `${feeds.url}/archive.rss`, name: 'Archive' } });
    const ingest = createNewsIngestor({
      store: createNewsStore(db.prisma),
      clock: new FixedClock(new Date('2025-02-14T21:09:00Z')),
      fetchOptions: { allowedCidrs: ['127.0.0.1/32'] },
    });
    const polled = await ingest.pollFeed(feed, { force: true });
    expect(polled.error).toBeUndefined();
    expect(polled.newItems).toHaveLength(2);
    const live = await loadBacktestInput(db.prisma, { rules, symbols: ['AMZN'], ...range });
    expect(live.resolution.interval).toBe('5m');
    const fromLive = runBacktestJob({
      rules,
      daily: live.histories,
      intraday: live.intraday,
      news: live.news,
      from: '2025-02-14',
      to: '2025-02-14',
      resolution: live.resolution,
    }).result.alerts.map(key);

    // Replayed: the same raw items as a recording, tagged against the watched instruments.
    const recorded: NewsItem[] = parseNewsRecording(RAW, 'archive.news.json');
    const known = await createNewsStore(db.prisma).listInstruments();
    const replay = (items: NewsItem[]) =>
      runBacktestJob({
        rules,
        daily: live.histories,
        intraday: [amzn],
        news: items,
        from: '2025-02-14',
        to: '2025-02-14',
        resolution: intradayResolution(rules, '5m', { requested: false, extended: true }),
      }).result.alerts.map(key);
    const tagged = tagRecordedNews(recorded, known);
    expect(tagged.tagged).toBe(1); // the capex story got AMZN and "capex"; the rates story nothing it could use
    expect(tagged.items[0]?.symbols).toEqual(['AMZN']);
    expect(tagged.items[0]?.topics).toContain('capex');
    const fromRecording = replay(tagged.items);

    expect(fromLive.some((k) => k.startsWith('capex-news-punished|AMZN|2025-02-14T2'))).toBe(true);
    expect(fromRecording).toEqual(fromLive);
    // Bypass the tagger and the news+price rule stays silent on the same items: the contract bites.
    const untagged = replay(recorded);
    expect(untagged.some((k) => k.startsWith('capex-news-punished'))).toBe(false);
  });
});
