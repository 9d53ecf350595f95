/**
 * One evaluation cycle of the running worker, with Postgres in the path: 500 instruments with a
 * year of daily bars and a live quote each, 20 rules on their watchlist. Measures the whole cycle
 * (reads, pure engine, state writes, alert fan-out) and counts the database round trips, which must
 * not grow with the number of rules or instruments.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { FixedClock, silentLogger } from '@signals/core';
import { type BarCache, PrismaClient } from '@signals/db';
import { createQueues, createRedis } from '@signals/queue';
import { createTestDb, TEST_REDIS_URL, testPrefix } from '@signals/testing';
import { runEvaluationCycle } from '../apps/worker/src/jobs/evaluate.ts';
import ensureTemplate from '../packages/testing/src/global-setup.ts';
import type { BenchResult } from './lib.ts';

const N = 500;
const BARS = 260;

/** Deterministic pseudo-random walk (no Math.random: same data every run). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export default async function run(): Promise<BenchResult[]> {
  await ensureTemplate();
  const db = await createTestDb();
  const redis = createRedis(TEST_REDIS_URL, 'producer');
  const queues = createQueues(redis, testPrefix('bench-cycle'));
  try {
    const wl = await db.prisma.watchlist.create({ data: { slug: 'bench', name: 'bench' } });
    const now = new Date('2026-03-20T20:30:00Z'); // a Friday, after the close
    const days: Date[] = [];
    for (let d = new Date('2025-03-20T00:00:00Z'); days.length < BARS; d = new Date(d.getTime() + 86_400_000)) {
      if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) days.push(d);
    }
    const rand = rng(42);
    for (let i = 0; i < N; i++) {
      const symbol = `SYM${String(i).padStart(4, '0')}`;
      const inst = await db.prisma.instrument.create({
        data: { symbol, freshness: 'fresh', members: { create: { watchlistId: wl.id } } },
      });
      let p = 50 + 100 * rand();
      const bars = days.map((date) => {
        p *= 1 + (rand() - 0.5) * 0.04;
        return {
          instrumentId: inst.id,
          date,
          open: p,
          high: p * 1.01,
          low: p * 0.99,
          close: p,
          volume: BigInt(Math.round(1e6 * (0.5 + rand()))),
          sourceAt: date,
          fetchedAt: date,
        };
      });
      await db.prisma.priceBar.createMany({ data: bars });
      // The live quote: a few symbols move hard today, so the cycle also writes alerts.
      const move = i % 50 === 0 ? -0.12 : (rand() - 0.5) * 0.03;
      await db.prisma.quoteSnapshot.create({
        data: {
          instrumentId: inst.id,
          price: p * (1 + move),
          prevClose: p,
          dayHigh: p * 1.01,
          dayLow: p * (1 + Math.min(move, 0)) * 0.99,
          volume: BigInt(1_000_000),
          sourceAt: now,
          fetchedAt: now,
        },
      });
    }
    const kinds: { kind: string; params: object }[] = [
      { kind: 'pct_move', params: { sessions: 1, thresholdPct: 10, direction: 'down', intraday: true } },
      { kind: 'pct_move', params: { sessions: 5, thresholdPct: 15, direction: 'either' } },
      { kind: 'drawdown', params: { sessions: 60, thresholdPct: 25 } },
      { kind: 'vol_scaled_move', params: { lookback: 60, k: 4, direction: 'either' } },
      { kind: 'volume_spike', params: { sessions: 20, multiple: 5 } },
    ];
    for (let r = 0; r < 20; r++) {
      const k = kinds[r % kinds.length] as { kind: string; params: object };
      await db.prisma.rule.create({
        data: {
          name: `bench rule ${r}`,
          kind: k.kind,
          params: k.params,
          watchlistId: wl.id,
          severity: 'warning',
          cooldownSec: 0,
        },
      });
    }

    // A client that counts every statement sent to Postgres.
    let queries = 0;
    const counted = new PrismaClient({
      adapter: new PrismaPg({ connectionString: db.url, max: 5 }),
      log: [{ emit: 'event', level: 'query' }],
    });
    counted.$on('query' as never, () => {
      queries++;
    });
    const clock = new FixedClock(now);
    // As in the worker: bars are cached in the process between cycles and reloaded when they change.
    const barCache: BarCache = new Map();
    const cycle = () =>
      runEvaluationCycle({
        prisma: counted,
        queues,
        clock,
        logger: silentLogger,
        emailGroupWaitMs: 0,
        staleAfterMs: 1e15,
        barCache,
      });

    const first = await cycle(); // writes the states and the alerts of today's moves
    const times: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      queries = 0;
      const r = await cycle();
      times.push(r.ms);
      counts.push(queries);
    }
    times.sort((a, b) => a - b);
    const firstQueries = await (async () => {
      barCache.clear();
      await db.prisma.ruleState.deleteMany();
      await db.prisma.alert.deleteMany();
      queries = 0;
      await cycle();
      return queries;
    })();
    await counted.$disconnect();
    const note = `${N} instruments x 20 rules, ${BARS} bars each + a live quote; Postgres 15 and the pure engine in one process; median of 5 steady cycles (bars cached between cycles as in the worker; the cold first cycle took ${first.ms} ms)`;
    return [
      { name: 'engine.cycle_500x20_db.ms', value: times[2] as number, unit: 'ms', target: null, better: 'lower', note },
      {
        name: 'engine.cycle_500x20_db.queries',
        value: Math.max(...counts),
        unit: 'queries',
        target: 20,
        better: 'lower',
        note: `round trips per steady cycle (the first cycle, which wrote ${first.alerts} alerts with their deliveries, used ${firstQueries}: a fixed set plus a few per alert, none per rule or instrument)`,
      },
    ];
  } finally {
    await queues.close();
    await redis.quit();
    await db.drop();
  }
}
