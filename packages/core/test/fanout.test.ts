/**
 * The fan-out stages, one at a time and as the whole plan, over plain inputs: no Postgres. Every
 * instant is given (never the wall clock).
 */
import { describe, expect, it } from 'vitest';
import {
  type ActiveAlert,
  countMessages,
  FANOUT_STAGES,
  type FanOutAlert,
  type FanOutInputs,
  type FanOutSubscriber,
  findInhibitor,
  groupKeyOf,
  type InhibitRuleSpec,
  isActiveRecipient,
  nextDigestAt,
  planFanOut,
  routeAlert,
  sourcesFirst,
  dueTime,
  matchSilence,
} from '../src/index.ts';

const at = (iso: string) => new Date(iso);
// Tue 3 Mar 2026 15:00Z = 10:00 New York (regular session), 16:00 Berlin.
const NOW = at('2026-03-03T15:00:00Z');

const alert = (o: Partial<FanOutAlert> = {}): FanOutAlert => ({
  dedupKey: 'r1:NVDA:1',
  ruleId: 'r1',
  subject: 'NVDA',
  symbol: 'NVDA',
  status: 'firing',
  severity: 'warning',
  firedAt: NOW,
  ...o,
});

const sub = (id: string, o: Partial<FanOutSubscriber> = {}): FanOutSubscriber => ({
  id,
  mode: 'immediate',
  digestWindowSec: 3600,
  timeZone: 'UTC',
  quietHours: null,
  quietCriticalBreaksThrough: false,
  subscriptions: [{ ruleId: 'r1', watchlistId: null, activeIntervals: null }],
  channels: [],
  ...o,
});

const inputs = (o: Partial<FanOutInputs> = {}): FanOutInputs => ({
  now: NOW,
  emailGroupWaitMs: 30_000,
  rules: new Map([
    ['r1', { id: 'r1', watchlistId: null, notifyResolved: false }],
    ['src', { id: 'src', watchlistId: 'w-ai', notifyResolved: false }],
  ]),
  watchlistsOf: new Map([['NVDA', ['w-ai']]]),
  subscribers: [],
  endpoints: [],
  silences: [],
  inhibitRules: [],
  activeAlerts: [],
  firedInhibitors: new Map(),
  ...o,
});

describe('the pipeline', () => {
  it('lists its stages in one place, in order', () => {
    expect(FANOUT_STAGES.map((s) => s.name)).toEqual([
      'silence',
      'inhibit',
      'route',
      'time_intervals',
      'quiet_hours',
      'group',
    ]);
  });

  it('plans one email per subscriber, their own channels, and the webhooks; the same inputs give the same plan', () => {
    const i = inputs({
      subscribers: [sub('s1', { channels: [{ id: 'c1', kind: 'telegram' }] }), sub('s2')],
      endpoints: [
        { id: 'e1', eventTypes: [], activeIntervals: null },
        { id: 'e2', eventTypes: ['alert.resolved'], activeIntervals: null },
      ],
    });
    const plan = planFanOut(alert(), i);
    expect(plan.deliveries.map((d) => `${d.channel}:${d.subscriberId ?? d.endpointId}`)).toEqual([
      'email:s1',
      'email:s2',
      'telegram:s1',
      'webhook:e1',
    ]);
    expect(plan.deliveries[0]?.notBefore.toISOString()).toBe('2026-03-03T15:00:30.000Z');
    expect(plan.deliveries[2]?.notBefore.toISOString()).toBe(NOW.toISOString());
    expect(plan.held).toEqual([]);
    expect(planFanOut(alert(), i)).toEqual(plan);
  });

  it('a silenced alert writes nothing and holds every message it would have made', () => {
    const plan = planFanOut(
      alert(),
      inputs({
        subscribers: [sub('s1')],
        endpoints: [{ id: 'e1', eventTypes: [], activeIntervals: null }],
        silences: [
          {
            id: 'sil',
            ruleId: null,
            subject: 'NVDA',
            startsAt: at('2026-03-01T00:00:00Z'),
            endsAt: at('2026-03-09T00:00:00Z'),
          },
        ],
      }),
    );
    expect(plan.silenceId).toBe('sil');
    expect(plan.deliveries).toEqual([]);
    expect(plan.held).toEqual([
      { reason: 'silenced', channel: 'email', target: 'email:s1' },
      { reason: 'silenced', channel: 'webhook', target: 'webhook:e1' },
    ]);
  });

  it('a resolved notice goes out only when the rule asks; the notice of an inhibited alert is held by the same source', () => {
    const i = inputs({ subscribers: [sub('s1')] });
    expect(planFanOut(alert({ status: 'resolved', dedupKey: 'r1:NVDA:1:resolved' }), i).deliveries).toEqual([]);
    const wants = inputs({
      subscribers: [sub('s1')],
      rules: new Map([['r1', { id: 'r1', watchlistId: null, notifyResolved: true }]]),
    });
    const sent = planFanOut(alert({ status: 'resolved', dedupKey: 'r1:NVDA:1:resolved' }), wants);
    expect(sent.deliveries.map((d) => d.eventType)).toEqual(['alert.resolved']);
    const held = planFanOut(alert({ status: 'resolved', dedupKey: 'r1:NVDA:1:resolved' }), {
      ...wants,
      firedInhibitors: new Map([['r1:NVDA:1', { alertId: 'a-src', inhibitRuleId: 'ir' }]]),
    });
    expect(held.inhibitor).toEqual({ alertId: 'a-src', inhibitRuleId: 'ir' });
    expect(held.held).toEqual([{ reason: 'inhibited', channel: 'email', target: 'email:s1' }]);
  });
});

describe('silence stage', () => {
  const s = {
    id: 'x',
    ruleId: 'r1',
    subject: null,
    startsAt: at('2026-03-03T14:00:00Z'),
    endsAt: at('2026-03-03T16:00:00Z'),
  };
  it('matches while active, on every matcher set', () => {
    expect(matchSilence([s], alert(), NOW)?.id).toBe('x');
    expect(matchSilence([s], alert(), at('2026-03-03T13:59:59Z'))).toBeUndefined();
    expect(matchSilence([s], alert(), at('2026-03-03T16:00:00Z'))).toBeUndefined();
    expect(matchSilence([s], alert({ ruleId: 'r2' }), NOW)).toBeUndefined();
  });
});

describe('inhibit stage', () => {
  const rule = (o: Partial<InhibitRuleSpec> = {}): InhibitRuleSpec => ({
    id: 'ir1',
    source: { ruleId: 'src', severity: null, watchlistId: null },
    target: { ruleId: 'r1', severity: null, watchlistId: null },
    equal: ['symbol', 'session'],
    ...o,
  });
  const src = (o: Partial<ActiveAlert> = {}): ActiveAlert => ({
    id: 'a1',
    ruleId: 'src',
    severity: 'critical',
    watchlistId: 'w-ai',
    symbols: ['NVDA'],
    firedAt: at('2026-03-03T14:40:00Z'),
    ...o,
  });
  const target = { ...alert(), watchlistId: null };

  it('holds a target while a source of the same symbol and session fires', () => {
    expect(findInhibitor([rule()], [src()], target)).toEqual({ alertId: 'a1', inhibitRuleId: 'ir1' });
    expect(findInhibitor([rule()], [src({ symbols: ['AMD'] })], target)).toBeUndefined();
    // The previous New York session (2 Mar, 20:00 EST) does not count.
    expect(findInhibitor([rule()], [src({ firedAt: at('2026-03-03T01:00:00Z') })], target)).toBeUndefined();
    expect(
      findInhibitor([rule({ equal: ['symbol'] })], [src({ firedAt: at('2026-03-03T01:00:00Z') })], target),
    ).toBeDefined();
  });

  it('a basket source stands for each member; the earliest source of the first matching rule wins', () => {
    const basket = src({ id: 'b', symbols: ['__basket__', 'AMD', 'NVDA'], firedAt: at('2026-03-03T14:50:00Z') });
    expect(findInhibitor([rule()], [basket], target)?.alertId).toBe('b');
    const earlier = src({ id: 'z', firedAt: at('2026-03-03T14:30:00Z') });
    expect(findInhibitor([rule()], [basket, src(), earlier], target)?.alertId).toBe('z');
    const other = rule({ id: 'ir0', source: { ruleId: null, severity: 'critical', watchlistId: 'w-ai' } });
    expect(findInhibitor([other, rule()], [src()], target)?.inhibitRuleId).toBe('ir0');
    expect(
      findInhibitor([rule({ target: { ruleId: 'r9', severity: null, watchlistId: null } })], [src()], target),
    ).toBeUndefined();
  });

  it('orders sources first, stable otherwise', () => {
    const xs = [
      { n: 1, ruleId: 'r1', severity: 'warning' as const, watchlistId: null },
      { n: 2, ruleId: 'src', severity: 'critical' as const, watchlistId: null },
      { n: 3, ruleId: 'r1', severity: 'info' as const, watchlistId: null },
    ];
    expect(sourcesFirst([rule()], xs).map((x) => x.n)).toEqual([2, 1, 3]);
  });
});

describe('route stage', () => {
  it('finds subscribers by rule, by the rule’s watchlist and by the symbol’s watchlists, each once', () => {
    const i = inputs({
      subscribers: [
        sub('by-rule'),
        sub('by-symbol-list', { subscriptions: [{ ruleId: null, watchlistId: 'w-ai', activeIntervals: null }] }),
        sub('both', {
          subscriptions: [
            { ruleId: 'r1', watchlistId: null, activeIntervals: null },
            { ruleId: null, watchlistId: 'w-ai', activeIntervals: null },
          ],
        }),
        sub('other', { subscriptions: [{ ruleId: 'r2', watchlistId: 'w-x', activeIntervals: null }] }),
      ],
    });
    expect(routeAlert(alert(), i.rules.get('r1'), i).map((r) => r.target)).toEqual([
      'email:by-rule',
      'email:by-symbol-list',
      'email:both',
    ]);
    expect(routeAlert(alert({ symbol: 'AMD', subject: 'AMD' }), i.rules.get('r1'), i).map((r) => r.target)).toEqual([
      'email:by-rule',
      'email:both',
    ]);
  });
});

describe('time intervals stage', () => {
  it('a subscriber is live when one matching subscription is active in their zone; an endpoint in UTC', () => {
    const weekdays9to17 = [{ weekdays: [1, 2, 3, 4, 5], times: [{ start: '09:00', end: '17:00' }] }];
    const tokyo = sub('t', {
      timeZone: 'Asia/Tokyo',
      subscriptions: [{ ruleId: 'r1', watchlistId: null, activeIntervals: weekdays9to17 }],
    });
    const i = inputs({
      subscribers: [tokyo],
      endpoints: [{ id: 'e', eventTypes: [], activeIntervals: weekdays9to17 }],
    });
    const [email, hook] = routeAlert(alert(), i.rules.get('r1'), i);
    // 15:00Z is midnight in Tokyo, 15:00 in UTC.
    expect(isActiveRecipient(email as never, NOW)).toBe(false);
    expect(isActiveRecipient(hook as never, NOW)).toBe(true);
    const plan = planFanOut(alert(), i);
    expect(plan.deliveries.map((d) => d.channel)).toEqual(['webhook']);
    expect(plan.held).toEqual([{ reason: 'time_intervals', channel: 'email', target: 'email:t' }]);
  });
});

describe('quiet hours stage', () => {
  const sleeper = sub('q', {
    timeZone: 'Europe/Berlin',
    quietHours: { email: { start: '12:00', end: '18:00' } },
    channels: [{ id: 'n', kind: 'ntfy' }],
  });
  it('moves an email to the end of quiet hours; another channel without quiet hours leaves now', () => {
    const plan = planFanOut(alert(), inputs({ subscribers: [sleeper] }));
    expect(plan.deliveries.map((d) => [d.channel, d.notBefore.toISOString(), d.heldBy ?? null])).toEqual([
      ['email', '2026-03-03T17:00:00.000Z', 'quiet_hours'],
      ['ntfy', NOW.toISOString(), null],
    ]);
    expect(plan.held).toEqual([{ reason: 'quiet_hours', channel: 'email', target: 'email:q' }]);
  });
  it('a critical alert breaks through when the subscriber allows it; a digest waits for its window', () => {
    const r = routeAlert(
      alert(),
      undefined,
      inputs({ subscribers: [{ ...sleeper, quietCriticalBreaksThrough: true }] }),
    )[0];
    expect(dueTime(r as never, 'critical', { now: NOW, emailGroupWaitMs: 0 }).quiet).toBe(false);
    expect(nextDigestAt(at('2026-03-03T15:10:00Z'), 3600).toISOString()).toBe('2026-03-03T16:00:00.000Z');
  });
});

describe('group stage', () => {
  it('groups alert messages per subscriber and channel, nothing else', () => {
    expect(groupKeyOf({ channel: 'email', eventType: 'alert.firing', subscriberId: 's' })).toBe('s:email');
    expect(groupKeyOf({ channel: 'telegram', eventType: 'alert.resolved', subscriberId: 's' })).toBe('s:telegram');
    expect(groupKeyOf({ channel: 'email', eventType: 'subscriber.confirm', subscriberId: 's' })).toBeNull();
    expect(groupKeyOf({ channel: 'webhook', eventType: 'alert.firing' })).toBeNull();
  });
  it('counts rows of one group due together as one message', () => {
    const t = at('2026-03-03T17:00:00Z');
    expect(
      countMessages([
        { channel: 'email', groupKey: 's:email', notBefore: t },
        { channel: 'email', groupKey: 's:email', notBefore: t },
        { channel: 'email', groupKey: 's:email', notBefore: NOW },
        { channel: 'webhook', groupKey: null, notBefore: t },
        { channel: 'webhook', groupKey: null, notBefore: t },
      ]),
    ).toEqual({ email: 2, webhook: 2, ntfy: 0, telegram: 0 });
  });
});
