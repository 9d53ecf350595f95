/**
 * ntfy and Telegram, each channel's whole path against a fake service over a real socket:
 * subscribe (the channel is requested), confirm (the link sent to the ntfy topic; /start with the
 * one-time deep-link token), receive an alert (priority and tags from severity; 429 answered with
 * Retry-After / retry_after is retried no earlier than asked, attempts logged), stop (no more
 * deliveries). Nothing is sent to a topic or chat that was not confirmed; the ntfy token and the
 * bot token never appear in a log line. Real Postgres and Redis, the real delivery worker code.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FixedClock } from '@signals/core';
import {
  createAlertWithDeliveries,
  linkTelegramChat,
  confirmNtfyChannel,
  requestNtfyChannel,
  sealSecret,
  stopChannels,
  telegramLinkToken,
} from '@signals/db';
import { buildSubscriberChannels, createMailer, createWebhookSender } from '@signals/notify';
import { createQueues, createRedis, type QueueSet } from '@signals/queue';
import {
  createTestDb,
  type FakeNtfy,
  type FakeTelegram,
  startFakeNtfy,
  startFakeTelegram,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
} from '@signals/testing';
import type { Redis } from 'ioredis';
import { pollTelegramOnce } from '../src/channels/telegram-updates.ts';
import { type DeliveryContext, runDeliveries } from '../src/delivery/deliver.ts';
import { alertFor, seedScenario } from './helpers.ts';

const APP_KEY = 'test-secret-test-secret-test-secret!!';
const NTFY_TOKEN = 'tk_s3cretAccessToken0123456789';

let db: TestDb;
let redis: Redis;
let queues: QueueSet;
// Per test (beforeEach): the fake services, the clock, the log and the delivery context. Each test
// owns what it sends and reads (messages, chats, pending updates, scripted answers, log lines), so
// the file passes in any order and each test passes alone.
let ntfy: FakeNtfy;
let tg: FakeTelegram;
const logLines: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  }),
);
let clock: FixedClock;
let ctx: DeliveryContext;

beforeAll(async () => {
  db = await createTestDb();
  redis = createRedis(TEST_REDIS_URL, 'worker');
  queues = createQueues(redis, testPrefix('chan'));
});
beforeEach(async () => {
  ntfy = await startFakeNtfy();
  tg = await startFakeTelegram();
  logLines.length = 0;
  clock = new FixedClock(new Date('2026-01-29T15:00:00Z'));
  ctx = {
    prisma: db.prisma,
    queues,
    logger,
    clock,
    mailer: createMailer({ smtpUrl: 'smtp://127.0.0.1:9', from: 'x@test.local', logger }),
    webhook: createWebhookSender({ allowedCidrs: ['127.0.0.1/32'], logger }),
    publicBaseUrl: 'http://signals.test',
    appSecret: APP_KEY,
    subscriberChannels: buildSubscriberChannels({
      ntfy: { allowedCidrs: ['127.0.0.1/32'], timeoutMs: 2000 },
      telegram: { botToken: tg.token, apiBaseUrl: tg.url, timeoutMs: 2000 },
    }),
    webhookSchedule: [0, 1000, 5000],
    emailSchedule: [0],
    // Templates are read on every send (the cache is per database, shared by every test's context):
    // the templates test's rows must not be served from a cache to the tests after it, nor a
    // cached empty set to it.
    templateCacheMs: 0,
  };
});
// Each test's subscriber is the only live one: earlier ones (on the same NVDA) stop receiving.
afterEach(async () => {
  await ntfy?.close();
  await tg?.close();
  await db.prisma.subscriber.updateMany({ where: { status: 'confirmed' }, data: { status: 'unsubscribed' } });
});
afterAll(async () => {
  await queues?.close();
  await redis?.quit();
  await db?.drop();
});

/** Runs the given deliveries at their current attempt. */
async function run(ids: string[]) {
  const rows = await db.prisma.delivery.findMany({ where: { id: { in: ids } }, select: { id: true, attempts: true } });
  return runDeliveries(
    ctx,
    rows.map((r) => ({ id: r.id, attempt: r.attempts })),
  );
}

let seq = 0;
async function fire(ruleId: string, severity: 'warning' | 'critical' = 'critical') {
  const at = new Date(clock.now().getTime() + seq++ * 1000);
  const r = await createAlertWithDeliveries(
    db.prisma,
    { ...alertFor(ruleId, at), severity },
    { now: clock.now(), emailGroupWaitMs: 0 },
  );
  return db.prisma.delivery.findMany({ where: { id: { in: r.deliveryIds } } });
}

describe('ntfy channel', () => {
  it('confirms the topic by the link sent to it, then sends alerts with priority and tags; 429 waits for Retry-After; stop ends it', async () => {
    const s = await seedScenario(db.prisma, { subscribers: [{ email: 'ntfy@example.com' }] });
    const sub = s.subscribers[0] as { id: string };
    const topicUrl = `${ntfy.url}/nvda-alerts`;
    const req = await requestNtfyChannel(db.prisma, {
      subscriberId: sub.id,
      topicUrl,
      tokenSealed: sealSecret(APP_KEY, NTFY_TOKEN),
      now: clock.now(),
    });
    const stored = await db.prisma.subscriberChannel.findUniqueOrThrow({ where: { id: req.channelId } });
    expect(stored.tokenSealed).not.toContain(NTFY_TOKEN);

    // Not confirmed yet: an alert goes by email only.
    const before = await fire(s.rule.id);
    expect(before.map((d) => d.channel)).toEqual(['email']);

    // The confirmation goes to the topic, with the access token.
    expect(await run(req.deliveryIds)).toMatchObject({ succeeded: 1 });
    const confirmMsg = ntfy.received.at(-1);
    expect(confirmMsg).toMatchObject({ topic: 'nvda-alerts', authorization: `Bearer ${NTFY_TOKEN}` });
    const link = /http:\/\/signals\.test\/channels\/confirm\?token=([A-Za-z0-9_-]+)/.exec(confirmMsg?.message ?? '');
    expect(link).not.toBeNull();
    expect(await confirmNtfyChannel(db.prisma, 'x'.repeat(43), clock.now())).toBeNull();
    expect(await confirmNtfyChannel(db.prisma, link?.[1] as string, clock.now())).toMatchObject({
      channelId: req.channelId,
    });
    expect(await confirmNtfyChannel(db.prisma, link?.[1] as string, clock.now())).toBeNull(); // used once

    // Confirmed: a critical alert; ntfy answers 429 with Retry-After: 120 first.
    ntfy.answers.push({ status: 429, retryAfter: '120' });
    const rows = await fire(s.rule.id, 'critical');
    const d = rows.find((r) => r.channel === 'ntfy');
    expect(d?.target).toBe(`ntfy:${req.channelId}`);
    expect(await run([d?.id as string])).toMatchObject({ retry: 1 });
    const waiting = await db.prisma.delivery.findUniqueOrThrow({
      where: { id: d?.id as string },
      include: { attemptLog: true },
    });
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1 });
    expect(waiting.nextAttemptAt.getTime() - clock.now().getTime()).toBeGreaterThanOrEqual(120_000);
    expect(waiting.attemptLog[0]).toMatchObject({ outcome: 'retry', statusCode: 429 });
    // Not due yet: nothing is claimed.
    expect(await run([d?.id as string])).toMatchObject({ claimed: 0 });
    clock.advance(121_000);
    expect(await run([d?.id as string])).toMatchObject({ succeeded: 1 });
    const alertMsg = ntfy.received.at(-1);
    expect(alertMsg).toMatchObject({ topic: 'nvda-alerts', priority: 5, authorization: `Bearer ${NTFY_TOKEN}` });
    expect(alertMsg?.tags).toContain('critical');
    expect(alertMsg?.title).toContain('NVDA fell');
    expect(alertMsg?.message).toContain('-16.9');

    // A warning is high priority (4), not urgent.
    const warn = (await fire(s.rule.id, 'warning')).find((r) => r.channel === 'ntfy');
    await run([warn?.id as string]);
    expect(ntfy.received.at(-1)).toMatchObject({ priority: 4 });

    // A permanent refusal (a wrong token: 403) fails the delivery without retries; redelivery is the generic one.
    ntfy.answers.push({ status: 403 });
    const refused = (await fire(s.rule.id)).find((r) => r.channel === 'ntfy');
    expect(await run([refused?.id as string])).toMatchObject({ failed: 1 });

    // A topic that keeps failing: retried on the schedule, then a dead letter with every attempt logged.
    ntfy.answers.push({ status: 503 }, { status: 502 }, { status: 500 });
    const failing = (await fire(s.rule.id)).find((r) => r.channel === 'ntfy');
    for (let i = 0; i < 3; i++) {
      await run([failing?.id as string]);
      clock.advance(10_000);
    }
    const dead = await db.prisma.delivery.findUniqueOrThrow({
      where: { id: failing?.id as string },
      include: { attemptLog: { orderBy: { startedAt: 'asc' } } },
    });
    expect(dead).toMatchObject({ status: 'dead', attempts: 3 });
    expect(dead.attemptLog.map((a) => a.statusCode)).toEqual([503, 502, 500]);
    // Redelivery (the API's transition: back to pending at its attempt count) sends it.
    await db.prisma.delivery.update({
      where: { id: dead.id },
      data: { status: 'pending', nextAttemptAt: clock.now() },
    });
    expect(await run([dead.id])).toMatchObject({ succeeded: 1 });

    // Stop: the next alert has no ntfy delivery.
    expect(await stopChannels(db.prisma, { subscriberId: sub.id, kind: 'ntfy' }, clock.now())).toBe(1);
    expect((await fire(s.rule.id)).map((r) => r.channel)).toEqual(['email']);
    expect(logLines.join('')).not.toContain(NTFY_TOKEN);
  });

  it('refuses a topic on a private address at send time unless allowed (SSRF guard)', async () => {
    const s = await seedScenario(db.prisma, { subscribers: [{ email: 'ssrf@example.com' }] });
    const sub = s.subscribers[0] as { id: string };
    const req = await requestNtfyChannel(db.prisma, {
      subscriberId: sub.id,
      topicUrl: 'http://10.0.0.1/internal',
      tokenSealed: null,
      now: clock.now(),
    });
    expect(await run(req.deliveryIds)).toMatchObject({ failed: 1 });
    const row = await db.prisma.delivery.findUniqueOrThrow({ where: { id: req.deliveryIds[0] as string } });
    expect(row.lastError).toMatch(/refused/);
  });
});

describe('Telegram channel', () => {
  it('links a chat by /start <one-time token>, sends alerts (429 waits retry_after), answers /status and /stop', async () => {
    const s = await seedScenario(db.prisma, { subscribers: [{ email: 'tg@example.com' }] });
    const sub = s.subscribers[0] as { id: string };
    const deps = {
      prisma: db.prisma,
      client: ctx.subscriberChannels?.telegram as NonNullable<DeliveryContext['subscriberChannels']>['telegram'] &
        object,
      logger,
      clock,
    };

    // The deep link was made, but nobody pressed Start: no delivery to Telegram.
    const token = await telegramLinkToken(db.prisma, { subscriberId: sub.id, now: clock.now(), ttlMs: 3600_000 });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await fire(s.rule.id)).map((r) => r.channel)).toEqual(['email']);

    tg.say(4242, '/start wrong-token-wrong-token-wrong');
    tg.say(4242, `/start ${token}`);
    let offset = await pollTelegramOnce(deps, undefined, 0);
    expect(tg.sent.map((m) => m.text)).toEqual([expect.stringMatching(/not valid/), expect.stringMatching(/^Linked/)]);
    const ch = await db.prisma.subscriberChannel.findFirstOrThrow({
      where: { subscriberId: sub.id, kind: 'telegram' },
    });
    expect(ch).toMatchObject({ status: 'confirmed', chatId: '4242', linkTokenHash: null });
    // The token works once.
    expect(await linkTelegramChat(db.prisma, { token, chatId: '999', now: clock.now() })).toBeNull();

    // An alert: Telegram answers 429 retry_after 30 first.
    tg.answers.push({ error_code: 429, description: 'Too Many Requests: retry after 30', retry_after: 30 });
    const d = (await fire(s.rule.id)).find((r) => r.channel === 'telegram');
    expect(d?.target).toBe(`telegram:${ch.id}`);
    expect(await run([d?.id as string])).toMatchObject({ retry: 1 });
    const waiting = await db.prisma.delivery.findUniqueOrThrow({ where: { id: d?.id as string } });
    expect(waiting.nextAttemptAt.getTime() - clock.now().getTime()).toBeGreaterThanOrEqual(30_000);
    clock.advance(31_000);
    expect(await run([d?.id as string])).toMatchObject({ succeeded: 1 });
    expect(tg.sent.at(-1)).toMatchObject({ chat_id: '4242', text: expect.stringContaining('NVDA fell') });

    tg.say(4242, '/status');
    offset = await pollTelegramOnce(deps, offset, 0);
    expect(tg.sent.at(-1)?.text).toMatch(/Alerts are on/);
    tg.say(4242, '/stop');
    offset = await pollTelegramOnce(deps, offset, 0);
    expect(tg.sent.at(-1)?.text).toMatch(/^Stopped/);
    expect((await db.prisma.subscriberChannel.findUniqueOrThrow({ where: { id: ch.id } })).status).toBe('stopped');
    expect((await fire(s.rule.id)).map((r) => r.channel)).toEqual(['email']);
    tg.say(4242, '/status');
    await pollTelegramOnce(deps, offset, 0);
    expect(tg.sent.at(-1)?.text).toMatch(/No alerts/);
    expect(tg.pending).toHaveLength(1); // only the last, not yet acknowledged
    expect(tg.wrongToken).toBe(0);
    expect(logLines.join('')).not.toContain(tg.token);
  });

  it('stops the channel when the user blocked the bot (403), without retrying', async () => {
    const s = await seedScenario(db.prisma, { subscribers: [{ email: 'blocked@example.com' }] });
    const sub = s.subscribers[0] as { id: string };
    const token = await telegramLinkToken(db.prisma, { subscriberId: sub.id, now: clock.now(), ttlMs: 3600_000 });
    await linkTelegramChat(db.prisma, { token, chatId: '5151', now: clock.now() });
    tg.answers.push({ error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    const d = (await fire(s.rule.id)).find((r) => r.channel === 'telegram');
    expect(await run([d?.id as string])).toMatchObject({ failed: 1 });
    const ch = await db.prisma.subscriberChannel.findFirstOrThrow({
      where: { subscriberId: sub.id, kind: 'telegram' },
    });
    expect(ch.status).toBe('stopped');
  });
});

describe('message templates at send time', () => {
  it('sends the operator’s ntfy text; a Telegram template that fails falls back to the built-in message, logged', async () => {
    await db.prisma.messageTemplate.createMany({
      data: [
        {
          key: 'ntfy',
          source: '{{ alert.symbol }} {{ alert.severity | upcase }}: {{ alert.valueText }} via {{ alert.rule.name }}',
        },
        // Parses, but runs past the render budget: must not lose the alert.
        {
          key: 'telegram',
          source: '{% for i in (1..3000) %}{% for j in (1..3000) %}{% if j == 0 %}x{% endif %}{% endfor %}{% endfor %}',
        },
      ],
    });
    try {
      const s = await seedScenario(db.prisma, { subscribers: [{ email: 'tpl@example.com' }] });
      const sub = s.subscribers[0] as { id: string };
      const req = await requestNtfyChannel(db.prisma, {
        subscriberId: sub.id,
        topicUrl: `${ntfy.url}/tpl`,
        tokenSealed: null,
        now: clock.now(),
      });
      await db.prisma.subscriberChannel.update({ where: { id: req.channelId }, data: { status: 'confirmed' } });
      const token = await telegramLinkToken(db.prisma, { subscriberId: sub.id, now: clock.now(), ttlMs: 3600_000 });
      await linkTelegramChat(db.prisma, { token, chatId: '6060', now: clock.now() });

      const rows = await fire(s.rule.id, 'critical');
      const chat = rows.filter((r) => r.channel === 'ntfy' || r.channel === 'telegram');
      expect(chat).toHaveLength(2);
      expect(await run(chat.map((r) => r.id))).toMatchObject({ succeeded: 2 });
      expect(ntfy.received.at(-1)?.message).toMatch(/^NVDA CRITICAL: .+ via DeepSeek shock/);
      expect(tg.sent.at(-1)).toMatchObject({ chat_id: '6060', text: expect.stringContaining('NVDA fell 16.9%') });
      expect(logLines.join('')).toMatch(/message template failed at send time/);
    } finally {
      await db.prisma.messageTemplate.deleteMany();
    }
  }, 120_000); // the first render starts a template thread: slow on a loaded machine
});

describe('the bot loop', () => {
  it('polls under a Redis lease (one poller per prefix), handles /start, and stops cleanly', async () => {
    const { startTelegramUpdates } = await import('../src/channels/telegram-updates.ts');
    const s = await seedScenario(db.prisma, { subscribers: [{ email: 'loop@example.com' }] });
    const sub = s.subscribers[0] as { id: string };
    const token = await telegramLinkToken(db.prisma, { subscriberId: sub.id, now: clock.now(), ttlMs: 3600_000 });
    const prefix = testPrefix('tgloop');
    const client = ctx.subscriberChannels?.telegram;
    if (!client) throw new Error('telegram not built');
    // The loop catalog's `telegram` heartbeat, as the worker wires it (jobs/index.ts).
    const { createLiveness } = await import('../src/ops/liveness.ts');
    const liveness = createLiveness({
      prisma: db.prisma,
      logger,
      loops: { telegram: { intervalMs: 30_000, marketHours: false } },
      throttleMs: 0,
    });
    await db.prisma.loopHeartbeat.deleteMany({ where: { loop: 'telegram' } });
    const onRound = (err?: unknown) =>
      err === undefined ? liveness.success('telegram') : liveness.failure('telegram', err);
    const deps = { prisma: db.prisma, client, logger, clock, redis, prefix, waitSec: 0, onRound };
    const first = startTelegramUpdates(deps);
    const second = startTelegramUpdates(deps);
    try {
      tg.say(7070, `/start ${token}`);
      const { until } = await import('./helpers.ts');
      await until(
        async () =>
          (await db.prisma.subscriberChannel.findFirst({
            where: { subscriberId: sub.id, chatId: '7070', status: 'confirmed' },
          })) ?? false,
      );
      // Linked once, answered once: the second loop did not poll the same update.
      await new Promise((r) => setTimeout(r, 300));
      expect(tg.sent.filter((m) => m.chat_id === '7070')).toHaveLength(1);
      expect(await redis.get(`${prefix}:telegram:poller`)).toBeTruthy();
      // Each round Telegram answered is the loop's heartbeat in Postgres (what /healthz judges).
      const hb = await db.prisma.loopHeartbeat.findUniqueOrThrow({ where: { loop: 'telegram' } });
      expect(hb.lastSuccessAt).not.toBeNull();
      expect(hb.intervalSec).toBe(30);
    } finally {
      await first.close();
      await second.close();
    }
    expect(await redis.get(`${prefix}:telegram:poller`)).toBeNull();
  });
});
