/**
 * The synthetic intraday recordings in fixtures/yahoo-intraday, one test each: they parse through
 * the intraday chart parser, aggregate back to the real daily bars they were built around (read
 * from the recorded fixtures where those exist), and have the event shape they are named for.
 */
import { type DailyBar, dailyFromIntraday, type IntradayBar, SchemaDriftError, zonedDate } from '@signals/core';
import { intradayFixture, yahooFixture } from '@signals/testing';
import { describe, expect, it } from 'vitest';
import { chartInterval, parseYahooChart, intradayFromRawChart, intradayFromYahooChart } from '../src/index.ts';

const f32 = (v: number) => Math.fround(v);

function load(name: string) {
  const json = intradayFixture(`${name}.json`);
  return { json, h: intradayFromRawChart(json) };
}

function day(bars: IntradayBar[], date: string, session?: IntradayBar['session']) {
  return bars.filter((b) => zonedDate(b.at) === date && (session === undefined || b.session === session));
}

/** Recorded daily bars of a shared fixture, by date. */
function recordedDaily(file: string): Map<string, DailyBar> {
  return new Map(parseYahooChart(yahooFixture(file)).bars.map((b) => [b.date, b]));
}

function expectSameBar(got: DailyBar | undefined, want: DailyBar | undefined) {
  expect(got && want).toBeTruthy();
  expect(got?.open).toBeCloseTo(want?.open as number, 2);
  expect(got?.high).toBeCloseTo(want?.high as number, 2);
  expect(got?.low).toBeCloseTo(want?.low as number, 2);
  expect(got?.close).toBeCloseTo(want?.close as number, 2);
}

describe('synthetic intraday fixtures (fixtures/yahoo-intraday)', () => {
  it('every file is labelled synthetic and names its interval in meta.dataGranularity', () => {
    for (const name of [
      'MSFT-5m-2025-01-29-capex-postmarket',
      'AMZN-5m-2025-02-14-capex-postmarket',
      'NVDA-5m-2025-01-27-deepseek',
      'TSLA-1h-2023-01-26-gap',
      'MSFT-1m-2021-06-08-nulls',
      'TSLA-15m-2023-03-13-dst-week',
      'MSFT-5m-2021-06-07-calm',
      'NVDA-5m-2021-06-07-calm',
      'NVDA-5m-2021-12-13-short-sellers',
      'NVDA-5m-2021-12-16-bubble-selloff',
    ]) {
      const json = intradayFixture(`${name}.json`) as { synthetic?: string };
      expect(json.synthetic).toMatch(/^SYNTHETIC/);
      expect(chartInterval(json)).toBe(name.split('-')[1]);
    }
  });

  it('MSFT capex evening: regular close 442.33, then -10 % in post-market within the hour after 16:05', () => {
    const { h } = load('MSFT-5m-2025-01-29-capex-postmarket');
    expect(h.interval).toBe('5m');
    // 66 pre (04:00-09:30), 78 regular, 48 post (16:00-20:00) five-minute bars a day.
    expect(day(h.bars, '2025-01-29', 'pre')).toHaveLength(66);
    expect(day(h.bars, '2025-01-29', 'regular')).toHaveLength(78);
    expect(day(h.bars, '2025-01-29', 'post')).toHaveLength(48);
    const daily = dailyFromIntraday(h);
    expect(daily.map((d) => d.close)).toEqual([f32(447.2), f32(442.33), f32(414.99)]);
    const post = day(h.bars, '2025-01-29', 'post');
    const low = Math.min(...post.map((b) => b.close));
    expect(low / 442.33 - 1).toBeLessThanOrEqual(-0.099);
    const firstBelow = post.find((b) => b.close / 442.33 - 1 <= -0.05);
    // Within the hour after the 16:05 news (21:05Z).
    expect(firstBelow?.at.getTime()).toBeLessThan(Date.parse('2025-01-29T22:05:00Z'));
  });

  it('AMZN capex evening: the regular session is the recorded quote-AMZN.json day; -10 % after hours; next session after Presidents Day', () => {
    const { h } = load('AMZN-5m-2025-02-14-capex-postmarket');
    const q = (
      yahooFixture('quote-AMZN.json').response.bodyJson as {
        quoteResponse: { result: Array<Record<string, number>> };
      }
    ).quoteResponse.result[0] as Record<string, number>;
    const d = dailyFromIntraday(h).find((b) => b.date === '2025-02-14');
    expect(d?.open).toBe(f32(q.regularMarketOpen as number));
    expect(d?.high).toBe(f32(q.regularMarketDayHigh as number));
    expect(d?.low).toBe(f32(q.regularMarketDayLow as number));
    expect(d?.close).toBe(f32(q.regularMarketPrice as number));
    expect(Math.abs((d?.volume as number) - (q.regularMarketVolume as number))).toBeLessThan(100);
    const post = day(h.bars, '2025-02-14', 'post');
    expect(Math.min(...post.map((b) => b.close)) / (q.regularMarketPrice as number) - 1).toBeLessThanOrEqual(-0.1);
    expect([...new Set(h.bars.map((b) => zonedDate(b.at)))]).toEqual(['2025-02-13', '2025-02-14', '2025-02-18']);
  });

  it('NVDA DeepSeek Monday: gap at the open, the fall builds through the morning, -16.97 % close to close', () => {
    const { h } = load('NVDA-5m-2025-01-27-deepseek');
    const [fri, mon] = dailyFromIntraday(h);
    expect(fri?.close).toBe(f32(142.62));
    expect([mon?.open, mon?.high, mon?.low, mon?.close]).toEqual([f32(124.8), f32(128.4), f32(116.25), f32(118.42)]);
    expect((mon?.close as number) / (fri?.close as number) - 1).toBeCloseTo(-0.1697, 3);
    const reg = day(h.bars, '2025-01-27', 'regular');
    const lowBar = reg.find((b) => b.low === mon?.low);
    // The low comes after 11:00 New York (16:00Z), not at the open.
    expect(lowBar?.at.getTime()).toBeGreaterThan(Date.parse('2025-01-27T16:00:00Z'));
    // From the 09:45 news (14:45Z) the price falls more than 5 % within two hours.
    const atNews = reg.find((b) => b.at.getTime() === Date.parse('2025-01-27T14:45:00Z'));
    const within = reg.filter(
      (b) => b.at.getTime() > Date.parse('2025-01-27T14:45:00Z') && b.at.getTime() < Date.parse('2025-01-27T16:45:00Z'),
    );
    expect(Math.min(...within.map((b) => b.close)) / (atNews?.close as number) - 1).toBeLessThan(-0.05);
    // Pre-market already trades well below Friday's close.
    expect(day(h.bars, '2025-01-27', 'pre').at(-1)?.close).toBeLessThan(132);
  });

  it('TSLA gap: hourly bars aggregate to the recorded daily bars; +10.8 % gap at the open', () => {
    const { h } = load('TSLA-1h-2023-01-26-gap');
    const rec = recordedDaily('historical-via-chart-dividends-TSLA-no-dividends.json');
    const daily = dailyFromIntraday(h);
    for (const d of daily) expectSameBar(d, rec.get(d.date));
    expect((daily[1]?.open as number) / (daily[0]?.close as number) - 1).toBeCloseTo(0.1076, 3);
    // Hourly regular bars start 09:30, 10:30 ... 15:30 New York (the last one is half an hour).
    expect(day(h.bars, '2023-01-26', 'regular').map((b) => b.at.toISOString().slice(11, 16))).toEqual([
      '14:30',
      '15:30',
      '16:30',
      '17:30',
      '18:30',
      '19:30',
      '20:30',
    ]);
  });

  it('MSFT one-minute bars with nulls: empty and close-less rows dropped and counted, missing volumes are 0, no crash', () => {
    const { json, h } = load('MSFT-1m-2021-06-08-nulls');
    // 12 rows without any value, 3 without a close, and the trailing empty row.
    expect(h.droppedRows).toBe(16);
    expect(h.bars).toHaveLength(391 - 16);
    expect(h.bars.every((b) => b.session === 'regular' && b.close > 0 && b.low <= b.high)).toBe(true);
    const t60 = Date.parse('2021-06-08T13:30:00Z') + 60 * 60_000; // 09:30 EDT + 60 min
    expect(h.bars.find((b) => b.at.getTime() === t60)?.volume).toBe(0);
    const rec = recordedDaily('historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json').get(
      '2021-06-08',
    );
    const [d] = dailyFromIntraday(h);
    expect(d?.open).toBe(rec?.open);
    expect(d?.close).toBe(rec?.close);
    expect(d?.high).toBeLessThanOrEqual(rec?.high as number);
    expect(d?.low).toBeGreaterThanOrEqual(rec?.low as number);
    // The daily parser reads the same file without crashing: one bar for the day.
    expect(parseYahooChart(json).bars).toHaveLength(1);
  });

  it('TSLA DST week: 09:30 New York is 14:30Z before 2023-03-12 and 13:30Z after; days match the record', () => {
    const { h } = load('TSLA-15m-2023-03-13-dst-week');
    const firstOf = (date: string, s: IntradayBar['session']) => day(h.bars, date, s)[0]?.at.toISOString();
    expect(firstOf('2023-03-10', 'regular')).toBe('2023-03-10T14:30:00.000Z');
    expect(firstOf('2023-03-13', 'regular')).toBe('2023-03-13T13:30:00.000Z');
    expect(firstOf('2023-03-10', 'pre')).toBe('2023-03-10T09:00:00.000Z');
    expect(firstOf('2023-03-13', 'pre')).toBe('2023-03-13T08:00:00.000Z');
    expect(firstOf('2023-03-13', 'post')).toBe('2023-03-13T20:00:00.000Z');
    for (const date of ['2023-03-10', '2023-03-13']) {
      expect(day(h.bars, date, 'regular')).toHaveLength(26);
      expect(day(h.bars, date, 'pre')).toHaveLength(22);
      expect(day(h.bars, date, 'post')).toHaveLength(16);
    }
    const rec = recordedDaily('historical-via-chart-dividends-TSLA-no-dividends.json');
    const daily = dailyFromIntraday(h);
    expect(daily.map((d) => d.date)).toEqual(['2023-03-08', '2023-03-09', '2023-03-10', '2023-03-13', '2023-03-14']);
    for (const d of daily) expectSameBar(d, rec.get(d.date));
  });

  it('calm controls: MSFT and NVDA bars (extended hours included) stay within 4 % of the previous regular close', () => {
    for (const [name, file] of [
      ['MSFT-5m-2021-06-07-calm', 'historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json'],
      ['NVDA-5m-2021-06-07-calm', 'historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json'],
    ] as const) {
      const { h } = load(name);
      const rec = recordedDaily(file);
      const daily = dailyFromIntraday(h);
      for (const d of daily) expectSameBar(d, rec.get(d.date));
      let prev = h.bars[0]?.open as number;
      let worst = 0;
      for (const b of h.bars) {
        worst = Math.max(worst, Math.abs(b.close / prev - 1));
        if (b.session === 'regular') prev = daily.find((d) => d.date === zonedDate(b.at))?.close ?? prev;
      }
      expect(worst).toBeLessThan(0.04);
    }
  });

  it('NVDA short sellers and bubble sell-off: the days are the recorded ones; the falls come after the headlines', () => {
    const rec = recordedDaily('historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json');
    for (const [name, date, newsAt, fall] of [
      ['NVDA-5m-2021-12-13-short-sellers', '2021-12-13', '2021-12-13T15:30:00Z', 0.04],
      ['NVDA-5m-2021-12-16-bubble-selloff', '2021-12-16', '2021-12-16T18:00:00Z', 0.025],
    ] as const) {
      const { h } = load(name);
      for (const d of dailyFromIntraday(h)) expectSameBar(d, rec.get(d.date));
      const reg = day(h.bars, date, 'regular');
      const t = Date.parse(newsAt);
      const before = reg.filter((b) => b.at.getTime() < t).at(-1)?.close as number;
      const hour = reg.filter((b) => b.at.getTime() >= t && b.at.getTime() < t + 3_600_000);
      // Within the hour after the headline the price falls by `fall` or more from where it was.
      expect(Math.min(...hour.map((b) => b.close)) / before - 1, name).toBeLessThanOrEqual(-fall);
    }
  });

  it('schema drift: a chart without timestamps or with mismatched arrays throws SchemaDriftError with the raw body', () => {
    expect(() => intradayFromRawChart(yahooFixture('chart-notimestamp-quotes-length.fake.json'))).toThrow(
      SchemaDriftError,
    );
    const json = structuredClone(intradayFixture('TSLA-1h-2023-01-26-gap.json')) as {
      response: { bodyJson: { chart: { result: Array<{ indicators: { quote: Array<{ close: unknown[] }> } }> } } };
    };
    json.response.bodyJson.chart.result[0]?.indicators.quote[0]?.close.pop();
    try {
      intradayFromRawChart(json);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SchemaDriftError);
      expect((e as SchemaDriftError).raw).toBe(json.response.bodyJson);
    }
    // yahoo-finance2's result at another granularity than asked (Yahoo's answer beyond a limit).
    const coarse = { meta: { symbol: 'MSFT', dataGranularity: '1d' }, quotes: [{ date: new Date(), close: 1 }] };
    expect(() => intradayFromYahooChart('MSFT', '5m', coarse)).toThrow(/asked MSFT for 5m bars, got 1d/);
    expect(
      intradayFromYahooChart('MSFT', '1h', { ...coarse, meta: { symbol: 'MSFT', dataGranularity: '60m' } }).interval,
    ).toBe('1h');
    // A daily chart is not intraday.
    expect(() => intradayFromRawChart(yahooFixture('chart-AAPL-2020-01-01-to-2020-01-03.json'))).toThrow(
      /not intraday/,
    );
  });
});
