/**
 * US equity market calendar (NYSE and Nasdaq share it): regular session 09:30-16:00
 * America/New_York, early close 13:00 on the listed half days. Pure: every function takes the
 * instant or date it is about; time zones and DST come from Intl (no dependency).
 *
 * Dates are session dates as `YYYY-MM-DD` in New York. The years 2024-2027 use the published
 * lists below ({@link NYSE_HOLIDAYS}, {@link NYSE_EARLY_CLOSES}); other years fall back to the
 * exchange's rules ({@link computeMarketHolidays}) plus the known one-off closures since 2001
 * ({@link SPECIAL_CLOSURES}). A test checks that the rules reproduce the published lists and that
 * every session of TSLA's recorded 2010-2023 history is a trading day and vice versa.
 */

export const US_MARKET_TZ = 'America/New_York';

export interface Session {
  /** Session date, YYYY-MM-DD in New York. */
  date: string;
  open: Date;
  close: Date;
  /** True on half days (13:00 close). */
  early: boolean;
}

export interface Holiday {
  date: string;
  name: string;
}

/** Full-day closures as published by NYSE for 2024-2027 (observed dates). */
export const NYSE_HOLIDAYS: Readonly<Record<number, readonly Holiday[]>> = {
  2024: [
    { date: '2024-01-01', name: "New Year's Day" },
    { date: '2024-01-15', name: 'Martin Luther King, Jr. Day' },
    { date: '2024-02-19', name: "Washington's Birthday" },
    { date: '2024-03-29', name: 'Good Friday' },
    { date: '2024-05-27', name: 'Memorial Day' },
    { date: '2024-06-19', name: 'Juneteenth National Independence Day' },
    { date: '2024-07-04', name: 'Independence Day' },
    { date: '2024-09-02', name: 'Labor Day' },
    { date: '2024-11-28', name: 'Thanksgiving Day' },
    { date: '2024-12-25', name: 'Christmas Day' },
  ],
  2025: [
    { date: '2025-01-01', name: "New Year's Day" },
    // One-off: national day of mourning for President Carter.
    { date: '2025-01-09', name: 'National Day of Mourning (Jimmy Carter)' },
    { date: '2025-01-20', name: 'Martin Luther King, Jr. Day' },
    { date: '2025-02-17', name: "Washington's Birthday" },
    { date: '2025-04-18', name: 'Good Friday' },
    { date: '2025-05-26', name: 'Memorial Day' },
    { date: '2025-06-19', name: 'Juneteenth National Independence Day' },
    { date: '2025-07-04', name: 'Independence Day' },
    { date: '2025-09-01', name: 'Labor Day' },
    { date: '2025-11-27', name: 'Thanksgiving Day' },
    { date: '2025-12-25', name: 'Christmas Day' },
  ],
  2026: [
    { date: '2026-01-01', name: "New Year's Day" },
    { date: '2026-01-19', name: 'Martin Luther King, Jr. Day' },
    { date: '2026-02-16', name: "Washington's Birthday" },
    { date: '2026-04-03', name: 'Good Friday' },
    { date: '2026-05-25', name: 'Memorial Day' },
    { date: '2026-06-19', name: 'Juneteenth National Independence Day' },
    // July 4 is a Saturday: observed on Friday.
    { date: '2026-07-03', name: 'Independence Day (observed)' },
    { date: '2026-09-07', name: 'Labor Day' },
    { date: '2026-11-26', name: 'Thanksgiving Day' },
    { date: '2026-12-25', name: 'Christmas Day' },
  ],
  2027: [
    { date: '2027-01-01', name: "New Year's Day" },
    { date: '2027-01-18', name: 'Martin Luther King, Jr. Day' },
    { date: '2027-02-15', name: "Washington's Birthday" },
    { date: '2027-03-26', name: 'Good Friday' },
    { date: '2027-05-31', name: 'Memorial Day' },
    // June 19 is a Saturday: observed on Friday.
    { date: '2027-06-18', name: 'Juneteenth National Independence Day (observed)' },
    // July 4 is a Sunday: observed on Monday.
    { date: '2027-07-05', name: 'Independence Day (observed)' },
    { date: '2027-09-06', name: 'Labor Day' },
    { date: '2027-11-25', name: 'Thanksgiving Day' },
    // December 25 is a Saturday: observed on Friday. (New Year's Day 2028 is also a Saturday and
    // is NOT observed on Friday 2027-12-31: NYSE does not close on the last day of the year.)
    { date: '2027-12-24', name: 'Christmas Day (observed)' },
  ],
};

/** Half days (13:00 close) as published by NYSE for 2024-2027. */
export const NYSE_EARLY_CLOSES: Readonly<Record<number, readonly Holiday[]>> = {
  2024: [
    { date: '2024-07-03', name: 'Day before Independence Day' },
    { date: '2024-11-29', name: 'Day after Thanksgiving' },
    { date: '2024-12-24', name: 'Christmas Eve' },
  ],
  2025: [
    { date: '2025-07-03', name: 'Day before Independence Day' },
    { date: '2025-11-28', name: 'Day after Thanksgiving' },
    { date: '2025-12-24', name: 'Christmas Eve' },
  ],
  // 2026: July 4 falls on a Saturday (holiday on Friday July 3), so no July half day.
  2026: [
    { date: '2026-11-27', name: 'Day after Thanksgiving' },
    { date: '2026-12-24', name: 'Christmas Eve' },
  ],
  // 2027: Independence Day observed Monday July 5 and Christmas observed Friday December 24, so
  // only the day after Thanksgiving is a half day.
  2027: [{ date: '2027-11-26', name: 'Day after Thanksgiving' }],
};

/** One-off full closures outside the holiday rules (for years without a published list here). */
export const SPECIAL_CLOSURES: readonly Holiday[] = [
  { date: '2001-09-11', name: 'September 11 attacks' },
  { date: '2001-09-12', name: 'September 11 attacks' },
  { date: '2001-09-13', name: 'September 11 attacks' },
  { date: '2001-09-14', name: 'September 11 attacks' },
  { date: '2004-06-11', name: 'National Day of Mourning (Ronald Reagan)' },
  { date: '2007-01-02', name: 'National Day of Mourning (Gerald Ford)' },
  { date: '2012-10-29', name: 'Hurricane Sandy' },
  { date: '2012-10-30', name: 'Hurricane Sandy' },
  { date: '2018-12-05', name: 'National Day of Mourning (George H. W. Bush)' },
  { date: '2025-01-09', name: 'National Day of Mourning (Jimmy Carter)' },
];

// ---------------------------------------------------------------------------------------------
// Date arithmetic on YYYY-MM-DD (proleptic Gregorian, via UTC: no time zone involved)
// ---------------------------------------------------------------------------------------------

const DAY_MS = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

function ymd(date: string): [number, number, number] {
  const m = DATE_RE.exec(date);
  if (!m) throw new RangeError(`Not a YYYY-MM-DD date: ${date}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function fmt(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function fromUtcMs(ms: number): string {
  const d = new Date(ms);
  return fmt(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

/** Day of week of a YYYY-MM-DD date: 0 = Sunday ... 6 = Saturday. */
export function weekday(date: string): number {
  const [y, m, d] = ymd(date);
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

/** `date` plus `days` calendar days. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = ymd(date);
  return fromUtcMs(Date.UTC(y, m - 1, d) + days * DAY_MS);
}

function nthWeekday(year: number, month: number, dow: number, n: number): string {
  const first = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  return fmt(year, month, 1 + ((dow - first + 7) % 7) + (n - 1) * 7);
}

function lastWeekday(year: number, month: number, dow: number): string {
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const last = new Date(Date.UTC(year, month - 1, lastDay)).getUTCDay();
  return fmt(year, month, lastDay - ((last - dow + 7) % 7));
}

/** Easter Sunday (anonymous Gregorian algorithm). */
export function easterSunday(year: number): string {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return fmt(year, month, day);
}

/** Saturday holidays move to Friday, Sunday holidays to Monday. */
function observed(date: string): string {
  const dow = weekday(date);
  if (dow === 6) return addDays(date, -1);
  if (dow === 0) return addDays(date, 1);
  return date;
}

/**
 * The NYSE holiday rules for one year (observed dates), without one-off closures. New Year's Day on
 * a Saturday is not observed (the exchange stays open on December 31).
 */
export function computeMarketHolidays(year: number): Holiday[] {
  const out: Holiday[] = [];
  const ny = fmt(year, 1, 1);
  const nyDow = weekday(ny);
  if (nyDow !== 6) out.push({ date: nyDow === 0 ? addDays(ny, 1) : ny, name: "New Year's Day" });
  if (year >= 1998) out.push({ date: nthWeekday(year, 1, 1, 3), name: 'Martin Luther King, Jr. Day' });
  out.push({ date: nthWeekday(year, 2, 1, 3), name: "Washington's Birthday" });
  out.push({ date: addDays(easterSunday(year), -2), name: 'Good Friday' });
  out.push({ date: lastWeekday(year, 5, 1), name: 'Memorial Day' });
  if (year >= 2022) out.push({ date: observed(fmt(year, 6, 19)), name: 'Juneteenth National Independence Day' });
  out.push({ date: observed(fmt(year, 7, 4)), name: 'Independence Day' });
  out.push({ date: nthWeekday(year, 9, 1, 1), name: 'Labor Day' });
  out.push({ date: nthWeekday(year, 11, 4, 4), name: 'Thanksgiving Day' });
  out.push({ date: observed(fmt(year, 12, 25)), name: 'Christmas Day' });
  return out.sort((a, b) => (a.date < b.date ? -1 : 1));
}

/**
 * The NYSE half-day rules: July 3 when Independence Day falls Tuesday-Friday, the day after
 * Thanksgiving, and December 24 when it is Monday-Thursday.
 */
export function computeEarlyCloses(year: number): Holiday[] {
  const out: Holiday[] = [];
  const jul3 = fmt(year, 7, 3);
  const jul3Dow = weekday(jul3);
  if (jul3Dow >= 1 && jul3Dow <= 4) out.push({ date: jul3, name: 'Day before Independence Day' });
  out.push({ date: addDays(nthWeekday(year, 11, 4, 4), 1), name: 'Day after Thanksgiving' });
  const dec24 = fmt(year, 12, 24);
  const dec24Dow = weekday(dec24);
  if (dec24Dow >= 1 && dec24Dow <= 4) out.push({ date: dec24, name: 'Christmas Eve' });
  return out;
}

interface YearInfo {
  holidays: Map<string, string>;
  early: Map<string, string>;
}
const years = new Map<number, YearInfo>();

function yearInfo(year: number): YearInfo {
  let info = years.get(year);
  if (info) return info;
  const published = NYSE_HOLIDAYS[year];
  const hol = published ?? [
    ...computeMarketHolidays(year),
    ...SPECIAL_CLOSURES.filter((s) => s.date.startsWith(`${year}-`)),
  ];
  const early = NYSE_EARLY_CLOSES[year] ?? computeEarlyCloses(year);
  info = {
    holidays: new Map(hol.map((h) => [h.date, h.name])),
    early: new Map(early.map((h) => [h.date, h.name])),
  };
  years.set(year, info);
  return info;
}

/** Full-day market holidays of `year` (published list for 2024-2027, rules otherwise). */
export function marketHolidays(year: number): Holiday[] {
  return [...yearInfo(year).holidays].map(([date, name]) => ({ date, name }));
}

/** Half days of `year`. */
export function earlyCloses(year: number): Holiday[] {
  return [...yearInfo(year).early].map(([date, name]) => ({ date, name }));
}

// ---------------------------------------------------------------------------------------------
// Time zones via Intl
// ---------------------------------------------------------------------------------------------

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(tz: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    partsFormatters.set(tz, f);
  }
  return f;
}

/** Offset of `tz` from UTC at instant `ms` straight from Intl (slow: ~10 µs). */
function intlOffsetMs(ms: number, tz: string): number {
  const p = partsFormatter(tz).formatToParts(new Date(ms));
  let y = 0;
  let mo = 0;
  let d = 0;
  let h = 0;
  let mi = 0;
  let s = 0;
  for (const part of p) {
    const v = Number(part.value);
    if (part.type === 'year') y = v;
    else if (part.type === 'month') mo = v;
    else if (part.type === 'day') d = v;
    else if (part.type === 'hour') h = v;
    else if (part.type === 'minute') mi = v;
    else if (part.type === 'second') s = v;
  }
  const floored = ms - (((ms % 1000) + 1000) % 1000);
  return Date.UTC(y, mo - 1, d, h, mi, s) - floored;
}

/**
 * Offsets of one zone over one UTC year: the instants where the offset changes (found by sampling
 * Intl at each month start and bisecting to the minute where two samples differ) and the offset
 * from each. ~45 Intl calls per zone and year instead of one or two per conversion. Assumes at most
 * one change per calendar month, true of every zone's DST rules.
 */
interface OffsetTable {
  from: number[];
  offset: number[];
}
const offsetTables = new Map<string, OffsetTable>();
const MINUTE_MS = 60_000;

function offsetTable(tz: string, year: number): OffsetTable {
  const key = `${tz}|${year}`;
  let t = offsetTables.get(key);
  if (t) return t;
  const from: number[] = [Date.UTC(year, 0, 1)];
  const offset: number[] = [intlOffsetMs(Date.UTC(year, 0, 1), tz)];
  let prevT = Date.UTC(year, 0, 1);
  let prevOff = offset[0] as number;
  for (let m = 1; m <= 12; m++) {
    const tm = Date.UTC(year, m, 1);
    const off = intlOffsetMs(tm, tz);
    if (off !== prevOff) {
      // Bisect (in whole minutes) for the first minute with the new offset.
      let lo = prevT;
      let hi = tm;
      while (hi - lo > MINUTE_MS) {
        const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS;
        if (intlOffsetMs(mid, tz) === prevOff) lo = mid;
        else hi = mid;
      }
      from.push(hi);
      offset.push(off);
    }
    prevT = tm;
    prevOff = off;
  }
  t = { from, offset };
  offsetTables.set(key, t);
  return t;
}

/** Offset of `tz` from UTC at instant `ms`, in ms (New York: -4 h in summer, -5 h in winter). */
export function tzOffsetMs(ms: number, tz: string = US_MARKET_TZ): number {
  // Intraday backtests ask millions of times within one zone and year: keep the last year's table
  // at hand instead of building a key and a Date per call.
  let t: OffsetTable;
  if (tz === lastOffsetTz && ms >= lastOffsetFrom && ms < lastOffsetTo) t = lastOffset as OffsetTable;
  else {
    const year = new Date(ms).getUTCFullYear();
    t = offsetTable(tz, year);
    lastOffsetTz = tz;
    lastOffsetFrom = Date.UTC(year, 0, 1);
    lastOffsetTo = Date.UTC(year + 1, 0, 1);
    lastOffset = t;
  }
  let i = t.from.length - 1;
  while (i > 0 && (t.from[i] as number) > ms) i--;
  return t.offset[i] as number;
}
let lastOffsetTz = '';
let lastOffsetFrom = 0;
let lastOffsetTo = -1;
let lastOffset: OffsetTable | null = null;

/** The UTC instant (ms) of wall-clock time `hh:mm` on `date` in `tz`. */
export function zonedTimeToUtcMs(date: string, hh: number, mm: number, tz: string = US_MARKET_TZ): number {
  const [y, m, d] = ymd(date);
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  const off1 = tzOffsetMs(guess, tz);
  const t = guess - off1;
  const off2 = tzOffsetMs(t, tz);
  return off2 === off1 ? t : guess - off2;
}

/** Calendar date (YYYY-MM-DD) of instant `t` in `tz`. */
export function zonedDate(t: Date | number, tz: string = US_MARKET_TZ): string {
  const ms = typeof t === 'number' ? t : t.getTime();
  if (tz === US_MARKET_TZ && ms >= zdFrom && ms < zdTo) return zdDate;
  const off = tzOffsetMs(ms, tz);
  const date = fromUtcMs(ms + off);
  if (tz === US_MARKET_TZ) {
    // Remember the New York day this instant is in, when one offset holds all day (not on the two
    // DST days), so the next instants of the same day need no conversion.
    const local = ms + off;
    const from = local - (((local % DAY_MS) + DAY_MS) % DAY_MS) - off;
    if (tzOffsetMs(from, tz) === off && tzOffsetMs(from + DAY_MS - 1, tz) === off) {
      zdFrom = from;
      zdTo = from + DAY_MS;
      zdDate = date;
    }
  }
  return date;
}
let zdFrom = 0;
let zdTo = -1;
let zdDate = '';

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

function toDate(date: string | Date): string {
  if (typeof date !== 'string') return zonedDate(date);
  ymd(date); // validates the format
  return date;
}

/** True if the US market has a regular session on `date` (a YYYY-MM-DD, or the New York date of an instant). */
export function isTradingDay(date: string | Date): boolean {
  const d = toDate(date);
  const dow = weekday(d);
  if (dow === 0 || dow === 6) return false;
  return !yearInfo(Number(d.slice(0, 4))).holidays.has(d);
}

const sessions = new Map<string, { open: number; close: number; early: boolean } | null>();

function sessionMs(d: string): { open: number; close: number; early: boolean } | null {
  let s = sessions.get(d);
  if (s !== undefined) return s;
  if (!isTradingDay(d)) {
    s = null;
  } else {
    const early = yearInfo(Number(d.slice(0, 4))).early.has(d);
    s = {
      open: zonedTimeToUtcMs(d, 9, 30),
      close: zonedTimeToUtcMs(d, early ? 13 : 16, 0),
      early,
    };
  }
  if (sessions.size > 20_000) sessions.clear(); // bounded like nextTradingDays: dates seen grow with time
  sessions.set(d, s);
  return s;
}

/** The regular session on `date` (open and close as instants), or null when the market is closed all day. */
export function sessionFor(date: string | Date): Session | null {
  const d = toDate(date);
  const s = sessionMs(d);
  return s ? { date: d, open: new Date(s.open), close: new Date(s.close), early: s.early } : null;
}

/**
 * Close instant (ms) of the session on `date`, without checking that it is a trading day: used for
 * recorded bars (the bar is the proof of the session). Half days close at 13:00.
 */
export function sessionCloseMs(date: string): number {
  const s = sessionMs(date);
  if (s) return s.close;
  return zonedTimeToUtcMs(date, 16, 0);
}

/** Open instant (ms) of the session on `date`, without checking that it is a trading day. */
export function sessionOpenMs(date: string): number {
  return zonedTimeToUtcMs(date, 9, 30);
}

/** True during the regular session (open inclusive, close exclusive). */
export function isMarketOpen(instant: Date): boolean {
  const t = instant.getTime();
  const s = sessionMs(zonedDate(t));
  return s !== null && t >= s.open && t < s.close;
}

/**
 * The next regular-session open strictly after `instant` (during a session this is the following
 * session's open). Looks at most 30 days ahead.
 */
export function nextOpen(instant: Date): Date {
  const t = instant.getTime();
  let d = zonedDate(t);
  for (let i = 0; i < 30; i++) {
    const s = sessionMs(d);
    if (s && s.open > t) return new Date(s.open);
    d = addDays(d, 1);
  }
  throw new RangeError(`No market open within 30 days after ${instant.toISOString()}`);
}

/**
 * How long a poller should wait: `openMs` during the session; otherwise `closedMs`, but never past
 * the next open (so the first poll of the day lands on the open).
 */
export function pollIntervalMs(instant: Date, opts: { openMs: number; closedMs: number }): number {
  if (isMarketOpen(instant)) return opts.openMs;
  const untilOpen = nextOpen(instant).getTime() - instant.getTime();
  return Math.max(0, Math.min(opts.closedMs, untilOpen));
}

// ---------------------------------------------------------------------------------------------
// Extended hours (pre- and post-market)
// ---------------------------------------------------------------------------------------------

/** Which part of a trading day an instant falls in. */
export type MarketPhase = 'pre' | 'regular' | 'post' | 'closed';

/** A trading day with its extended hours: pre 04:00-09:30, regular, post close-20:00 (17:00 on half days). */
export interface ExtendedSession extends Session {
  /** 04:00 New York. */
  preOpen: Date;
  /** 20:00 New York, 17:00 on half days (post-market runs four hours after the early close). */
  postClose: Date;
}

interface ExtendedMs {
  preOpen: number;
  open: number;
  close: number;
  postClose: number;
  early: boolean;
}
const extendedSessions = new Map<string, ExtendedMs | null>();

function extendedMs(d: string): ExtendedMs | null {
  let e = extendedSessions.get(d);
  if (e !== undefined) return e;
  const s = sessionMs(d);
  // Pre- and post-market only exist around a regular session: none on weekends and holidays.
  e = s
    ? {
        preOpen: zonedTimeToUtcMs(d, 4, 0),
        open: s.open,
        close: s.close,
        postClose: zonedTimeToUtcMs(d, s.early ? 17 : 20, 0),
        early: s.early,
      }
    : null;
  if (extendedSessions.size > 20_000) extendedSessions.clear(); // bounded like nextTradingDays: dates seen grow with time
  extendedSessions.set(d, e);
  return e;
}

/** The trading day on `date` with pre- and post-market hours, or null when the market is closed all day. */
export function extendedSessionFor(date: string | Date): ExtendedSession | null {
  const d = toDate(date);
  const e = extendedMs(d);
  return e
    ? {
        date: d,
        preOpen: new Date(e.preOpen),
        open: new Date(e.open),
        close: new Date(e.close),
        postClose: new Date(e.postClose),
        early: e.early,
      }
    : null;
}

/**
 * The phase of the US market at `instant`: pre-market [04:00, 09:30), regular [09:30, close),
 * post-market [close, 20:00) (close 13:00 and post until 17:00 on half days), otherwise closed.
 */
export function marketPhase(instant: Date | number): MarketPhase {
  const t = typeof instant === 'number' ? instant : instant.getTime();
  const e = extendedMs(zonedDate(t));
  if (!e || t < e.preOpen || t >= e.postClose) return 'closed';
  if (t < e.open) return 'pre';
  if (t < e.close) return 'regular';
  return 'post';
}

/** True during pre-market, the regular session or post-market. */
export function isExtendedHours(instant: Date | number): boolean {
  return marketPhase(instant) !== 'closed';
}

/** The first trading day strictly after `date` (looks at most 30 days ahead). */
const nextTradingDays = new Map<string, string>();

export function nextTradingDay(date: string): string {
  // Cached: the engine asks it for every extended-hours observation.
  const hit = nextTradingDays.get(date);
  if (hit !== undefined) return hit;
  const next = findNextTradingDay(date);
  if (nextTradingDays.size > 20_000) nextTradingDays.clear();
  nextTradingDays.set(date, next);
  return next;
}

function findNextTradingDay(date: string): string {
  let d = toDate(date);
  for (let i = 0; i < 30; i++) {
    d = addDays(d, 1);
    if (isTradingDay(d)) return d;
  }
  throw new RangeError(`No trading day within 30 days after ${date}`);
}

/** The last trading day strictly before `date` (looks at most 30 days back). */
export function previousTradingDay(date: string): string {
  let d = toDate(date);
  for (let i = 0; i < 30; i++) {
    d = addDays(d, -1);
    if (isTradingDay(d)) return d;
  }
  throw new RangeError(`No trading day within 30 days before ${date}`);
}

/** The next pre-market open (04:00 New York on a trading day) strictly after `instant`; looks 30 days ahead. */
export function nextPreOpen(instant: Date): Date {
  const t = instant.getTime();
  let d = zonedDate(t);
  for (let i = 0; i < 30; i++) {
    const e = extendedMs(d);
    if (e && e.preOpen > t) return new Date(e.preOpen);
    d = addDays(d, 1);
  }
  throw new RangeError(`No pre-market within 30 days after ${instant.toISOString()}`);
}

/**
 * Like {@link pollIntervalMs}, but "open" includes pre- and post-market: `openMs` from 04:00 to
 * 20:00 New York on trading days; otherwise `closedMs`, never past the next pre-market open.
 */
export function extendedPollIntervalMs(instant: Date, opts: { openMs: number; closedMs: number }): number {
  if (isExtendedHours(instant)) return opts.openMs;
  const untilOpen = nextPreOpen(instant).getTime() - instant.getTime();
  return Math.max(0, Math.min(opts.closedMs, untilOpen));
}
