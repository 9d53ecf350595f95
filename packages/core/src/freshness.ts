/**
 * Freshness from the observation's own time. A poller marks an instrument `fresh` when the source
 * answered, but an answer can carry an old price (a replay that starts a year into a recording, a
 * delisted symbol that Yahoo still quotes): what counts is when the newest price is from. The
 * System page, /metrics and the evaluation cycle all judge it here.
 */
import { addDays, isTradingDay, sessionOpenMs, zonedDate } from './calendar.ts';
import type { Freshness } from './domain.ts';

/** The latest session that has opened by `now` (today's once it opened, else the one before). */
export function latestSession(now: Date): string {
  let d = zonedDate(now);
  if (isTradingDay(d) && now.getTime() >= sessionOpenMs(d)) return d;
  do d = addDays(d, -1);
  while (!isTradingDay(d));
  return d;
}

function previousSession(date: string): string {
  let d = addDays(date, -1);
  while (!isTradingDay(d)) d = addDays(d, -1);
  return d;
}

/**
 * `stored` (what the poller recorded) judged by the observation's time: a price from before the
 * previous session (more than one session behind the latest one that opened) is `stale`; no
 * observation at all is `unknown`. Failed and unknown stay what they are.
 */
export function observedFreshness(stored: Freshness, observedAt: Date | null | undefined, now: Date): Freshness {
  if (stored !== 'fresh') return stored;
  if (!observedAt) return 'unknown';
  return zonedDate(observedAt) >= previousSession(latestSession(now)) ? 'fresh' : 'stale';
}
