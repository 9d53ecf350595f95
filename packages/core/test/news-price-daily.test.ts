/**
 * Issue 19 item 4: what a news+price confirmation means on daily data, the same for a backtest of
 * stored daily bars and for a live replay of daily recordings (the worker polling quotes that
 * carry each session's close). The case of the issue: Microsoft's -10 % day of 2026-01-29, the
 * capex story published at 08:45 New York time, 45 minutes before the open.
 * - Window of 120 min (the seed rule): the close that shows the move comes after the window, so
 *   whether the stock moved within it is not in the data: neither fires, both say needs_intraday.
 * - A window that reaches the close: the reference is the previous close (the price when the
 *   story came out, before the open); both fire, with the same dedup key and value.
 * - A story published while the market was open, seen by daily data only at the close: undecidable.
 */
import { describe, expect, it } from 'vitest';
import {
  backtest,
  createSeries,
  type History,
  type NewsItem,
  type RuleDefinition,
  sessionCloseMs,
  withQuote,
} from '../src/index.ts';
import { Harness, makeBars, news, quote, rule } from './helpers.ts';

// 2026-01-26 .. 2026-01-30: 480 each day, then 432 (-10 %) on the 29th.
const bars = makeBars('MSFT', [480, 480, 480, 432, 430], '2026-01-26');
const D = '2026-01-29';
const history: History = { symbol: 'MSFT', bars, splits: [] };

const capex = (withinMin: number): RuleDefinition =>
  rule(
    'confirmation',
    {
      mode: 'news_price',
      news: { topics: ['capex'], requireSymbol: true },
      minMovePct: 5,
      withinMin,
      direction: 'either',
    },
    { id: 'np', symbols: ['MSFT'] },
  );
const story = (at: string): NewsItem =>
  news('c1', 'Microsoft lifts capex again', at, { symbols: ['MSFT'], topics: ['capex'] });
const PRE_OPEN = `${D}T13:45:00Z`; // 08:45 New York
const IN_SESSION = `${D}T15:30:00Z`; // 10:30 New York

/** The backtest of the stored daily bars: its firing alerts and its needs_intraday skips. */
function backtested(r: RuleDefinition, item: NewsItem) {
  const out = backtest([r], [history], { news: [item] });
  return { keys: out.alerts.map((a) => [a.dedupKey, a.value]), undecided: out.summary[0]?.skipped.needs_intraday ?? 0 };
}

/**
 * A live replay of daily recordings: the worker polls every 15 minutes; each quote is the last
 * session whose close is known (as ReplayPriceSource answers), the stored bars are those before it.
 */
function replayed(r: RuleDefinition, item: NewsItem) {
  const h = new Harness([r]);
  const keys: [string, number][] = [];
  let undecided = 0;
  const start = Date.parse(`${D}T12:00:00Z`);
  for (let t = start; t <= start + 12 * 3_600_000; t += 15 * 60_000) {
    const known = bars.filter((b) => sessionCloseMs(b.date) <= t);
    const last = known[known.length - 1];
    if (!last) continue;
    const prev = known[known.length - 2];
    const s = withQuote(
      createSeries({ symbol: 'MSFT', bars: known.slice(0, -1) }),
      quote(
        'MSFT',
        last.close,
        new Date(sessionCloseMs(last.date)).toISOString(),
        prev ? { prevClose: prev.close } : {},
      ),
    );
    const visible = item.firstSeenAt.getTime() <= t ? [item] : [];
    const out = h.run(new Date(t).toISOString(), [s], visible);
    for (const a of out.alerts) keys.push([a.dedupKey, a.value]);
    undecided += out.skipped.filter((x) => x.reason === 'needs_intraday').length;
  }
  return { keys, undecided };
}

describe('news+price confirmation on daily data: backtest and live replay agree', () => {
  it('the seed window (120 min) on the MSFT -10 % day: undecidable, neither fires, both say so', () => {
    const b = backtested(capex(120), story(PRE_OPEN));
    const l = replayed(capex(120), story(PRE_OPEN));
    expect(b.keys).toEqual([]);
    expect(l.keys).toEqual([]);
    expect(b.undecided).toBe(1);
    expect(l.undecided).toBe(1);
  });

  it('a window reaching the close: measured from the previous close, both fire the same alert', () => {
    const b = backtested(capex(600), story(PRE_OPEN));
    const l = replayed(capex(600), story(PRE_OPEN));
    expect(b.keys).toHaveLength(1);
    expect(b.keys[0]?.[0]).toBe('np:MSFT:n-c1');
    expect(b.keys[0]?.[1]).toBeCloseTo(-0.1, 12);
    expect(l.keys).toEqual(b.keys);
  });

  it('a story published while the market was open: undecidable on daily data, neither fires', () => {
    const b = backtested(capex(600), story(IN_SESSION));
    const l = replayed(capex(600), story(IN_SESSION));
    expect(b.keys).toEqual([]);
    expect(l.keys).toEqual([]);
    expect(b.undecided).toBe(1);
    expect(l.undecided).toBe(1);
  });
});
