/**
 * Issue 17 item 3 (the soak's replay against its backtest): a news_match rule fires in the live
 * worker when an item is seen, nights and weekends included. The daily backtest judged news only
 * at the next session close, where an item older than the rule's maxAge (24 h by default) was
 * dropped: a Saturday story, seen at Monday's close, never fired, and cooldowns started at the
 * close instead of at the item. It now evaluates news_match rules also at each item's own time.
 */
import { describe, expect, it } from 'vitest';
import { backtest, type History, type NewsItem } from '../src/index.ts';
import { makeBars, news, rule } from './helpers.ts';

// Mon 2026-01-26 .. Tue 2026-02-03 (7 sessions); flat: no price rule has anything to say.
const history: History = {
  symbol: 'NVDA',
  bars: makeBars('NVDA', [100, 100, 100, 100, 100, 100, 100], '2026-01-26'),
  splits: [],
};
const chips = (cooldownSec: number) =>
  rule('news_match', { keywords: ['chip*'] }, { id: 'chips', symbols: ['NVDA'], cooldownSec });
const item = (id: string, at: string): NewsItem => news(id, 'Nvidia chip demand soars', at, { symbols: ['NVDA'] });

describe('news_match on a daily backtest', () => {
  it('fires on a weekend story at its own time (it was dropped at Monday close, 58 h later)', () => {
    const out = backtest([chips(0)], [history], { news: [item('sat', '2026-01-31T15:00:00Z')] });
    expect(out.alerts.map((a) => [a.symbol, a.at, a.value])).toEqual([['NVDA', '2026-01-31', 1]]);
  });

  it('starts the cooldown at the item, as the live worker does', () => {
    // Items on Wed 01:00 and Sat 02:00 UTC, cooldown 3 days 0.5 h: live, the first fires Wed 01:00 and cools
    // until Sat 01:30, so Saturday's fires too. Judged at the closes, Wednesday's would cool until
    // Saturday 21:00 and Saturday's (seen at Monday's close) would be too old anyway.
    const items = [item('wed', '2026-01-28T01:00:00Z'), item('sat', '2026-01-31T02:00:00Z')];
    const out = backtest([chips(3 * 86_400 + 1800)], [history], { news: items });
    expect(out.alerts.map((a) => a.at)).toEqual(['2026-01-27', '2026-01-30']);
    // A cooldown past Saturday's item holds it back.
    expect(backtest([chips(4 * 86_400)], [history], { news: items }).alerts).toHaveLength(1);
  });

  it('does not fire twice for an item published during a session (seen at its time, not again at the close)', () => {
    const out = backtest([chips(0)], [history], { news: [item('tue', '2026-01-27T15:00:00Z')] });
    expect(out.alerts).toHaveLength(1);
  });
});
