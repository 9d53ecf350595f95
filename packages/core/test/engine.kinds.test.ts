/** One block per rule kind: each shows the condition firing and, next to it, a near miss that does not. */
import { describe, expect, it } from 'vitest';
import { backtest, createSeries, type History, type RuleDefinition, withQuote } from '../src/index.ts';
import { type BarSpec, Harness, makeBars, news, quote, rule, tradingDays } from './helpers.ts';

function hist(symbol: string, specs: (number | BarSpec)[]): History {
  return { symbol, bars: makeBars(symbol, specs), splits: [] };
}

function firedOn(rules: RuleDefinition[], histories: History[]): string[] {
  return backtest(rules, histories).alerts.map((a) => `${a.symbol}@${a.at}`);
}

const days = tradingDays('2025-01-02', 80);
const day = (i: number) => days[i] as string;

describe('price_cross', () => {
  it('fires when the session high crosses the level even if the close is back below (caught between polls)', () => {
    const h = hist('NVDA', [
      95,
      96,
      { close: 98, high: 101 },
      { close: 102, high: 103 },
      97,
      { close: 99, high: 100.5 },
    ]);
    const up = rule('price_cross', { level: 100, direction: 'up' });
    // Day 3 crosses again from a close below (98); day 4 starts above the level: no cross.
    expect(firedOn([up], [h])).toEqual([`NVDA@${day(2)}`, `NVDA@${day(3)}`, `NVDA@${day(5)}`]);
    const down = rule('price_cross', { level: 97.5, direction: 'down' });
    expect(firedOn([down], [h])).toEqual([`NVDA@${day(4)}`]);
    const never = rule('price_cross', { level: 104, direction: 'up' });
    expect(firedOn([never], [h])).toEqual([]);
  });
});

describe('pct_move', () => {
  const h = hist('MSFT', [100, 100, 100, 100, 100, 88]);
  it('measures close to close over N sessions in the given direction', () => {
    expect(firedOn([rule('pct_move', { sessions: 5, thresholdPct: 10, direction: 'down' })], [h])).toEqual([
      `MSFT@${day(5)}`,
    ]);
    expect(firedOn([rule('pct_move', { sessions: 5, thresholdPct: 10, direction: 'either' })], [h])).toEqual([
      `MSFT@${day(5)}`,
    ]);
    expect(firedOn([rule('pct_move', { sessions: 5, thresholdPct: 10, direction: 'up' })], [h])).toEqual([]);
    expect(firedOn([rule('pct_move', { sessions: 5, thresholdPct: 13, direction: 'down' })], [h])).toEqual([]);
    const r = backtest([rule('pct_move', { sessions: 5, thresholdPct: 10, direction: 'down' })], [h]);
    expect(r.alerts[0]?.value).toBeCloseTo(-0.12, 12);
    expect(r.alerts[0]?.threshold).toBe(-0.1);
  });

  it('a move in the other direction right after is a new event (either direction, overlapping windows)', () => {
    // Day 5: +25 % over 5 sessions; day 6: -25 % (75 vs 100): consecutive, but the opposite move.
    const h2 = hist('TSLA', [100, 100, 100, 100, 100, 125, 75]);
    const r = backtest(
      [rule('pct_move', { sessions: 5, thresholdPct: 20, direction: 'either' }, { rearmFraction: 0.5 })],
      [h2],
    );
    expect(r.alerts.map((a) => [a.at, Math.sign(a.value)])).toEqual([
      [day(5), 1],
      [day(6), -1],
    ]);
  });

  it('intraday: the live quote against its previous close; extremes counts the session high', () => {
    const s = createSeries({ symbol: 'META', bars: makeBars('META', [100, 100]) });
    const q = quote('META', 105, '2025-01-06T16:00:00Z', { prevClose: 100, dayHigh: 111, dayLow: 99 });
    const live = withQuote(s, q);
    const last = new Harness([rule('pct_move', { thresholdPct: 10, direction: 'up', intraday: true }, { id: 'last' })]);
    expect(last.run('2025-01-06T16:00:00Z', [live]).alerts).toEqual([]);
    const ext = new Harness([
      rule('pct_move', { thresholdPct: 10, direction: 'up', intraday: true, extremes: true }, { id: 'ext' }),
    ]);
    const out = ext.run('2025-01-06T16:00:00Z', [live]);
    expect(out.alerts.map((a) => a.dedupKey)).toEqual(['ext:META:2025-01-06']);
    expect(out.alerts[0]?.value).toBeCloseTo(0.11, 12);
    expect(out.alerts[0]?.details.prices.source).toBe('quote');
  });
});

describe('drawdown', () => {
  it('measures the price against the rolling N-session high (highs, current session included)', () => {
    const h = hist('PLTR', [100, { close: 110, high: 120 }, 105, 100, 95]);
    // 95 / 120 - 1 = -20.8 %
    expect(firedOn([rule('drawdown', { sessions: 5, thresholdPct: 20 })], [h])).toEqual([`PLTR@${day(4)}`]);
    // A 3-session window no longer contains the 120 high: 95 / 105 - 1 = -9.5 %.
    expect(firedOn([rule('drawdown', { sessions: 3, thresholdPct: 20 })], [h])).toEqual([]);
    expect(firedOn([rule('drawdown', { sessions: 5, thresholdPct: 21 })], [h])).toEqual([]);
  });
});

describe('basket_move', () => {
  // A loses 10 % (cap now 900), B gains 10 % (cap now 100): equal-weighted 0 %, combined value -8.3 %.
  const a = createSeries({ symbol: 'CRM', bars: makeBars('CRM', [100, 90]) }, { marketCap: 900 });
  const b = createSeries({ symbol: 'INTU', bars: makeBars('INTU', [100, 110]) }, { marketCap: 100 });
  const params = { sessions: 1, thresholdPct: 5, direction: 'down' as const };

  it('market-cap-weighted: the change of the members combined market value', () => {
    const h = new Harness([
      rule('basket_move', { ...params, weighting: 'market_cap' }, { id: 'saas', symbols: ['CRM', 'INTU'] }),
    ]);
    const out = h.run('2025-01-03T22:00:00Z', [a, b]);
    expect(out.alerts).toHaveLength(1);
    const alert = out.alerts[0];
    expect(alert?.subject).toBe('__basket__');
    expect(alert?.dedupKey).toBe(`saas:__basket__:${day(1)}`);
    expect(alert?.value).toBeCloseTo(1000 / (900 / 0.9 + 100 / 1.1) - 1, 12);
    expect(alert?.details.prices.marketValueChange).toBeCloseTo(1000 - (1000 + 100 / 1.1), 9);
    expect(alert?.details.members?.map((m) => m.symbol)).toEqual(['CRM', 'INTU']);
  });

  it('equal-weighted: the mean of the member moves (here 0 %, no alert)', () => {
    const h = new Harness([
      rule('basket_move', { ...params, weighting: 'equal' }, { id: 'saas', symbols: ['CRM', 'INTU'] }),
    ]);
    expect(h.run('2025-01-03T22:00:00Z', [a, b]).alerts).toEqual([]);
  });

  it('a stale member is left out; below minMembers the basket is not evaluated', () => {
    const staleB = { ...b, freshness: 'stale' as const };
    const all = new Harness([
      rule('basket_move', { ...params, weighting: 'equal' }, { id: 'saas', symbols: ['CRM', 'INTU'] }),
    ]);
    const out = all.run('2025-01-03T22:00:00Z', [a, staleB]);
    expect(out.alerts).toEqual([]);
    // 1 of 2 members is below the default coverage (0.75): incomplete, naming the missing member.
    expect(out.skipped).toEqual([
      {
        ruleId: 'saas',
        subject: '__basket__',
        reason: 'incomplete',
        detail: 'members without data: INTU (coverage 50 %)',
      },
    ]);
    const one = new Harness([
      rule('basket_move', { ...params, weighting: 'equal', minMembers: 1 }, { id: 'saas', symbols: ['CRM', 'INTU'] }),
    ]);
    const alerts = one.run('2025-01-03T22:00:00Z', [a, staleB]).alerts;
    expect(alerts.map((x) => x.value)).toEqual([-0.09999999999999998]);
    expect(alerts[0]?.details.missing).toEqual(['INTU']);
    expect(alerts[0]?.title).toContain('Basket (without INTU)');
  });

  it('evaluated on the members with data when they hold the minimum coverage; the alert names the others', () => {
    const members = ['CRM', 'INTU', 'ADBE', 'NOW'];
    const series = members.map((m, i) =>
      createSeries({ symbol: m, bars: makeBars(m, [100, 90]) }, { freshness: i === 3 ? 'stale' : 'fresh' }),
    );
    const basket = (minCoverage?: number) =>
      new Harness([
        rule(
          'basket_move',
          { ...params, weighting: 'equal', ...(minCoverage ? { minCoverage } : {}) },
          { id: 'saas', symbols: members },
        ),
      ]).run('2025-01-03T22:00:00Z', series);
    // 3 of 4 members = 75 %: the default coverage is met.
    const out = basket();
    expect(out.alerts).toHaveLength(1);
    expect(out.alerts[0]?.details.missing).toEqual(['NOW']);
    expect(out.alerts[0]?.title).toContain('Basket (without NOW)');
    // Asking for 80 %: incomplete, and the skip says why.
    const strict = basket(0.8);
    expect(strict.alerts).toEqual([]);
    expect(strict.skipped[0]?.detail).toBe('members without data: NOW (coverage 75 %)');
  });
});

describe('vol_scaled_move', () => {
  // 60 sessions alternating +1 % / -1 % (sd ~1 %), then a 5 % fall: about -5 standard deviations.
  const closes: number[] = [100];
  for (let i = 0; i < 60; i++) closes.push((closes[closes.length - 1] as number) * (i % 2 === 0 ? 1.01 : 0.99));
  closes.push((closes[closes.length - 1] as number) * 0.95);
  const h = hist('AMZN', closes);

  it('fires beyond k standard deviations of the own daily returns', () => {
    const r = backtest([rule('vol_scaled_move', { lookback: 60, k: 4, direction: 'down' })], [h]);
    expect(r.alerts.map((x) => x.at)).toEqual([day(61)]);
    expect(r.alerts[0]?.value).toBeLessThan(-4.9);
    expect(r.alerts[0]?.value).toBeGreaterThan(-5.1);
    expect(firedOn([rule('vol_scaled_move', { lookback: 60, k: 6, direction: 'either' })], [h])).toEqual([]);
    expect(firedOn([rule('vol_scaled_move', { lookback: 60, k: 4, direction: 'up' })], [h])).toEqual([]);
  });
});

describe('volume_spike', () => {
  const specs: BarSpec[] = Array.from({ length: 20 }, () => ({ close: 50, volume: 1_000_000 }));
  specs.push({ close: 51, volume: 3_500_000 });
  const h = hist('CRM', specs);
  it('compares the session volume with the average of the N sessions before', () => {
    const r = backtest([rule('volume_spike', { sessions: 20, multiple: 3 })], [h]);
    expect(r.alerts.map((x) => [x.at, x.value])).toEqual([[day(20), 3.5]]);
    expect(firedOn([rule('volume_spike', { sessions: 20, multiple: 4 })], [h])).toEqual([]);
  });
});

describe('news_match', () => {
  const shortRule = rule(
    'news_match',
    { keywords: ['leerverk*', 'short seller'], topics: ['short'] },
    { id: 'shorts', symbols: ['NVDA', 'PLTR'], cooldownSec: 3600 },
  );
  const at = '2025-11-05T15:00:00Z';
  const items = [
    news('n1', 'Michael Burry hat Nvidia leerverkauft', '2025-11-05T14:50:00Z', { symbols: ['NVDA'] }),
    news('n2', 'Palantir slides after short seller report', '2025-11-05T14:55:00Z', { symbols: ['PLTR'] }),
    news('n3', 'Nvidia earnings beat', '2025-11-05T14:56:00Z', { symbols: ['NVDA'] }),
    news('n4', 'A shortcut to AI profits', '2025-11-05T14:57:00Z', { symbols: ['NVDA'] }),
    news('n5', 'Apple: short seller targets supplier', '2025-11-05T14:58:00Z', { symbols: ['AAPL'] }),
    news('n6', 'Palantir positioning', '2025-11-05T14:59:00Z', { symbols: ['PLTR'], topics: ['Short'] }),
  ];

  it('matches keywords (whole words, * wildcard) or topics, within the rule symbols; one alert per subject', () => {
    const h = new Harness([shortRule]);
    const out = h.run(at, [], items);
    expect(out.alerts.map((a) => a.dedupKey)).toEqual(['shorts:NVDA:n-n1', 'shorts:PLTR:n-n2']);
    // Headlines best first: n6 carries the rule's topic, n2 only its keyword.
    expect(out.alerts[1]?.details.relatedNews.map((n) => n.id)).toEqual(['n6', 'n2']);
    expect(out.alerts[0]?.symbol).toBe('NVDA');
  });

  it('an item is handled once; more items in the cooldown are swallowed; after it they fire', () => {
    const h = new Harness([shortRule]);
    h.run(at, [], items);
    expect(h.run('2025-11-05T15:05:00Z', [], items).alerts).toEqual([]);
    const later = news('n7', 'Neue Leerverkäufer gegen Nvidia', '2025-11-05T15:20:00Z', {
      symbols: ['NVDA'],
      topics: ['short'],
    });
    expect(h.run('2025-11-05T15:21:00Z', [], [...items, later]).alerts).toEqual([]);
    const afterCooldown = news('n8', 'Short seller doubles down on Nvidia', '2025-11-05T16:10:00Z', {
      symbols: ['NVDA'],
    });
    const out = h.run('2025-11-05T16:11:00Z', [], [...items, later, afterCooldown]);
    expect(out.alerts.map((a) => a.dedupKey)).toEqual(['shorts:NVDA:n-n8']);
  });

  it('keyword matching respects word boundaries; old items are not new', () => {
    const bubble = rule('news_match', { keywords: ['*blase', 'AI bubble'] }, { id: 'bubble' });
    const h = new Harness([bubble]);
    const out = h.run(
      '2026-02-02T12:00:00Z',
      [],
      [
        news('b1', 'Warnung vor der KI-Blase', '2026-02-02T11:00:00Z'),
        news('b2', 'He said AI adoption grows', '2026-02-02T11:01:00Z'),
        news('b3', 'Experten warnen vor einer Kostenblase', '2026-02-02T11:02:00Z'),
        news('b4', 'Blasenentzündung: was hilft', '2026-02-02T11:03:00Z'),
        news('b5', 'The AI Bubble debate', '2026-01-30T11:00:00Z'),
      ],
    );
    expect(out.alerts).toHaveLength(1);
    expect(out.alerts[0]?.subject).toBe('__news__');
    expect(out.alerts[0]?.details.relatedNews.map((n) => n.id)).toEqual(['b1', 'b3']);
  });
});

describe('confirmation', () => {
  const s = createSeries({ symbol: 'NVDA', bars: makeBars('NVDA', [100, 100], '2025-01-23') });
  const crash = withQuote(s, quote('NVDA', 85, '2025-01-27T15:00:00Z', { prevClose: 100 }));
  const inner = { kind: 'pct_move' as const, params: { thresholdPct: 10, direction: 'down' as const } };
  const deepseek = news('d1', 'DeepSeek model rattles chip stocks', '2025-01-27T13:30:00Z', { symbols: ['NVDA'] });

  it('price_news: the price alert carries the news from the window before it', () => {
    const h = new Harness([rule('confirmation', { mode: 'price_news', price: inner }, { id: 'conf' })]);
    const out = h.run('2025-01-27T15:00:00Z', [crash], [deepseek]);
    expect(out.alerts.map((a) => a.dedupKey)).toEqual(['conf:NVDA:2025-01-27']);
    expect(out.alerts[0]?.details.relatedNews.map((n) => n.id)).toEqual(['d1']);
  });

  it('price_news with requireNews: waits up to afterMin for news, then fires or drops the move', () => {
    const confirmed = new Harness([rule('confirmation', { mode: 'price_news', price: inner }, { id: 'conf' })]);
    expect(confirmed.run('2025-01-27T15:00:00Z', [crash], []).alerts).toEqual([]);
    expect(confirmed.states.get('conf:NVDA')?.phase).toBe('pending');
    const lateNews = news('d2', 'Nvidia sinks on DeepSeek', '2025-01-27T15:10:00Z', { symbols: ['NVDA'] });
    const out = confirmed.run('2025-01-27T15:11:00Z', [crash], [lateNews]);
    expect(out.alerts.map((a) => a.details.relatedNews[0]?.id)).toEqual(['d2']);

    const unconfirmed = new Harness([
      rule('confirmation', { mode: 'price_news', price: inner }, { id: 'conf', cooldownSec: 3600 }),
    ]);
    unconfirmed.run('2025-01-27T15:00:00Z', [crash], []);
    expect(unconfirmed.run('2025-01-27T15:16:00Z', [crash], []).alerts).toEqual([]);
    expect(unconfirmed.states.get('conf:NVDA')?.phase).toBe('cooldown');
    // News arriving after the window does not revive it.
    const tooLate = news('d3', 'Nvidia down', '2025-01-27T15:20:00Z', { symbols: ['NVDA'] });
    expect(unconfirmed.run('2025-01-27T15:21:00Z', [crash], [tooLate]).alerts).toEqual([]);
  });

  it('news_price: a news match fires only after a move of X % within M minutes', () => {
    const r = rule(
      'confirmation',
      { mode: 'news_price', news: { topics: ['capex'] }, minMovePct: 2, withinMin: 30, direction: 'either' },
      { id: 'np', symbols: ['AMZN'] },
    );
    const base = createSeries({ symbol: 'AMZN', bars: makeBars('AMZN', [200, 200], '2026-02-03') });
    const item = news('c1', 'Amazon plans $200B capex', '2026-02-05T21:05:00Z', {
      symbols: ['AMZN'],
      topics: ['capex'],
    });
    const at = (t: string, p: number) => withQuote(base, quote('AMZN', p, t, { prevClose: 200 }));

    const moves = new Harness([r]);
    expect(moves.run('2026-02-05T21:06:00Z', [at('2026-02-05T21:06:00Z', 200)], [item]).alerts).toEqual([]);
    expect(moves.run('2026-02-05T21:15:00Z', [at('2026-02-05T21:15:00Z', 198)], [item]).alerts).toEqual([]);
    const out = moves.run('2026-02-05T21:25:00Z', [at('2026-02-05T21:25:00Z', 190)], [item]);
    expect(out.alerts.map((a) => a.dedupKey)).toEqual(['np:AMZN:n-c1']);
    expect(out.alerts[0]?.value).toBeCloseTo(-0.05, 12);

    const flat = new Harness([r]);
    flat.run('2026-02-05T21:06:00Z', [at('2026-02-05T21:06:00Z', 200)], [item]);
    expect(flat.run('2026-02-05T21:40:00Z', [at('2026-02-05T21:40:00Z', 199)], [item]).alerts).toEqual([]);
    expect(flat.states.get('np:AMZN')?.phase).toBe('inactive');
    // A move after the window is too late.
    expect(flat.run('2026-02-05T21:50:00Z', [at('2026-02-05T21:50:00Z', 180)], [item]).alerts).toEqual([]);
  });
});
