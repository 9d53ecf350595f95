/**
 * "Who would have been told" at the HTTP edge: POST /api/backtest with `deliveries: true`, the rule
 * preview (API and admin panel), and the 400 for posted bars. The counts against a live replay are
 * checked in apps/worker/test/pipeline-backtest.test.ts; here: the doors, the text, nothing written.
 */
import type { DailyBar } from '@signals/core';
import { createPriceStore } from '@signals/db';
import { testClock } from '@signals/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, api, type Harness, startHarness, syntheticBars } from './harness.ts';

let h: Harness;
let call: ReturnType<typeof api>;
let ruleId: string;
const clock = testClock();
const bars = syntheticBars({ start: '2024-01-02', days: 120, dropDate: '2024-03-04', dropPct: 15 });

beforeAll(async () => {
  clock.freeze(new Date('2024-06-01T12:00:00Z'));
  h = await startHarness({ clock });
  call = api(h);
  const p = h.db.prisma;
  await createPriceStore(p).saveBars({
    symbol: 'NVDA',
    bars: bars.map((b): DailyBar => ({ ...b, symbol: 'NVDA', sourceAt: new Date(`${b.date}T21:00:00Z`) })),
    fetchedAt: new Date('2024-06-01T00:00:00Z'),
    source: 'test',
  });
  const inst = await p.instrument.findUniqueOrThrow({ where: { symbol: 'NVDA' } });
  const wl = await p.watchlist.create({ data: { slug: 'bt-deliveries', name: 'Deliveries' } });
  await p.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: inst.id } });
  const rule = await p.rule.create({
    data: {
      name: 'NVDA falls 10 %',
      kind: 'pct_move',
      params: { thresholdPct: 10, direction: 'down' },
      symbols: ['NVDA'],
      severity: 'warning',
      cooldownSec: 0,
    },
  });
  ruleId = rule.id;
  // s1 by rule; s2 by watchlist with a Telegram chat; s3 by watchlist, quiet all afternoon and night.
  await p.subscriber.create({
    data: { email: 's1@example.org', status: 'confirmed', subscriptions: { create: [{ ruleId }] } },
  });
  const s2 = await p.subscriber.create({
    data: { email: 's2@example.org', status: 'confirmed', subscriptions: { create: [{ watchlistId: wl.id }] } },
  });
  await p.subscriberChannel.create({
    data: { subscriberId: s2.id, kind: 'telegram', status: 'confirmed', chatId: '4242' },
  });
  await p.subscriber.create({
    data: {
      email: 's3@example.org',
      status: 'confirmed',
      timeZone: 'America/New_York',
      quietHours: { email: { start: '12:00', end: '08:00' } },
      subscriptions: { create: [{ watchlistId: wl.id }] },
    },
  });
  await p.webhookEndpoint.create({
    data: { url: 'https://hooks.example.org/in', secret: 'whsec_dGVzdHRlc3R0ZXN0dGVzdA==' },
  });
});
afterAll(async () => {
  await h?.close();
});

describe('who would have been told', () => {
  it('POST /api/backtest with deliveries: true plans the alerts found; nothing is written', async () => {
    const before = await h.db.prisma.delivery.count();
    const r = await call('POST', '/backtest', { ruleIds: [ruleId], deliveries: true, from: '2024-01-01' });
    expect(r.status).toBe(200);
    expect(r.json.alerts.map((a: { at: string }) => a.at)).toEqual(['2024-03-04']);
    expect(r.json.deliveries.text).toBe(
      'would have sent 2 emails, 1 webhook, 1 Telegram message; 1 held: 1 quiet hours',
    );
    expect(r.json.deliveries.sent).toEqual({ email: 2, webhook: 1, ntfy: 0, telegram: 1 });
    expect(r.json.deliveries.afterQuietHours.email).toBe(1);
    expect(r.json.deliveries.perAlert).toEqual([
      expect.objectContaining({
        ruleId,
        subject: 'NVDA',
        at: '2024-03-04T21:00:00.000Z',
        sent: { email: 2, webhook: 1, ntfy: 0, telegram: 1 },
        held: { silenced: 0, inhibited: 0, time_intervals: 0, quiet_hours: 1 },
      }),
    ]);
    // Without the flag, the answer is as before.
    const plain = await call('POST', '/backtest', { ruleIds: [ruleId], from: '2024-01-01' });
    expect(plain.json.deliveries).toBeUndefined();
    expect(await h.db.prisma.delivery.count()).toBe(before);
    expect(await h.db.prisma.alert.count()).toBe(0);
  });

  it('a silence active at the alert time holds every message, and says so', async () => {
    const s = await h.db.prisma.silence.create({
      data: {
        ruleId,
        startsAt: new Date('2024-03-01T00:00:00Z'),
        endsAt: new Date('2024-03-08T00:00:00Z'),
        comment: 'earnings week',
      },
    });
    const r = await call('POST', '/backtest', { ruleIds: [ruleId], deliveries: true, from: '2024-01-01' });
    await h.db.prisma.silence.delete({ where: { id: s.id } });
    expect(r.json.deliveries.text).toBe(
      'would have sent 0 emails, 0 webhooks, 0 Telegram messages; 5 held: 5 silenced',
    );
    expect(r.json.deliveries.perAlert[0].silenceId).toBe(s.id);
  });

  it('answers 400 for deliveries with posted bars: there are no stored rules and history to plan against', async () => {
    const r = await call('POST', '/backtest', {
      rules: [
        { name: 'Fall 10 %', kind: 'pct_move', params: { thresholdPct: 10, direction: 'down' }, symbols: ['NVDA'] },
      ],
      bars: { NVDA: bars },
      deliveries: true,
    });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json)).toMatch(/deliveries/);
    expect(JSON.stringify(r.json)).toMatch(/leave out bars/);
  });

  it('the rule preview (API and admin panel) says who would have been told, per alert', async () => {
    // A draft is nobody's subscription by id: its symbol's watchlist subscribers and the endpoint.
    const draft = {
      name: 'Draft fall',
      kind: 'pct_move',
      params: { thresholdPct: 10, direction: 'down' },
      symbols: ['NVDA'],
    };
    const r = await call('POST', '/rules/preview', draft);
    expect(r.status).toBe(200);
    expect(r.json.deliveries.text).toBe(
      'would have sent 1 email, 1 webhook, 1 Telegram message; 1 held: 1 quiet hours',
    );

    const { post } = await adminSession(h);
    const page = await post('/admin/rules/new', {
      action: 'preview',
      name: draft.name,
      kind: draft.kind,
      symbols: 'NVDA',
      severity: 'warning',
      cooldownSec: '0',
      useJson: 'on',
      paramsJson: JSON.stringify(draft.params),
    });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain(
      '<strong>Would have sent 1 email, 1 webhook, 1 Telegram message; 1 held: 1 quiet hours.</strong>',
    );
    expect(html).toMatch(
      /data-testid="deliveries-per-alert">[\s\S]*<td>NVDA<\/td><td class="num">1<\/td><td class="num">1<\/td><td class="num">0<\/td><td class="num">1<\/td><td>1 quiet hours<\/td>/,
    );
  });
});
