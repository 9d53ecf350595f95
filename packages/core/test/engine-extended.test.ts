/**
 * session: "extended" in the engine: Yahoo's pre/post-market quote fields are observed by rules
 * that ask for them, measured against the last regular close, and ignored when stale.
 */
import { describe, expect, it } from 'vitest';
import { createSeries, describeRule, evaluate, FixedClock, type Quote, type RuleDefinition } from '../src/index.ts';
import { makeBars, quote, rule } from './helpers.ts';

// Ten sessions from 2025-01-15 to 2025-01-29 (2025-01-20 is a holiday) closing at 100.
const bars = makeBars('MSFT', Array(10).fill(100), '2025-01-15');
const extended = rule(
  'pct_move',
  { thresholdPct: 8, direction: 'down', intraday: true, session: 'extended' },
  {
    id: 'ext',
  },
);
const regular = rule('pct_move', { thresholdPct: 8, direction: 'down', intraday: true }, { id: 'reg' });

function run(rules: RuleDefinition[], q: Quote, now: string) {
  const series = new Map([['MSFT', createSeries({ symbol: 'MSFT', bars }, { quote: q })]]);
  return evaluate({ rules, series, states: new Map(), clock: new FixedClock(new Date(now)) });
}

// The regular quote after the close of 2025-01-29 (16:00 EST = 21:00Z): price = the close.
const closeQuote = (extra: Partial<Quote>) => quote('MSFT', 100, '2025-01-29T21:00:00Z', { prevClose: 100, ...extra });

describe('engine: extended-hours observations', () => {
  it('a -10 % post-market price fires an extended rule that evening, against the regular close; a regular rule stays silent', () => {
    const q = closeQuote({ postMarketPrice: 90, postMarketTime: new Date('2025-01-29T22:00:00Z') });
    const out = run([extended, regular], q, '2025-01-29T22:00:30Z');
    expect(out.alerts).toHaveLength(1);
    const a = out.alerts[0];
    expect(a?.ruleId).toBe('ext');
    expect(a?.value).toBeCloseTo(-0.1, 10);
    expect(a?.details.prices.source).toBe('extended_hours');
    expect(a?.details.prices.reference).toBe(100);
    // The evening belongs to the next session (2025-01-30): the event goes on there, one key.
    expect(a?.eventStart).toBe('2025-01-30');
    expect(a?.windowEnd).toBe('2025-01-29T22:00:00.000Z');
  });

  it('a pre-market price counts the same way the next morning', () => {
    const q = closeQuote({ preMarketPrice: 91, preMarketTime: new Date('2025-01-30T12:00:00Z') });
    const out = run([extended], q, '2025-01-30T12:00:30Z');
    expect(out.alerts.map((a) => [a.ruleId, a.eventStart])).toEqual([['ext', '2025-01-30']]);
  });

  it('stale or misplaced pre/post fields are ignored: no false alert', () => {
    // Older than the regular price (yesterday evening's post-market price left on the quote).
    const stale = closeQuote({ postMarketPrice: 80, postMarketTime: new Date('2025-01-28T23:00:00Z') });
    expect(run([extended], stale, '2025-01-29T21:30:00Z').alerts).toEqual([]);
    // Stamped outside post-market hours (21:30 New York).
    const late = closeQuote({ postMarketPrice: 80, postMarketTime: new Date('2025-01-30T02:30:00Z') });
    expect(run([extended], late, '2025-01-30T02:31:00Z').alerts).toEqual([]);
    // Not a price.
    const bad = closeQuote({ postMarketPrice: 0, postMarketTime: new Date('2025-01-29T22:00:00Z') });
    expect(run([extended], bad, '2025-01-29T22:00:30Z').alerts).toEqual([]);
  });

  it("vol_scaled_move on extended hours: an evening -10 % against the day's close is a 5-sigma day for a calm stock", () => {
    // 62 sessions alternating +-1 % (daily sd about 1 %) into April (EDT); the last one is the results day.
    const closes = Array.from({ length: 62 }, (_, i) => 100 * (i % 2 === 0 ? 1 : 1.01));
    const calm = makeBars('MSFT', closes, '2025-01-13');
    const last = calm[calm.length - 1];
    const rule5 = rule('vol_scaled_move', { lookback: 60, k: 5, direction: 'down', session: 'extended' }, { id: 'v5' });
    const close = new Date(Date.parse(`${last?.date}T20:00:00Z`)); // 16:00 EDT
    const q = quote('MSFT', last?.close as number, close.toISOString(), {
      postMarketPrice: (last?.close as number) * 0.9,
      postMarketTime: new Date(close.getTime() + 3_600_000),
    });
    // As live: the day's own bar is not stored yet, the quote's price is its close.
    const series = new Map([['MSFT', createSeries({ symbol: 'MSFT', bars: calm.slice(0, -1) }, { quote: q })]]);
    const now = new FixedClock(new Date(close.getTime() + 3_660_000));
    const out = evaluate({
      rules: [rule5, rule('vol_scaled_move', { lookback: 60, k: 5, direction: 'down' }, { id: 'v5r' })],
      series,
      states: new Map(),
      clock: now,
    });
    expect(out.alerts.map((a) => a.ruleId)).toEqual(['v5']);
    expect(out.alerts[0]?.value).toBeLessThan(-5);
    // Measured against the day's close (the quote), not the close before it (1 % away).
    expect(out.alerts[0]?.details.prices.reference).toBe(last?.close);
    expect(calm[calm.length - 2]?.close).not.toBe(last?.close);
  });

  it('the rule text says pre- and post-market prices count', () => {
    expect(describeRule(extended)).toMatch(/pre- and post-market prices count/);
    expect(describeRule(regular)).not.toMatch(/post-market/);
  });
});
