import { describe, expect, it } from 'vitest';
import {
  extendedPollIntervalMs,
  extendedSessionFor,
  isExtendedHours,
  marketPhase,
  nextPreOpen,
  nextTradingDay,
  previousTradingDay,
} from '../src/index.ts';

const at = (iso: string) => new Date(iso);

describe('market calendar: extended hours', () => {
  it('pre 04:00-09:30, regular, post 16:00-20:00 New York in winter (EST, UTC-5)', () => {
    const s = extendedSessionFor('2025-01-29');
    expect(s?.preOpen.toISOString()).toBe('2025-01-29T09:00:00.000Z');
    expect(s?.open.toISOString()).toBe('2025-01-29T14:30:00.000Z');
    expect(s?.close.toISOString()).toBe('2025-01-29T21:00:00.000Z');
    expect(s?.postClose.toISOString()).toBe('2025-01-30T01:00:00.000Z');
    expect(marketPhase(at('2025-01-29T08:59:59Z'))).toBe('closed');
    expect(marketPhase(at('2025-01-29T09:00:00Z'))).toBe('pre');
    expect(marketPhase(at('2025-01-29T14:29:59Z'))).toBe('pre');
    expect(marketPhase(at('2025-01-29T14:30:00Z'))).toBe('regular');
    expect(marketPhase(at('2025-01-29T20:59:59Z'))).toBe('regular');
    expect(marketPhase(at('2025-01-29T21:00:00Z'))).toBe('post');
    // 19:59 New York is already the next UTC day: the phase follows the New York date.
    expect(marketPhase(at('2025-01-30T00:59:00Z'))).toBe('post');
    expect(marketPhase(at('2025-01-30T01:00:00Z'))).toBe('closed');
  });

  it('the same wall-clock hours in summer (EDT, UTC-4)', () => {
    const s = extendedSessionFor('2025-07-15');
    expect(s?.preOpen.toISOString()).toBe('2025-07-15T08:00:00.000Z');
    expect(s?.postClose.toISOString()).toBe('2025-07-16T00:00:00.000Z');
    expect(marketPhase(at('2025-07-15T08:00:00Z'))).toBe('pre');
    expect(marketPhase(at('2025-07-15T23:59:00Z'))).toBe('post');
  });

  it('across the March 2025 DST change: Friday 04:00 EST is 09:00Z, Monday 04:00 EDT is 08:00Z', () => {
    expect(extendedSessionFor('2025-03-07')?.preOpen.toISOString()).toBe('2025-03-07T09:00:00.000Z');
    expect(extendedSessionFor('2025-03-10')?.preOpen.toISOString()).toBe('2025-03-10T08:00:00.000Z');
    expect(extendedSessionFor('2025-03-10')?.postClose.toISOString()).toBe('2025-03-11T00:00:00.000Z');
    // 08:30Z on Monday is 04:30 EDT (pre), while on Friday 08:30Z was 03:30 EST (closed).
    expect(marketPhase(at('2025-03-10T08:30:00Z'))).toBe('pre');
    expect(marketPhase(at('2025-03-07T08:30:00Z'))).toBe('closed');
  });

  it('across the November 2025 DST change: Friday post ends 00:00Z, Monday post ends 01:00Z', () => {
    expect(extendedSessionFor('2025-10-31')?.postClose.toISOString()).toBe('2025-11-01T00:00:00.000Z');
    expect(extendedSessionFor('2025-11-03')?.postClose.toISOString()).toBe('2025-11-04T01:00:00.000Z');
    expect(marketPhase(at('2025-11-04T00:30:00Z'))).toBe('post'); // 19:30 EST
    expect(marketPhase(at('2025-11-01T00:30:00Z'))).toBe('closed'); // 20:30 EDT
  });

  it('half days: regular until 13:00, post-market until 17:00', () => {
    const s = extendedSessionFor('2025-11-28');
    expect(s?.early).toBe(true);
    expect(s?.close.toISOString()).toBe('2025-11-28T18:00:00.000Z');
    expect(s?.postClose.toISOString()).toBe('2025-11-28T22:00:00.000Z');
    expect(marketPhase(at('2025-11-28T18:30:00Z'))).toBe('post');
    expect(marketPhase(at('2025-11-28T21:59:00Z'))).toBe('post');
    expect(marketPhase(at('2025-11-28T22:00:00Z'))).toBe('closed');
    expect(marketPhase(at('2025-12-24T21:00:00Z'))).toBe('post'); // 16:00 on Christmas Eve
    expect(marketPhase(at('2025-12-24T22:00:00Z'))).toBe('closed'); // 17:00
  });

  it('no extended hours on weekends and holidays', () => {
    expect(extendedSessionFor('2025-11-27')).toBeNull(); // Thanksgiving
    expect(extendedSessionFor('2025-03-08')).toBeNull(); // Saturday
    expect(isExtendedHours(at('2025-11-27T15:00:00Z'))).toBe(false);
    expect(isExtendedHours(at('2025-11-26T23:00:00Z'))).toBe(true); // Wednesday 18:00 EST
  });

  it('next/previous trading day skip weekends and holidays', () => {
    expect(nextTradingDay('2025-01-24')).toBe('2025-01-27');
    expect(nextTradingDay('2025-11-26')).toBe('2025-11-28');
    expect(previousTradingDay('2025-01-27')).toBe('2025-01-24');
    expect(previousTradingDay('2025-01-10')).toBe('2025-01-08'); // 2025-01-09 closed (mourning)
  });

  it('extended polling: fast from 04:00 to 20:00, otherwise never past the next pre-market open', () => {
    const opts = { openMs: 60_000, closedMs: 3_600_000 };
    expect(extendedPollIntervalMs(at('2025-01-29T10:00:00Z'), opts)).toBe(60_000); // 05:00 pre
    expect(extendedPollIntervalMs(at('2025-01-30T00:30:00Z'), opts)).toBe(60_000); // 19:30 post
    // Saturday: an hour at most.
    expect(extendedPollIntervalMs(at('2025-02-01T12:00:00Z'), opts)).toBe(3_600_000);
    // Monday 03:50 EST: ten minutes to the pre-market open.
    expect(extendedPollIntervalMs(at('2025-02-03T08:50:00Z'), opts)).toBe(600_000);
    expect(nextPreOpen(at('2025-01-31T10:00:00Z')).toISOString()).toBe('2025-02-03T09:00:00.000Z');
  });
});
