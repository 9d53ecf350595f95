/**
 * When notifications may go out: a subscriber's quiet hours per channel (held, then sent as one
 * digest when they end; critical alerts may break through), and Alertmanager-style time intervals
 * (weekdays, times of day, months) plus market-aware ones (regular session, extended hours, market
 * closed) that limit a subscription or an endpoint. Pure: every function takes the instant it is
 * about; time zones and DST come from Intl through the calendar.
 */
import { z } from 'zod';
import { addDays, marketPhase as calendarPhase, weekday, zonedDate, zonedTimeToUtcMs } from './calendar.ts';

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const hhmm = z.string().regex(HHMM, 'must be a time HH:MM (00:00-23:59)');

/** True when Intl knows the zone (e.g. Europe/Berlin, America/New_York, UTC). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz.length > 0 && tz.length <= 64;
  } catch {
    return false;
  }
}
export const timeZoneSchema = z.string().refine(isTimeZone, 'must be an IANA time zone, e.g. Europe/Berlin');

/** Quiet hours as local times; start after end wraps midnight (22:00-07:00). Equal times: never quiet. */
export const quietHoursSchema = z.strictObject({ start: hhmm, end: hhmm });
export type QuietHours = z.infer<typeof quietHoursSchema>;

/** Quiet hours per channel (email, ntfy, telegram); a channel without an entry is never quiet. */
export const QUIET_CHANNELS = ['email', 'ntfy', 'telegram'] as const;
export type QuietChannel = (typeof QUIET_CHANNELS)[number];
export const quietHoursByChannelSchema = z.strictObject({
  email: quietHoursSchema.optional(),
  ntfy: quietHoursSchema.optional(),
  telegram: quietHoursSchema.optional(),
});
export type QuietHoursByChannel = z.infer<typeof quietHoursByChannelSchema>;

/** Minutes of an HH:MM (24:00 is 1440); NaN when malformed (refinements run on bad input too). */
const minutesOf = (s: string) => {
  if (s === '24:00') return 1440;
  const m = HHMM.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
};

const formats = new Map<string, Intl.DateTimeFormat>();
/**
 * Wall-clock minutes of `at` in `tz` (the hour and minute a clock there shows), not the time
 * elapsed since midnight, which differs by the DST hour on the days the clocks change.
 */
function localMinutes(at: Date, tz: string): number {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });
    formats.set(tz, f);
  }
  const parts = f.formatToParts(at);
  return (
    Number(parts.find((p) => p.type === 'hour')?.value ?? 0) * 60 +
    Number(parts.find((p) => p.type === 'minute')?.value ?? 0)
  );
}

/**
 * The end of the quiet period `at` falls in, or null when `at` is not in quiet hours. The end is
 * the local end time on the right local date, so a DST change in between moves it by the hour
 * the clocks moved (22:00-07:00 in New York ends at 11:00Z on the morning after the spring change,
 * 12:00Z the morning before it).
 */
export function quietUntil(at: Date, tz: string, q: QuietHours): Date | null {
  const start = minutesOf(q.start);
  const end = minutesOf(q.end);
  if (start === end) return null;
  const now = localMinutes(at, tz);
  const today = zonedDate(at, tz);
  const endOn = (date: string) => new Date(zonedTimeToUtcMs(date, Math.floor(end / 60), end % 60, tz));
  if (start < end) return now >= start && now < end ? endOn(today) : null;
  // Wraps midnight: quiet from start to 24:00 (ends tomorrow) and from 00:00 to end (ends today).
  if (now >= start) return endOn(addDays(today, 1));
  if (now < end) return endOn(today);
  return null;
}

/**
 * Market windows for market-aware intervals: the calendar's phases (calendar.ts marketPhase, the
 * one definition of pre-market, session and post-market) with pre- and post-market joined as
 * `extended`, the unit a subscriber chooses ("only during extended hours").
 */
export type MarketWindow = 'regular' | 'extended' | 'closed';
export const MARKET_WINDOWS: readonly MarketWindow[] = ['regular', 'extended', 'closed'];

/** Regular: the session. Extended: pre-market from 04:00 and after-hours until 20:00 (17:00 on half days). Closed: the rest. */
export function marketWindow(at: Date): MarketWindow {
  const p = calendarPhase(at);
  return p === 'pre' || p === 'post' ? 'extended' : p;
}

/**
 * One time interval, as Alertmanager's time_intervals: every given field must match (an absent
 * field matches anything). Weekdays 0 (Sunday) to 6, months 1 to 12, times local to `location`,
 * `market` the phases of the US market it allows.
 */
export const timeIntervalSchema = z
  .strictObject({
    weekdays: z.array(z.number().int().min(0).max(6)).min(1).max(7).optional(),
    times: z
      .array(
        z.strictObject({
          start: hhmm,
          end: z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be HH:MM or 24:00'),
        }),
      )
      .min(1)
      .max(10)
      .optional(),
    months: z.array(z.number().int().min(1).max(12)).min(1).max(12).optional(),
    market: z
      .array(z.enum(['regular', 'extended', 'closed']))
      .min(1)
      .max(3)
      .optional(),
    location: timeZoneSchema.optional(),
  })
  .refine((t) => !t.times || t.times.every((r) => !(minutesOf(r.start) >= minutesOf(r.end))), {
    message: 'each time range must end after it starts (use two ranges across midnight)',
    path: ['times'],
  });
export type TimeInterval = z.infer<typeof timeIntervalSchema>;
export const timeIntervalsSchema = z.array(timeIntervalSchema).max(20);

/** True when `at` is inside one interval (`tz` when the interval names no location). */
export function inTimeInterval(at: Date, t: TimeInterval, tz = 'UTC'): boolean {
  const zone = t.location ?? tz;
  const day = zonedDate(at, zone);
  if (t.weekdays && !t.weekdays.includes(weekday(day))) return false;
  if (t.months && !t.months.includes(Number(day.slice(5, 7)))) return false;
  if (t.times) {
    const mins = localMinutes(at, zone);
    const ok = t.times.some((r) => mins >= minutesOf(r.start) && mins < minutesOf(r.end));
    if (!ok) return false;
  }
  if (t.market && !t.market.includes(marketWindow(at))) return false;
  return true;
}

/** Active when no interval is set, or `at` is inside any of them. */
export function activeAt(at: Date, intervals: readonly TimeInterval[] | null | undefined, tz = 'UTC'): boolean {
  return !intervals?.length || intervals.some((t) => inTimeInterval(at, t, tz));
}

/**
 * When a subscriber's delivery on `channel` is due: `base` (now plus the email group wait, or the
 * next digest window), moved to the end of the channel's quiet hours when it falls in them, unless
 * the alert is critical and the subscriber lets critical alerts break through. Alerts held to the
 * same end are due together, and the delivery worker sends them as one message.
 */
export function deliveryTime(
  base: Date,
  o: {
    timeZone: string;
    /** Stored quiet hours per channel; malformed or missing: never quiet. */
    quietHours: unknown;
    channel: QuietChannel;
    severity: 'info' | 'warning' | 'critical';
    criticalBreaksThrough: boolean;
  },
): Date {
  if (o.severity === 'critical' && o.criticalBreaksThrough) return base;
  const parsed = quietHoursByChannelSchema.safeParse(o.quietHours ?? {});
  const q = parsed.success ? parsed.data[o.channel] : undefined;
  if (!q || !isTimeZone(o.timeZone)) return base;
  return quietUntil(base, o.timeZone, q) ?? base;
}

/** Stored intervals (JSON) as a list; malformed: none (always active), as validated on input. */
export function storedIntervals(v: unknown): TimeInterval[] {
  const r = timeIntervalsSchema.safeParse(v ?? []);
  return r.success ? r.data : [];
}
