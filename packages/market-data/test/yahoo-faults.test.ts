import { FixedClock, SchemaDriftError, SourceUnavailableError, UnknownSymbolError } from '@signals/core';
import { createPriceStore, type PrismaClient } from '@signals/db';
import { createTestDb, startYahooServer, type TestDb, type YahooServer } from '@signals/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExtendedCookieJar } from 'yahoo-finance2/lib/cookieJar';
import { getCrumbClear } from 'yahoo-finance2/lib/getCrumb';
import { CircuitBreaker, createPriceIngestor, YahooPriceSource } from '../src/index.ts';
import { captureLogger, fastRetry } from './helpers.ts';

const NOW = new Date('2025-02-15T12:00:00Z');
const SYMS = ['AAPL', 'AMZN'];

let db: TestDb;
let prisma: PrismaClient;
let server: YahooServer;

beforeAll(async () => {
  db = await createTestDb();
  prisma = db.prisma;
  server = await startYahooServer({ delisted: ['DEAD'] });
  await prisma.instrument.createMany({ data: [...SYMS, 'NOPE1', 'DEAD', 'NVDA'].map((symbol) => ({ symbol })) });
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});
beforeEach(() => {
  server.clearFaults();
});

function setup(opts: { timeoutMs?: number; breaker?: CircuitBreaker } = {}) {
  const clock = new FixedClock(NOW);
  const logger = captureLogger();
  const source = new YahooPriceSource({
    baseUrl: server.url,
    clock,
    logger,
    retry: fastRetry,
    timeoutMs: opts.timeoutMs ?? 5_000,
    breaker: opts.breaker ?? new CircuitBreaker({ source: 'yahoo', clock, failureThreshold: 100 }),
  });
  const store = createPriceStore(prisma);
  const ingestor = createPriceIngestor({ source, store, clock, logger });
  return { clock, logger, source, store, ingestor };
}

async function snapshotCount(): Promise<number> {
  return prisma.quoteSnapshot.count();
}
async function instrument(symbol: string) {
  return prisma.instrument.findUniqueOrThrow({ where: { symbol } });
}

/** A good poll first, so each fault test starts from fresh prices. */
async function freshBaseline() {
  const { ingestor } = setup();
  const r = await ingestor.pollQuotes(SYMS);
  expect(r.saved).toBe(2);
  for (const s of SYMS) expect((await instrument(s)).freshness).toBe('fresh');
  const aaplPrice = (await instrument('AAPL')).lastPrice?.toString();
  // A price must be there: "unchanged" below compares against it, and undefined === undefined.
  expect(aaplPrice).toMatch(/^\d+(\.\d+)?$/);
  return { snapshots: await snapshotCount(), aaplPrice: aaplPrice as string };
}

async function expectStaleNothingStored(
  before: { snapshots: number; aaplPrice: string },
  freshness: 'stale' | 'failed',
  errRe: RegExp,
) {
  expect(await snapshotCount()).toBe(before.snapshots);
  for (const s of SYMS) {
    const i = await instrument(s);
    expect(i.freshness).toBe(freshness);
    expect(i.lastError ?? '').toMatch(errRe);
  }
  expect((await instrument('AAPL')).lastPrice?.toString()).toBe(before.aaplPrice);
}

describe('YahooPriceSource over the local Yahoo server', () => {
  it('quotes known symbols through the real crumb step', async () => {
    // yahoo-finance2 keeps the crumb module-wide once any source fetched it (whichever test came
    // first): clear it, and use a server of its own, so this test sees the whole crumb step.
    await getCrumbClear(new ExtendedCookieJar());
    const own = await startYahooServer();
    try {
      const source = new YahooPriceSource({ baseUrl: own.url, clock: new FixedClock(NOW), retry: fastRetry });
      const b = await source.quotes(['aapl', 'SYM0007']);
      expect(b.quotes.map((q) => q.symbol).sort()).toEqual(['AAPL', 'SYM0007']);
      expect(b.quotes.find((q) => q.symbol === 'AAPL')?.price).toBe(244.6);
      expect(own.requests.map((r) => r.path)).toEqual(['/quote/AAPL', '/v1/test/getcrumb', '/v7/finance/quote']);
    } finally {
      await own.close();
    }
  });

  it('asks for at most 50 symbols per quote request', async () => {
    const { source } = setup();
    const syms = Array.from({ length: 120 }, (_, i) => `SYM${String(i + 1).padStart(4, '0')}`);
    server.resetRequests();
    const b = await source.quotes(syms);
    expect(b.quotes).toHaveLength(120);
    const sizes = server.requests
      .filter((r) => r.path === '/v7/finance/quote')
      .map((r) => (r.query.symbols ?? '').split(',').length);
    expect(sizes.sort((a, c) => a - c)).toEqual([20, 50, 50]);
  });
});

describe('faults: no crash, a clear log line, nothing stored, freshness shows it', () => {
  it('429 with an HTML body: retried with backoff, then stale', async () => {
    const before = await freshBaseline();
    const { ingestor, logger } = setup();
    server.setFault('/v7/finance/quote', '429');
    server.resetRequests();
    const r = await ingestor.pollQuotes(SYMS);
    expect(r.saved).toBe(0);
    expect(r.failed[0]?.code).toBe('source_unavailable');
    expect(r.failed[0]?.error).toMatch(/HTTP 429/);
    expect(server.count('/v7/finance/quote')).toBe(fastRetry.attempts);
    expect(logger.find('warn', /quotes failed for 2 symbols.*HTTP 429/).length).toBe(1);
    await expectStaleNothingStored(before, 'stale', /HTTP 429/);
  });

  it('500: stale, nothing stored', async () => {
    const before = await freshBaseline();
    const { ingestor, logger } = setup();
    server.setFault('/v7/finance/quote', '500');
    const r = await ingestor.pollQuotes(SYMS);
    expect(r.failed[0]?.error).toMatch(/HTTP 500/);
    expect(logger.find('warn', /source unavailable.*HTTP 500/).length).toBe(1);
    await expectStaleNothingStored(before, 'stale', /HTTP 500/);
  });

  it('a request hanging past the timeout is aborted: stale, nothing stored', async () => {
    const before = await freshBaseline();
    const { ingestor, logger } = setup({ timeoutMs: 300 });
    server.setFault('/v7/finance/quote', 'hang');
    const r = await ingestor.pollQuotes(SYMS);
    expect(r.failed[0]?.error).toMatch(/timeout after 300 ms/);
    expect(logger.find('warn', /timeout after 300 ms/).length).toBeGreaterThanOrEqual(1);
    await expectStaleNothingStored(before, 'stale', /timeout/);
  });

  it('malformed JSON: schema drift recorded with the raw payload, marked failed', async () => {
    const before = await freshBaseline();
    const { ingestor, logger } = setup();
    server.setFault('/v7/finance/quote', 'malformed-json');
    const r = await ingestor.pollQuotes(SYMS);
    expect(r.failed[0]?.code).toBe('schema_drift');
    expect(logger.find('error', /schema drift/).length).toBe(1);
    const ev = await prisma.sourceEvent.findFirstOrThrow({ where: { kind: 'schema_drift' }, orderBy: { id: 'desc' } });
    expect(JSON.stringify(ev.payload)).toContain('regularMarketPrice');
    await expectStaleNothingStored(before, 'failed', /schema_drift/);
  });

  it('an answer without prices stores nothing and marks the symbols stale', async () => {
    const before = await freshBaseline();
    const { ingestor, logger } = setup();
    server.setFault('/v7/finance/quote', 'quote-no-price');
    const r = await ingestor.pollQuotes(SYMS);
    expect(r.saved).toBe(0);
    expect(r.missingPrice.sort()).toEqual(SYMS);
    expect(r.unknown).toEqual([]);
    expect(logger.find('warn', /answer without a price for AAPL, AMZN: nothing stored/)).toHaveLength(1);
    await expectStaleNothingStored(before, 'stale', /without a price/);
  });

  for (const fault of ['chart-notimestamp-quotes-length', 'chart-notimestamp-weird-quote'] as const) {
    it(`${fault}: history sync stores no bars, drift recorded, marked failed`, async () => {
      const { ingestor, logger } = setup();
      server.setFault('/v8/finance/chart/AAPL', fault);
      const driftBefore = await prisma.sourceEvent.count({ where: { kind: 'schema_drift' } });
      const r = await ingestor.syncHistory('AAPL');
      expect(r.status).toBe('error');
      expect(r.error).toBeInstanceOf(SchemaDriftError);
      expect(r.error?.message).toMatch(/No timestamp/);
      expect(logger.find('error', /schema drift \(history AAPL\)/).length).toBe(1);
      const aapl = await instrument('AAPL');
      expect(await prisma.priceBar.count({ where: { instrumentId: aapl.id } })).toBe(0);
      expect(aapl.freshness).toBe('failed');
      expect(aapl.lastError).toMatch(/schema_drift/);
      expect(await prisma.sourceEvent.count({ where: { kind: 'schema_drift' } })).toBe(driftBefore + 1);
      const ev = await prisma.sourceEvent.findFirstOrThrow({
        where: { kind: 'schema_drift' },
        orderBy: { id: 'desc' },
      });
      expect(JSON.stringify(ev.payload)).toContain('indicators');
    });
  }

  it('unknown and delisted symbols are reported, marked once, and not asked again', async () => {
    const { ingestor, logger } = setup();
    // Other tests record unknown symbols too (in any order): count this test's events.
    const events = async () => (await prisma.sourceEvent.count({ where: { kind: 'unknown_symbol' } })) - eventsBefore;
    const eventsBefore = await prisma.sourceEvent.count({ where: { kind: 'unknown_symbol' } });
    const r = await ingestor.pollQuotes(['AAPL', 'NOPE1', 'DEAD']);
    expect(r.unknown.sort()).toEqual(['DEAD', 'NOPE1']);
    expect(r.saved).toBe(1);
    expect(logger.find('warn', /unknown or delisted symbols: .*NOPE1/).length).toBe(1);
    const nope = await instrument('NOPE1');
    expect(nope.status).toBe('unknown');
    expect(nope.freshness).toBe('failed');
    expect(await events()).toBe(2);
    server.resetRequests();
    const again = await ingestor.pollQuotes(['AAPL', 'NOPE1', 'DEAD']);
    expect(again.skippedUnknown.sort()).toEqual(['DEAD', 'NOPE1']);
    const asked = server.requests.filter((x) => x.path === '/v7/finance/quote').map((x) => x.query.symbols);
    expect(asked).toEqual(['AAPL']);
    expect(await events()).toBe(2);
  });

  it('validateSymbol accepts a known symbol and throws UnknownSymbolError otherwise', async () => {
    const { source } = setup();
    await expect(source.validateSymbol('msft')).resolves.toMatchObject({ symbol: 'MSFT' });
    await expect(source.validateSymbol('NOPE2')).rejects.toBeInstanceOf(UnknownSymbolError);
    await expect(source.validateSymbol('DEAD')).rejects.toBeInstanceOf(UnknownSymbolError);
    await expect(source.validateSymbol('not a symbol!')).rejects.toBeInstanceOf(UnknownSymbolError);
    server.setFault('/v7/finance/quote', '500');
    await expect(source.validateSymbol('AAPL')).rejects.toBeInstanceOf(SourceUnavailableError);
  });

  it('an unknown chart symbol is reported as unknown, not as an outage', async () => {
    const { ingestor } = setup();
    await prisma.instrument.create({ data: { symbol: 'NOCHART' } });
    const r = await ingestor.syncHistory('NOCHART');
    expect(r.error).toBeInstanceOf(UnknownSymbolError);
    expect((await instrument('NOCHART')).status).toBe('unknown');
  });
});
