/**
 * POST /api/backtest and the rule preview say which resolution they ran at and why: daily bars,
 * and, for rules that react within or outside the session, that those were measured close to
 * close (intraday backtests are the CLI's --interval).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type Harness, startHarness, syntheticBars } from './harness.ts';

let h: Harness;
let call: ReturnType<typeof api>;
beforeAll(async () => {
  h = await startHarness();
  call = api(h);
});
afterAll(async () => {
  await h?.close();
});

describe('backtest resolution', () => {
  const bars = syntheticBars({ start: '2024-01-02', days: 120, dropDate: '2024-03-04', dropPct: 15 });

  it('names daily bars, and the rules that are measured close to close because of it', async () => {
    const r = await call('POST', '/backtest', {
      rules: [
        {
          name: 'After hours -10 %',
          kind: 'pct_move',
          params: { thresholdPct: 10, direction: 'down', intraday: true, session: 'extended' },
          symbols: ['NVDA'],
        },
        { name: 'Fall 10 %', kind: 'pct_move', params: { thresholdPct: 10, direction: 'down' }, symbols: ['NVDA'] },
      ],
      bars: { NVDA: bars },
    });
    expect(r.status).toBe(200);
    expect(r.json.summary.resolution.interval).toBe('1d');
    expect(r.json.summary.resolution.reason).toMatch(/^daily bars: /);
    expect(r.json.summary.resolution.reason).toMatch(/draft-1 reacts within or outside the session/);
    expect(r.json.summary.resolution.reason).not.toMatch(/draft-2/);
    expect(r.json.summary.resolution.reason).toMatch(/pnpm cli backtest --interval 5m/);

    const plain = await call('POST', '/backtest', {
      rules: [
        { name: 'Fall 10 %', kind: 'pct_move', params: { thresholdPct: 10, direction: 'down' }, symbols: ['NVDA'] },
      ],
      bars: { NVDA: bars },
    });
    expect(plain.json.summary.resolution.reason).toBe(
      'daily bars: this backtest replays one observation per session, at its close',
    );
  });
});
