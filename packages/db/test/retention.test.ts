/**
 * Retention on a real database: each policy deletes exactly the rows past its age and nothing
 * else (the headline news of a kept alert survives, pending deliveries are never deleted, dead
 * letters are kept longer), batches are bounded, two workers pruning at once do not conflict, and
 * the table stats the System page and /metrics show are right.
 */
import {
  createPrisma,
  DEFAULT_RETENTION,
  type PrismaClient,
  pruneOnce,
  RETENTION_POLICIES,
  runRetention,
  tableStats,
} from '@signals/db';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../src/test-db.ts';

const NOW = new Date('2026-06-01T00:00:00Z');
const now = { market: NOW, wall: NOW };
const ago = (days: number) => new Date(NOW.getTime() - days * 86_400_000);

let db: TestDb;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await createTestDb();
  prisma = db.prisma;
});
afterAll(async () => {
  await db?.drop();
});

const TABLES = [
  'DeliveryAttempt',
  'Delivery',
  'Alert',
  'Rule',
  'NewsItemInstrument',
  'NewsItem',
  'Feed',
  'QuoteSnapshot',
  'Instrument',
  'SourceEvent',
  'LoopIncident',
  'Session',
  'AdminUser',
  'Setting',
  'SubscriberChannel',
  'Subscriber',
];
beforeEach(async () => {
  await prisma.$executeRawUnsafe(`TRUNCATE ${TABLES.map((t) => `"${t}"`).join(', ')} CASCADE`);
});

let seq = 0;
async function instrument(symbol: string) {
  return prisma.instrument.create({ data: { symbol } });
}
async function quote(instrumentId: string, at: Date) {
  const q = await prisma.quoteSnapshot.create({
    data: { instrumentId, price: 100, sourceAt: at, fetchedAt: at },
  });
  return q.id;
}
async function rule() {
  return prisma.rule.create({ data: { name: `r${++seq}`, kind: 'pct_move', params: {} } });
}
async function alert(ruleId: string, firedAt: Date, relatedNews: { id: string }[] = []) {
  return prisma.alert.create({
    data: {
      dedupKey: `k${++seq}`,
      ruleId,
      subject: 'NVDA',
      severity: 'warning',
      title: 't',
      value: 1,
      threshold: 1,
      details: { relatedNews, headlines: [] },
      firedAt,
    },
  });
}
async function delivery(alertId: string | null, status: string, updatedAt: Date) {
  const d = await prisma.delivery.create({
    data: {
      alertId,
      channel: 'webhook',
      eventType: 'alert.firing',
      target: `webhook:${++seq}`,
      messageId: `msg_${seq}`,
      status: status as 'pending',
    },
  });
  // updatedAt is @updatedAt: set the age the test needs directly.
  await prisma.$executeRawUnsafe(
    `UPDATE "Delivery" SET "updatedAt" = $1::timestamp(3) WHERE id = $2`,
    iso(updatedAt),
    d.id,
  );
  return d.id;
}
const iso = (d: Date) => d.toISOString();
async function attempt(deliveryId: string, startedAt: Date) {
  return (await prisma.deliveryAttempt.create({ data: { deliveryId, startedAt, durationMs: 5, outcome: 'ok' } })).id;
}
const count = (table: string) =>
  prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM "${table}"`).then((r) => Number(r[0]?.n));

describe('retention policies', () => {
  it('quotes: older than 14 days go, by price time; each instrument keeps its newest', async () => {
    const a = await instrument('NVDA');
    const b = await instrument('MSFT');
    await quote(a.id, ago(20));
    await quote(a.id, ago(15));
    const keptA = [await quote(a.id, ago(13)), await quote(a.id, ago(1))];
    const keptB = await quote(b.id, ago(30)); // the only (newest) price of MSFT
    const r = await runRetention(prisma, { now, only: ['quotes'] });
    expect(r.byPolicy.quotes).toBe(2);
    const left = (await prisma.quoteSnapshot.findMany({ select: { id: true } })).map((q) => q.id).sort();
    expect(left).toEqual([...keptA, keptB].sort());
  });

  it('deliveries: arrived ones after 90 days, failed and dead after 365, pending and sending never', async () => {
    const r0 = await rule();
    const al = await alert(r0.id, ago(500));
    const gone = [await delivery(al.id, 'succeeded', ago(91)), await delivery(al.id, 'dead', ago(366))];
    const kept = [
      await delivery(al.id, 'succeeded', ago(89)),
      await delivery(al.id, 'failed', ago(200)),
      await delivery(al.id, 'dead', ago(300)),
      await delivery(al.id, 'pending', ago(2000)),
      await delivery(al.id, 'sending', ago(2000)),
    ];
    const goneAttempt = await attempt(gone[0] as string, ago(95)); // goes with its delivery
    const r = await runRetention(prisma, { now, only: ['deliveries', 'deadLetters'] });
    expect(r.byPolicy).toEqual({ deliveries: 1, deadLetters: 1 });
    expect(r.deleted.Delivery).toBe(2);
    const left = (await prisma.delivery.findMany({ select: { id: true } })).map((d) => d.id).sort();
    expect(left).toEqual([...kept].sort());
    expect(await prisma.deliveryAttempt.findUnique({ where: { id: goneAttempt } })).toBeNull();
    expect(await prisma.alert.count()).toBe(1); // the alert is the record
  });

  it('attempts: those of arrived deliveries after 90 days; failed, dead and pending ones keep theirs', async () => {
    const r0 = await rule();
    const al = await alert(r0.id, ago(10));
    const ok = await delivery(al.id, 'succeeded', ago(10));
    const failed = await delivery(al.id, 'failed', ago(10));
    const pending = await delivery(al.id, 'pending', ago(10));
    const gone = await attempt(ok, ago(91));
    const kept = [await attempt(ok, ago(89)), await attempt(failed, ago(100)), await attempt(pending, ago(100))];
    const r = await runRetention(prisma, { now, only: ['attempts'] });
    expect(r.byPolicy.attempts).toBe(1);
    const left = (await prisma.deliveryAttempt.findMany({ select: { id: true } })).map((a) => a.id);
    expect(left.sort()).toEqual([...kept].sort());
    expect(left).not.toContain(gone);
    expect(await prisma.delivery.count()).toBe(3);
  });

  it('news: after 180 days with their tags, except the headlines of an alert that is kept', async () => {
    const nv = await instrument('NVDA');
    const feed = await prisma.feed.create({ data: { url: 'https://example.com/rss', name: 'f' } });
    const item = async (title: string, seen: Date) =>
      (
        await prisma.newsItem.create({
          data: {
            feedId: feed.id,
            dedupKey: title,
            title,
            contentHash: title,
            firstSeenAt: seen,
            instruments: { create: { instrumentId: nv.id, matched: 'NVDA' } },
          },
        })
      ).id;
    const old = await item('old', ago(181));
    const headline = await item('headline of a kept alert', ago(400));
    const recent = await item('recent', ago(179));
    const r0 = await rule();
    await alert(r0.id, ago(399), [{ id: headline }]);
    const r = await runRetention(prisma, { now, only: ['news'] });
    expect(r.byPolicy.news).toBe(1);
    const left = (await prisma.newsItem.findMany({ select: { id: true } })).map((n) => n.id).sort();
    expect(left).toEqual([headline, recent].sort());
    expect(await prisma.newsItemInstrument.count({ where: { newsItemId: old } })).toBe(0);
    expect(await prisma.newsItemInstrument.count()).toBe(2);

    // Once alerts have a horizon and that alert is past it, its headline may go too.
    const r2 = await runRetention(prisma, { now, only: ['alerts', 'news'], settings: { alerts: 365 } });
    expect(r2.byPolicy).toEqual({ alerts: 1, news: 1 });
    expect((await prisma.newsItem.findMany({ select: { id: true } })).map((n) => n.id)).toEqual([recent]);
  });

  it('source events after 90 days, but each source keeps its newest event', async () => {
    const ev = (source: string, at: Date) =>
      prisma.sourceEvent.create({ data: { source, kind: 'degraded', message: 'm', createdAt: at } });
    await ev('yahoo', ago(120));
    const keptYahoo = await ev('yahoo', ago(100)); // newest of yahoo: it says "degraded now"
    await ev('feed:a', ago(95));
    const keptFeed = [await ev('feed:a', ago(80)), await ev('feed:a', ago(1))];
    const r = await runRetention(prisma, { now, only: ['sourceEvents'] });
    expect(r.byPolicy.sourceEvents).toBe(2);
    const left = (await prisma.sourceEvent.findMany({ select: { id: true } })).map((e) => e.id).sort();
    expect(left).toEqual([keptYahoo.id, ...keptFeed.map((e) => e.id)].sort());
  });

  it('incidents: recovered ones after 365 days; open ones never', async () => {
    const inc = (loop: string, since: Date, recoveredAt: Date | null) =>
      prisma.loopIncident.create({
        data: { loop, since, overdueAt: since, degradedAt: since, recoveredAt, reason: 'r' },
      });
    await inc('prices', ago(400), ago(399));
    const kept = [await inc('news', ago(800), null), await inc('evaluate', ago(370), ago(360))];
    const r = await runRetention(prisma, { now, only: ['incidents'] });
    expect(r.byPolicy.incidents).toBe(1);
    expect((await prisma.loopIncident.findMany()).map((i) => i.id).sort()).toEqual(kept.map((i) => i.id).sort());
  });

  it('sessions and setup tokens expired for more than a day go; valid ones stay', async () => {
    const user = await prisma.adminUser.create({ data: { email: 'a@example.com', passwordHash: 'x' } });
    const sess = (id: string, expiresAt: Date) =>
      prisma.session.create({ data: { id, userId: user.id, csrfToken: 'c', expiresAt } });
    await sess('expired-2d', ago(2));
    await sess('expired-12h', ago(0.5));
    await sess('valid', ago(-1));
    await prisma.setting.create({ data: { key: 'setup_token:old', value: iso(ago(2)) } });
    await prisma.setting.create({ data: { key: 'setup_token:new', value: iso(ago(-1)) } });
    await prisma.setting.create({ data: { key: 'app_secret', value: iso(ago(900)) } }); // not a token
    const r = await runRetention(prisma, { now, only: ['sessions'] });
    expect(r.byPolicy.sessions).toBe(2);
    expect((await prisma.session.findMany()).map((s) => s.id).sort()).toEqual(['expired-12h', 'valid']);
    expect((await prisma.setting.findMany()).map((s) => s.key).sort()).toEqual(['app_secret', 'setup_token:new']);
  });

  it('sign-ups never confirmed go 30 days after their link expired; subscribers and busy ones stay', async () => {
    const sub = (email: string, status: string, createdAt: Date, confirmExpiresAt: Date | null) =>
      prisma.subscriber.create({ data: { email, status: status as 'pending', createdAt, confirmExpiresAt } });
    const stale = await sub('stale@example.com', 'pending', ago(40), ago(33));
    const neverSent = await sub('never@example.com', 'pending', ago(40), null);
    const kept = [
      await sub('fresh@example.com', 'pending', ago(10), ago(3)),
      await sub('busy@example.com', 'pending', ago(40), ago(33)),
      await sub('confirmed@example.com', 'confirmed', ago(900), null),
      await sub('gone@example.com', 'unsubscribed', ago(900), null),
    ];
    await prisma.delivery.create({
      data: {
        channel: 'email',
        subscriberId: kept[1]?.id,
        eventType: 'subscriber.confirm',
        target: 'email:busy',
        messageId: 'msg_busy',
        status: 'pending',
      },
    });
    const ch = await prisma.subscriberChannel.create({
      data: {
        subscriberId: kept[2]?.id as string,
        kind: 'ntfy',
        topicUrl: 'https://ntfy.sh/t',
        linkExpiresAt: ago(31),
      },
    });
    await prisma.$executeRawUnsafe(`UPDATE "SubscriberChannel" SET "createdAt" = $1::timestamp(3)`, iso(ago(40)));
    const r = await runRetention(prisma, { now, only: ['signups'] });
    expect(r.byPolicy.signups).toBe(3); // two sign-ups and the unconfirmed channel
    const left = (await prisma.subscriber.findMany({ select: { id: true } })).map((s) => s.id).sort();
    expect(left).toEqual(kept.map((s) => s.id).sort());
    expect(left).not.toContain(stale.id);
    expect(left).not.toContain(neverSent.id);
    expect(await prisma.subscriberChannel.findUnique({ where: { id: ch.id } })).toBeNull();
    expect(await prisma.delivery.count({ where: { status: 'pending' } })).toBe(1);
  });

  it('alerts are kept forever by default; with a horizon, old ones go unless a delivery is in flight', async () => {
    const r0 = await rule();
    const old = await alert(r0.id, ago(100));
    const inFlight = await alert(r0.id, ago(100));
    const recent = await alert(r0.id, ago(10));
    await delivery(old.id, 'succeeded', ago(1));
    await delivery(inFlight.id, 'pending', ago(1));
    expect(DEFAULT_RETENTION.alerts).toBe(0);
    expect((await runRetention(prisma, { now, only: ['alerts'] })).byPolicy.alerts).toBe(0);
    expect(await prisma.alert.count()).toBe(3);
    const r = await runRetention(prisma, { now, only: ['alerts'], settings: { alerts: 60 } });
    expect(r.byPolicy.alerts).toBe(1);
    expect((await prisma.alert.findMany()).map((a) => a.id).sort()).toEqual([inFlight.id, recent.id].sort());
    expect(await prisma.delivery.count()).toBe(1); // the old alert's delivery went with it; the pending one stays
  });

  it('market policies age by the market clock, the others by the wall clock (a replay prunes by replayed time)', async () => {
    const a = await instrument('NVDA');
    await quote(a.id, new Date('2021-01-01T00:00:00Z'));
    await quote(a.id, new Date('2021-03-01T00:00:00Z'));
    await prisma.sourceEvent.create({ data: { source: 'y', kind: 'k', message: 'm', createdAt: ago(200) } });
    await prisma.sourceEvent.create({ data: { source: 'y', kind: 'k', message: 'm', createdAt: ago(1) } });
    // Replayed time 2021-03-01: the January quote is past 14 days; wall time prunes the source event.
    const r = await runRetention(prisma, {
      now: { market: new Date('2021-03-01T12:00:00Z'), wall: NOW },
      only: ['quotes', 'sourceEvents'],
    });
    expect(r.byPolicy).toEqual({ quotes: 1, sourceEvents: 1 });
  });
});

describe('batches', () => {
  it('a batch deletes at most its limit; a run goes on batch by batch and stops at maxBatches', async () => {
    const a = await instrument('NVDA');
    for (let i = 0; i < 35; i++) await quote(a.id, ago(30 + i));
    await quote(a.id, ago(1));
    expect(await pruneOnce(prisma, 'quotes', { now, limit: 10 })).toBe(10);
    expect(await count('QuoteSnapshot')).toBe(26);
    const capped = await runRetention(prisma, { now, only: ['quotes'], batchSize: 10, maxBatches: 1 });
    expect(capped).toMatchObject({ byPolicy: { quotes: 10 }, batches: { quotes: 1 }, unfinished: ['quotes'] });
    const rest = await runRetention(prisma, { now, only: ['quotes'], batchSize: 10 });
    expect(rest).toMatchObject({ byPolicy: { quotes: 15 }, batches: { quotes: 2 }, unfinished: [] });
    expect(await count('QuoteSnapshot')).toBe(1);
  });

  it('two workers pruning at once take disjoint rows: every old row goes once, no error, nothing new lost', async () => {
    const a = await instrument('NVDA');
    await prisma.$executeRawUnsafe(
      `INSERT INTO "SourceEvent" (source, kind, message, "createdAt")
       SELECT 'yahoo', 'degraded', 'm', $1::timestamp(3) - (g || ' minutes')::interval FROM generate_series(1, 3000) g`,
      iso(ago(100)),
    );
    await prisma.$executeRawUnsafe(
      `INSERT INTO "QuoteSnapshot" ("instrumentId", price, "sourceAt", "fetchedAt")
       SELECT $1, 100, $2::timestamp(3) - (g || ' minutes')::interval, now() FROM generate_series(1, 3000) g`,
      a.id,
      iso(ago(20)),
    );
    await prisma.sourceEvent.create({ data: { source: 'yahoo', kind: 'recovered', message: 'm', createdAt: ago(1) } });
    await quote(a.id, ago(1));
    const second = createPrisma({ databaseUrl: db.url, poolSize: 3 });
    try {
      const opts = { now, only: ['sourceEvents', 'quotes'] as const, batchSize: 100 };
      const [x, y] = await Promise.all([runRetention(prisma, opts), runRetention(second, opts)]);
      expect((x.byPolicy.sourceEvents ?? 0) + (y.byPolicy.sourceEvents ?? 0)).toBe(3000);
      expect((x.byPolicy.quotes ?? 0) + (y.byPolicy.quotes ?? 0)).toBe(3000);
      expect(await count('SourceEvent')).toBe(1);
      expect(await count('QuoteSnapshot')).toBe(1);
    } finally {
      await second.$disconnect();
    }
  });
});

describe('table stats', () => {
  it('rows, bytes and the oldest row of each table that grows', async () => {
    const a = await instrument('NVDA');
    await quote(a.id, ago(3));
    await quote(a.id, ago(5));
    const b = await instrument('MSFT');
    await quote(b.id, ago(4));
    await prisma.sourceEvent.create({ data: { source: 'y', kind: 'k', message: 'm', createdAt: ago(7) } });
    const stats = await tableStats(prisma);
    const q = stats.find((s) => s.table === 'QuoteSnapshot');
    expect(q).toMatchObject({ rows: 3, rowsExact: true, oldest: ago(5) });
    expect(q?.bytes).toBeGreaterThan(8192);
    expect(stats.find((s) => s.table === 'SourceEvent')).toMatchObject({ rows: 1, oldest: ago(7) });
    expect(stats.find((s) => s.table === 'Alert')).toMatchObject({ rows: 0, oldest: null });
    // Every table a policy prunes is shown.
    for (const p of RETENTION_POLICIES) expect(stats.map((s) => s.table)).toContain(p.table);
  });
});
