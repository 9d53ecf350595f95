/**
 * Quiet hours and time intervals in the fan-out and the delivery worker, across the US spring DST
 * change (8 March 2026), with an injected clock: alerts due in a subscriber's quiet hours are held
 * until the local end (07:00 EDT = 11:00Z that morning, not 12:00Z) and leave as ONE message; a
 * critical alert breaks through when allowed; a subscription limited to the regular session and
 * an endpoint limited to weekdays are muted outside them. Real Postgres and Redis, a fake ntfy over
 * a socket.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '@signals/core';
import { createAlertWithDeliveries, requestNtfyChannel } from '@signals/db';
import { buildSubscriberChannels, createMailer, createWebhookSender } from '@signals/notify';
import { createQueues, createRedis, type QueueSet } from '@signals/queue';
import { createTestDb, type FakeNtfy, startFakeNtfy, TEST_REDIS_URL, type TestDb, testPrefix } from '@signals/testing';
import type { Redis } from 'ioredis';
import { type DeliveryContext, runDeliveries } from '../src/delivery/deliver.ts';
import { alertFor, seedScenario, silent } from './helpers.ts';

let db: TestDb;
let redis: Redis;
let queues: QueueSet;
let ntfy: FakeNtfy;
const clock = new FixedClock(new Date('2026-03-08T04:00:00Z')); // Sat 7 Mar, 23:00 EST
let ctx: DeliveryContext;

beforeAll(async () => {
  db = await createTestDb();
  redis = createRedis(TEST_REDIS_URL, 'worker');
  queues = createQueues(redis, testPrefix('quiet'));
  ntfy = await startFakeNtfy();
  ctx = {
    prisma: db.prisma,
    queues,
    logger: silent,
    clock,
    mailer: createMailer({ smtpUrl: 'smtp://127.0.0.1:9', from: 'x@test.local', logger: silent }),
    webhook: createWebhookSender({ allowedCidrs: ['127.0.0.1/32'], logger: silent }),
    publicBaseUrl: 'http://signals.test',
    appSecret: 'test-secret-test-secret-test-secret!!',
    subscriberChannels: buildSubscriberChannels({ ntfy: { allowedCidrs: ['127.0.0.1/32'], timeoutMs: 2000 } }),
    webhookSchedule: [0, 1000],
    emailSchedule: [0],
  };
});
afterEach(async () => {
  await db.prisma.subscriber.updateMany({ where: { status: 'confirmed' }, data: { status: 'unsubscribed' } });
  await db.prisma.webhookEndpoint.updateMany({ data: { status: 'disabled' } });
});
afterAll(async () => {
  await ntfy?.close();
  await queues?.close();
  await redis?.quit();
  await db?.drop();
});

let seq = 0;
async function fire(ruleId: string, severity: 'warning' | 'critical', title: string) {
  const r = await createAlertWithDeliveries(
    db.prisma,
    { ...alertFor(ruleId, clock.now()), severity, title, dedupKey: `q-${seq++}` },
    { now: clock.now(), emailGroupWaitMs: 0 },
  );
  return db.prisma.delivery.findMany({ where: { id: { in: r.deliveryIds } } });
}
const run = (rows: { id: string; attempts: number }[]) =>
  runDeliveries(
    ctx,
    rows.map((r) => ({ id: r.id, attempt: r.attempts })),
  );

async function subscriberWithNtfy(email: string, data: object) {
  const s = await seedScenario(db.prisma, { subscribers: [{ email }] });
  const sub = s.subscribers[0] as { id: string };
  await db.prisma.subscriber.update({ where: { id: sub.id }, data });
  const req = await requestNtfyChannel(db.prisma, {
    subscriberId: sub.id,
    topicUrl: `${ntfy.url}/quiet-${seq}`,
    tokenSealed: null,
    now: clock.now(),
  });
  await db.prisma.subscriberChannel.update({ where: { id: req.channelId }, data: { status: 'confirmed' } });
  return { ...s, sub };
}

describe('quiet hours', () => {
  it('holds alerts until 07:00 local across the DST change and sends them as one message; critical breaks through', async () => {
    clock.set(new Date('2026-03-08T04:00:00Z'));
    const s = await subscriberWithNtfy('night@example.com', {
      timeZone: 'America/New_York',
      quietHours: { ntfy: { start: '22:00', end: '07:00' }, email: { start: '22:00', end: '07:00' } },
      quietCriticalBreaksThrough: true,
    });
    const a = await fire(s.rule.id, 'warning', 'NVDA down 9 %');
    clock.set(new Date('2026-03-08T06:30:00Z')); // 01:30 EST, just before the clocks jump
    const b = await fire(s.rule.id, 'warning', 'MSFT down 4 sigma');
    const held = [...a, ...b];
    expect(held).toHaveLength(4); // email and ntfy, twice
    for (const d of held) expect(d.nextAttemptAt.toISOString()).toBe('2026-03-08T11:00:00.000Z');

    // A critical alert in the night is sent at once (the subscriber allows it).
    const c = await fire(s.rule.id, 'critical', 'NVDA down 17 %');
    const cn = c.find((d) => d.channel === 'ntfy');
    expect(cn?.nextAttemptAt.toISOString()).toBe('2026-03-08T06:30:00.000Z');
    expect(await run(cn ? [cn] : [])).toMatchObject({ succeeded: 1 });
    expect(ntfy.received.at(-1)).toMatchObject({ title: 'NVDA down 17 %', priority: 5 });

    // 06:59 EDT (10:59Z): still quiet, nothing is claimed.
    const heldNtfy = held.filter((d) => d.channel === 'ntfy');
    clock.set(new Date('2026-03-08T10:59:00Z'));
    expect(await run(heldNtfy)).toMatchObject({ claimed: 0 });
    // 07:00 EDT: both leave as one message.
    clock.set(new Date('2026-03-08T11:00:00Z'));
    const sentBefore = ntfy.received.length;
    expect(await run(heldNtfy.slice(0, 1))).toMatchObject({ claimed: 2, succeeded: 2 });
    expect(ntfy.received.length).toBe(sentBefore + 1);
    const digest = ntfy.received.at(-1);
    expect(digest?.title).toBe('2 Market Signals alerts');
    expect(digest?.message).toContain('NVDA down 9 %');
    expect(digest?.message).toContain('MSFT down 4 sigma');
  });

  it('without break-through, a critical alert waits too; without quiet hours nothing waits', async () => {
    clock.set(new Date('2026-03-08T04:00:00Z'));
    const s = await subscriberWithNtfy('strict@example.com', {
      timeZone: 'Europe/Berlin',
      quietHours: { ntfy: { start: '00:00', end: '08:00' } },
    });
    // 05:00 in Berlin (CET): quiet until 08:00 CET = 07:00Z; email has no quiet hours.
    const rows = await fire(s.rule.id, 'critical', 'critical at night');
    expect(rows.find((d) => d.channel === 'ntfy')?.nextAttemptAt.toISOString()).toBe('2026-03-08T07:00:00.000Z');
    expect(rows.find((d) => d.channel === 'email')?.nextAttemptAt.toISOString()).toBe('2026-03-08T04:00:00.000Z');
  });
});

describe('time intervals', () => {
  it('mutes a subscription outside the regular session and an endpoint outside weekdays', async () => {
    const s = await subscriberWithNtfy('session@example.com', { timeZone: 'America/New_York' });
    await db.prisma.subscription.updateMany({
      where: { subscriberId: s.sub.id },
      data: { activeIntervals: [{ market: ['regular'] }] },
    });
    const ep = await db.prisma.webhookEndpoint.create({
      data: {
        url: 'http://127.0.0.1:9/hook',
        secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        activeIntervals: [{ weekdays: [1, 2, 3, 4, 5] }],
      },
    });
    // Sunday night: neither.
    clock.set(new Date('2026-03-08T04:00:00Z'));
    expect(await fire(s.rule.id, 'critical', 'sunday')).toEqual([]);
    // Monday 10:00 EDT, the first session after the change: both.
    clock.set(new Date('2026-03-09T14:00:00Z'));
    const open = await fire(s.rule.id, 'warning', 'monday');
    expect(open.map((d) => d.channel).sort()).toEqual(['email', 'ntfy', 'webhook']);
    expect(open.find((d) => d.channel === 'webhook')?.endpointId).toBe(ep.id);
    // Monday 17:00 EDT: after the close, the subscription is muted; the endpoint still gets it.
    clock.set(new Date('2026-03-09T21:00:00Z'));
    expect((await fire(s.rule.id, 'warning', 'after close')).map((d) => d.channel)).toEqual(['webhook']);
  });
});
