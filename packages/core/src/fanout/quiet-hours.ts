/**
 * Stage 5, quiet hours: each subscriber channel's delivery is due when its quiet hours end (a
 * critical alert may break through), so the alerts held are due together and leave as one message.
 * An email is due after the group wait (immediate subscribers) or at the next digest window.
 */
import { deliveryTime } from '../timing.ts';
import type { Recipient } from './route.ts';
import type { FanOutInputs, Severity } from './types.ts';

/** Start of the next digest window for a subscriber: windows are aligned to the epoch. */
export function nextDigestAt(now: Date, windowSec: number): Date {
  const w = Math.max(60, windowSec) * 1000;
  return new Date(Math.ceil(now.getTime() / w) * w);
}

/** When the recipient's delivery is due, and whether quiet hours moved it. */
export function dueTime(
  r: Recipient,
  severity: Severity,
  inputs: Pick<FanOutInputs, 'now' | 'emailGroupWaitMs'>,
): { at: Date; quiet: boolean } {
  const s = r.subscriber;
  if (!s || r.channel === 'webhook') return { at: inputs.now, quiet: false };
  const base =
    r.channel === 'email'
      ? s.mode === 'digest'
        ? nextDigestAt(inputs.now, s.digestWindowSec)
        : new Date(inputs.now.getTime() + inputs.emailGroupWaitMs)
      : inputs.now;
  // No quiet hours stored (the common case): due at the base time, without parsing anything.
  if (s.quietHours == null) return { at: base, quiet: false };
  const at = deliveryTime(base, {
    timeZone: s.timeZone,
    quietHours: s.quietHours,
    channel: r.channel,
    severity,
    criticalBreaksThrough: s.quietCriticalBreaksThrough,
  });
  return { at, quiet: at.getTime() !== base.getTime() };
}
