/**
 * A value in its unit, as every surface renders it ("-16.9 %", "-10.8 sd", "3.2x", "3 items",
 * "123.45"): core's one formatting function, re-exported (one name, one meaning: the unit is
 * always given).
 */
export { formatValue } from '@signals/core';

/** "2025-01-27 14:30 UTC": emails go to people in many zones; UTC is unambiguous. */
export function formatTime(d: Date | null | undefined): string {
  if (!d) return '';
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatWindow(start: Date | null, end: Date | null): string {
  if (start && end) return `${formatTime(start)} to ${formatTime(end)}`;
  if (start) return `since ${formatTime(start)}`;
  if (end) return `until ${formatTime(end)}`;
  return '';
}

/** One line, no control characters, bounded: a subject is a header. */
export function oneLine(s: string, max = 200): string {
  const clean = s
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
