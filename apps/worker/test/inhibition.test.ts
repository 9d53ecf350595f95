/**
 * Inhibition end to end on the seed rules and seed inhibit rules: one Microsoft event that crosses
 * both the 3-sigma early warning and the 5-sigma at-event rule gives ONE notified alert; the early
 * warning is recorded with `inhibitedById` and has no delivery; Nvidia's early warning the same
 * session is still sent. Then the repository stage on its own: the session and symbol labels, and
 * a basket alert holding back its members' alerts. Real Postgres, the real evaluation cycle.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addDays, FixedClock, isTradingDay } from '@signals/core';
import { createAlertWithDeliveries, type PrismaClient } from '@signals/db';
import { createQueues, createRedis, type QueueSet } from '@signals/queue';
import { createTestDb, TEST_REDIS_URL, type TestDb, testPrefix } from '@signals/testing';
import type { Redis } from 'ioredis';
import { loadSeeds, seedInhibitRules } from '../../../seeds/index.ts';
import { runEvaluationCycle } from '../src/jobs/evaluate.ts';
import { alertFor, silent } from './helpers.ts';

let db: TestDb;
let redis: Redis;
let queues: QueueSet;

beforeAll(async () => {
  redis = createRedis(TEST_REDIS_URL, 'worker');
  queues = createQueues(redis, testPrefix('inhibit'));
});
// Each test its own database (a clone of the migrated template): the first counts every alert
// written, the second writes alerts on the same seed rules; neither may see the other's.
beforeEach(async () => {
  db = await createTestDb();
});
afterEach(async () => {
  await db?.drop();
});
afterAll(async () => {
  await queues?.close();
  await redis?.quit();
});

/** The seed rules and inhibit rules, and one confirmed subscriber on the AI core list (deliveries to count). */
async function seedWithSubscriber(prisma: PrismaClient) {
  const seeded = await loadSeeds(prisma);
  const core = await prisma.watchlist.findUniqueOrThrow({ where: { slug: 'ai-core' } });
  await prisma.subscriber.create({
    data: { email: 'holder@example.com', status: 'confirmed', subscriptions: { create: [{ watchlistId: core.id }] } },
  });
  return seeded;
}

/** 80 quiet sessions (closes alternating +-0.5 %) before `day`, then a live quote `movePct` off the last close. */
async function quietThenMove(prisma: PrismaClient, symbol: string, day: string, movePct: number, at: Date) {
  const inst = await prisma.instrument.update({
    where: { symbol },
    data: { freshness: 'fresh', status: 'active', marketCap: 3e12 },
  });
  const dates: string[] = [];
  for (let d = addDays(day, -1); dates.length < 80; d = addDays(d, -1)) if (isTradingDay(d)) dates.unshift(d);
  let close = 400;
  const bars = dates.map((date, i) => {
    close *= i % 2 ? 1.005 : 0.995;
    return {
      instrumentId: inst.id,
      date: new Date(`${date}T00:00:00Z`),
      open: close,
      high: close * 1.002,
      low: close * 0.998,
      close,
      volume: 1_000_000n,
      sourceAt: new Date(`${date}T21:00:00Z`),
      fetchedAt: new Date(`${date}T21:05:00Z`),
    };
  });
  await prisma.priceBar.createMany({ data: bars });
  const price = close * (1 + movePct / 100);
  await prisma.quoteSnapshot.create({
    data: {
      instrumentId: inst.id,
      price,
      prevClose: close,
      dayHigh: close,
      dayLow: price,
      volume: 2_000_000n,
      marketCap: 3e12,
      marketState: 'REGULAR',
      sourceAt: at,
      fetchedAt: at,
    },
  });
}

describe('inhibition', () => {
  it('one MSFT event (3-sigma warning + 5-sigma) notifies once; NVDA early warning the same session is still sent', async () => {
    const seeded = await seedWithSubscriber(db.prisma);
    expect(seeded.inhibitRules).toBe(seedInhibitRules.length);
    // Both MSFT rules fire in the SAME cycle (the early warning without its pending wait): the
    // cycle must write the at-event alert first for the warning to be held. NVDA's warning keeps
    // its 5-minute pending wait and fires in the second cycle.
    await db.prisma.rule.update({ where: { seedId: 'msft-capex-drop-early' }, data: { pendingSec: null } });

    const day = '2026-01-29'; // Microsoft's post-earnings fall
    const t1 = new Date(`${day}T15:00:00Z`); // 10:00 in New York
    await quietThenMove(db.prisma, 'MSFT', day, -10, t1);
    await quietThenMove(db.prisma, 'NVDA', day, -9, t1);
    const clock = new FixedClock(t1);
    const cycle = () =>
      runEvaluationCycle({ prisma: db.prisma, queues, clock, logger: silent, emailGroupWaitMs: 0, staleAfterMs: 1e15 });

    const first = await cycle();
    expect(first).toMatchObject({ ran: true, alerts: 2, inhibited: 1 });
    clock.set(new Date(t1.getTime() + 6 * 60_000));
    const second = await cycle();
    expect(second).toMatchObject({ ran: true, alerts: 1, inhibited: 0 });

    const alerts = await db.prisma.alert.findMany({
      include: { rule: { select: { seedId: true } }, _count: { select: { deliveries: true } } },
    });
    const by = new Map(alerts.map((a) => [`${a.rule.seedId}:${a.subject}`, a]));
    expect([...by.keys()].sort()).toEqual([
      'deepseek-nvda-drop-early:NVDA',
      'msft-capex-drop-early:MSFT',
      'msft-capex-drop-historic:MSFT',
    ]);
    const historic = by.get('msft-capex-drop-historic:MSFT');
    const early = by.get('msft-capex-drop-early:MSFT');
    const nvda = by.get('deepseek-nvda-drop-early:NVDA');
    expect(historic).toMatchObject({ inhibitedById: null, _count: { deliveries: 1 } });
    expect(early).toMatchObject({ inhibitedById: historic?.id, _count: { deliveries: 0 } });
    expect(early?.inhibitRuleId).toBeTruthy();
    expect(nvda).toMatchObject({ inhibitedById: null, _count: { deliveries: 1 } });
  });

  it('holds a target only while a source of the same symbol and session fires; a basket stands for its members', async () => {
    await seedWithSubscriber(db.prisma);
    const rules = await db.prisma.rule.findMany({
      where: { seedId: { not: null } },
      select: { id: true, seedId: true },
    });
    const id = (seedId: string) => rules.find((r) => r.seedId === seedId)?.id as string;
    const day1 = new Date('2026-02-02T16:00:00Z');
    const day2 = new Date('2026-02-03T16:00:00Z');
    const fan = (ruleId: string, at: Date, symbol: string, severity: 'warning' | 'critical' = 'warning') =>
      createAlertWithDeliveries(
        db.prisma,
        { ...alertFor(ruleId, at, symbol), severity },
        { now: at, emailGroupWaitMs: 0 },
      );

    // AMZN at event level on day 1: its early warning that day is held; on day 2 it is not,
    // although the day-1 alert still fires (session label).
    const src = await fan(id('amzn-capex-drop-historic'), day1, 'AMZN', 'critical');
    expect(src.inhibitedById).toBeUndefined();
    expect((await fan(id('amzn-capex-drop-early'), new Date(day1.getTime() + 3600_000), 'AMZN')).inhibitedById).toBe(
      src.alertId,
    );
    expect((await fan(id('amzn-capex-drop-early'), day2, 'AMZN')).inhibitedById).toBeUndefined();

    // The resolved notice of the held warning is held too (nobody heard it fire); that of a sent one is not.
    const heldEarly = await db.prisma.alert.findFirstOrThrow({ where: { inhibitedById: src.alertId as string } });
    const resolvedOf = (dedupKey: string, at: Date) =>
      createAlertWithDeliveries(
        db.prisma,
        { ...alertFor(id('amzn-capex-drop-early'), at, 'AMZN', `${dedupKey}:resolved`), status: 'resolved' },
        { now: at, emailGroupWaitMs: 0 },
      );
    expect((await resolvedOf(heldEarly.dedupKey, day2)).inhibitedById).toBe(src.alertId);
    const sentEarly = await db.prisma.alert.findFirstOrThrow({
      where: { ruleId: id('amzn-capex-drop-early'), inhibitedById: null, status: 'firing' },
    });
    expect((await resolvedOf(sentEarly.dedupKey, day2)).inhibitedById).toBeUndefined();

    // Once the source resolved, nothing is held any more.
    await db.prisma.alert.update({ where: { id: src.alertId as string }, data: { status: 'resolved' } });
    expect(
      (await fan(id('amzn-capex-drop-early'), new Date(day1.getTime() + 7200_000), 'AMZN')).inhibitedById,
    ).toBeUndefined();

    // The mega-cap basket at event level holds back Nvidia's own alerts that session, not another
    // family's alerts on Nvidia.
    const basket = await fan(id('deepseek-sector-historic'), day2, '__basket__', 'critical');
    const nv = await fan(id('deepseek-nvda-drop-historic'), new Date(day2.getTime() + 60_000), 'NVDA', 'critical');
    expect(nv.inhibitedById).toBe(basket.alertId);
    expect(nv.deliveryIds).toEqual([]);
    const other = await fan(id('ai-bubble-selloff'), new Date(day2.getTime() + 60_000), 'NVDA');
    expect(other.inhibitedById).toBeUndefined();
    expect(other.deliveryIds.length).toBeGreaterThan(0);
  });
});
