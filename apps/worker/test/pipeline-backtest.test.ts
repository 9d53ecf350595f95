/**
 * "Who would have been told" == what a live replay of the same data actually delivers (issue 19).
 * The replay: every session of a recording, the price tick and the worker's evaluation cycle at the
 * close, then the delivery worker's runDeliveries for what is due (real Postgres, Redis, an SMTP sink
 * and a webhook receiver verifying Standard Webhooks signatures). The forecast: the backtest of the
 * same stored bars (the one input loader), through forecastBacktestDeliveries (the function behind
 * POST /api/backtest `deliveries`, the rule preview and `pnpm cli backtest --deliveries`).
 *
 * The scenario exercises every stage: rule C is silenced on MSFT, and inhibits rule A on the same
 * symbol and session; B fires with A on NVDA and leaves in the same email to s1 (grouping); s2's
 * quiet hours hold her emails to the next morning; s3 is subscribed on weekends only (time
 * intervals). Dropping any stage from the forecast makes it disagree with the replay.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backtest, FANOUT_STAGES, FixedClock, isTradingDay, sessionCloseMs } from '@signals/core';
import {
  createPriceStore,
  forecastBacktestDeliveries,
  inclusiveRange,
  loadBacktestInput,
  loadRuleDefinitions,
} from '@signals/db';
import { createPriceIngestor, ReplayPriceSource } from '@signals/market-data';
import { createMailer, createWebhookSender, generateSecret } from '@signals/notify';
import { createQueues, createRedis, type QueueSet } from '@signals/queue';
import {
  createTestDb,
  fixturePath,
  type SmtpSink,
  startSmtpSink,
  startWebhookReceiver,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
  type WebhookReceiver,
} from '@signals/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeliveryContext, runDeliveries } from '../src/delivery/deliver.ts';
import { runEvaluationCycle } from '../src/jobs/evaluate.ts';
import { priceTick } from '../src/jobs/ingest.ts';
import { silent } from './helpers.ts';

const FILES = [
  'historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json',
  'historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json',
];
const FIRST = '2021-02-01';
const LAST = '2021-03-31';

let db: TestDb;
let redis: Redis;
let queues: QueueSet;
let dir: string;
let sink: SmtpSink;
let receiver: WebhookReceiver;
const days: string[] = [];
const S2 = 's2-quiet@example.org';

beforeAll(async () => {
  db = await createTestDb();
  const prefix = testPrefix('pipeline-bt');
  redis = createRedis(TEST_REDIS_URL, 'worker');
  queues = createQueues(redis, prefix);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-bt-'));
  for (const f of FILES) fs.copyFileSync(fixturePath('yahoo', f), path.join(dir, f));
  sink = await startSmtpSink();
  const secret = generateSecret();
  receiver = await startWebhookReceiver({ secret });

  const p = db.prisma;
  const wl = await p.watchlist.create({ data: { slug: 'bt-pipeline', name: 'Pipeline' } });
  for (const symbol of ['NVDA', 'MSFT']) {
    const inst = await p.instrument.create({ data: { symbol, name: symbol } });
    await p.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: inst.id } });
  }
  const rule = (name: string, symbols: string[], severity: 'info' | 'warning' | 'critical', thresholdPct: number) =>
    p.rule.create({
      data: {
        name,
        kind: 'pct_move',
        params: { sessions: 1, thresholdPct, direction: 'either' },
        symbols,
        severity,
        cooldownSec: 0,
      },
    });
  const A = await rule('A: 2 % either way', ['NVDA', 'MSFT'], 'warning', 2);
  const B = await rule('B: NVDA 3 %', ['NVDA'], 'info', 3);
  const C = await rule('C: MSFT 2 % (source)', ['MSFT'], 'critical', 2);
  await p.inhibitRule.create({
    data: { sourceRuleId: C.id, targetRuleId: A.id, equal: ['symbol', 'session'], comment: 'C holds A' },
  });
  // Active then and now: live judges silences at wall-clock time, the forecast at the alert's time.
  await p.silence.create({
    data: {
      ruleId: C.id,
      subject: 'MSFT',
      startsAt: new Date('2020-01-01T00:00:00Z'),
      endsAt: new Date('2099-01-01T00:00:00Z'),
      comment: 'C on MSFT is noise',
    },
  });
  const sub = (email: string, rules: string[], extra: object = {}, intervals?: object) =>
    p.subscriber.create({
      data: {
        email,
        status: 'confirmed',
        ...extra,
        subscriptions: {
          create: rules.map((ruleId) => ({ ruleId, ...(intervals ? { activeIntervals: intervals } : {}) })),
        },
      },
    });
  await sub('s1@example.org', [A.id, B.id, C.id]);
  await sub(S2, [A.id], { timeZone: 'America/New_York', quietHours: { email: { start: '15:00', end: '08:00' } } });
  await sub('s3-weekends@example.org', [A.id], {}, [{ weekdays: [0, 6] }]);
  await p.subscriber.create({
    data: { email: 'pending@example.org', status: 'pending', subscriptions: { create: [{ ruleId: A.id }] } },
  });
  await p.webhookEndpoint.create({ data: { url: `${receiver.url}/hook`, secret } });

  const clock = new FixedClock(new Date(0));
  const mailer = createMailer({ smtpUrl: sink.url, from: 'Signals <alerts@test.local>', pool: true, logger: silent });
  const ctx: DeliveryContext = {
    prisma: p,
    queues,
    logger: silent,
    clock,
    mailer,
    webhook: createWebhookSender({ allowedCidrs: ['127.0.0.1/32'], timeoutMs: 2000, logger: silent }),
    publicBaseUrl: 'http://signals.test',
    appSecret: 'test-secret-test-secret-test-secret!!',
    webhookSchedule: [0],
    emailSchedule: [0],
    templateCacheMs: 0,
  };
  const deliverDue = async () => {
    const due = await p.delivery.findMany({
      where: { status: 'pending', nextAttemptAt: { lte: clock.now() } },
      select: { id: true, attempts: true },
    });
    if (due.length)
      await runDeliveries(
        ctx,
        due.map((d) => ({ id: d.id, attempt: d.attempts })),
      );
  };
  const source = await ReplayPriceSource.fromPath(dir, { clock });
  const ingestor = createPriceIngestor({ source, store: createPriceStore(p), clock, logger: silent });
  for (let d = FIRST; d <= LAST; d = new Date(Date.parse(d) + 86_400_000).toISOString().slice(0, 10))
    if (isTradingDay(d)) days.push(d);
  for (const d of days) {
    clock.set(new Date(sessionCloseMs(d)));
    await priceTick({ prisma: p, redis, queues, clock, logger: silent, prefix }, ingestor, {
      openMs: 60_000,
      closedMs: 60_000,
      force: true,
    });
    await runEvaluationCycle({
      prisma: p,
      queues,
      clock,
      logger: silent,
      emailGroupWaitMs: 0,
      staleAfterMs: Number.MAX_SAFE_INTEGER,
    });
    // The delivery worker sends what is due (quiet-hours mail of the night before included).
    await deliverDue();
  }
  // The last night's quiet hours end.
  clock.set(new Date(sessionCloseMs(LAST) + 2 * 86_400_000));
  await deliverDue();
  await mailer.close();
}, 600_000);

afterAll(async () => {
  await queues?.close();
  await redis?.quit();
  await sink?.close();
  await receiver?.close();
  await db?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function forecast(stages = FANOUT_STAGES) {
  const rules = (await loadRuleDefinitions(db.prisma)).map((r) => r.def);
  const input = await loadBacktestInput(db.prisma, {
    rules,
    symbols: ['MSFT', 'NVDA'],
    ...inclusiveRange(FIRST, LAST),
  });
  const r = backtest(rules, input.histories, { news: input.news, from: FIRST, to: LAST });
  return forecastBacktestDeliveries(
    db.prisma,
    r.alerts.map((a) => ({
      ruleId: a.rule,
      subject: a.symbol,
      at: a.at,
      severity: rules.find((x) => x.id === a.rule)?.severity ?? 'warning',
      status: a.status,
    })),
    rules.map((x) => ({ id: x.id, watchlistId: null, symbols: x.symbols ?? [] })),
    { emailGroupWaitMs: 0, stages },
  );
}

describe('who would have been told == what the live replay delivered', () => {
  it('counts the same emails, quiet-hours emails, webhooks, silenced and inhibited alerts', async () => {
    const writes = await db.prisma.$transaction(async (tx) => ({
      deliveries: await tx.delivery.count(),
      alerts: await tx.alert.count(),
    }));
    const f = await forecast();
    const toS2 = sink.messages.filter((m) => m.to.includes(S2)).length;
    const live = {
      emails: sink.messages.length - toS2,
      afterQuiet: toS2,
      webhooks: receiver.requests.length,
      silenced: await db.prisma.alert.count({ where: { silenceId: { not: null } } }),
      inhibited: await db.prisma.alert.count({ where: { inhibitedById: { not: null } } }),
    };
    // Every stage had something to do, so agreement is not agreement on zeros.
    expect(live.emails).toBeGreaterThan(0);
    expect(live.afterQuiet).toBeGreaterThan(0);
    expect(live.silenced).toBeGreaterThan(0);
    expect(live.inhibited).toBeGreaterThan(0);
    expect(f.held.time_intervals).toBeGreaterThan(0);
    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    // Grouping: on a day A and B both fired on NVDA, s1 got one email for both.
    const s1 = sink.messages.filter((m) => m.to.includes('s1@example.org')).length;
    const s1Rows = await db.prisma.delivery.count({ where: { subscriber: { email: 's1@example.org' } } });
    expect(s1).toBeLessThan(s1Rows);

    expect({
      emails: f.sent.email,
      afterQuiet: f.afterQuietHours.email,
      webhooks: f.sent.webhook,
      silenced: f.perAlert.filter((a) => a.silenceId).length,
      inhibited: f.perAlert.filter((a) => a.inhibitedBy).length,
    }).toEqual(live);
    expect(f.held.quiet_hours).toBe(live.afterQuiet);
    expect(f.text).toMatch(
      new RegExp(
        `^would have sent ${live.emails} emails?, ${live.webhooks} webhooks?, 0 Telegram messages; \\d+ held: `,
      ),
    );
    // Nothing was written by the forecast.
    expect(await db.prisma.delivery.count()).toBe(writes.deliveries);
    expect(await db.prisma.alert.count()).toBe(writes.alerts);
  });

  it.each(['silence', 'inhibit', 'time_intervals', 'quiet_hours', 'group'])(
    'disagrees with the replay when the %s stage is bypassed',
    async (name) => {
      const full = await forecast();
      const bypassed = await forecast(FANOUT_STAGES.filter((s) => s.name !== name));
      const counts = (f: typeof full) => ({ sent: f.sent, after: f.afterQuietHours, held: f.held });
      expect(counts(bypassed)).not.toEqual(counts(full));
    },
  );
});
