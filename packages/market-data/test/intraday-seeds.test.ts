/**
 * The Done-when of issue 12: the news and news+price seed rules (and the capex and DeepSeek price
 * rules) fire in a backtest over the intraday recordings of their events, at the time the move
 * happened, and stay silent on the calm control series with similar headlines.
 */
import {
  type BacktestAlert,
  backtest,
  backtestIntraday,
  dailyFromIntraday,
  type IntradayHistory,
  type NewsItem,
  parseNewsRecording,
  type RuleDefinition,
} from '@signals/core';
import { intradayFixture } from '@signals/testing';
import { describe, expect, it } from 'vitest';
import { seedRules } from '../../../seeds/rules.ts';
import { intradayFromRawChart } from '../src/index.ts';

const rules: RuleDefinition[] = seedRules.map(
  ({ seedId: _s, watchlist: _w, sourceArticle: _a, sourcePassage: _p, ...rule }) => rule,
);
const rule = (id: string) => rules.find((r) => r.id === id) as RuleDefinition;

function load(name: string): { h: IntradayHistory; news: NewsItem[] } {
  let news: NewsItem[] = [];
  try {
    news = parseNewsRecording(intradayFixture(`${name}.news.json`), name);
  } catch (e) {
    if (!String(e).includes('ENOENT')) throw e;
  }
  return { h: intradayFromRawChart(intradayFixture(`${name}.json`)), news };
}

const fired = (alerts: BacktestAlert[], id: string) => alerts.filter((a) => a.rule === id && a.status === 'firing');

/** The same rule with the regular session only. */
function regularOnly(r: RuleDefinition): RuleDefinition {
  const params = { ...(r.params as Record<string, unknown>) };
  delete params.session;
  return { ...r, params } as RuleDefinition;
}

describe('seed rules on intraday recordings', () => {
  it('MSFT capex evening: capex-news-punished fires after hours within two hours of the 16:05 news; only with extended hours', () => {
    const { h, news } = load('MSFT-5m-2025-01-29-capex-postmarket');
    const r = backtestIntraday(rules, [h], { news });
    const hits = fired(r.alerts, 'capex-news-punished');
    expect(hits).toHaveLength(1);
    expect(hits[0]?.symbol).toBe('MSFT');
    // The bar it fired on: after the 21:05Z news, before 23:05Z, that same evening.
    const at = Date.parse(hits[0]?.at as string);
    expect(at).toBeGreaterThan(Date.parse('2025-01-29T21:05:00Z'));
    expect(at).toBeLessThan(Date.parse('2025-01-29T23:05:00Z'));
    // Exactly the first bar whose close is 5 % below the price when the news came (the close of the
    // bar that ended at 21:05Z): no look-ahead, no lag.
    const ref = h.bars.find((b) => b.at.toISOString() === '2025-01-29T21:00:00.000Z')?.close as number;
    const first = h.bars.find(
      (b) => b.at.getTime() >= Date.parse('2025-01-29T21:05:00Z') && b.close / ref - 1 <= -0.05,
    );
    expect(hits[0]?.at).toBe(first?.at.toISOString());
    expect(hits[0]?.value).toBeCloseTo((first?.close as number) / ref - 1, 10);
    // Regular session only: the next regular price comes after the two hours. Silent.
    const reg = backtestIntraday([regularOnly(rule('capex-news-punished'))], [h], { news });
    expect(reg.alerts).toEqual([]);
    // Without the news there is nothing to confirm.
    expect(fired(backtestIntraday(rules, [h]).alerts, 'capex-news-punished')).toEqual([]);
  });

  it('AMZN capex evening: the -6 % and -10 % rules and the news rule fire that evening, once each (not again on the next session)', () => {
    const { h, news } = load('AMZN-5m-2025-02-14-capex-postmarket');
    const r = backtestIntraday(rules, [h], { news });
    for (const id of ['amzn-capex-drop-early', 'amzn-capex-drop-historic', 'capex-news-punished']) {
      const hits = fired(r.alerts, id);
      expect(hits, id).toHaveLength(1);
      expect(hits[0]?.at.slice(0, 10), id).toBe('2025-02-14');
      expect(Date.parse(hits[0]?.at as string), id).toBeGreaterThanOrEqual(Date.parse('2025-02-14T21:00:00Z'));
    }
    expect(fired(r.alerts, 'amzn-capex-drop-historic')[0]?.value).toBeLessThanOrEqual(-0.1);
    // The evening's event carries the next session's date: one event, not one per session.
    expect(fired(r.alerts, 'amzn-capex-drop-historic')[0]?.dedupKey).toBe('amzn-capex-drop-historic:AMZN:2025-02-18');
    // Regular session only, the -10 % rule cannot see the evening.
    const reg = backtestIntraday([regularOnly(rule('amzn-capex-drop-historic'))], [h], { news });
    expect(reg.alerts.filter((a) => a.at.startsWith('2025-02-14'))).toEqual([]);
  });

  it('NVDA DeepSeek Monday: the news+price rule fires within two hours of the 09:45 news; the price rules fire that morning', () => {
    const { h, news } = load('NVDA-5m-2025-01-27-deepseek');
    const r = backtestIntraday(rules, [h], { news });
    const model = fired(r.alerts, 'deepseek-cheap-model-news');
    expect(model).toHaveLength(1);
    const at = Date.parse(model[0]?.at as string);
    expect(at).toBeGreaterThan(Date.parse('2025-01-27T14:45:00Z'));
    expect(at).toBeLessThan(Date.parse('2025-01-27T16:45:00Z'));
    // -8 % early warning at the open (after its 5-minute pending), -16 % later in the day.
    const early = fired(r.alerts, 'deepseek-nvda-drop-early');
    expect(early).toHaveLength(1);
    expect(early[0]?.at).toBe('2025-01-27T14:35:00.000Z');
    const historic = fired(r.alerts, 'deepseek-nvda-drop-historic');
    expect(historic).toHaveLength(1);
    expect(Date.parse(historic[0]?.at as string)).toBeGreaterThan(Date.parse('2025-01-27T15:30:00Z'));
    // On daily bars the news+price rule cannot fire: the day is one observation, at the close.
    const daily = backtest(
      [rule('deepseek-cheap-model-news')],
      [{ symbol: 'NVDA', bars: dailyFromIntraday(h), splits: [] }],
      {
        news,
      },
    );
    expect(daily.alerts).toEqual([]);
  });

  it('NVDA short sellers: the news rule fires when the story is published, the news+price rule on the 4 % fall within the hour', () => {
    const { h, news } = load('NVDA-5m-2021-12-13-short-sellers');
    const r = backtestIntraday(rules, [h], { news });
    const story = fired(r.alerts, 'short-sellers-nvda-pltr');
    expect(story).toHaveLength(1);
    // The bar that ended at the 15:30Z publication.
    expect(story[0]?.at).toBe('2021-12-13T15:25:00.000Z');
    const follows = fired(r.alerts, 'short-sellers-market-follows');
    expect(follows).toHaveLength(1);
    expect(Date.parse(follows[0]?.at as string)).toBeLessThan(Date.parse('2021-12-13T16:30:00Z'));
    expect(follows[0]?.value).toBeLessThanOrEqual(-0.04);
    // Nothing else: no bubble news, and the fall stays under the 8 % DeepSeek warning.
    expect(r.alerts.map((a) => a.rule).sort()).toEqual(['short-sellers-market-follows', 'short-sellers-nvda-pltr']);
  });

  it('NVDA bubble sell-off: the coverage rule fires on the headline, the sell-off rule on the -5 % move with it', () => {
    const { h, news } = load('NVDA-5m-2021-12-16-bubble-selloff');
    const r = backtestIntraday(rules, [h], { news });
    expect(fired(r.alerts, 'ai-bubble-coverage').map((a) => a.at)).toEqual(['2021-12-16T17:55:00.000Z']);
    const selloff = fired(r.alerts, 'ai-bubble-selloff');
    expect(selloff).toHaveLength(1);
    expect(Date.parse(selloff[0]?.at as string)).toBeGreaterThanOrEqual(Date.parse('2021-12-16T18:00:00Z'));
    expect(selloff[0]?.value).toBeLessThanOrEqual(-0.05);
    // Without the coverage the fall alone does not make a bubble sell-off (requireNews).
    expect(fired(backtestIntraday(rules, [h]).alerts, 'ai-bubble-selloff')).toEqual([]);
  });

  it('every news and news+price seed rule fires in the backtest of its event recording', () => {
    const newsRules = rules.filter((r) => r.kind === 'news_match' || r.kind === 'confirmation').map((r) => r.id);
    expect(newsRules).toHaveLength(6);
    const firedSomewhere = new Set<string>();
    for (const name of [
      'MSFT-5m-2025-01-29-capex-postmarket',
      'AMZN-5m-2025-02-14-capex-postmarket',
      'NVDA-5m-2025-01-27-deepseek',
      'NVDA-5m-2021-12-13-short-sellers',
      'NVDA-5m-2021-12-16-bubble-selloff',
    ]) {
      const { h, news } = load(name);
      for (const a of backtestIntraday(rules, [h], { news }).alerts) firedSomewhere.add(a.rule);
    }
    expect(newsRules.filter((id) => !firedSomewhere.has(id))).toEqual([]);
  });

  it('calm controls: no seed rule fires on MSFT and NVDA weeks with capex and model headlines', () => {
    const msft = load('MSFT-5m-2021-06-07-calm');
    const nvda = load('NVDA-5m-2021-06-07-calm');
    const r = backtestIntraday(rules, [msft.h, nvda.h], { news: [...msft.news, ...nvda.news] });
    // The headlines match the news rules' keywords (so the price part is what keeps them silent).
    expect(msft.news[0]?.title).toMatch(/capital expenditure/);
    expect(nvda.news[0]?.title).toMatch(/Chinese AI model/);
    expect(r.alerts).toEqual([]);
    expect(r.steps).toBeGreaterThan(900);
  });
});
