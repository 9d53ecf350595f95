/**
 * The guards of the evaluation cycle, each shown to hold by making the thing it guards against
 * happen: a delivery insert that fails inside the cycle's transaction, a second evaluator holding
 * the lock, a quote that has aged past QUOTE_STALE_SEC while the market is open, and a live cycle on
 * the day of a stock split. Real Postgres, the real cycle (apps/worker/src/jobs/evaluate.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FixedClock } from '@signals/core';
import { createAlertWithDeliveries, createPriceStore, type PrismaClient } from '@signals/db';
import { createPriceIngestor, ReplayPriceSource } from '@signals/market-data';
import { createQueues, createRedis, type QueueSet } from '@signals/queue';
import { createTestDb, fixturePath, TEST_REDIS_URL, type TestDb, testPrefix } from '@signals/testing';
import type { Redis } from 'ioredis';
import { EVALUATION_LOCK_KEY, runEvaluationCycle } from '../src/jobs/evaluate.ts';
import { priceTick } from '../src/jobs/ingest.ts';
import { alertFor, seedScenario, silent } from './helpers.ts';

const TSLA = 'historical-via-chart-dividends-TSLA-no-dividends.json';
const NVDA = 'historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json';

let db: TestDb;
let redis: Redis;
let queues: QueueSet;
let prefix: string;

// Each test on its own database and queue prefix: none depends on what another left behind.
beforeEach(async () => {
  db = await createTestDb();
  prefix = testPrefix('guards');
  redis = createRedis(TEST_REDIS_URL, 'worker');
  queues = createQueues(redis, prefix);
});
afterEach(async () => {
  await queues?.close();
  await redis?.quit();
  await db?.drop();
});

/** A watchlist holding `symbol`, a one-session fall rule on it, one confirmed subscriber and an endpoint. */
async function watch(prisma: PrismaClient, symbol: string, params: object, tag: string) {
  const wl = await prisma.watchlist.create({ data: { slug: `g-${tag}`, name: `Guards ${tag}` } });
  const inst = await prisma.instrument.upsert({
    where: { symbol },
    create: { symbol, name: symbol },
    update: {},
  });
  await prisma.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: inst.id } });
  const rule = await prisma.rule.create({
    data: { name: `${tag} fall`, kind: 'pct_move', params, watchlistId: wl.id, severity: 'critical', cooldownSec: 0 },
  });
  await prisma.subscriber.create({
    data: {
      email: `${tag}@example.com`,
      status: 'confirmed',
      subscriptions: { create: [{ watchlistId: wl.id }] },
    },
  });
  return { wl, inst, rule };
}

/** Replayed history up to the clock, stored as the worker's price tick stores it. */
async function ingest(file: string, clock: FixedClock) {
  const source = await ReplayPriceSource.fromPath(fixturePath('yahoo', file), { clock });
  const ingestor = createPriceIngestor({ source, store: createPriceStore(db.prisma), clock, logger: silent });
  await priceTick({ prisma: db.prisma, redis, queues, clock, logger: silent, prefix }, ingestor, {
    openMs: 60_000,
    closedMs: 60_000,
    force: true,
  });
}

const cycle = (clock: FixedClock, staleAfterMs = Number.MAX_SAFE_INTEGER) =>
  runEvaluationCycle({ prisma: db.prisma, queues, clock, logger: silent, emailGroupWaitMs: 0, staleAfterMs });

describe('evaluation cycle guards', () => {
  it('writes an alert only together with its deliveries and states: a failing delivery insert leaves nothing behind', async () => {
    // A failure the cycle cannot cause itself: Postgres refuses every Delivery row.
    await db.prisma.$executeRawUnsafe(
      `CREATE FUNCTION refuse_delivery() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'delivery insert refused by the test'; END $$ LANGUAGE plpgsql`,
    );
    await db.prisma.$executeRawUnsafe(
      `CREATE TRIGGER refuse_delivery BEFORE INSERT ON "Delivery" FOR EACH ROW EXECUTE FUNCTION refuse_delivery()`,
    );
    try {
      // The outbox write on its own.
      const s = await seedScenario(db.prisma, { subscribers: [{ email: 'outbox@example.com' }] });
      await expect(
        createAlertWithDeliveries(db.prisma, alertFor(s.rule.id, new Date('2025-01-27T21:00:00Z')), {
          now: new Date(),
          emailGroupWaitMs: 0,
        }),
      ).rejects.toThrow(/delivery insert refused/);
      expect(await db.prisma.alert.count({ where: { ruleId: s.rule.id } })).toBe(0);

      // The whole cycle: TSLA's -13.9 % on 28 Sep 2018 is due, the insert of its deliveries fails.
      const { rule } = await watch(db.prisma, 'TSLA', { sessions: 1, thresholdPct: 10, direction: 'down' }, 'atomic');
      const clock = new FixedClock(new Date('2018-09-28T21:00:00Z'));
      await ingest(TSLA, clock);
      await expect(cycle(clock)).rejects.toThrow(/delivery insert refused/);
      expect(await db.prisma.alert.count({ where: { ruleId: rule.id } })).toBe(0);
      // The rule's state was not advanced either: the same event can still fire.
      expect(await db.prisma.ruleState.count({ where: { ruleId: rule.id, phase: 'firing' } })).toBe(0);
    } finally {
      await db.prisma.$executeRawUnsafe(`DROP TRIGGER IF EXISTS refuse_delivery ON "Delivery"`);
      await db.prisma.$executeRawUnsafe(`DROP FUNCTION IF EXISTS refuse_delivery()`);
    }
    // Postgres accepts deliveries again: the event that was not lost fires now, once, with them.
    const clock = new FixedClock(new Date('2018-09-28T21:00:00Z'));
    const r = await cycle(clock);
    expect(r).toMatchObject({ ran: true, alerts: 1 });
    const alert = await db.prisma.alert.findFirstOrThrow({ where: { subject: 'TSLA' } });
    expect(alert.dedupKey).toContain('2018-09-28');
    expect(await db.prisma.delivery.count({ where: { alertId: alert.id } })).toBe(1);
  });

  it('runs one cycle at a time: while another evaluator holds the lock a cycle does nothing, then runs', async () => {
    const { rule } = await watch(db.prisma, 'TSLA', { sessions: 1, thresholdPct: 5, direction: 'down' }, 'lock');
    const clock = new FixedClock(new Date('2018-09-28T21:00:00Z'));
    await ingest(TSLA, clock);
    // Another evaluator in the middle of its cycle: its own transaction (its own connection) holds
    // the transaction-scoped lock, as the cycle's own does, until we let it finish.
    let finish = () => {};
    const held = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let locked: (v: boolean) => void = () => {};
    const gotLock = new Promise<boolean>((resolve) => {
      locked = resolve;
    });
    const other = db.prisma.$transaction(
      async (tx) => {
        const [row] = await tx.$queryRaw<
          { locked: boolean }[]
        >`SELECT pg_try_advisory_xact_lock(${EVALUATION_LOCK_KEY}) AS locked`;
        locked(row?.locked === true);
        await held;
      },
      { timeout: 60_000 },
    );
    try {
      expect(await gotLock).toBe(true);
      const states = await db.prisma.ruleState.count({ where: { ruleId: rule.id } });
      // Two cycles at once while it holds the lock: neither evaluates, neither writes.
      const [a, b] = await Promise.all([cycle(clock), cycle(clock)]);
      expect(a.ran).toBe(false);
      expect(b.ran).toBe(false);
      expect(await db.prisma.alert.count({ where: { ruleId: rule.id } })).toBe(0);
      expect(await db.prisma.ruleState.count({ where: { ruleId: rule.id } })).toBe(states);
    } finally {
      finish();
      await other;
    }
    // The other evaluator finished: cycles run again, and two at once raise the event once.
    const both = await Promise.all([cycle(clock), cycle(clock)]);
    expect(both.some((x) => x.ran)).toBe(true);
    expect(both.reduce((n, x) => n + x.alerts, 0)).toBe(1);
    expect(await db.prisma.alert.count({ where: { ruleId: rule.id } })).toBe(1);
  });

  it('does not evaluate on a quote older than the stale threshold while the market is open, and does on a fresh one', async () => {
    // Friday 5 Oct 2018, 15:00 New York time: a regular session is open.
    const now = new Date('2018-10-05T19:00:00Z');
    const clock = new FixedClock(new Date('2018-10-04T21:00:00Z'));
    const { rule, inst } = await watch(
      db.prisma,
      'TSLA',
      { sessions: 1, thresholdPct: 10, direction: 'down', intraday: true },
      'stale',
    );
    await ingest(TSLA, clock); // bars up to Thursday's close, as a morning backfill left them
    await db.prisma.instrument.update({ where: { id: inst.id }, data: { freshness: 'fresh' } });
    const prevClose = Number(
      (await db.prisma.priceBar.findFirstOrThrow({ where: { instrumentId: inst.id }, orderBy: { date: 'desc' } }))
        .close,
    );
    const staleAfterMs = 15 * 60_000;
    // The only quote of the day: 12 % down, observed 16 minutes ago, then nothing (the poller stalled).
    await db.prisma.quoteSnapshot.create({
      data: {
        instrumentId: inst.id,
        price: prevClose * 0.88,
        prevClose,
        sourceAt: new Date(now.getTime() - staleAfterMs - 60_000),
        fetchedAt: new Date(now.getTime() - staleAfterMs - 60_000),
      },
    });
    clock.set(now);
    const stale = await cycle(clock, staleAfterMs);
    expect(stale).toMatchObject({ ran: true, alerts: 0 });
    expect(stale.skipped).toBeGreaterThan(0);
    expect(await db.prisma.alert.count({ where: { ruleId: rule.id } })).toBe(0);

    // The same move observed a minute ago is evaluated, and fires.
    await db.prisma.quoteSnapshot.create({
      data: {
        instrumentId: inst.id,
        price: prevClose * 0.88,
        prevClose,
        sourceAt: new Date(now.getTime() - 60_000),
        fetchedAt: new Date(now.getTime() - 60_000),
      },
    });
    const fresh = await cycle(clock, staleAfterMs);
    expect(fresh).toMatchObject({ ran: true, alerts: 1 });
    const alert = await db.prisma.alert.findFirstOrThrow({ where: { ruleId: rule.id } });
    expect(alert.value).toBeCloseTo(-0.12, 6);
  });

  it('raises no crash alert in a live cycle on the day of a 4:1 split, and does on a real fall in the same data', async () => {
    const { rule } = await watch(db.prisma, 'NVDA', { sessions: 1, thresholdPct: 10, direction: 'either' }, 'split');
    // Rules that look further back than the few sessions an incremental sync rewrites anyway.
    const wide = await db.prisma.rule.create({
      data: {
        name: 'split: 20-session drawdown',
        kind: 'drawdown',
        params: { sessions: 20, thresholdPct: 25 },
        watchlistId: rule.watchlistId,
        severity: 'warning',
        cooldownSec: 0,
      },
    });
    // Stored as it was observed before the split: Yahoo then served the old basis, four times
    // today's adjusted prices (the recording is adjusted after the fact).
    const clock = new FixedClock(new Date('2021-07-19T21:00:00Z'));
    await ingest(NVDA, clock);
    const nvda = await db.prisma.instrument.findUniqueOrThrow({ where: { symbol: 'NVDA' } });
    await db.prisma.$executeRaw`UPDATE "PriceBar" SET open = open * 4, high = high * 4, low = low * 4, close = close * 4
      WHERE "instrumentId" = ${nvda.id}`;
    await db.prisma.$executeRaw`UPDATE "QuoteSnapshot" SET price = price * 4, "prevClose" = "prevClose" * 4
      WHERE "instrumentId" = ${nvda.id}`;
    expect((await cycle(clock)).ran).toBe(true);
    // 20 Jul 2021 after the close: the new session's data is on the new basis, with the split event.
    clock.set(new Date('2021-07-20T21:00:00Z'));
    await ingest(NVDA, clock);
    const onSplit = await cycle(clock);
    expect(onSplit.ran).toBe(true);
    expect(await db.prisma.alert.count({ where: { ruleId: { in: [rule.id, wide.id] } } })).toBe(0);
    // What the cycle read: every stored bar on one basis again, so no -75 % day.
    const bars = await db.prisma.priceBar.findMany({
      where: { instrumentId: nvda.id, date: { in: [new Date('2021-07-19'), new Date('2021-07-20')] } },
      orderBy: { date: 'asc' },
    });
    expect(bars).toHaveLength(2);
    const [before, on] = bars.map((b) => Number(b.close)) as [number, number];
    expect(Math.abs(on / before - 1)).toBeLessThan(0.1);

    // The same rule on the same recording does fire on a real move: NVDA's +12 % of 4 Nov 2021.
    clock.set(new Date('2021-11-04T21:00:00Z'));
    await ingest(NVDA, clock);
    expect(await cycle(clock)).toMatchObject({ ran: true, alerts: 1 });
    const real = await db.prisma.alert.findFirstOrThrow({ where: { ruleId: rule.id } });
    expect(real.dedupKey).toContain('2021-11-04');
    expect(real.value).toBeCloseTo(0.12, 2);
  });
});
