import { describe, expect, it } from 'vitest';
import { judgeLoops, type LoopBeat, MIN_OVERDUE_MS, overdueAfterMs } from '../src/index.ts';

// Wednesday 2025-03-05: the session runs 14:30Z-21:00Z (EST).
const OPEN_DAY = new Date('2025-03-05T18:00:00Z');
const NIGHT = new Date('2025-03-06T03:00:00Z');
const ago = (now: Date, s: number) => new Date(now.getTime() - s * 1000);
const beat = (
  loop: LoopBeat['loop'],
  intervalS: number,
  lastS: number | null,
  now: Date,
  marketHours = true,
): LoopBeat => ({
  loop,
  intervalMs: intervalS * 1000,
  marketHours,
  lastSuccessAt: lastS === null ? null : ago(now, lastS),
});
const judge = (now: Date, beats: LoopBeat[], extra: Partial<Parameters<typeof judgeLoops>[0]> = {}) =>
  judgeLoops({ now, beats, expected: {}, watchingSince: ago(now, 3600), oldestPendingDelivery: null, ...extra });
const byLoop = (s: ReturnType<typeof judgeLoops>) => Object.fromEntries(s.map((x) => [x.loop, x]));

describe('loop liveness', () => {
  it('a loop is overdue after three of its own intervals, from the moment that period ended', () => {
    const s = byLoop(judge(OPEN_DAY, [beat('sweep', 15, 44, OPEN_DAY), beat('news', 60, 181, OPEN_DAY)]));
    expect(s.sweep?.state).toBe('ok');
    expect(s.news?.state).toBe('overdue');
    expect(s.news?.overdueSince?.toISOString()).toBe(ago(OPEN_DAY, 1).toISOString());
    expect(s.news?.reason).toMatch(/last ran 181 s ago, expected every 60 s/);
  });

  it('never judges a loop sooner than the floor, however short its interval', () => {
    expect(overdueAfterMs(1000)).toBe(MIN_OVERDUE_MS);
    const s = byLoop(judge(OPEN_DAY, [beat('sweep', 1, 5, OPEN_DAY)]));
    expect(s.sweep?.state).toBe('ok');
    expect(byLoop(judge(OPEN_DAY, [beat('sweep', 1, 11, OPEN_DAY)])).sweep?.state).toBe('overdue');
  });

  it('price polling and evaluation are not judged while the market is closed, except in a replay', () => {
    const night = byLoop(judge(NIGHT, [beat('prices', 60, 7200, NIGHT), beat('evaluate', 300, 7200, NIGHT)]));
    expect(night.prices?.state).toBe('idle');
    expect(night.evaluate?.state).toBe('idle');
    const replay = byLoop(judge(NIGHT, [beat('prices', 2, 60, NIGHT, false)]));
    expect(replay.prices?.state).toBe('overdue');
    // News is judged whatever the market does.
    expect(byLoop(judge(NIGHT, [beat('news', 60, 7200, NIGHT)])).news?.state).toBe('overdue');
  });

  it('gives market-hours loops a full period from the open, not from last night', () => {
    const justOpened = new Date('2025-03-05T14:31:00Z');
    const s = byLoop(judge(justOpened, [beat('prices', 60, 3 * 3600, justOpened)]));
    expect(s.prices?.state).toBe('ok');
    const later = new Date('2025-03-05T14:34:00Z');
    expect(byLoop(judge(later, [beat('prices', 60, 3 * 3600 + 180, later)])).prices?.state).toBe('overdue');
  });

  it('a loop that never ran is overdue one period after the judge started watching', () => {
    const expected = { sweep: { intervalMs: 15_000, marketHours: false } };
    const fresh = byLoop(judge(OPEN_DAY, [], { expected, watchingSince: ago(OPEN_DAY, 10) }));
    expect(fresh.sweep?.state).toBe('starting');
    const stale = byLoop(judge(OPEN_DAY, [], { expected, watchingSince: ago(OPEN_DAY, 50) }));
    expect(stale.sweep?.state).toBe('overdue');
    expect(stale.sweep?.reason).toMatch(/never run/);
    // Loops neither expected nor recorded are not reported.
    expect(stale.news).toBeUndefined();
  });

  it('deliveries: idle is fine; overdue only when work waits longer than the period with no progress', () => {
    const d = (lastS: number | null, dueS: number | null) =>
      byLoop(
        judge(OPEN_DAY, lastS === null ? [] : [beat('deliveries', 75, lastS, OPEN_DAY)], {
          expected: { deliveries: { intervalMs: 75_000, marketHours: false } },
          oldestPendingDelivery: dueS === null ? null : ago(OPEN_DAY, dueS),
        }),
      ).deliveries;
    expect(d(null, null)?.state).toBe('idle'); // nothing ever sent, nothing to send
    expect(d(86_400, null)?.state).toBe('idle'); // quiet for a day
    expect(d(86_400, 60)?.state).toBe('idle'); // due work, still within the period
    expect(d(30, 600)?.state).toBe('ok'); // an old row waits, but others are being sent
    const stuck = d(86_400, 600);
    expect(stuck?.state).toBe('overdue');
    expect(stuck?.overdueSince?.toISOString()).toBe(ago(OPEN_DAY, 600 - 225).toISOString());
  });
});

describe('optional loops (issue 18, item 7)', () => {
  it('judges the telegram loop only when expected, at any hour', () => {
    const stale = [beat('telegram', 30, 300, NIGHT, false)];
    // Not configured here: a heartbeat left by an earlier configuration is not judged.
    expect(byLoop(judge(NIGHT, stale)).telegram).toBeUndefined();
    const expected = { telegram: { intervalMs: 30_000, marketHours: false } };
    const s = byLoop(judge(NIGHT, stale, { expected }));
    expect(s.telegram?.state).toBe('overdue');
    expect(s.telegram?.name).toBe('Telegram updates');
    expect(byLoop(judge(NIGHT, [beat('telegram', 30, 20, NIGHT, false)], { expected })).telegram?.state).toBe('ok');
  });
});
