import { CircuitOpenError, FixedClock, SourceUnavailableError } from '@signals/core';
import { createPriceStore, type PrismaClient } from '@signals/db';
import {
  createTestDb,
  startYahooServer,
  TEST_REDIS_URL,
  testPrefix,
  type TestDb,
  type YahooServer,
} from '@signals/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BudgetExhaustedError,
  CircuitBreaker,
  createPriceIngestor,
  RedisRequestBudget,
  YahooPriceSource,
} from '../src/index.ts';
import { captureLogger } from './helpers.ts';

let db: TestDb;
let prisma: PrismaClient;
let server: YahooServer;
let redis: Redis;

beforeAll(async () => {
  db = await createTestDb();
  prisma = db.prisma;
  server = await startYahooServer();
  redis = new Redis(TEST_REDIS_URL);
});
afterEach(() => server.clearFaults());
afterAll(async () => {
  await server?.close();
  redis?.disconnect();
  await db?.drop();
});

const syms = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `SYM${String(i + from).padStart(4, '0')}`);

describe('CircuitBreaker (unit)', () => {
  it('opens after the threshold, lets one trial through after the cooldown, closes on success', () => {
    const clock = new FixedClock(new Date('2025-01-01T00:00:00Z'));
    const b = new CircuitBreaker({ source: 'yahoo', failureThreshold: 2, cooldownMs: 60_000, clock });
    b.acquire();
    b.failure(new Error('x'));
    expect(b.state).toBe('closed');
    b.failure(new Error('y'));
    expect(b.state).toBe('open');
    expect(() => b.acquire()).toThrow(CircuitOpenError);
    clock.advance(60_000);
    expect(b.state).toBe('half_open');
    b.acquire(); // the trial
    expect(() => b.acquire()).toThrow(CircuitOpenError); // only one at a time
    b.failure(new Error('z'));
    expect(b.state).toBe('open');
    clock.advance(60_000);
    b.acquire();
    b.success();
    expect(b.state).toBe('closed');
  });
});

describe('circuit breaker over many symbols', () => {
  it('records exactly one degraded SourceEvent across 150 symbols and repeated polls, then one recovered', async () => {
    const clock = new FixedClock(new Date('2025-02-15T12:00:00Z'));
    const logger = captureLogger();
    const breaker = new CircuitBreaker({ source: 'yahoo', failureThreshold: 2, cooldownMs: 60_000, clock });
    const source = new YahooPriceSource({
      baseUrl: server.url,
      clock,
      logger,
      breaker,
      concurrency: 1,
      retry: { attempts: 1 },
    });
    const ingestor = createPriceIngestor({ source, store: createPriceStore(prisma), clock, logger });
    const symbols = syms(150);
    await prisma.instrument.createMany({ data: symbols.map((symbol) => ({ symbol })) });

    server.setFault('/v7/finance/quote', '500');
    server.resetRequests();
    const r1 = await ingestor.pollQuotes(symbols);
    expect(r1.breaker).toBe('open');
    expect(r1.saved).toBe(0);
    expect(server.count('/v7/finance/quote')).toBe(2); // third batch never sent
    expect(r1.failed.map((f) => f.code).sort()).toEqual(['circuit_open', 'source_unavailable', 'source_unavailable']);
    for (let i = 0; i < 3; i++) await ingestor.pollQuotes(symbols);
    expect(server.count('/v7/finance/quote')).toBe(2); // open circuit: nothing asked

    const degraded = await prisma.sourceEvent.findMany({ where: { source: 'yahoo', kind: 'degraded' } });
    expect(degraded).toHaveLength(1);
    expect(degraded[0]?.message).toMatch(/HTTP 500/);
    expect(logger.find('error', /yahoo degraded/)).toHaveLength(1);
    const stale = await prisma.instrument.count({ where: { symbol: { in: symbols }, freshness: 'stale' } });
    expect(stale).toBe(150);
    expect(await prisma.quoteSnapshot.count()).toBe(0);

    // A second ingestor (another worker) seeing the same open state does not record it again.
    const other = createPriceIngestor({ source, store: createPriceStore(prisma), clock, logger: captureLogger() });
    await other.pollQuotes(symbols.slice(0, 10));
    expect(await prisma.sourceEvent.count({ where: { kind: 'degraded' } })).toBe(1);

    server.clearFaults();
    clock.advance(61_000);
    const r2 = await ingestor.pollQuotes(symbols);
    expect(r2.breaker).toBe('closed');
    expect(r2.saved).toBe(150);
    expect(await prisma.sourceEvent.count({ where: { kind: 'recovered' } })).toBe(1);
    expect(await prisma.instrument.count({ where: { symbol: { in: symbols }, freshness: 'fresh' } })).toBe(150);
    await ingestor.pollQuotes(symbols);
    expect(await prisma.sourceEvent.count({ where: { kind: 'recovered' } })).toBe(1);
  });
});

describe('shared request budget in Redis', () => {
  it('limits the requests of all sources sharing the prefix, without retrying or tripping the breaker', async () => {
    const clock = new FixedClock(new Date('2025-02-15T12:00:00Z'));
    const prefix = testPrefix('budget');
    const limit = 8;
    const mk = () =>
      new YahooPriceSource({
        baseUrl: server.url,
        clock,
        batchSize: 10,
        retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
        budget: new RedisRequestBudget({ redis, prefix, limit, windowMs: 60_000, clock }),
      });
    const a = mk();
    const b = mk();
    server.resetRequests();
    const ra = await a.quotes(syms(100, 200)); // 10 batches wanted (+ the crumb step, unless yahoo-finance2 cached it)
    const crumbRequests = server.count('/quote/') + server.count('/v1/test/getcrumb');
    expect(server.count('/v7/finance/quote')).toBe(limit - crumbRequests);
    expect(ra.quotes.length).toBe((limit - crumbRequests) * 10);
    expect(ra.failures.every((f) => f.error instanceof BudgetExhaustedError)).toBe(true);
    expect(ra.failures).toHaveLength(10 - (limit - crumbRequests));
    await expect(b.quotes(syms(10, 400))).rejects.toBeInstanceOf(SourceUnavailableError);
    expect(server.count()).toBe(limit);
    expect(await new RedisRequestBudget({ redis, prefix, limit, clock }).used()).toBe(limit);
    expect(a.breaker.state).toBe('closed');

    // The next window has a fresh budget.
    clock.advance(60_000);
    const again = await b.quotes(syms(10, 400));
    expect(again.quotes).toHaveLength(10);
  });

  it('budget exhaustion during a poll marks the symbols stale with a clear reason', async () => {
    const clock = new FixedClock(new Date('2025-03-01T12:00:00Z'));
    const logger = captureLogger();
    const prefix = testPrefix('budget2');
    const budget = new RedisRequestBudget({ redis, prefix, limit: 0, clock });
    const source = new YahooPriceSource({ baseUrl: server.url, clock, budget, retry: { attempts: 3 } });
    const ingestor = createPriceIngestor({ source, store: createPriceStore(prisma), clock, logger });
    const symbols = syms(5, 600);
    await prisma.instrument.createMany({ data: symbols.map((symbol) => ({ symbol })) });
    server.resetRequests();
    const r = await ingestor.pollQuotes(symbols);
    expect(server.count()).toBe(0);
    expect(r.failed[0]?.error).toMatch(/budget exhausted/);
    expect(logger.find('warn', /request budget exhausted, not asked/)).toHaveLength(1);
    const i = await prisma.instrument.findUniqueOrThrow({ where: { symbol: 'SYM0600' } });
    expect(i.freshness).toBe('stale');
    expect(i.lastError).toMatch(/budget/);
  });
});
