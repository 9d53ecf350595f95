/**
 * POST /api/backtest and the rule preview say which resolution they ran at and why. With IntradayBar
 * rows stored for the symbols over the range and an intraday, extended-hours, news or news+price
 * rule, they run on the finest stored interval (or the `interval` asked for); otherwise on daily
 * bars, saying why the rules that react within or outside the session are measured close to close.
 */
import { dailyFromIntraday, parseNewsRecording } from '@signals/core';
import { createIntradayStore, createPriceStore } from '@signals/db';
import { intradayFromRawChart } from '@signals/market-data';
import { intradayFixture, testClock } from '@signals/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedRules } from '../../../seeds/rules.ts';
import { adminSession, api, type Harness, startHarness, syntheticBars } from './harness.ts';

const AMZN = 'AMZN-5m-2025-02-14-capex-postmarket';

let h: Harness;
let call: ReturnType<typeof api>;
const clock = testClock();
beforeAll(async () => {
  // A week after the AMZN capex evening: the preview's "last year" holds it.
  clock.freeze(new Date('2025-02-21T12:00:00Z'));
  h = await startHarness({ clock });
  call = api(h);
});
afterAll(async () => {
  await h?.close();
});

describe('backtest resolution', () => {
  const bars = syntheticBars({ start: '2024-01-02', days: 120, dropDate: '2024-03-04', dropPct: 15 });

  it('names daily bars, and the rules that are measured close to close because of it', async () => {
    const r = await call('POST', '/backtest', {
      rules: [
        {
          name: 'After hours -10 %',
          kind: 'pct_move',
          params: { thresholdPct: 10, direction: 'down', intraday: true, session: 'extended' },
          symbols: ['NVDA'],
        },
        { name: 'Fall 10 %', kind: 'pct_move', params: { thresholdPct: 10, direction: 'down' }, symbols: ['NVDA'] },
      ],
      bars: { NVDA: bars },
    });
    expect(r.status).toBe(200);
    expect(r.json.summary.resolution.interval).toBe('1d');
    expect(r.json.summary.resolution.reason).toMatch(/^daily bars: /);
    expect(r.json.summary.resolution.reason).toMatch(/draft-1 reacts within or outside the session/);
    expect(r.json.summary.resolution.reason).not.toMatch(/draft-2/);
    expect(r.json.summary.resolution.reason).toMatch(/the bars given are daily/);

    const plain = await call('POST', '/backtest', {
      rules: [
        { name: 'Fall 10 %', kind: 'pct_move', params: { thresholdPct: 10, direction: 'down' }, symbols: ['NVDA'] },
      ],
      bars: { NVDA: bars },
    });
    expect(plain.json.summary.resolution.reason).toBe(
      'daily bars: this backtest replays one observation per session, at its close',
    );
  });
});

describe('backtest resolution with intraday bars stored', () => {
  const seed = seedRules.find((r) => r.id === 'capex-news-punished');
  if (!seed) throw new Error('seed capex-news-punished is missing');
  // The news+price seed rule as a draft, on AMZN (the recording's symbol).
  const capex = { name: seed.name, kind: seed.kind, params: seed.params, symbols: ['AMZN'] };

  beforeAll(async () => {
    const chart = intradayFromRawChart(intradayFixture(`${AMZN}.json`));
    const fetchedAt = new Date('2025-02-15T02:00:00Z');
    await createIntradayStore(h.db.prisma).saveIntradayBars({
      symbol: 'AMZN',
      interval: '5m',
      bars: chart.bars,
      fetchedAt,
    });
    await createPriceStore(h.db.prisma).saveBars({
      symbol: 'AMZN',
      bars: dailyFromIntraday(chart),
      fetchedAt,
      source: 'yahoo',
    });
    const amzn = await h.db.prisma.instrument.findUniqueOrThrow({ where: { symbol: 'AMZN' } });
    const feed = await h.db.prisma.feed.create({ data: { url: 'https://example.org/capex.xml', name: 'Capex' } });
    for (const n of parseNewsRecording(intradayFixture(`${AMZN}.news.json`))) {
      const row = await h.db.prisma.newsItem.create({
        data: {
          feedId: feed.id,
          dedupKey: n.id,
          contentHash: n.id,
          title: n.title,
          summary: n.summary ?? null,
          topics: [...(n.topics ?? [])],
          publishedAt: n.publishedAt ?? n.firstSeenAt,
          // Seen by the poller a minute after publication.
          firstSeenAt: new Date((n.publishedAt ?? n.firstSeenAt).getTime() + 60_000),
        },
      });
      await h.db.prisma.newsItemInstrument.create({
        data: { newsItemId: row.id, instrumentId: amzn.id, matched: 'Amazon' },
      });
    }
  });

  it('runs the news+price seed rule on the stored 5m bars: it fires that evening, at the bar ISO time', async () => {
    const r = await call('POST', '/backtest', { rules: [capex], from: '2025-02-10', to: '2025-02-14' });
    expect(r.status).toBe(200);
    expect(r.json.summary.resolution.interval).toBe('5m');
    expect(r.json.summary.resolution.reason).toMatch(
      /^5m bars, the finest stored for these symbols over the range, because draft-1 reacts within or outside the session: /,
    );
    expect(r.json.summary.resolution.reason).toMatch(/pre\/post-market bars as extended-hours prices/);
    expect(r.json.alerts.length).toBeGreaterThanOrEqual(1);
    for (const a of r.json.alerts) {
      expect(a.symbol).toBe('AMZN');
      expect(a.ruleId).toBe('draft-1');
      // After hours on the evening of the results: after the 21:08 UTC news, before 01:00 UTC.
      expect(a.at).toMatch(/^2025-02-1[45]T\d{2}:\d{2}:00\.000Z$/);
      expect(Date.parse(a.at)).toBeGreaterThanOrEqual(Date.parse('2025-02-14T21:05:00Z'));
      expect(Date.parse(a.at)).toBeLessThan(Date.parse('2025-02-15T01:00:00Z'));
    }
    expect(r.json.summary.barsUsed).toBeGreaterThan(100);

    // Asked for by name: the same bars, and the reason says so.
    const asked = await call('POST', '/backtest', {
      rules: [capex],
      from: '2025-02-10',
      to: '2025-02-14',
      interval: '5m',
    });
    expect(asked.status).toBe(200);
    expect(asked.json.summary.resolution).toMatchObject({ interval: '5m' });
    expect(asked.json.summary.resolution.reason).toMatch(/^5m bars, as requested: /);
    expect(asked.json.alerts.map((a: { at: string }) => a.at)).toEqual(r.json.alerts.map((a: { at: string }) => a.at));
  });

  it('an interval with no rows stored: 422 at interval; not an interval, or with posted bars: 400 at interval', async () => {
    const none = await call('POST', '/backtest', {
      rules: [capex],
      from: '2025-02-10',
      to: '2025-02-14',
      interval: '1m',
    });
    expect(none.status).toBe(422);
    expect(none.json.errors).toEqual([
      { path: 'interval', message: 'no 1m bars stored for these symbols over the range (stored: 5m)' },
    ]);
    // Malformed input is a 400 like every schema error of the API; well-formed but unavailable, 422.
    const bad = await call('POST', '/backtest', { rules: [capex], interval: '2m' });
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0].path).toBe('interval');
    const posted = await call('POST', '/backtest', {
      rules: [capex],
      interval: '5m',
      bars: { AMZN: [{ date: '2025-02-14', close: 228 }] },
    });
    expect(posted.status).toBe(400);
    expect(posted.json.errors[0].path).toBe('interval');
  });

  it('stays daily, and says why, without intraday rows over the range or without an intraday rule', async () => {
    // A range before the recording: daily bars only (there are none then either: no alerts).
    const before = await call('POST', '/backtest', { rules: [capex], from: '2024-06-01', to: '2024-06-30' });
    expect(before.status).toBe(200);
    expect(before.json.summary.resolution.interval).toBe('1d');
    expect(before.json.summary.resolution.reason).toMatch(
      /draft-1 reacts within or outside the session, so it is measured close to close here \(no intraday bars are stored for AMZN over the range/,
    );
    // A plain close-to-close rule over the recording's week: daily, with the plain reason.
    const plain = await call('POST', '/backtest', {
      rules: [
        { name: 'Fall 1 %', kind: 'pct_move', params: { thresholdPct: 1, direction: 'down' }, symbols: ['AMZN'] },
      ],
      from: '2025-02-10',
      to: '2025-02-14',
    });
    expect(plain.status).toBe(200);
    expect(plain.json.summary.resolution).toEqual({
      interval: '1d',
      reason: 'daily bars: this backtest replays one observation per session, at its close',
    });
    for (const a of plain.json.alerts) expect(a.at).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('the rule preview runs on the 5m bars too and says so', async () => {
    const r = await call('POST', '/rules/preview', capex);
    expect(r.status).toBe(200);
    expect(r.json.backtest.summary.resolution.interval).toBe('5m');
    expect(r.json.fired).toBeGreaterThanOrEqual(1);
    expect(r.json.backtest.alerts[0].at).toMatch(/^2025-02-1[45]T/);

    // The admin page's preview panel says so: "Resolution: 5m bars, ..." and counts 5m bars.
    const { post } = await adminSession(h);
    const page = await post('/admin/rules/new', {
      action: 'preview',
      name: capex.name,
      kind: capex.kind,
      symbols: 'AMZN',
      severity: 'warning',
      cooldownSec: '21600',
      useJson: 'on',
      paramsJson: JSON.stringify(capex.params),
    });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toMatch(/data-testid="resolution">Resolution: 5m bars, the finest stored for these symbols/);
    expect(html).toMatch(/\(\d+ 5m bars, 2024-02-22 to 2025-02-21\)/);
  });
});
