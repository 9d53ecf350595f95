/**
 * Freshness from the observation's own time (issue 11): an instrument the poller marked `fresh`
 * whose newest price is sessions old is not evaluated, and the System page's judge says `stale`.
 */
import { addDays, type DailyBar, FixedClock, isTradingDay, sessionCloseMs } from '@signals/core';
import { createPriceStore, loadEvaluationReport, watchedFreshness } from '@signals/db';
import { createQueues, createRedis, type QueueSet } from '@signals/queue';
import { createTestDb, TEST_REDIS_URL, type TestDb, testPrefix } from '@signals/testing';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runEvaluationCycle } from '../src/jobs/evaluate.ts';
import { silent } from './helpers.ts';

let db: TestDb;
let redis: Redis;
let queues: QueueSet;
const days: string[] = [];
for (let d = '2024-01-02'; days.length < 40; d = addDays(d, 1)) if (isTradingDay(d)) days.push(d);
const last = days[days.length - 1] as string;

beforeAll(() => {
  redis = createRedis(TEST_REDIS_URL, 'worker');
  queues = createQueues(redis, testPrefix('fresh'));
});

// A database per test: the fall fires once per database, and one test expects it, another not.
beforeEach(async () => {
  db = await createTestDb();
  // 39 quiet sessions, then a 12 % fall; stored, and the instrument marked fresh as a poll would.
  const bars: DailyBar[] = days.map((date, i) => {
    const close = i === days.length - 1 ? 88 : 100;
    return {
      symbol: 'NVDA',
      date,
      open: close,
      high: close,
      low: close,
      close,
      volume: 1e6,
      sourceAt: new Date(sessionCloseMs(date)),
    };
  });
  await createPriceStore(db.prisma).saveBars({ symbol: 'NVDA', bars, fetchedAt: new Date(), source: 'test' });
  const inst = await db.prisma.instrument.update({
    where: { symbol: 'NVDA' },
    data: { freshness: 'fresh', status: 'active', lastSourceAt: new Date(sessionCloseMs(last)) },
  });
  const wl = await db.prisma.watchlist.create({ data: { slug: 'f', name: 'F' } });
  await db.prisma.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: inst.id } });
  await db.prisma.rule.create({
    data: {
      name: 'fall',
      kind: 'pct_move',
      params: { sessions: 1, thresholdPct: 10, direction: 'down' },
      symbols: ['NVDA'],
      severity: 'warning',
      cooldownSec: 0,
    },
  });
});
afterEach(async () => {
  await db?.drop();
});
afterAll(async () => {
  await queues?.close();
  await redis?.quit();
});

const cycle = (at: Date) =>
  runEvaluationCycle({ prisma: db.prisma, queues, clock: new FixedClock(at), logger: silent, emailGroupWaitMs: 0 });

describe('freshness from the observation time', () => {
  it('a week-old price marked fresh is not evaluated, and the System page calls it stale', async () => {
    // A week on: the stored bars are still in the cycle's window, but the newest is 5 sessions old.
    let d = last;
    for (let n = 0; n < 5; ) {
      d = addDays(d, 1);
      if (isTradingDay(d)) n++;
    }
    const later = new Date(sessionCloseMs(d));
    const r = await cycle(later);
    expect(r.alerts).toBe(0);
    expect(r.skipped).toBeGreaterThan(0);
    const f = await watchedFreshness(db.prisma, { now: later });
    expect(f.counts).toEqual({ stale: 1 });
    expect(f.staleOrFailed[0]?.lastError).toBe(`newest price is from ${last}`);
    // In a replay the newest price of the watched instruments is "now": it is fresh there.
    expect((await watchedFreshness(db.prisma, { now: later, replay: true })).counts).toEqual({ fresh: 1 });
  });

  it('the same price at its own session close is evaluated and fires', async () => {
    const r = await cycle(new Date(sessionCloseMs(last)));
    expect(r.alerts).toBe(1);
    expect((await watchedFreshness(db.prisma, { now: new Date(sessionCloseMs(last)) })).counts).toEqual({ fresh: 1 });
  });

  it('a basket with a member without data is incomplete: the cycle says which member, for the rule and System pages', async () => {
    await db.prisma.instrument.create({ data: { symbol: 'AMD', freshness: 'fresh' } });
    const basket = await db.prisma.rule.create({
      data: {
        name: 'chips',
        kind: 'basket_move',
        params: { sessions: 1, thresholdPct: 5, direction: 'down', weighting: 'equal' },
        symbols: ['NVDA', 'AMD'],
        severity: 'warning',
        cooldownSec: 0,
      },
    });
    await cycle(new Date(sessionCloseMs(last) + 60_000));
    // The basket raises nothing (NVDA's own fall rule may fire: it is not the subject here).
    expect(await db.prisma.alert.count({ where: { ruleId: basket.id } })).toBe(0);
    const report = await loadEvaluationReport(db.prisma);
    expect(report.incomplete).toEqual([
      { ruleId: basket.id, subject: '__basket__', detail: 'members without data: AMD (coverage 50 %)' },
    ]);
  });
});
