/**
 * Price ingestion figures (issue 3):
 *   ingest.poll500.requests     quote requests for one poll cycle of 500 symbols (batches of 50)
 *   ingest.poll500.ms           wall time of that cycle, DB writes included (median of 5)
 *   ingest.tsla_history.ms      ingesting the 3,303-bar TSLA history into PriceBar (median of 5)
 *   ingest.tsla_history.peak_rss_mb  process RSS peak sampled while doing it
 * Against the local Yahoo server (real yahoo-finance2 code path), a fresh test database and Redis
 * (the shared request budget is on, as in production).
 */
import { FixedClock } from '@signals/core';
import { createPriceStore } from '@signals/db';
import { createPriceIngestor, RedisRequestBudget, YahooPriceSource } from '@signals/market-data';
import { createTestDb, startYahooServer, TEST_REDIS_URL, testPrefix } from '@signals/testing';
import { Redis } from 'ioredis';
// The test template database is built by the vitest global setup; benches may run before any test.
import ensureTemplate from '../packages/testing/src/global-setup.ts';
import type { BenchResult } from './lib.ts';

export default async function run(): Promise<BenchResult[]> {
  await ensureTemplate();
  const db = await createTestDb();
  let tick = Date.parse('2025-02-14T15:00:00Z');
  // Each poll sees a newer regularMarketTime, so every cycle writes 500 new snapshots.
  const server = await startYahooServer({
    quoteTime: () => {
      tick += 1000;
      return new Date(tick);
    },
  });
  const redis = new Redis(TEST_REDIS_URL);
  try {
    const clock = new FixedClock(new Date('2025-02-14T16:00:00Z'));
    const source = new YahooPriceSource({
      baseUrl: server.url,
      clock,
      budget: new RedisRequestBudget({ redis, prefix: testPrefix('bench'), limit: 10_000, windowMs: 60_000, clock }),
    });
    const store = createPriceStore(db.prisma);
    const ingestor = createPriceIngestor({ source, store, clock });
    const symbols = Array.from({ length: 500 }, (_, i) => `SYM${String(i + 1).padStart(4, '0')}`);

    await ingestor.pollQuotes(symbols); // warm-up: crumb step, instruments created, JIT
    const times: number[] = [];
    let requests = 0;
    let saved = 0;
    for (let i = 0; i < 5; i++) {
      server.resetRequests();
      const t0 = performance.now();
      const r = await ingestor.pollQuotes(symbols);
      times.push(performance.now() - t0);
      requests = server.count();
      saved = r.saved;
      if (r.failed.length) throw new Error(`poll failed: ${r.failed[0]?.error}`);
    }
    times.sort((a, b) => a - b);
    const pollMs = times[2] as number;

    // TSLA: 3,303 daily bars, 2010-06-29 .. 2023-08-11, one chart request and one upsert statement.
    const hclock = new FixedClock(new Date('2023-08-12T00:00:00Z'));
    const hsource = new YahooPriceSource({ baseUrl: server.url, clock: hclock });
    const hingest = createPriceIngestor({ source: hsource, store, clock: hclock });
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 2);
    const htimes: number[] = [];
    let bars = 0;
    for (let i = 0; i < 6; i++) {
      await db.prisma.priceBar.deleteMany({});
      await db.prisma.instrument.updateMany({
        where: { symbol: 'TSLA' },
        data: { historyFrom: null, historyTo: null },
      });
      const t0 = performance.now();
      const r = await hingest.syncHistory('TSLA', { from: new Date(0) });
      const dt = performance.now() - t0;
      peak = Math.max(peak, process.memoryUsage().rss);
      if (r.status !== 'ok') throw new Error(`TSLA sync failed: ${r.error?.message}`);
      bars = r.bars;
      if (i > 0) htimes.push(dt); // first run warms up
    }
    clearInterval(sampler);
    htimes.sort((a, b) => a - b);

    return [
      {
        name: 'ingest.poll500.requests',
        value: requests,
        unit: 'requests',
        target: 10,
        better: 'lower',
        note: `500 symbols, batches of 50, steady state (the one-off crumb step adds 2 on a cold start); ${saved} quotes saved`,
      },
      {
        name: 'ingest.poll500.ms',
        value: Math.round(pollMs),
        unit: 'ms',
        target: 1000,
        better: 'lower',
        note: 'median of 5 poll cycles: local Yahoo server, yahoo-finance2 validation, Redis budget, 500 snapshots + instrument updates in Postgres',
      },
      {
        name: 'ingest.tsla_history.ms',
        value: Math.round(htimes[Math.floor(htimes.length / 2)] as number),
        unit: 'ms',
        target: null,
        better: 'lower',
        note: `${bars} TSLA bars (2010-06-29..2023-08-11): chart() over HTTP, split check, one unnest upsert; median of 5`,
      },
      {
        name: 'ingest.tsla_history.peak_rss_mb',
        value: Math.round((peak / 1024 / 1024) * 10) / 10,
        unit: 'MB',
        target: null,
        better: 'lower',
        note: 'whole-process RSS peak sampled every 2 ms during the TSLA runs (includes the loaded runtime)',
      },
    ];
  } finally {
    redis.disconnect();
    await server.close();
    await db.drop();
  }
}
