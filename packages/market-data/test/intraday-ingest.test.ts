/**
 * Intraday storage and polling against real Postgres and Redis, with yahoo-finance2's real chart()
 * code path talking to the local Yahoo server (which serves the synthetic intraday recordings).
 */
import { FixedClock, type IntradayBar } from '@signals/core';
import { createIntradayStore, createPriceStore, type PrismaClient } from '@signals/db';
import {
  createTestDb,
  intradayFixture,
  intradayFixturePath,
  startYahooServer,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
  type YahooServer,
  yahooFixture,
} from '@signals/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createIntradayIngestor,
  intradayFromRawChart,
  mapQuotes,
  RedisRequestBudget,
  YahooPriceSource,
} from '../src/index.ts';
import { captureLogger } from './helpers.ts';

const CAPEX = 'MSFT-5m-2025-01-29-capex-postmarket';
const NULLS = 'MSFT-1m-2021-06-08-nulls';

let db: TestDb;
let prisma: PrismaClient;
let server: YahooServer;
let redis: Redis;

// A database per test: the tests count and prune bars, so none may see another's rows (the suite runs
// shuffled). Cloning the migrated template is cheap.
beforeEach(async () => {
  db = await createTestDb();
  prisma = db.prisma;
});
afterEach(async () => {
  server.clearFaults();
  await db?.drop();
});
beforeAll(async () => {
  server = await startYahooServer({
    intradayCharts: [intradayFixturePath(`${CAPEX}.json`), intradayFixturePath(`${NULLS}.json`)],
  });
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  await server?.close();
  redis?.disconnect();
});

function setup(at: string, opts: { limit?: number; intervals?: Array<'1m' | '5m'> } = {}) {
  const clock = new FixedClock(new Date(at));
  const logger = captureLogger();
  const budget = new RedisRequestBudget({ redis, prefix: testPrefix('intraday'), limit: opts.limit ?? 100, clock });
  const source = new YahooPriceSource({ baseUrl: server.url, clock, logger, budget, retry: { attempts: 1 } });
  const store = { ...createIntradayStore(prisma), recordSourceEvent: createPriceStore(prisma).recordSourceEvent };
  const ingestor = createIntradayIngestor({ source, store, clock, logger, intervals: opts.intervals ?? ['5m'] });
  return { clock, logger, budget, source, store, ingestor };
}

const chartRequests = () => server.requests.filter((r) => r.path.startsWith('/v8/finance/chart/')).length;

describe('intraday bars: backfill, polling, storage', () => {
  it('backfills when an instrument is first seen, then asks again only when a new bar has completed', async () => {
    // 16:42 New York on the results evening: post-market.
    const { clock, ingestor, store, budget } = setup('2025-01-29T21:42:00Z');
    server.resetRequests();
    const [first] = await ingestor.sync(['MSFT']);
    expect(first).toMatchObject({ status: 'ok', kind: 'backfill' });
    // Exactly one chart request, at 5m, with pre/post, reaching back 60 days at most.
    const req = server.requests.filter((r) => r.path === '/v8/finance/chart/MSFT');
    expect(req).toHaveLength(1);
    expect(req[0]?.query).toMatchObject({ interval: '5m', includePrePost: 'true' });
    expect(Number(req[0]?.query.period1)).toBeGreaterThanOrEqual(
      Date.parse('2025-01-29T21:42:00Z') / 1000 - 60 * 86_400,
    );
    expect(await budget.used()).toBeGreaterThanOrEqual(1);

    // Stored: every completed bar up to 16:40 (the 16:40 bar is still forming), float4-exact (real
    // columns read back as the shortest decimal of the float32: 434.56 for 434.55999755859375).
    const want = intradayFromRawChart(intradayFixture(`${CAPEX}.json`)).bars.filter(
      (b) => b.at.getTime() + 300_000 <= clock.now().getTime(),
    );
    const got = await store.loadIntradayBars('MSFT', '5m', new Date(0), new Date('2030-01-01'));
    expect(got).toHaveLength(want.length);
    expect(first?.bars).toBe(want.length);
    const f = Math.fround;
    const strip = (b: IntradayBar) => [
      b.at.toISOString(),
      f(b.open),
      f(b.high),
      f(b.low),
      f(b.close),
      b.volume,
      b.session,
    ];
    expect(got.map(strip)).toEqual(want.map(strip));
    expect(got.at(-1)?.at.toISOString()).toBe('2025-01-29T21:35:00.000Z');
    expect(got.filter((b) => b.session === 'post').length).toBeGreaterThan(0);

    // Two minutes later no bar has completed: no request.
    clock.set(new Date('2025-01-29T21:44:00Z'));
    server.resetRequests();
    expect((await ingestor.sync(['MSFT']))[0]?.status).toBe('not_due');
    expect(chartRequests()).toBe(0);
    // At 16:45 the 16:40 bar is complete: one request, the new bar stored (the last one re-read).
    clock.set(new Date('2025-01-29T21:45:00Z'));
    const [upd] = await ingestor.sync(['MSFT']);
    expect(upd).toMatchObject({ status: 'ok', kind: 'update' });
    expect(chartRequests()).toBe(1);
    expect((await store.intradayRange('MSFT', '5m'))?.to.toISOString()).toBe('2025-01-29T21:40:00.000Z');
  });

  it('one-minute bars with nulls: empty rows skipped with a log line, nothing invented', async () => {
    const { ingestor, store, logger } = setup('2021-06-08T21:00:00Z', { intervals: ['1m'] });
    const [r] = await ingestor.sync(['MSFT']);
    expect(r).toMatchObject({ status: 'ok', kind: 'backfill', droppedRows: 16 });
    const got = await store.loadIntradayBars(
      'MSFT',
      '1m',
      new Date('2021-06-08T00:00:00Z'),
      new Date('2021-06-09T00:00:00Z'),
    );
    expect(got).toHaveLength(375);
    expect(got.every((b) => b.close > 0 && b.session === 'regular')).toBe(true);
    expect(logger.find('info', /without a usable price/).length).toBeGreaterThan(0);
  });

  it('schema drift: recorded with the raw payload, the symbol skipped, stored bars kept', async () => {
    const { clock, ingestor, store } = setup('2025-01-29T21:42:00Z');
    // Its own stored bars: the results-evening backfill, then the next morning's update drifts.
    expect((await ingestor.sync(['MSFT']))[0]?.status).toBe('ok');
    clock.set(new Date('2025-01-30T15:00:00Z'));
    const before = (await store.loadIntradayBars('MSFT', '5m', new Date(0), new Date('2030-01-01'))).length;
    expect(before).toBeGreaterThan(0);
    server.setFault('/v8/finance/chart/MSFT', 'chart-notimestamp-quotes-length');
    const [r] = await ingestor.sync(['MSFT']);
    expect(r?.status).toBe('error');
    expect(r?.error?.code).toBe('schema_drift');
    const ev = await prisma.sourceEvent.findFirst({ where: { kind: 'schema_drift' }, orderBy: { id: 'desc' } });
    expect(ev?.message).toMatch(/intraday MSFT 5m/);
    expect(ev?.payload).not.toBeNull();
    expect((await store.loadIntradayBars('MSFT', '5m', new Date(0), new Date('2030-01-01'))).length).toBe(before);
  });

  it('inside the shared request budget: an exhausted budget stops the round without a request', async () => {
    const { ingestor, budget } = setup('2025-01-30T15:30:00Z', { limit: 1 });
    await budget.take(); // another worker used this minute's only request
    server.resetRequests();
    const out = await ingestor.sync(['MSFT', 'AAPL', 'NVDA']);
    expect(out).toHaveLength(1);
    expect(out[0]?.error?.code).toBe('source_unavailable');
    expect(chartRequests()).toBe(0);
  });

  it('an unknown symbol is asked once, then left alone for a day (no budget spent on it)', async () => {
    const { clock, ingestor } = setup('2025-01-30T15:30:00Z');
    server.resetRequests();
    expect((await ingestor.sync(['NOPE1']))[0]?.status).toBe('unknown');
    expect(chartRequests()).toBe(1);
    clock.advance(3_600_000);
    expect((await ingestor.sync(['NOPE1']))[0]?.status).toBe('unknown');
    expect(chartRequests()).toBe(1);
    clock.advance(24 * 3_600_000);
    await ingestor.sync(['NOPE1']);
    expect(chartRequests()).toBe(2);
  });

  it('retention: 5m bars older than 90 days are deleted, newer ones kept; 1m after 7 days', async () => {
    const { store, ingestor } = setup('2025-01-29T21:42:00Z');
    // Its own bars: the 2025 five-minute backfill and the 2021 one-minute one (375 usable rows).
    expect((await ingestor.sync(['MSFT']))[0]?.status).toBe('ok');
    const { ingestor: oneMinute } = setup('2021-06-08T21:00:00Z', { intervals: ['1m'] });
    expect((await oneMinute.sync(['MSFT']))[0]?.status).toBe('ok');
    const n5 = (await store.loadIntradayBars('MSFT', '5m', new Date(0), new Date('2030-01-01'))).length;
    expect(n5).toBeGreaterThan(0);
    const kept = await store.pruneIntraday(new Date('2025-04-28T00:00:00Z')); // 89 days after the first bar
    expect(kept['5m']).toBe(0);
    expect(kept['1m']).toBe(375); // 2021's one-minute bars are long past 7 days
    const gone = await store.pruneIntraday(new Date('2025-05-01T00:00:00Z'));
    expect(gone['5m']).toBe(n5);
    expect(await prisma.intradayBar.count()).toBe(0);
  });

  it("records Yahoo's extended-hours quote fields (postMarketPrice/Time) with the quote", async () => {
    const items = (yahooFixture('quote-AMZN.json').response.bodyJson as { quoteResponse: { result: unknown[] } })
      .quoteResponse.result;
    const { quotes } = mapQuotes(items, new Date('2025-02-15T00:00:00Z'));
    expect(quotes[0]).toMatchObject({ symbol: 'AMZN', postMarketPrice: 228.6 });
    expect(quotes[0]?.postMarketTime?.toISOString()).toBe('2025-02-15T00:59:54.000Z');
    expect(quotes[0]?.preMarketPrice).toBeUndefined();
    await createPriceStore(prisma).saveQuotes({ quotes, fetchedAt: new Date('2025-02-15T01:00:00Z'), source: 'yahoo' });
    const row = await prisma.quoteSnapshot.findFirst({ where: { instrument: { symbol: 'AMZN' } } });
    expect(Number(row?.postMarketPrice)).toBe(228.6);
    expect(row?.postMarketTime?.toISOString()).toBe('2025-02-15T00:59:54.000Z');
    expect(row?.preMarketPrice).toBeNull();
  });
});
