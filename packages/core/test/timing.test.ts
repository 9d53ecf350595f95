/** Quiet hours and time intervals across DST changes, with instants given (never the wall clock). */
import { describe, expect, it } from 'vitest';
import { activeAt, inTimeInterval, marketWindow, quietUntil, timeIntervalSchema } from '../src/index.ts';

const at = (iso: string) => new Date(iso);
const q = { start: '22:00', end: '07:00' };

describe('quiet hours', () => {
  it('holds until the local end, which moves by an hour across the spring DST change (New York, 8 Mar 2026)', () => {
    // 23:00 EST on Sat 7 Mar = 04:00Z; quiet ends 07:00 EDT on Sun 8 Mar = 11:00Z (not 12:00Z).
    expect(quietUntil(at('2026-03-08T04:00:00Z'), 'America/New_York', q)?.toISOString()).toBe(
      '2026-03-08T11:00:00.000Z',
    );
    // The night before: 07:00 EST = 12:00Z.
    expect(quietUntil(at('2026-03-07T04:00:00Z'), 'America/New_York', q)?.toISOString()).toBe(
      '2026-03-07T12:00:00.000Z',
    );
    // After midnight, during the skipped hour's night: 01:30 EST = 06:30Z, ends the same morning.
    expect(quietUntil(at('2026-03-08T06:30:00Z'), 'America/New_York', q)?.toISOString()).toBe(
      '2026-03-08T11:00:00.000Z',
    );
    // 07:00 EDT exactly is no longer quiet; 21:59 is not yet.
    expect(quietUntil(at('2026-03-08T11:00:00Z'), 'America/New_York', q)).toBeNull();
    expect(quietUntil(at('2026-03-09T01:59:00Z'), 'America/New_York', q)).toBeNull();
  });

  it('handles the autumn change in Berlin (25 Oct 2026) and daytime quiet hours', () => {
    // 23:30 CEST on Sat 24 Oct = 21:30Z; 07:00 CET on Sun 25 Oct = 06:00Z.
    expect(quietUntil(at('2026-10-24T21:30:00Z'), 'Europe/Berlin', q)?.toISOString()).toBe('2026-10-25T06:00:00.000Z');
    // The repeated hour 02:30 (twice): both are quiet and end at 06:00Z.
    expect(quietUntil(at('2026-10-25T00:30:00Z'), 'Europe/Berlin', q)?.toISOString()).toBe('2026-10-25T06:00:00.000Z');
    expect(quietUntil(at('2026-10-25T01:30:00Z'), 'Europe/Berlin', q)?.toISOString()).toBe('2026-10-25T06:00:00.000Z');
    const lunch = { start: '12:00', end: '13:30' };
    expect(quietUntil(at('2026-06-01T10:15:00Z'), 'Europe/Berlin', lunch)?.toISOString()).toBe(
      '2026-06-01T11:30:00.000Z',
    );
    expect(quietUntil(at('2026-06-01T11:30:00Z'), 'Europe/Berlin', lunch)).toBeNull();
    expect(quietUntil(at('2026-06-01T11:30:00Z'), 'Europe/Berlin', { start: '08:00', end: '08:00' })).toBeNull();
  });
});

describe('time intervals', () => {
  it('knows the market phases, half days and holidays included', () => {
    expect(marketWindow(at('2026-03-09T13:30:00Z'))).toBe('regular'); // 09:30 EDT, first Monday after the change
    expect(marketWindow(at('2026-03-09T13:29:00Z'))).toBe('extended');
    expect(marketWindow(at('2026-03-09T08:00:00Z'))).toBe('extended'); // 04:00 EDT
    expect(marketWindow(at('2026-03-09T07:59:00Z'))).toBe('closed');
    expect(marketWindow(at('2026-03-06T14:30:00Z'))).toBe('regular'); // 09:30 EST the Friday before
    expect(marketWindow(at('2026-03-06T14:29:00Z'))).toBe('extended');
    expect(marketWindow(at('2026-11-27T18:30:00Z'))).toBe('extended'); // 13:30 on the half day after Thanksgiving
    expect(marketWindow(at('2026-11-27T22:30:00Z'))).toBe('closed'); // 17:30 that day
    expect(marketWindow(at('2026-12-25T15:00:00Z'))).toBe('closed'); // Christmas
    expect(marketWindow(at('2026-03-07T15:00:00Z'))).toBe('closed'); // Saturday
  });

  it('matches weekdays, local times and months in the interval location, across DST', () => {
    const office = timeIntervalSchema.parse({ weekdays: [1, 2, 3, 4, 5], times: [{ start: '09:00', end: '17:00' }] });
    // 09:00 Berlin is 08:00Z in winter and 07:00Z in summer.
    expect(inTimeInterval(at('2026-03-27T08:00:00Z'), office, 'Europe/Berlin')).toBe(true);
    expect(inTimeInterval(at('2026-03-30T07:00:00Z'), office, 'Europe/Berlin')).toBe(true);
    expect(inTimeInterval(at('2026-03-30T06:59:00Z'), office, 'Europe/Berlin')).toBe(false);
    expect(inTimeInterval(at('2026-03-28T10:00:00Z'), office, 'Europe/Berlin')).toBe(false); // Saturday
    const q1 = timeIntervalSchema.parse({ months: [1, 2, 3], location: 'America/New_York' });
    expect(inTimeInterval(at('2026-04-01T03:00:00Z'), q1)).toBe(true); // still 31 March in New York
    expect(inTimeInterval(at('2026-04-01T05:00:00Z'), q1)).toBe(false);
    const session = timeIntervalSchema.parse({ market: ['regular'] });
    expect(activeAt(at('2026-03-09T14:00:00Z'), [session])).toBe(true);
    expect(activeAt(at('2026-03-09T21:00:00Z'), [session])).toBe(false);
    expect(activeAt(at('2026-03-09T21:00:00Z'), [])).toBe(true);
    expect(activeAt(at('2026-03-09T21:00:00Z'), [session, timeIntervalSchema.parse({ market: ['extended'] })])).toBe(
      true,
    );
  });

  it('refuses malformed intervals with a path', () => {
    const bad = [
      { weekdays: [7] },
      { times: [{ start: '18:00', end: '09:00' }] },
      { times: [{ start: '9:00', end: '10:00' }] },
      { months: [0] },
      { market: ['lunch'] },
      { location: 'Mars/Olympus' },
      { extra: 1 },
    ];
    for (const b of bad) expect(timeIntervalSchema.safeParse(b).success, JSON.stringify(b)).toBe(false);
  });
});
