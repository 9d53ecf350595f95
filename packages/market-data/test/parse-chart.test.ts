import { SchemaDriftError } from '@signals/core';
import { yahooFixture } from '@signals/testing';
import { describe, expect, it } from 'vitest';
import { chartInterval, parseYahooChart, recordedBody } from '../src/index.ts';

const NVDA_FILE = 'historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json';
const TSLA_FILE = 'historical-via-chart-dividends-TSLA-no-dividends.json';
const MSFT_FILE = 'historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json';
const loadChartBody = (file: string): unknown => yahooFixture(file).response.bodyJson;
const loadChart = (file: string) => parseYahooChart(loadChartBody(file));

type ChartBody = {
  chart: {
    result: {
      timestamp: number[];
      events?: { splits?: Record<string, { date: number; numerator: number; denominator: number }> };
      indicators: { quote: Record<'open' | 'high' | 'low' | 'close' | 'volume', (number | null)[]>[] };
    }[];
  };
};

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

describe('parseYahooChart', () => {
  it('TSLA: 3,303 ascending daily bars with New York session dates', () => {
    const h = loadChart(TSLA_FILE);
    expect(h.symbol).toBe('TSLA');
    expect(h.exchangeTimezone).toBe('America/New_York');
    expect(h.bars).toHaveLength(3303);
    expect(h.bars[0]?.date).toBe('2010-06-29');
    expect(h.bars[3302]?.date).toBe('2023-08-11');
    for (let i = 1; i < h.bars.length; i++)
      expect((h.bars[i] as { date: string }).date > (h.bars[i - 1] as { date: string }).date).toBe(true);
    expect(h.splitAdjustment).toBe('none');
  });

  it("NVDA: Yahoo's chart closes are already split-adjusted across the 4:1 split of 2021-07-20", () => {
    const h = loadChart(NVDA_FILE);
    expect(h.splits).toEqual([{ date: '2021-07-20', ratio: 4 }]);
    expect(h.splitAdjustment).toBe('source');
    const i = h.bars.findIndex((b) => b.date === '2021-07-20');
    const before = h.bars[i - 1];
    const on = h.bars[i];
    // An ordinary daily move, not a 75 % "crash": the source had adjusted.
    expect(Math.abs((on?.close ?? 0) / (before?.close ?? 1) - 1)).toBeLessThan(0.05);
    // And the parser left the prices as Yahoo sent them.
    const raw = loadChartBody(NVDA_FILE) as ChartBody;
    const q = raw.chart.result[0]?.indicators.quote[0];
    expect(h.bars[0]?.close).toBe(q?.close[0]);
    expect(h.bars[0]?.volume).toBe(q?.volume[0]);
  });

  it('adjusts an unadjusted split itself (pre-split prices x4 are divided back)', () => {
    const adjusted = loadChart(NVDA_FILE);
    const body = clone(loadChartBody(NVDA_FILE)) as ChartBody;
    const r = body.chart.result[0];
    if (!r) throw new Error('fixture');
    const splitTs = 1626787800;
    const q = r.indicators.quote[0] as Record<string, (number | null)[]>;
    r.timestamp.forEach((t, i) => {
      if (t >= splitTs) return;
      for (const k of ['open', 'high', 'low', 'close'] as const) q[k]![i] = (q[k]![i] as number) * 4;
      q.volume![i] = (q.volume![i] as number) / 4;
    });
    const h = parseYahooChart(body);
    expect(h.splitAdjustment).toBe('parser');
    expect(h.bars).toHaveLength(adjusted.bars.length);
    h.bars.forEach((b, i) => {
      const a = adjusted.bars[i];
      expect(b.date).toBe(a?.date);
      expect(b.close).toBeCloseTo(a?.close ?? Number.NaN, 9);
      expect(b.high).toBeCloseTo(a?.high ?? Number.NaN, 9);
      expect(b.volume).toBeCloseTo(a?.volume ?? Number.NaN, 3);
    });
  });

  it('MSFT: dividends leave closes alone; adjClose is kept separately', () => {
    const h = loadChart(MSFT_FILE);
    expect(h.bars).toHaveLength(252);
    expect(h.bars[0]?.close).toBeCloseTo(239.65, 2);
    expect(h.bars[0]?.adjClose).toBeLessThan(h.bars[0]?.close ?? 0);
  });

  it('skips rows with a null close and fills a null high/low from the close', () => {
    const body = clone(loadChartBody(MSFT_FILE)) as ChartBody;
    const q = body.chart.result[0]?.indicators.quote[0] as Record<string, (number | null)[]>;
    q.close![5] = null;
    q.high![6] = null;
    const h = parseYahooChart(body);
    expect(h.bars).toHaveLength(251);
    const full = loadChart(MSFT_FILE);
    expect(h.bars.map((b) => b.date)).not.toContain(full.bars[5]?.date);
    expect(h.bars[5]?.date).toBe(full.bars[6]?.date);
    expect(h.bars[5]?.high).toBe(full.bars[6]?.close);
  });

  it('answers without timestamps (recorded malformed fixtures) are schema drift naming the field, not a crash', () => {
    for (const f of ['chart-notimestamp-quotes-length.fake.json', 'chart-notimestamp-weird-quote.fake.json'])
      expect(() => parseYahooChart(loadChartBody(f))).toThrow(/timestamp/);
  });

  it('the recorded exchange and its body parse the same', () => {
    expect(parseYahooChart(yahooFixture(MSFT_FILE)).bars).toEqual(loadChart(MSFT_FILE).bars);
  });

  it('a shape it does not know is schema drift', () => {
    expect(() => parseYahooChart({ chart: { result: [{ meta: {} }] } })).toThrow(SchemaDriftError);
    expect(() => parseYahooChart({ chart: { result: null, error: { code: 'Not Found' } } })).toThrow(SchemaDriftError);
    const body = clone(loadChartBody(MSFT_FILE)) as ChartBody;
    body.chart.result[0]?.indicators.quote[0]?.close.pop();
    expect(() => parseYahooChart(body)).toThrow(/252 timestamps but 251 closes/);
  });

  it('AAPL chart endpoint: one bar on 2020-01-02', () => {
    const h = parseYahooChart(loadChartBody('chart-AAPL-2020-01-01-to-2020-01-03.json'));
    expect(h.bars.map((b) => [b.date, b.close])).toEqual([['2020-01-02', 75.0875015258789]]);
  });
});

describe('recordedBody: the one unwrapping of recorded exchanges', () => {
  const body = loadChartBody(TSLA_FILE);
  it('gives the body of an exchange (bodyJson or bodyText) and leaves a plain body as it is', () => {
    expect(recordedBody({ request: {}, response: { status: 200, bodyJson: body } })).toBe(body);
    expect(recordedBody({ response: { bodyText: JSON.stringify(body) } })).toEqual(body);
    expect(recordedBody(body)).toBe(body);
    expect(parseYahooChart({ response: { bodyText: JSON.stringify(body) } }).bars.length).toBe(
      parseYahooChart(body).bars.length,
    );
  });
  it('refuses an exchange without a usable body, naming the recording', () => {
    const bad = [
      [{ response: { status: 500, bodyJson: body } }, 'f.json: ', 'HTTP 500'],
      [{ response: { bodyText: '<html>' } }, 'f.json: ', 'bodyText is not JSON'],
      [{ response: {} }, 'f.json: ', 'no body'],
      [{ response: 3 }, 'f.json: ', '"response" is not an object'],
    ] as const;
    for (const [json, , why] of bad) {
      const err = (() => {
        try {
          recordedBody(json, 'f.json');
        } catch (e) {
          return e as SchemaDriftError;
        }
      })();
      expect(err).toBeInstanceOf(SchemaDriftError);
      expect(err?.source).toBe('f.json');
      expect(err?.message).toContain(why);
    }
    // Detecting the interval never throws: a recording without a body is simply not a chart.
    expect(chartInterval({ response: { status: 404 } })).toBeUndefined();
  });
});
