/**
 * PRICE_SOURCE=replay: with intraday recordings: the replay steps bar by bar, and the contract
 * between the paths holds: evaluating the seed rules on what the replay source answers at each bar
 * (its quotes and revealed daily history, as the worker would) raises exactly the alerts the
 * intraday backtest raises on the same recording and news.
 */
import {
  type AlertCandidate,
  backtestIntraday,
  createSeries,
  evaluate,
  FixedClock,
  type NewsItem,
  parseNewsRecording,
  type RuleDefinition,
  type RuleStateSnapshot,
} from '@signals/core';
import { captureLogger, intradayFixture, intradayFixturePath } from '@signals/testing';
import { describe, expect, it } from 'vitest';
import { seedRules } from '../../../seeds/rules.ts';
import { intradayFromRawChart, ReplayPriceSource } from '../src/index.ts';

const rules: RuleDefinition[] = seedRules.map(
  ({ seedId: _s, watchlist: _w, sourceArticle: _a, sourcePassage: _p, ...rule }) => rule,
);

async function replayAlerts(name: string, symbol: string, news: NewsItem[]) {
  const clock = new FixedClock(new Date(0));
  const src = await ReplayPriceSource.fromPath(intradayFixturePath(`${name}.json`), { clock });
  const h = intradayFromRawChart(intradayFixture(`${name}.json`));
  const states = new Map<string, RuleStateSnapshot>();
  const alerts: AlertCandidate[] = [];
  let quotesSeen = 0;
  for (const b of h.bars) {
    const now = b.at.getTime() + 300_000;
    clock.set(new Date(now));
    const { quotes } = await src.quotes([symbol]);
    const quote = quotes[0];
    if (!quote) continue;
    quotesSeen++;
    const hist = await src.history(symbol, new Date(0), new Date(now));
    const series = new Map([[symbol, createSeries(hist, { quote })]]);
    const visible = news.filter((n) => n.firstSeenAt.getTime() <= now);
    const out = evaluate({ rules, series, news: visible, states, clock });
    for (const [k, v] of out.states) states.set(k, v);
    alerts.push(...out.alerts);
  }
  return { alerts, quotesSeen, bars: h.bars.length, src, h };
}

describe('replay of intraday recordings', () => {
  for (const [name, symbol] of [
    ['AMZN-5m-2025-02-14-capex-postmarket', 'AMZN'],
    ['MSFT-5m-2025-01-29-capex-postmarket', 'MSFT'],
    ['NVDA-5m-2025-01-27-deepseek', 'NVDA'],
    ['NVDA-5m-2021-12-13-short-sellers', 'NVDA'],
    ['NVDA-5m-2021-12-16-bubble-selloff', 'NVDA'],
  ] as const) {
    it(`${symbol}: bar by bar, the seed rules fire in the replay exactly as in the intraday backtest`, async () => {
      const news = parseNewsRecording(intradayFixture(`${name}.news.json`));
      const r = await replayAlerts(name, symbol, news);
      // A quote after every bar: the replay steps bar by bar.
      expect(r.quotesSeen).toBe(r.bars);
      const firing = r.alerts.filter((a) => a.status === 'firing');
      expect(firing.length).toBeGreaterThan(0);
      const bt = backtestIntraday(rules, [r.h], { news });
      expect(firing.map((a) => [a.ruleId, a.dedupKey, a.value]).sort()).toEqual(
        bt.alerts.map((a) => [a.rule, a.dedupKey, a.value]).sort(),
      );
    });
  }

  it('quotes carry the pre/post-market price; intraday() hands out completed bars only', async () => {
    const clock = new FixedClock(new Date('2025-02-14T21:42:00Z'));
    const src = await ReplayPriceSource.fromPath(intradayFixturePath('AMZN-5m-2025-02-14-capex-postmarket.json'), {
      clock,
    });
    const { quotes } = await src.quotes(['AMZN']);
    const q = quotes[0];
    expect(q?.price).toBe(Math.fround(228.68)); // the regular close
    expect(q?.sourceAt.toISOString()).toBe('2025-02-14T21:00:00.000Z');
    expect(q?.postMarketTime?.toISOString()).toBe('2025-02-14T21:40:00.000Z');
    expect(q?.postMarketPrice).toBeLessThan(228.68 * 0.95);
    const bars = await src.intraday('AMZN', '5m', new Date('2025-02-14T00:00:00Z'), new Date('2025-02-15T00:00:00Z'));
    expect(bars.bars.at(-1)?.at.toISOString()).toBe('2025-02-14T21:35:00.000Z');
    // The day's daily bar is revealed once the session closed; the next one is not.
    const hist = await src.history('AMZN', new Date(0), clock.now());
    expect(hist.bars.map((b) => b.date)).toEqual(['2025-02-13', '2025-02-14']);
    expect(src.firstInstant?.toISOString()).toBe('2025-02-13T09:00:00.000Z');
  });

  it('a folder of recordings: one series per symbol from several files, news files skipped', async () => {
    const clock = new FixedClock(new Date('2025-02-14T21:42:00Z'));
    const log = captureLogger();
    const src = await ReplayPriceSource.fromPath(intradayFixturePath(''), { clock, logger: log });
    expect(src.intradaySymbols.sort()).toEqual(['AMZN', 'MSFT', 'NVDA', 'TSLA']);
    const { quotes } = await src.quotes(['AMZN']);
    expect(quotes[0]?.postMarketTime?.toISOString()).toBe('2025-02-14T21:40:00.000Z');
    // Several recordings of one symbol make one series: NVDA's DeepSeek Monday and its 2021 days.
    clock.set(new Date('2025-01-27T16:00:00Z'));
    expect((await src.quotes(['NVDA'])).quotes[0]?.price).toBeLessThan(125); // 11:00 New York
    clock.set(new Date('2021-12-16T20:00:00Z'));
    expect((await src.quotes(['NVDA'])).quotes[0]?.price).toBeLessThan(29);
    // One interval per symbol, the one most recordings have: MSFT's 1m day and one of TSLA's two
    // single recordings (1h and 15m: the 15m week has more bars) are named in warnings.
    expect(log.find('warn', /another interval/).map((l) => [l.obj.symbol, l.obj.interval])).toEqual([
      ['MSFT', '1m'],
      ['TSLA', '1h'],
    ]);
    clock.set(new Date('2021-06-08T21:30:00Z'));
    expect((await src.intraday('MSFT', '5m', new Date(0), clock.now())).bars.length).toBeGreaterThan(300);
  });
});
