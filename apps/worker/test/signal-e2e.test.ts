/**
 * The whole flow on recorded data: replayed Yahoo history (TSLA, 28 Sep 2018: -13.9% on the SEC
 * lawsuit) -> ingestion into Postgres -> evaluation cycle -> alert + deliveries in one transaction
 * -> signed webhook verified by a receiver and an email through a real SMTP server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { FixedClock } from '@signals/core';
import { createPriceStore } from '@signals/db';
import { createPriceIngestor, ReplayPriceSource } from '@signals/market-data';
import {
  createTestDb,
  fixturePath,
  startSmtpSink,
  startWebhookReceiver,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
} from '@signals/testing';
import { runEvaluationCycle } from '../src/jobs/evaluate.ts';
import { priceTick } from '../src/jobs/ingest.ts';
import { silent, startHarness, until } from './helpers.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('price observation to signed webhook, on replayed TSLA history', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('fires once on the -13.9% day, delivers it, and stays silent on repeat cycles and stale data', async () => {
    const sink = await startSmtpSink();
    const receiver = await startWebhookReceiver({ secret: SECRET });
    const prefix = testPrefix('e2e');
    const h = await startHarness({ prisma: db.prisma, prefix, smtpUrl: sink.url });
    const redis = new Redis(TEST_REDIS_URL);

    const wl = await db.prisma.watchlist.create({ data: { slug: 'ev', name: 'EV makers' } });
    const tsla = await db.prisma.instrument.create({ data: { symbol: 'TSLA', name: 'Tesla', aliases: ['Tesla'] } });
    await db.prisma.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: tsla.id } });
    const rule = await db.prisma.rule.create({
      data: {
        name: 'One-day fall of 10% or more',
        kind: 'pct_move',
        params: { sessions: 1, thresholdPct: 10, direction: 'down' },
        watchlistId: wl.id,
        severity: 'critical',
        cooldownSec: 0,
      },
    });
    await db.prisma.webhookEndpoint.create({ data: { url: receiver.url, secret: SECRET } });
    await db.prisma.subscriber.create({
      data: { email: 'trader@example.com', status: 'confirmed', subscriptions: { create: [{ watchlistId: wl.id }] } },
    });

    const clock = new FixedClock(new Date('2018-09-27T21:00:00Z'));
    const source = await ReplayPriceSource.fromPath(
      fixturePath('yahoo', 'historical-via-chart-dividends-TSLA-no-dividends.json'),
      {
        clock,
      },
    );
    const ingestor = createPriceIngestor({ source, store: createPriceStore(db.prisma), clock, logger: silent });
    const deps = { prisma: db.prisma, redis, queues: h.queues, clock, logger: silent, prefix };
    const cycle = () =>
      runEvaluationCycle({
        prisma: db.prisma,
        queues: h.queues,
        clock,
        logger: silent,
        emailGroupWaitMs: 0,
        staleAfterMs: 1e15,
      });

    // The day before: history backfilled, the quote stored, nothing to report.
    await priceTick(deps, ingestor, { openMs: 60_000, closedMs: 60_000, force: true });
    const bars = await db.prisma.priceBar.count({ where: { instrumentId: tsla.id } });
    expect(bars).toBeGreaterThan(250);
    const before = await cycle();
    expect(before).toMatchObject({ ran: true, alerts: 0 });

    // 28 Sep 2018, after the close: the fall is observed, the rule fires.
    clock.set(new Date('2018-09-28T21:00:00Z'));
    await priceTick(deps, ingestor, { openMs: 60_000, closedMs: 60_000, force: true });
    const fired = await cycle();
    expect(fired).toMatchObject({ ran: true, alerts: 1, deliveries: 2 });
    const alert = await db.prisma.alert.findFirstOrThrow({ where: { ruleId: rule.id } });
    expect(alert.subject).toBe('TSLA');
    expect(alert.value).toBeCloseTo(-0.139, 3);
    expect(alert.threshold).toBeCloseTo(-0.1, 6);
    expect(alert.dedupKey).toContain('2018-09-28');

    const [hook] = await receiver.waitFor(1, 10_000);
    expect(hook?.verified).toBe(true);
    const event = hook?.body as { type: string; data: { alert: { symbol: string; value: number; id: string } } };
    expect(event.type).toBe('alert.firing');
    expect(event.data.alert.symbol).toBe('TSLA');
    expect(event.data.alert.id).toBe(alert.id);
    const mail = await sink.waitFor((m) => m.to.includes('trader@example.com'), 10_000);
    expect(mail.subject).toContain('TSLA');
    expect(mail.text).toMatch(/13\.9/);

    // Polling and evaluating again within the same event: no second alert, no second delivery.
    await priceTick(deps, ingestor, { openMs: 60_000, closedMs: 60_000, force: true });
    const again = await cycle();
    expect(again.alerts).toBe(0);
    expect(await db.prisma.alert.count()).toBe(1);

    // Stale data is never evaluated: a looser rule that would fire on this day stays silent.
    const looser = await db.prisma.rule.create({
      data: {
        name: 'Any one-day fall of 5%',
        kind: 'pct_move',
        params: { sessions: 1, thresholdPct: 5, direction: 'down' },
        watchlistId: wl.id,
        severity: 'info',
        cooldownSec: 0,
      },
    });
    await db.prisma.instrument.update({ where: { id: tsla.id }, data: { freshness: 'stale' } });
    const stale = await cycle();
    expect(stale.alerts).toBe(0);
    expect(stale.skipped).toBeGreaterThan(0);
    // Fresh again: now it fires, once, but an operator has silenced that rule on TSLA for the day
    // (an expired silence on it and an active one on another symbol do not count): the alert is
    // recorded with its silence, and nobody is notified.
    await db.prisma.instrument.update({ where: { id: tsla.id }, data: { freshness: 'fresh' } });
    const wall = Date.now();
    const [silence] = await db.prisma.silence.createManyAndReturn({
      data: [
        { ruleId: looser.id, subject: 'TSLA', endsAt: new Date(wall + 86_400_000), comment: 'tuning the 5 % rule' },
        {
          ruleId: looser.id,
          subject: 'TSLA',
          startsAt: new Date(wall - 7200_000),
          endsAt: new Date(wall - 3600_000),
          comment: 'over',
        },
        { subject: 'NVDA', endsAt: new Date(wall + 86_400_000), comment: 'another symbol' },
      ],
    });
    const held = await cycle();
    expect(held).toMatchObject({ alerts: 1, silenced: 1, deliveries: 0 });
    const heldAlert = await db.prisma.alert.findFirstOrThrow({ where: { ruleId: looser.id } });
    expect(heldAlert.silenceId).toBe(silence?.id);
    expect(await db.prisma.delivery.count({ where: { alertId: heldAlert.id } })).toBe(0);

    // Two sessions later the one-day move is out of the window: the alert resolves (no notice:
    // the rule does not ask for one).
    clock.set(new Date('2018-10-02T21:00:00Z'));
    await priceTick(deps, ingestor, { openMs: 60_000, closedMs: 60_000, force: true });
    const later = await cycle();
    expect(later.alerts).toBe(0);
    const resolved = await db.prisma.alert.findUniqueOrThrow({ where: { id: alert.id } });
    expect(resolved.status).toBe('resolved');
    expect(resolved.resolvedAt?.toISOString()).toBe('2018-10-02T21:00:00.000Z');
    expect(await db.prisma.delivery.count()).toBe(2); // none for the resolution, none for the silenced alert

    // The one alert not silenced, to one endpoint and one subscriber.
    await until(
      async () => (await db.prisma.delivery.count({ where: { status: 'succeeded' } })) === 2,
      10_000,
      'deliveries done',
    );
    const hooks = await receiver.waitFor(1, 10_000);
    expect(hooks.filter((r) => r.verified)).toHaveLength(1);
    expect(sink.messages.filter((m) => m.to.includes('trader@example.com'))).toHaveLength(1);

    await h.close();
    await redis.quit();
    await receiver.close();
    await sink.close();
  });
});
