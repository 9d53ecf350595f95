import { describe, expect, it } from 'vitest';
import {
  addDays,
  computeEarlyCloses,
  computeMarketHolidays,
  earlyCloses,
  easterSunday,
  isMarketOpen,
  isTradingDay,
  marketHolidays,
  NYSE_EARLY_CLOSES,
  NYSE_HOLIDAYS,
  nextOpen,
  pollIntervalMs,
  SPECIAL_CLOSURES,
  sessionFor,
  zonedDate,
} from '@signals/core';
import { loadChart, TSLA_FILE } from './real-history.ts';

describe('market calendar: known dates', () => {
  it('2025-11-28 (day after Thanksgiving) is a half day closing 13:00 New York (18:00Z, EST)', () => {
    const s = sessionFor('2025-11-28');
    expect(s?.early).toBe(true);
    expect(s?.open.toISOString()).toBe('2025-11-28T14:30:00.000Z');
    expect(s?.close.toISOString()).toBe('2025-11-28T18:00:00.000Z');
    expect(isTradingDay('2025-11-27')).toBe(false); // Thanksgiving
  });

  it('2026-07-03 is the observed Independence Day (July 4 is a Saturday); July 2 is a full day', () => {
    expect(isTradingDay('2026-07-03')).toBe(false);
    expect(sessionFor('2026-07-03')).toBeNull();
    expect(sessionFor('2026-07-02')?.early).toBe(false);
    expect(sessionFor('2026-07-02')?.close.toISOString()).toBe('2026-07-02T20:00:00.000Z');
  });

  it('2027 Good Friday is 2027-03-26; Juneteenth observed Friday 2027-06-18; Christmas observed 2027-12-24', () => {
    expect(easterSunday(2027)).toBe('2027-03-28');
    expect(isTradingDay('2027-03-26')).toBe(false);
    expect(isTradingDay('2027-06-18')).toBe(false);
    expect(isTradingDay('2027-07-05')).toBe(false);
    expect(isTradingDay('2027-12-24')).toBe(false);
    // New Year's Day 2028 is a Saturday: not observed on the last day of 2027.
    expect(isTradingDay('2027-12-31')).toBe(true);
  });

  it('2025-01-09 (national day of mourning) is closed; weekends are closed', () => {
    expect(isTradingDay('2025-01-09')).toBe(false);
    expect(isTradingDay('2025-01-11')).toBe(false);
    expect(isTradingDay('2025-01-10')).toBe(true);
  });

  it('half days: July 3 only when July 4 is Tuesday-Friday, Christmas Eve Monday-Thursday', () => {
    expect(earlyCloses(2024).map((h) => h.date)).toEqual(['2024-07-03', '2024-11-29', '2024-12-24']);
    expect(earlyCloses(2025).map((h) => h.date)).toEqual(['2025-07-03', '2025-11-28', '2025-12-24']);
    expect(earlyCloses(2026).map((h) => h.date)).toEqual(['2026-11-27', '2026-12-24']);
    expect(earlyCloses(2027).map((h) => h.date)).toEqual(['2027-11-26']);
  });

  it('the holiday rules reproduce the published lists for 2024-2027 (apart from the one-off closure)', () => {
    for (const year of [2024, 2025, 2026, 2027]) {
      const published = (NYSE_HOLIDAYS[year] ?? []).map((h) => h.date);
      const oneOff = SPECIAL_CLOSURES.filter((s) => s.date.startsWith(`${year}-`)).map((s) => s.date);
      const computed = computeMarketHolidays(year).map((h) => h.date);
      expect([...computed, ...oneOff].sort()).toEqual([...published].sort());
      expect(computeEarlyCloses(year).map((h) => h.date)).toEqual((NYSE_EARLY_CLOSES[year] ?? []).map((h) => h.date));
      expect(marketHolidays(year)).toHaveLength(published.length);
    }
  });
});

describe('market calendar: DST and instants', () => {
  it('opens at 09:30 New York on both sides of the March 2025 DST change', () => {
    expect(sessionFor('2025-03-07')?.open.toISOString()).toBe('2025-03-07T14:30:00.000Z'); // EST
    expect(sessionFor('2025-03-10')?.open.toISOString()).toBe('2025-03-10T13:30:00.000Z'); // EDT
    expect(sessionFor('2025-11-03')?.open.toISOString()).toBe('2025-11-03T14:30:00.000Z'); // EST again
  });

  it('isMarketOpen: open inclusive, close exclusive, closed on holidays', () => {
    expect(isMarketOpen(new Date('2025-03-10T13:30:00Z'))).toBe(true);
    expect(isMarketOpen(new Date('2025-03-10T13:29:59Z'))).toBe(false);
    expect(isMarketOpen(new Date('2025-03-10T19:59:59Z'))).toBe(true);
    expect(isMarketOpen(new Date('2025-03-10T20:00:00Z'))).toBe(false);
    expect(isMarketOpen(new Date('2025-11-28T17:59:00Z'))).toBe(true);
    expect(isMarketOpen(new Date('2025-11-28T18:00:00Z'))).toBe(false); // half day
    expect(isMarketOpen(new Date('2025-12-25T16:00:00Z'))).toBe(false);
  });

  it('nextOpen skips weekends and holidays; during a session it is the next session', () => {
    // Friday 2026-07-02 evening -> Monday 2026-07-06 (Friday July 3 observed holiday).
    expect(nextOpen(new Date('2026-07-02T21:00:00Z')).toISOString()).toBe('2026-07-06T13:30:00.000Z');
    // Before the open on a trading day -> that day's open.
    expect(nextOpen(new Date('2025-03-10T12:00:00Z')).toISOString()).toBe('2025-03-10T13:30:00.000Z');
    // During the session -> tomorrow's open.
    expect(nextOpen(new Date('2025-03-10T15:00:00Z')).toISOString()).toBe('2025-03-11T13:30:00.000Z');
    // Thanksgiving 2025 -> the half day after it still opens at 09:30.
    expect(nextOpen(new Date('2025-11-26T22:00:00Z')).toISOString()).toBe('2025-11-28T14:30:00.000Z');
  });

  it('pollIntervalMs: fast when open, slow when closed but never past the next open', () => {
    const opts = { openMs: 60_000, closedMs: 3_600_000 };
    expect(pollIntervalMs(new Date('2025-03-10T15:00:00Z'), opts)).toBe(60_000);
    expect(pollIntervalMs(new Date('2025-03-08T15:00:00Z'), opts)).toBe(3_600_000); // Saturday
    expect(pollIntervalMs(new Date('2025-03-10T13:10:00Z'), opts)).toBe(20 * 60_000); // 20 min before the open
  });

  it('zonedDate: the New York date of an instant', () => {
    expect(zonedDate(new Date('2025-03-10T03:59:00Z'))).toBe('2025-03-09');
    expect(zonedDate(new Date('2025-03-10T04:00:00Z'))).toBe('2025-03-10');
    expect(zonedDate(new Date('2025-01-01T04:59:00Z'))).toBe('2024-12-31');
    expect(zonedDate(new Date('2025-01-01T05:00:00Z'))).toBe('2025-01-01');
  });
});

describe('market calendar against real history', () => {
  it('every TSLA session 2010-06-29..2023-08-11 is a trading day, and every trading day has a TSLA bar', () => {
    const h = loadChart(TSLA_FILE);
    const dates = h.bars.map((b) => b.date);
    expect(dates).toHaveLength(3303);
    const expected: string[] = [];
    for (let d = dates[0] as string; d <= (dates[dates.length - 1] as string); d = addDays(d, 1)) {
      if (isTradingDay(d)) expected.push(d);
    }
    expect(dates).toEqual(expected);
  });
});
