/**
 * The Done-when through the worker's own loop pieces, on a replay of intraday recordings
 * (PRICE_SOURCE=replay: with the synthetic AMZN capex evening and its news): price tick (quotes,
 * daily history and intraday bars from the replay source into Postgres), the replayed news stored
 * as the clock passes its publication, and the evaluation cycle, every 5 replay minutes. The
 * default (seed) rules fire that evening and are stored as alerts; a calm recording with a
 * matching headline raises nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FixedClock } from '@signals/core';
import { createIntradayStore, createPriceStore, type PrismaClient } from '@signals/db';
import { createIntradayIngestor, createPriceIngestor, ReplayPriceSource } from '@signals/market-data';
import { createQueues, createRedis } from '@signals/queue';
import {
  captureLogger,
  createTestDb,
  intradayFixturePath,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
} from '@signals/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSeeds } from '../../../seeds/index.ts';
import { runEvaluationCycle } from '../src/jobs/evaluate.ts';
import { priceTick } from '../src/jobs/ingest.ts';
import { loadReplayNews, replayNewsTick } from '../src/jobs/replay-news.ts';
import { silent } from './helpers.ts';

async function replay(prisma: PrismaClient, file: string, from: string, to: string) {
  const redis = createRedis(TEST_REDIS_URL, 'producer');
  const prefix = testPrefix('intraday-replay');
  // A producer connection does not queue commands while it connects: wait for it.
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  const queues = createQueues(redis, prefix);
  try {
    const clock = new FixedClock(new Date(from));
    const source = await ReplayPriceSource.fromPath(file, { clock });
    const store = createPriceStore(prisma);
    const prices = createPriceIngestor({ source, store, clock, logger: silent });
    const intraday = createIntradayIngestor({
      source,
      store: { ...createIntradayStore(prisma), recordSourceEvent: store.recordSourceEvent },
      clock,
      logger: silent,
    });
    const news = loadReplayNews(file);
    expect(news.length).toBeGreaterThan(0);
    const deps = { prisma, redis, queues, clock, logger: silent, prefix };
    for (let t = Date.parse(from); t <= Date.parse(to); t += 300_000) {
      clock.set(new Date(t));
      await replayNewsTick({ prisma, clock, logger: silent }, file, news);
      await priceTick(deps, prices, { openMs: 60_000, closedMs: 60_000, force: true, intraday, extendedHours: true });
      await runEvaluationCycle({ prisma, queues, clock, logger: silent, emailGroupWaitMs: 0, staleAfterMs: 1e15 });
    }
  } finally {
    await queues.close();
    redis.disconnect();
  }
}

describe('recorded news files', () => {
  it('a malformed news file is skipped with a warning naming it, a bad item with one naming the file and the item; the good items load', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-news-'));
    try {
      fs.copyFileSync(
        intradayFixturePath('AMZN-5m-2025-02-14-capex-postmarket.news.json'),
        path.join(dir, 'a.news.json'),
      );
      fs.writeFileSync(path.join(dir, 'b.news.json'), '[{"title": "no time"}');
      fs.writeFileSync(
        path.join(dir, 'c.news.json'),
        '[{"title": "no time"}, {"id": "c2", "title": "Amazon capex", "publishedAt": "2025-02-14T21:00:00Z"}]',
      );
      fs.writeFileSync(path.join(dir, 'd.news.json'), '{"title": "not a list"}');
      const log = captureLogger();
      const items = loadReplayNews(dir, log);
      expect(items.map((n) => n.id).sort()).toEqual(['c2', 'syn-amzn-capex']);
      expect(log.find('warn', /not JSON/).map((l) => String(l.obj.file))).toEqual([path.join(dir, 'b.news.json')]);
      expect(log.find('warn', /not a news recording/).map((l) => String(l.obj.file))).toEqual([
        path.join(dir, 'd.news.json'),
      ]);
      expect(log.find('warn', /bad news item/).map((l) => [String(l.obj.file), String(l.obj.err)])).toEqual([
        [
          path.join(dir, 'c.news.json'),
          'c.news.json: item 1 ("no time"): publishedAt: must be an ISO timestamp, e.g. 2025-01-29T21:05:00Z',
        ],
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});

describe('replay of intraday recordings through the worker', () => {
  // A seeded database per test: each replay's news, bars and alerts are its own (any order, alone).
  let db: TestDb;
  beforeEach(async () => {
    db = await createTestDb();
    await loadSeeds(db.prisma, { feeds: [] });
  });
  afterEach(async () => {
    await db?.drop();
  });

  it('AMZN capex evening: the capex seed rules fire after hours, the news+price rule with the replayed news', async () => {
    // From 14:30 New York to 19:30 (post-market) on the Friday of the recording.
    await replay(
      db.prisma,
      intradayFixturePath('AMZN-5m-2025-02-14-capex-postmarket.json'),
      '2025-02-14T19:30:00Z',
      '2025-02-15T00:30:00Z',
    );
    const alerts = await db.prisma.alert.findMany({ include: { rule: { select: { seedId: true } } } });
    const bySeed = new Map(alerts.map((a) => [a.rule.seedId, a]));
    expect([...bySeed.keys()].sort()).toEqual([
      'amzn-capex-drop-early',
      'amzn-capex-drop-historic',
      'capex-news-punished',
    ]);
    for (const a of alerts) {
      expect(a.subject).toBe('AMZN');
      // Fired after the close (21:00Z) and the 21:08Z news, that evening.
      expect(a.firedAt.getTime()).toBeGreaterThan(Date.parse('2025-02-14T21:08:00Z'));
      expect(a.firedAt.getTime()).toBeLessThan(Date.parse('2025-02-15T01:00:00Z'));
    }
    expect(bySeed.get('amzn-capex-drop-historic')?.dedupKey).toMatch(/:AMZN:2025-02-18$/);
    // The post-market bars and the post-market quote fields were stored on the way.
    expect(await db.prisma.intradayBar.count({ where: { session: 'post' } })).toBeGreaterThan(30);
    expect(await db.prisma.quoteSnapshot.count({ where: { postMarketPrice: { not: null } } })).toBeGreaterThan(30);
    const item = await db.prisma.newsItem.findFirst({ include: { instruments: true } });
    expect(item?.firstSeenAt.toISOString()).toBe('2025-02-14T21:08:00.000Z');
    expect(item?.instruments).toHaveLength(1);
  }, 120_000);

  it('calm control: MSFT with a capex headline after the close raises nothing', async () => {
    await replay(
      db.prisma,
      intradayFixturePath('MSFT-5m-2021-06-07-calm.json'),
      '2021-06-08T19:30:00Z',
      '2021-06-09T00:30:00Z',
    );
    expect(
      await db.prisma.newsItem.count({ where: { title: { startsWith: 'Microsoft keeps capital expenditure' } } }),
    ).toBe(1);
    // The replay ran: the evening's bars of the calm recording were stored.
    const msft = await db.prisma.instrument.findUnique({ where: { symbol: 'MSFT' } });
    expect(
      await db.prisma.intradayBar.count({
        where: { instrumentId: msft?.id, session: 'post', ts: { gte: new Date('2021-06-08T20:00:00Z') } },
      }),
    ).toBeGreaterThan(40);
    expect(await db.prisma.alert.count()).toBe(0);
  }, 120_000);
});
