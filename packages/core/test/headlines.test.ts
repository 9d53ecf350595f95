/** "Why it moved": the headlines an alert carries, chosen by one function for live and backtest. */
import { describe, expect, it } from 'vitest';
import { backtest, createSeries, HEADLINES_MAX, sessionCloseMs, sessionOpenMs } from '../src/index.ts';
import { Harness, makeBars, news, rule } from './helpers.ts';

// 30 quiet sessions from 2025-01-02, then a -12 % close on the 31st session.
const closes = [...Array.from({ length: 30 }, () => 100), 88];
const bars = makeBars('NVDA', closes);
const last = bars[bars.length - 1]?.date as string;
const prev = bars[bars.length - 2]?.date as string;
const drop = rule('pct_move', { sessions: 1, thresholdPct: 10, direction: 'down' }, { symbols: ['NVDA'] });

const iso = (ms: number) => new Date(ms).toISOString();
const windowStart = sessionOpenMs(prev);
const alertAt = sessionCloseMs(last);

const items = [
  news('early', 'Nvidia before the window', iso(windowStart - 3 * 3600_000), { symbols: ['NVDA'] }),
  news('pre', 'Chip stocks wobble', iso(windowStart - 3600_000), { symbols: ['NVDA'] }),
  news('topic', 'Selloff in chips', iso(alertAt - 5 * 3600_000), { symbols: ['NVDA'], topics: ['selloff'] }),
  news('title', 'NVDA plunges on DeepSeek', iso(alertAt - 4 * 3600_000), { symbols: ['NVDA'] }),
  news('other', 'MSFT steady', iso(alertAt - 3600_000), { symbols: ['MSFT'] }),
  news('dup', 'NVDA plunges on DeepSeek', iso(alertAt - 3000_000), { symbols: ['NVDA'] }),
  news('plain', 'Markets close', iso(alertAt - 1800_000), { symbols: ['NVDA'] }),
];

describe('alert headlines', () => {
  it('the alert carries the items naming its subject published in its window (start - 2 h .. alert), best first', () => {
    const h = new Harness([drop]);
    const series = createSeries({ symbol: 'NVDA', bars });
    const out = h.run(iso(alertAt), [series], items);
    expect(out.alerts).toHaveLength(1);
    const a = out.alerts[0];
    expect(a?.windowStart).toBe(iso(windowStart));
    // title names the subject, then a topic, then in order of publication; one story once.
    expect(a?.details.relatedNews.map((n) => n.id)).toEqual(['title', 'topic', 'pre', 'plain']);
  });

  it('the backtest raises the same alert with the same headlines', () => {
    const r = backtest([drop], [{ symbol: 'NVDA', bars, splits: [] }], { news: items });
    expect(r.alerts).toHaveLength(1);
    expect(r.alerts[0]?.headlines.map((x) => x.title)).toEqual([
      'NVDA plunges on DeepSeek',
      'Selloff in chips',
      'Chip stocks wobble',
      'Markets close',
    ]);
  });

  it(`at most ${HEADLINES_MAX}`, () => {
    const many = Array.from({ length: 9 }, (_, i) =>
      news(`m${i}`, `Nvidia story ${i}`, iso(alertAt - (i + 1) * 600_000), { symbols: ['NVDA'] }),
    );
    const out = new Harness([drop]).run(iso(alertAt), [createSeries({ symbol: 'NVDA', bars })], many);
    expect(out.alerts[0]?.details.relatedNews).toHaveLength(HEADLINES_MAX);
  });
});
