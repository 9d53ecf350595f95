/** The one backtest input loader (CLI, POST /api/backtest and the preview all read through it). */
import {
  addDays,
  type DailyBar,
  type IntradayBar,
  type IntradayInterval,
  isTradingDay,
  lookbackDays,
  parseRuleDefinition,
  sessionCloseMs,
  ValidationError,
} from '@signals/core';
import { createIntradayStore, createPriceStore, inclusiveRange, loadBacktestInput } from '@signals/db';
import { createTestDb, type TestDb } from '../src/test-db.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let db: TestDb;

function bars(symbol: string, from: string, to: string): DailyBar[] {
  const out: DailyBar[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) {
    if (!isTradingDay(d)) continue;
    out.push({
      symbol,
      date: d,
      open: 100,
      high: 101,
      low: 99,
      close: 100,
      volume: 1e6,
      sourceAt: new Date(sessionCloseMs(d)),
    });
  }
  return out;
}

const rule = (kind: string, params: unknown, symbols = ['NVDA']) =>
  parseRuleDefinition({ id: `r-${kind}`, name: kind, severity: 'info', cooldownSec: 0, kind, params, symbols });

beforeAll(async () => {
  db = await createTestDb();
  await createPriceStore(db.prisma).saveBars({
    symbol: 'NVDA',
    bars: bars('NVDA', '2023-01-03', '2025-03-31'),
    fetchedAt: new Date(),
    source: 'test',
  });
  const nvda = await db.prisma.instrument.findUniqueOrThrow({ where: { symbol: 'NVDA' } });
  const feed = await db.prisma.feed.create({ data: { url: 'https://example.org/late.xml', name: 'Added later' } });
  // Published in the range, but first seen a year later (the feed was added after the event).
  for (const [title, published, seen] of [
    ['DeepSeek shakes Nvidia', '2025-01-27T12:00:00Z', '2026-02-01T08:00:00Z'],
    ['Nvidia after the range', '2025-02-03T12:00:00Z', '2025-02-03T12:05:00Z'],
    ['Nvidia on the last day', '2025-01-31T20:00:00Z', '2025-01-31T20:01:00Z'],
  ] as const) {
    const n = await db.prisma.newsItem.create({
      data: {
        feedId: feed.id,
        dedupKey: title,
        contentHash: title,
        title,
        publishedAt: new Date(published),
        firstSeenAt: new Date(seen),
      },
    });
    await db.prisma.newsItemInstrument.create({ data: { newsItemId: n.id, instrumentId: nvda.id, matched: 'Nvidia' } });
  }
});
afterAll(async () => {
  await db?.drop();
});

describe('loadBacktestInput', () => {
  it('date bounds are inclusive: a date means the whole day', () => {
    const r = inclusiveRange('2025-01-02', '2025-01-31');
    expect(r.from?.toISOString()).toBe('2025-01-02T00:00:00.000Z');
    expect(r.to?.toISOString()).toBe('2025-01-31T23:59:59.999Z');
  });

  it("warms up from the rules' look-back (a confirmation's inner window counts) and includes the last day", async () => {
    const short = rule('pct_move', { thresholdPct: 5, direction: 'down' });
    const long = rule('confirmation', {
      mode: 'price_news',
      price: { kind: 'drawdown', params: { sessions: 260, thresholdPct: 20 } },
    });
    const range = inclusiveRange('2025-01-02', '2025-01-31');
    const a = await loadBacktestInput(db.prisma, { rules: [short], symbols: ['NVDA'], ...range });
    const b = await loadBacktestInput(db.prisma, { rules: [short, long], symbols: ['NVDA'], ...range });
    const first = (x: typeof a) => x.histories[0]?.bars[0]?.date ?? '';
    expect(a.warmupFrom?.getTime()).toBe(Date.parse('2025-01-02') - lookbackDays([short]) * 86_400_000);
    expect(first(a) >= '2024-11-01').toBe(true);
    // 259 sessions before 2025-01-02 reach back into 2023.
    expect(first(b) < '2024-01-02').toBe(true);
    const sessionsBefore = b.histories[0]?.bars.filter((x) => x.date < '2025-01-02').length ?? 0;
    expect(sessionsBefore).toBeGreaterThanOrEqual(259);
    expect(a.histories[0]?.bars.at(-1)?.date).toBe('2025-01-31');
  });

  it('selects and times news by publication: an item of a feed added later belongs to its day', async () => {
    const r = rule('news_match', { keywords: ['nvidia'] });
    const input = await loadBacktestInput(db.prisma, {
      rules: [r],
      symbols: ['NVDA'],
      ...inclusiveRange('2025-01-20', '2025-01-31'),
    });
    expect(input.news.map((n) => n.title)).toEqual(['DeepSeek shakes Nvidia', 'Nvidia on the last day']);
    expect(input.news[0]?.firstSeenAt.toISOString()).toBe('2025-01-27T12:00:00.000Z');
    expect(input.newsCapped).toBe(false);
  });

  describe('resolution: intraday bars when a rule wants them and they are stored', () => {
    const bar = (interval: IntradayInterval, at: string, session: IntradayBar['session'] = 'regular'): IntradayBar => ({
      symbol: 'NVDA',
      interval,
      at: new Date(at),
      open: 100,
      high: 101,
      low: 99,
      close: 100,
      volume: 1000,
      session,
    });
    const intradayRule = rule('pct_move', { thresholdPct: 5, direction: 'down', intraday: true });
    const plainRule = rule('pct_move', { thresholdPct: 5, direction: 'down' });

    beforeAll(async () => {
      const store = createIntradayStore(db.prisma);
      const fetchedAt = new Date();
      await store.saveIntradayBars({
        symbol: 'NVDA',
        interval: '5m',
        fetchedAt,
        bars: [
          bar('5m', '2025-01-27T14:30:00Z'),
          bar('5m', '2025-01-27T14:35:00Z'),
          // Post-market of the last day of the range: after midnight UTC, still that New York evening.
          bar('5m', '2025-02-01T00:30:00Z', 'post'),
          // After the range's evening.
          bar('5m', '2025-02-03T14:30:00Z'),
        ],
      });
      await store.saveIntradayBars({
        symbol: 'NVDA',
        interval: '1h',
        fetchedAt,
        bars: [bar('1h', '2025-01-27T14:30:00Z'), bar('1h', '2025-03-10T13:30:00Z')],
      });
    });

    it('auto: the finest interval stored over the range, with the evening of its last day', async () => {
      const input = await loadBacktestInput(db.prisma, {
        rules: [intradayRule, plainRule],
        symbols: ['NVDA'],
        ...inclusiveRange('2025-01-27', '2025-01-31'),
        interval: 'auto',
      });
      expect(input.resolution.interval).toBe('5m');
      expect(input.resolution.reason).toMatch(/^5m bars, the finest stored .* because r-pct_move reacts within/);
      expect(input.intraday?.map((h) => [h.symbol, h.interval])).toEqual([['NVDA', '5m']]);
      expect(input.intraday?.[0]?.bars.map((b) => b.at.toISOString())).toEqual([
        '2025-01-27T14:30:00.000Z',
        '2025-01-27T14:35:00.000Z',
        '2025-02-01T00:30:00.000Z',
      ]);
      // The daily bars come too: the intraday replay's warm-up.
      expect(input.histories[0]?.bars.length).toBeGreaterThan(0);

      const march = await loadBacktestInput(db.prisma, {
        rules: [intradayRule],
        symbols: ['NVDA'],
        ...inclusiveRange('2025-03-03', '2025-03-14'),
        interval: 'auto',
      });
      expect(march.resolution.interval).toBe('1h');
    });

    it('daily otherwise, saying why; auto by default; an interval asked for and not stored is a 422', async () => {
      const plain = await loadBacktestInput(db.prisma, {
        rules: [plainRule],
        symbols: ['NVDA'],
        ...inclusiveRange('2025-01-27', '2025-01-31'),
        interval: 'auto',
      });
      expect(plain.intraday).toBeNull();
      expect(plain.resolution).toEqual({
        interval: '1d',
        reason: 'daily bars: this backtest replays one observation per session, at its close',
      });
      const old = await loadBacktestInput(db.prisma, {
        rules: [intradayRule],
        symbols: ['NVDA'],
        ...inclusiveRange('2024-06-03', '2024-06-28'),
        interval: 'auto',
      });
      expect(old.intraday).toBeNull();
      expect(old.resolution.reason).toMatch(/\(no intraday bars are stored for NVDA over the range;/);
      // Without an interval: 'auto', the one default of every door (the CLI's too): the stored 5m bars.
      const byDefault = await loadBacktestInput(db.prisma, {
        rules: [intradayRule],
        symbols: ['NVDA'],
        ...inclusiveRange('2025-01-27', '2025-01-31'),
      });
      expect(byDefault.intraday?.map((h) => h.interval)).toEqual(['5m']);
      expect(byDefault.resolution.interval).toBe('5m');
      // An interval asked for and not stored: a 422 naming what is stored.
      const asked = loadBacktestInput(db.prisma, {
        rules: [plainRule],
        symbols: ['NVDA'],
        ...inclusiveRange('2025-01-27', '2025-01-31'),
        interval: '15m',
      });
      await expect(asked).rejects.toBeInstanceOf(ValidationError);
      await expect(asked).rejects.toMatchObject({
        status: 422,
        issues: [{ path: 'interval', message: 'no 15m bars stored for these symbols over the range (stored: 5m, 1h)' }],
      });
    });
  });
});
