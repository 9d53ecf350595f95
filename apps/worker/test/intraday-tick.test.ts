/**
 * The worker's price tick with intraday bars and extended hours: on the results evening (post-
 * market) it polls quotes at the open cadence and stores the completed 5m bars, pre/post included,
 * from the local Yahoo server (yahoo-finance2's real chart() path, the shared Redis budget).
 */
import { FixedClock } from '@signals/core';
import { createIntradayStore, createPriceStore } from '@signals/db';
import {
  createIntradayIngestor,
  createPriceIngestor,
  RedisRequestBudget,
  YahooPriceSource,
} from '@signals/market-data';
import {
  createTestDb,
  intradayFixturePath,
  startSmtpSink,
  startYahooServer,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
} from '@signals/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priceTick } from '../src/jobs/ingest.ts';
import { silent, startHarness } from './helpers.ts';

describe('price tick: intraday bars and extended hours', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('in post-market: polls at the open cadence, backfills then updates 5m bars; without extended hours it waits', async () => {
    const sink = await startSmtpSink();
    const server = await startYahooServer({
      intradayCharts: [intradayFixturePath('MSFT-5m-2025-01-29-capex-postmarket.json')],
    });
    const prefix = testPrefix('intraday-tick');
    const h = await startHarness({ prisma: db.prisma, prefix, smtpUrl: sink.url });
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const wl = await db.prisma.watchlist.create({ data: { slug: 'ai', name: 'AI' } });
      const msft = await db.prisma.instrument.create({ data: { symbol: 'MSFT' } });
      await db.prisma.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: msft.id } });

      // 16:42 New York on 2025-01-29: post-market.
      const clock = new FixedClock(new Date('2025-01-29T21:42:00Z'));
      const budget = new RedisRequestBudget({ redis, prefix, limit: 100, clock });
      const source = new YahooPriceSource({ baseUrl: server.url, clock, budget, retry: { attempts: 1 } });
      const prices = createPriceIngestor({ source, store: createPriceStore(db.prisma), clock, logger: silent });
      const intraday = createIntradayIngestor({
        source,
        store: { ...createIntradayStore(db.prisma), recordSourceEvent: createPriceStore(db.prisma).recordSourceEvent },
        clock,
        logger: silent,
      });
      const deps = { prisma: db.prisma, redis, queues: h.queues, clock, logger: silent, prefix };
      const opts = { openMs: 60_000, closedMs: 1_800_000, intraday, extendedHours: true };

      const first = await priceTick(deps, prices, opts);
      expect(first).toMatchObject({ polled: true });
      const stored = await db.prisma.intradayBar.count({ where: { instrumentId: msft.id, interval: '5m' } });
      expect(stored).toBeGreaterThan(300);
      const postToday = () =>
        db.prisma.intradayBar.count({ where: { session: 'post', ts: { gte: new Date('2025-01-29T21:00:00Z') } } });
      expect(await postToday()).toBe(8); // 16:00 .. 16:35 (the 16:40 bar is still forming)

      // A minute later: due again in post-market (open cadence), one more 5m bar is complete at 16:45.
      clock.set(new Date('2025-01-29T21:45:00Z'));
      const second = await priceTick(deps, prices, opts);
      expect(second).toMatchObject({ polled: true, intradayBars: 2 }); // the 16:35 bar re-read, 16:40 new
      expect(await postToday()).toBe(9);

      // Regular-session-only polling: closed after 16:00, so not due for PRICE_POLL_CLOSED_SEC.
      clock.set(new Date('2025-01-29T21:47:00Z'));
      const third = await priceTick(deps, prices, { ...opts, extendedHours: false });
      expect(third).toMatchObject({ polled: false, reason: 'not due' });
    } finally {
      redis.disconnect();
      await h.close();
      await server.close();
      await sink.close();
    }
  });
});
