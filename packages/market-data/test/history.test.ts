import { FixedClock, UnknownSymbolError } from '@signals/core';
import { createPriceStore, type PrismaClient } from '@signals/db';
import {
  createTestDb,
  fixturePath,
  startYahooServer,
  type TestDb,
  type YahooServer,
  yahooFixture,
} from '@signals/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  acceleratedClock,
  heldAcceleratedClock,
  buildHistory,
  createPriceIngestor,
  createPriceSource,
  parseYahooChart,
  ReplayPriceSource,
  YahooPriceSource,
} from '../src/index.ts';
import { captureLogger } from './helpers.ts';

const NVDA_FILE = 'historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json';

let db: TestDb;
let prisma: PrismaClient;
let server: YahooServer;

beforeAll(async () => {
  server = await startYahooServer();
});
afterAll(async () => {
  await server?.close();
});
// A database per test (a template clone, ~100 ms): each test syncs what it needs, in any order.
beforeEach(async () => {
  db = await createTestDb();
  prisma = db.prisma;
});
afterEach(async () => {
  await db?.drop();
});

/** The first sync of NVDA's year, as of 1 February 2022 (what an incremental sync continues). */
async function backfillNvda() {
  const clock = new FixedClock(new Date('2022-02-01T12:00:00Z'));
  const source = new YahooPriceSource({ baseUrl: server.url, clock });
  const r = await createPriceIngestor({ source, store: createPriceStore(prisma), clock }).syncHistory('NVDA');
  expect(r.bars).toBe(252);
}

async function storedCloses(symbol: string) {
  const i = await prisma.instrument.findUniqueOrThrow({ where: { symbol } });
  const bars = await prisma.priceBar.findMany({ where: { instrumentId: i.id }, orderBy: { date: 'asc' } });
  return { instrument: i, bars, closes: bars.map((b) => Number(b.close)) };
}

function maxAbsDailyChange(closes: number[]): number {
  let m = 0;
  for (let i = 1; i < closes.length; i++)
    m = Math.max(m, Math.abs((closes[i] as number) / (closes[i - 1] as number) - 1));
  return m;
}

describe('daily history through chart()', () => {
  it('NVDA 2021 (4:1 split in July) backfills split-adjusted bars with no jump', async () => {
    const clock = new FixedClock(new Date('2022-02-01T12:00:00Z'));
    const logger = captureLogger();
    const source = new YahooPriceSource({ baseUrl: server.url, clock, logger });
    const ingestor = createPriceIngestor({ source, store: createPriceStore(prisma), clock, logger });
    server.resetRequests();
    const r = await ingestor.syncHistory('NVDA');
    expect(r.status).toBe('ok');
    expect(r.bars).toBe(252);
    // At least a year back on the first sync.
    const p1 = Number(server.requests.find((x) => x.path === '/v8/finance/chart/NVDA')?.query.period1);
    expect(clock.now().getTime() / 1000 - p1).toBeGreaterThanOrEqual(365 * 86400);
    const { instrument, bars, closes } = await storedCloses('NVDA');
    expect(bars).toHaveLength(252);
    expect(maxAbsDailyChange(closes)).toBeLessThan(0.3);
    const around = bars.filter((b) => b.date.toISOString() >= '2021-07-19' && b.date.toISOString() < '2021-07-22');
    expect(around.map((b) => b.date.toISOString().slice(0, 10))).toEqual(['2021-07-19', '2021-07-20', '2021-07-21']);
    expect(Number(around[1]?.close)).toBeCloseTo(18.612, 2);
    expect(bars[0]?.sourceAt.toISOString()).toBe('2021-02-01T14:30:00.000Z');
    expect(bars[0]?.fetchedAt.toISOString()).toBe(clock.now().toISOString());
    expect(instrument.historyFrom?.toISOString().slice(0, 10)).toBe('2021-02-01');
    expect(instrument.historyTo?.toISOString().slice(0, 10)).toBe('2022-01-28');
  });

  it('later syncs are incremental (a short window before the stored end)', async () => {
    await backfillNvda();
    const clock = new FixedClock(new Date('2022-02-02T12:00:00Z'));
    const source = new YahooPriceSource({ baseUrl: server.url, clock });
    const ingestor = createPriceIngestor({ source, store: createPriceStore(prisma), clock });
    server.resetRequests();
    const r = await ingestor.syncHistory('NVDA');
    expect(r.status).toBe('ok');
    const p1 = Number(server.requests.find((x) => x.path === '/v8/finance/chart/NVDA')?.query.period1);
    expect(new Date(p1 * 1000).toISOString().slice(0, 10)).toBe('2022-01-21'); // stored end 2022-01-28 minus 7 days
    expect(r.bars).toBeLessThan(10);
    expect((await storedCloses('NVDA')).bars).toHaveLength(252);
  });

  it('a split that appears after the stored range refetches the stored range (never a jump)', async () => {
    const symbol = 'NVDA';
    const clock = new FixedClock(new Date('2021-06-30T22:00:00Z'));
    const source = new YahooPriceSource({ baseUrl: server.url, clock });
    const ingestor = createPriceIngestor({ source, store: createPriceStore(prisma), clock });
    const first = await ingestor.syncHistory(symbol);
    expect(first.to).toBe('2021-06-30');
    clock.set(new Date('2022-02-01T12:00:00Z'));
    const second = await ingestor.syncHistory(symbol);
    expect(second.refetched).toBe(true);
    expect(second.from).toBe('2021-02-01');
    const { closes } = await storedCloses(symbol);
    expect(closes).toHaveLength(252);
    expect(maxAbsDailyChange(closes)).toBeLessThan(0.3);
  });

  it('adjusts a source that delivers unadjusted prices around a split', () => {
    const day = (d: string) => new Date(`${d}T14:30:00Z`);
    const h = buildHistory({
      symbol: 'X',
      rows: [
        { at: day('2021-07-16'), open: 740, high: 760, low: 730, close: 750, volume: 100 },
        { at: day('2021-07-19'), open: 748, high: 752, low: 744, close: 748, volume: 100 },
        { at: day('2021-07-20'), open: 186, high: 190, low: 185, close: 187, volume: 400 },
        { at: day('2021-07-21'), open: 187, high: 195, low: 186, close: null, volume: 400 },
      ],
      splits: [{ at: day('2021-07-20'), numerator: 4, denominator: 1 }],
    });
    expect(h.adjustedSplits).toEqual([{ date: '2021-07-20', ratio: 4 }]);
    expect(h.bars.map((b) => b.close)).toEqual([187.5, 187, 187]);
    expect(h.bars[0]?.volume).toBe(400);
    expect(h.droppedRows).toBe(1);
  });

  it('maps the MSFT and TSLA recordings without dropping bars', () => {
    const tsla = parseYahooChart(yahooFixture('historical-via-chart-dividends-TSLA-no-dividends.json'));
    expect(tsla.bars).toHaveLength(3303);
    expect(tsla.bars[0]?.date).toBe('2010-06-29');
    expect(tsla.bars.at(-1)?.date).toBe('2023-08-11');
  });
});

describe('ReplayPriceSource', () => {
  it('answers with the bar current at clock time and never reveals later bars', async () => {
    const clock = new FixedClock(new Date('2021-07-20T20:00:00Z'));
    const src = await ReplayPriceSource.fromPath(fixturePath('yahoo', NVDA_FILE), { clock });
    const b = await src.quotes(['NVDA', 'ZZZZ']);
    expect(b.unknown).toEqual(['ZZZZ']);
    expect(b.quotes[0]?.price).toBeCloseTo(18.612, 3);
    expect(b.quotes[0]?.prevClose).toBeCloseTo(18.7798, 3);
    expect(b.quotes[0]?.sourceAt.toISOString()).toBe('2021-07-20T20:00:00.000Z'); // the session close
    clock.set(new Date('2021-07-20T19:59:00Z')); // before the close: still the day before
    expect((await src.quotes(['NVDA'])).quotes[0]?.price).toBeCloseTo(18.7798, 3);
    clock.set(new Date('2021-07-20T20:00:00Z'));
    const h = await src.history('NVDA', new Date('2021-01-01'), new Date('2022-12-31'));
    expect(h.bars.at(-1)?.date).toBe('2021-07-20');
    expect(h.splits).toEqual([{ date: '2021-07-20', ratio: 4 }]);
    clock.set(new Date('2021-01-01T00:00:00Z'));
    expect((await src.quotes(['NVDA'])).quotes).toHaveLength(0);
    await expect(src.history('ZZZZ', new Date(0), new Date())).rejects.toBeInstanceOf(UnknownSymbolError);
  });

  it('a held replay clock stands at its start until released, then runs from there', () => {
    const base = new FixedClock(new Date('2030-01-01T00:00:00Z'));
    const start = new Date('2021-02-01T13:00:00Z');
    const clock = heldAcceleratedClock({ start, speed: 14_400, base });
    base.advance(60_000); // a slow start: 10 replayed days if the clock ran
    expect(clock.running).toBe(false);
    expect(clock.now().toISOString()).toBe(start.toISOString());
    clock.release();
    expect(clock.now().toISOString()).toBe(start.toISOString());
    base.advance(6_000); // one replayed day
    clock.release(); // a second release changes nothing
    expect(clock.now().toISOString()).toBe('2021-02-02T13:00:00.000Z');
    expect(clock.running).toBe(true);
  });

  it('runs on an accelerated clock and through the ingestor (PRICE_SOURCE=replay:<dir>)', async () => {
    const base = new FixedClock(new Date('2030-01-01T00:00:00Z'));
    const clock = acceleratedClock({ start: new Date('2021-07-19T21:00:00Z'), speed: 86_400, base });
    const logger = captureLogger();
    const src = await createPriceSource(`replay:${fixturePath('yahoo')}`, { clock, logger });
    expect(src.name).toBe('replay');
    // The folder holds chart-notimestamp-* fakes: skipped with a warning, not a crash.
    expect(logger.find('warn', /skipping a malformed chart/).length).toBe(2);
    const ingestor = createPriceIngestor({ source: src, store: createPriceStore(prisma), clock });
    const r1 = await ingestor.pollQuotes(['NVDA']);
    expect(r1.saved).toBe(1);
    const p1 = Number((await prisma.instrument.findUniqueOrThrow({ where: { symbol: 'NVDA' } })).lastPrice);
    base.advance(1000); // one replayed day
    await ingestor.pollQuotes(['NVDA']);
    const p2 = Number((await prisma.instrument.findUniqueOrThrow({ where: { symbol: 'NVDA' } })).lastPrice);
    expect(p1).toBeCloseTo(18.7798, 3);
    expect(p2).toBeCloseTo(18.612, 3);
  });
});
