/** Correctness on recorded Yahoo data: the NVDA split, TSLA's 10 % days, determinism. */
import { describe, expect, it } from 'vitest';
import {
  backtest,
  createSeries,
  evaluate,
  FixedClock,
  type History,
  type RuleDefinition,
  withQuote,
} from '@signals/core';
import { rule } from '../../core/test/helpers.ts';
import { loadChart, NVDA_FILE, TSLA_FILE } from './real-history.ts';

const SPLIT_DAY = '2021-07-20';

const moveRules: RuleDefinition[] = [
  rule('pct_move', { sessions: 1, thresholdPct: 10, direction: 'either' }, { id: 'day10' }),
  rule('drawdown', { sessions: 20, thresholdPct: 25 }, { id: 'dd20' }),
  rule('vol_scaled_move', { lookback: 60, k: 4, direction: 'either' }, { id: 'vol4' }),
];

describe('NVDA 2021 (4:1 split on 2021-07-20)', () => {
  const nvda = loadChart(NVDA_FILE);

  it('no move rule fires on the split day (closes are split-adjusted)', () => {
    const r = backtest(moveRules, [nvda]);
    expect(r.sessions).toBe(252);
    expect(r.alerts.filter((a) => a.at === SPLIT_DAY)).toEqual([]);
    // The rules were evaluated on that day (enough history for all three).
    const i = nvda.bars.findIndex((b) => b.date === SPLIT_DAY);
    expect(i).toBeGreaterThan(61);
  });

  it('the same rules do fire on unadjusted prices: the test above can fail', () => {
    const unadjusted: History = {
      ...nvda,
      bars: nvda.bars.map((b) =>
        b.date < SPLIT_DAY ? { ...b, open: b.open * 4, high: b.high * 4, low: b.low * 4, close: b.close * 4 } : b,
      ),
    };
    const r = backtest(moveRules, [unadjusted]);
    expect(
      r.alerts
        .filter((a) => a.at === SPLIT_DAY)
        .map((a) => a.rule)
        .sort(),
    ).toEqual(['day10', 'dd20', 'vol4']);
  });
});

describe('TSLA 2010-2023 (3,303 bars)', () => {
  const tsla = loadChart(TSLA_FILE);
  const c = tsla.bars.map((b) => b.close);
  const dates = tsla.bars.map((b) => b.date);

  it('a daily move of 10 % or more (either way) fires on exactly the days a plain loop finds', () => {
    const expected: string[] = [];
    for (let i = 1; i < c.length; i++) {
      if (Math.abs((c[i] as number) / (c[i - 1] as number) - 1) >= 0.1) expected.push(dates[i] as string);
    }
    expect(expected.length).toBeGreaterThan(50);
    // cooldown 0 and re-arm on any recovery: a 1-session window never overlaps the next one, so
    // every qualifying day is its own event.
    const r = backtest(
      [rule('pct_move', { sessions: 1, thresholdPct: 10, direction: 'either' }, { id: 'd', rearmFraction: 0 })],
      [tsla],
    );
    expect(r.alerts.map((a) => a.at)).toEqual(expected);
    expect(new Set(r.alerts.map((a) => a.dedupKey)).size).toBe(expected.length);
  });

  it('a 5-session move of 20 %: one alert per run of consecutive qualifying sessions in one direction', () => {
    // Event semantics (cooldown 0, rearmFraction 0): session i qualifies when
    // |c[i] / c[i-5] - 1| >= 20 %; consecutive qualifying sessions with the same sign form one event
    // (their windows overlap); the alert is on the first session of each run.
    const expected: string[] = [];
    let prevSign = 0;
    for (let i = 5; i < c.length; i++) {
      const m = (c[i] as number) / (c[i - 5] as number) - 1;
      const sign = Math.abs(m) >= 0.2 ? Math.sign(m) : 0;
      if (sign !== 0 && sign !== prevSign) expected.push(dates[i] as string);
      prevSign = sign;
    }
    expect(expected.length).toBeGreaterThan(20);
    const r = backtest(
      [rule('pct_move', { sessions: 5, thresholdPct: 20, direction: 'either' }, { id: 'w', rearmFraction: 0 })],
      [tsla],
    );
    expect(r.alerts.map((a) => a.at)).toEqual(expected);
  });

  it('`from` only hides the warm-up: the reported alerts are the tail of the full replay', () => {
    const r = [
      rule('pct_move', { sessions: 5, thresholdPct: 20, direction: 'either' }, { id: 'w', cooldownSec: 86_400 }),
    ];
    const full = backtest(r, [tsla]).alerts;
    const tail = backtest(r, [tsla], { from: '2020-01-01' }).alerts;
    expect(tail.length).toBeGreaterThan(0);
    expect(tail).toEqual(full.filter((a) => a.at >= '2020-01-01'));
  });

  it('a cooldown spaces alerts out: never two within 30 days', () => {
    const r = backtest(
      [rule('pct_move', { sessions: 1, thresholdPct: 10, direction: 'either' }, { id: 'd', cooldownSec: 30 * 86_400 })],
      [tsla],
    );
    const t = r.alerts.map((a) => Date.parse(a.at));
    expect(t.length).toBeGreaterThan(10);
    for (let i = 1; i < t.length; i++)
      expect((t[i] as number) - (t[i - 1] as number)).toBeGreaterThanOrEqual(30 * 86_400_000);
  });

  it('is deterministic: same inputs, identical alerts and states', () => {
    const rules = [
      ...moveRules,
      rule('volume_spike', { sessions: 20, multiple: 3 }, { id: 'vs' }),
      rule('price_cross', { level: 200, direction: 'up' }, { id: 'pc' }),
    ];
    const a = backtest(rules, [tsla]);
    const b = backtest(rules, [loadChart(TSLA_FILE)]);
    expect(JSON.stringify(a.alerts)).toBe(JSON.stringify(b.alerts));
    expect(JSON.stringify([...a.states])).toBe(JSON.stringify([...b.states]));
    expect(a.alerts.length).toBeGreaterThan(0);

    // One live poll after the replay: carried-over states, a quote 15 % down.
    const last = tsla.bars[tsla.bars.length - 1]?.close ?? 0;
    const q = { symbol: 'TSLA', price: last * 0.85, prevClose: last, sourceAt: new Date('2023-08-14T15:00:00Z') };
    const input = {
      rules,
      series: new Map([['TSLA', withQuote(createSeries(tsla), q)]]),
      states: a.states,
      clock: new FixedClock(new Date('2023-08-14T15:00:00Z')),
    };
    const once = evaluate(input);
    const twice = evaluate(input);
    expect(once.alerts.map((x) => x.dedupKey)).toContain('day10:TSLA:2023-08-14');
    expect(JSON.stringify({ ...twice, states: [...twice.states] })).toBe(
      JSON.stringify({ ...once, states: [...once.states] }),
    );
  });
});

/**
 * The other price kinds against computations written out here from their definitions (README
 * "Rules"), on the same recorded TSLA history. Event semantics with cooldown 0 and re-arm on any
 * recovery (rearmFraction 0): a drawdown over N sessions is one event per run of consecutive
 * qualifying sessions (its window overlaps the next session's), a one-session measure (a z-scored
 * daily move, a day's volume) is its own event every qualifying session.
 */
describe('TSLA 2010-2023: drawdown, volatility-scaled and volume rules against independent computations', () => {
  const tsla = loadChart(TSLA_FILE);
  const close = tsla.bars.map((b) => b.close);
  const high = tsla.bars.map((b) => b.high);
  const volume = tsla.bars.map((b) => b.volume);
  const dates = tsla.bars.map((b) => b.date);
  const at = (r: ReturnType<typeof backtest>) => r.alerts.map((a) => a.at);

  it('the recording is clean (every price positive), so the plain loops below need no gaps', () => {
    for (const b of tsla.bars) for (const v of [b.open, b.high, b.low, b.close]) expect(v).toBeGreaterThan(0);
  });

  it('drawdown: the close at least 25 % under the highest high of the last 20 sessions, first session of each run', () => {
    const n = 20;
    const expected: string[] = [];
    let prev = false;
    for (let i = n - 1; i < close.length; i++) {
      let peak = 0;
      for (let j = i - n + 1; j <= i; j++) peak = Math.max(peak, high[j] as number);
      const q = (close[i] as number) / peak - 1 <= -0.25;
      if (q && !prev) expected.push(dates[i] as string);
      prev = q;
    }
    expect(expected.length).toBeGreaterThan(10);
    const r = backtest([rule('drawdown', { sessions: n, thresholdPct: 25 }, { id: 'dd', rearmFraction: 0 })], [tsla]);
    expect(at(r)).toEqual(expected);
  });

  it('vol_scaled_move: a daily return of 4 sample standard deviations of the 60 returns before it, either way', () => {
    const n = 60;
    const ret = close.map((c, i) => (i === 0 ? 0 : c / (close[i - 1] as number) - 1));
    const expected: { at: string; z: number }[] = [];
    for (let i = n + 1; i < close.length; i++) {
      const w = ret.slice(i - n, i);
      const mean = w.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
      const z = (ret[i] as number) / sd;
      if (Math.abs(z) >= 4) expected.push({ at: dates[i] as string, z });
    }
    expect(expected.length).toBeGreaterThan(5);
    const r = backtest(
      [rule('vol_scaled_move', { lookback: n, k: 4, direction: 'either' }, { id: 'vz', rearmFraction: 0 })],
      [tsla],
    );
    expect(at(r)).toEqual(expected.map((e) => e.at));
    // Same measured value, not only the same days.
    expect(r.alerts.map((a) => a.value)).toEqual(expected.map((e) => expect.closeTo(e.z, 6)));
  });

  it('volume_spike: a day trading at least 3 times the mean volume of the 20 sessions before it', () => {
    const n = 20;
    const expected: { at: string; ratio: number }[] = [];
    for (let i = n; i < volume.length; i++) {
      const avg = volume.slice(i - n, i).reduce((a, b) => a + b, 0) / n;
      if (avg > 0 && (volume[i] as number) / avg >= 3)
        expected.push({ at: dates[i] as string, ratio: (volume[i] as number) / avg });
    }
    expect(expected.length).toBeGreaterThan(5);
    const r = backtest([rule('volume_spike', { sessions: n, multiple: 3 }, { id: 'vs', rearmFraction: 0 })], [tsla]);
    expect(at(r)).toEqual(expected.map((e) => e.at));
    expect(r.alerts.map((a) => a.value)).toEqual(expected.map((e) => expect.closeTo(e.ratio, 9)));
  });
});
