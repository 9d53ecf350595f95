/** The alert lifecycle: pending, confirm at close, cooldown, re-arm fraction, resolved notices, refusals. */
import { describe, expect, it } from 'vitest';
import {
  backtest,
  createSeries,
  evaluate,
  FixedClock,
  type History,
  type Quote,
  type RuleStateSnapshot,
  withQuote,
} from '../src/index.ts';
import { Harness, makeBars, quote, rule, tradingDays } from './helpers.ts';

// Bars up to Friday 2025-03-07; live quotes on Monday 2025-03-10 (EDT: 09:30 = 13:30Z, 16:00 = 20:00Z).
const history = createSeries({ symbol: 'NVDA', bars: makeBars('NVDA', [100, 100, 100, 100, 100], '2025-03-03') });
const live = (price: number, at: string, extra: Partial<Quote> = {}) =>
  withQuote(history, quote('NVDA', price, at, { prevClose: 100, ...extra }));
const drop10 = { sessions: 1, thresholdPct: 10, direction: 'down' as const };

describe('pending period', () => {
  it('fires only after the condition held for pendingSec', () => {
    const h = new Harness([rule('pct_move', drop10, { id: 'p', pendingSec: 600 })]);
    expect(h.run('2025-03-10T14:00:00Z', [live(88, '2025-03-10T14:00:00Z')]).alerts).toEqual([]);
    expect(h.states.get('p:NVDA')?.phase).toBe('pending');
    expect(h.run('2025-03-10T14:05:00Z', [live(87, '2025-03-10T14:05:00Z')]).alerts).toEqual([]);
    const out = h.run('2025-03-10T14:10:00Z', [live(88.5, '2025-03-10T14:10:00Z')]);
    expect(out.alerts.map((a) => a.dedupKey)).toEqual(['p:NVDA:2025-03-10']);
    expect(h.states.get('p:NVDA')?.phase).toBe('firing');
  });

  it('a condition that goes away while pending never fires', () => {
    const h = new Harness([rule('pct_move', drop10, { id: 'p', pendingSec: 600 })]);
    h.run('2025-03-10T14:00:00Z', [live(88, '2025-03-10T14:00:00Z')]);
    h.run('2025-03-10T14:05:00Z', [live(95, '2025-03-10T14:05:00Z')]);
    expect(h.states.get('p:NVDA')?.phase).toBe('inactive');
    expect(h.run('2025-03-10T14:20:00Z', [live(89, '2025-03-10T14:20:00Z')]).alerts).toEqual([]);
    expect(h.states.get('p:NVDA')?.phase).toBe('pending');
  });

  it('confirmAtClose: an intraday condition waits for the close and fires only if it still holds', () => {
    const h = new Harness([rule('pct_move', drop10, { id: 'c', confirmAtClose: true })]);
    expect(h.run('2025-03-10T15:00:00Z', [live(85, '2025-03-10T15:00:00Z')]).alerts).toEqual([]);
    expect(h.run('2025-03-10T19:59:00Z', [live(86, '2025-03-10T19:59:00Z')]).alerts).toEqual([]);
    expect(h.states.get('c:NVDA')?.phase).toBe('pending');
    const out = h.run('2025-03-10T20:01:00Z', [live(87, '2025-03-10T20:00:00Z')]);
    expect(out.alerts.map((a) => [a.dedupKey, a.value])).toEqual([['c:NVDA:2025-03-10', 87 / 100 - 1]]);

    const recovered = new Harness([rule('pct_move', drop10, { id: 'c', confirmAtClose: true })]);
    recovered.run('2025-03-10T15:00:00Z', [live(85, '2025-03-10T15:00:00Z')]);
    expect(recovered.run('2025-03-10T20:01:00Z', [live(95, '2025-03-10T20:00:00Z')]).alerts).toEqual([]);
    expect(recovered.states.get('c:NVDA')?.phase).toBe('inactive');
  });
});

// Daily closes for multi-session tests.
const days = tradingDays('2025-01-02', 20);
const d = (i: number) => days[i] as string;
function hist(closes: number[]): History {
  return { symbol: 'TSLA', bars: makeBars('TSLA', closes), splits: [] };
}

describe('cooldown', () => {
  // -12 % on day 1, recovery on day 2, -12 % again on day 3.
  const h = hist([100, 88, 100, 88, 100]);
  it('cooldown 0: each drop is its own event', () => {
    const r = backtest([rule('pct_move', drop10, { id: 'x' })], [h]);
    expect(r.alerts.map((a) => a.at)).toEqual([d(1), d(3)]);
  });
  it('a 5-day cooldown swallows the second drop (Friday -> Tuesday); a 1-day cooldown does not', () => {
    expect(
      backtest([rule('pct_move', drop10, { id: 'x', cooldownSec: 5 * 86_400 })], [h]).alerts.map((a) => a.at),
    ).toEqual([d(1)]);
    expect(backtest([rule('pct_move', drop10, { id: 'x', cooldownSec: 86_400 })], [h]).alerts.map((a) => a.at)).toEqual(
      [d(1), d(3)],
    );
  });
  it('the phases run firing -> resolved -> cooldown -> inactive', () => {
    const r = rule('pct_move', drop10, { id: 'x', cooldownSec: 5 * 86_400 });
    const phases: string[] = [];
    for (let n = 2; n <= 5; n++) {
      const bt = backtest([r], [hist([100, 88, 100, 100, 100].slice(0, n))]);
      phases.push(bt.states.get('x:TSLA')?.phase ?? 'none');
    }
    // Fri Jan 3 fires; Mon Jan 6 recovers (resolved); Tue Jan 7 still cooling down; Wed Jan 8 16:00 re-armed.
    expect(phases).toEqual(['firing', 'resolved', 'cooldown', 'inactive']);
  });
});

describe('re-arm fraction', () => {
  // 3-session move, threshold 10 % down: day 3 -12 % (fires), day 4 -7 %, day 5 -11 % (vs day 2).
  const h = hist([100, 100, 100, 88, 93, 89, 96]);
  const r3 = { sessions: 3, thresholdPct: 10, direction: 'down' as const };
  it('with fraction 0.5 a recovery to -7 % is not enough: the -11 % two days later is the same event', () => {
    const r = backtest([rule('pct_move', r3, { id: 'x', rearmFraction: 0.5 })], [h]);
    expect(r.alerts.map((a) => a.at)).toEqual([d(3)]);
  });
  it('with fraction 0.2 (re-arm at -8 %) the recovery to -7 % re-arms and the -11 % is a new event', () => {
    const r = backtest([rule('pct_move', r3, { id: 'x', rearmFraction: 0.2 })], [h]);
    expect(r.alerts.map((a) => a.at)).toEqual([d(3), d(5)]);
    expect(r.alerts.map((a) => a.dedupKey)).toEqual([`x:TSLA:${d(3)}`, `x:TSLA:${d(5)}`]);
  });
  it('intraday: a recovery by less than the fraction and a second dip in the same session raise nothing new', () => {
    const h2 = new Harness([rule('pct_move', drop10, { id: 'i', rearmFraction: 0.5 })]);
    expect(h2.run('2025-03-10T14:00:00Z', [live(88, '2025-03-10T14:00:00Z')]).alerts).toHaveLength(1);
    h2.run('2025-03-10T14:30:00Z', [live(93, '2025-03-10T14:30:00Z')]);
    expect(h2.states.get('i:NVDA')?.phase).toBe('firing');
    expect(h2.run('2025-03-10T15:00:00Z', [live(87, '2025-03-10T15:00:00Z')]).alerts).toEqual([]);
    // Full recovery resolves; a new dip the same session would reuse the same dedup key: not raised again.
    h2.run('2025-03-10T15:30:00Z', [live(99, '2025-03-10T15:30:00Z')]);
    expect(h2.states.get('i:NVDA')?.phase).toBe('resolved');
    expect(h2.run('2025-03-10T16:00:00Z', [live(85, '2025-03-10T16:00:00Z')]).alerts).toEqual([]);
    expect(h2.states.get('i:NVDA')?.phase).toBe('firing');
  });
});

describe('resolved notices', () => {
  const h = hist([100, 88, 95, 100]);
  it('notifyResolved sends one resolved notice with its own dedup key when the move recovers', () => {
    const r = backtest([rule('pct_move', drop10, { id: 'x', notifyResolved: true })], [h], { includeResolved: true });
    expect(r.alerts.map((a) => [a.status, a.at, a.dedupKey])).toEqual([
      ['firing', d(1), `x:TSLA:${d(1)}`],
      ['resolved', d(2), `x:TSLA:${d(1)}:resolved`],
    ]);
    expect(r.summary[0]).toMatchObject({ fired: 1, resolved: 1 });
  });
  it('without notifyResolved there is no notice', () => {
    const r = backtest([rule('pct_move', drop10, { id: 'x' })], [h], { includeResolved: true });
    expect(r.alerts.map((a) => a.status)).toEqual(['firing']);
  });
});

describe('dedup and state output', () => {
  it('two workers evaluating the same state produce the same dedup key; unchanged states are not returned', () => {
    const rules = [rule('pct_move', drop10, { id: 'w' })];
    const input = (states: Map<string, RuleStateSnapshot>) => ({
      rules,
      series: new Map([['NVDA', live(85, '2025-03-10T15:00:00Z')]]),
      states,
      clock: new FixedClock(new Date('2025-03-10T15:00:00Z')),
    });
    const a = evaluate(input(new Map()));
    const b = evaluate(input(new Map()));
    expect(a.alerts.map((x) => x.dedupKey)).toEqual(['w:NVDA:2025-03-10']);
    expect(b.alerts.map((x) => x.dedupKey)).toEqual(a.alerts.map((x) => x.dedupKey));
    // The next poll with the condition still true: no alert, state updated.
    const next = evaluate({ ...input(a.states), clock: new FixedClock(new Date('2025-03-10T15:01:00Z')) });
    expect(next.alerts).toEqual([]);
    // Nothing happening at all: no state written.
    const quiet = evaluate({ ...input(new Map()), series: new Map([['NVDA', live(99, '2025-03-10T15:00:00Z')]]) });
    expect(quiet.states.size).toBe(0);
  });

  it('states are plain JSON and survive a round trip through the database unchanged in meaning', () => {
    const h = new Harness([rule('pct_move', drop10, { id: 'j', cooldownSec: 3600 })]);
    h.run('2025-03-10T14:00:00Z', [live(88, '2025-03-10T14:00:00Z')]);
    const stored = JSON.parse(JSON.stringify([...h.states])) as [string, RuleStateSnapshot][];
    expect(new Map(stored)).toEqual(h.states);
    expect(stored[0]?.[1]).toMatchObject({
      phase: 'firing',
      lastFiredAt: '2025-03-10T14:00:00.000Z',
      cooldownUntil: '2025-03-10T15:00:00.000Z',
    });
  });
});

describe('refusing bad data', () => {
  const r = rule('pct_move', drop10, { id: 'r' });
  it.each([
    ['stale', { ...live(50, '2025-03-10T15:00:00Z'), freshness: 'stale' as const }, 'stale'],
    ['failed', { ...live(50, '2025-03-10T15:00:00Z'), freshness: 'failed' as const }, 'failed'],
    ['zero', live(0, '2025-03-10T15:00:00Z'), 'invalid_price'],
    ['negative', live(-3, '2025-03-10T15:00:00Z'), 'invalid_price'],
    ['NaN', live(Number.NaN, '2025-03-10T15:00:00Z'), 'invalid_price'],
  ])('%s price: no evaluation, no state change, reported as skipped', (_n, series, reason) => {
    const h = new Harness([r]);
    const out = h.run('2025-03-10T15:00:00Z', [series]);
    expect(out.alerts).toEqual([]);
    expect(out.states.size).toBe(0);
    expect(out.skipped).toEqual([{ ruleId: 'r', subject: 'NVDA', reason }]);
  });

  it('a firing state is left alone (not resolved) while data is stale', () => {
    const h = new Harness([r]);
    h.run('2025-03-10T15:00:00Z', [live(85, '2025-03-10T15:00:00Z')]);
    const before = h.states.get('r:NVDA');
    expect(before?.phase).toBe('firing'); // there is a state to leave alone
    h.run('2025-03-10T15:05:00Z', [{ ...live(100, '2025-03-10T15:05:00Z'), freshness: 'stale' }]);
    expect(h.states.get('r:NVDA')).toBe(before);
  });

  it('a zero close in the bars is refused as the current bar and inside a window', () => {
    const bars = makeBars('X', [100, 100, 0, 80, 80, 70]);
    const bt = backtest(
      [rule('pct_move', { sessions: 2, thresholdPct: 10, direction: 'down' }, { id: 'z' })],
      [{ symbol: 'X', bars, splits: [] }],
    );
    // Day 2 (close 0) and day 4 (window starts on day 2) are refused; day 3 (vs day 1: -20 %) and day 5 (vs day 3: -12.5 %) fire.
    expect(bt.alerts.map((a) => a.at)).toEqual([bars[3]?.date, bars[5]?.date]);
    expect(bt.summary[0]?.skipped).toEqual({ insufficient_history: 2, invalid_price: 2 });
  });
});
