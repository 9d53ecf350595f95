/**
 * Stage 4, time intervals (Alertmanager's active_time_intervals): a subscriber is told when one of
 * the subscriptions that matched is active now in the subscriber's time zone; an endpoint when it
 * is active now (UTC unless an interval names a location). The others are muted for this alert.
 */
import { activeAt, storedIntervals } from '../timing.ts';
import type { Recipient } from './route.ts';

export function isActiveRecipient(r: Recipient, now: Date): boolean {
  // No intervals stored (the common case): always active, without parsing anything.
  return r.intervals.some(
    (iv) => iv == null || (Array.isArray(iv) && iv.length === 0) || activeAt(now, storedIntervals(iv), r.timeZone),
  );
}
