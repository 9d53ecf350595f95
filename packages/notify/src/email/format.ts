import type { ValueUnit } from '../alert-view.ts';

/** "-16.97 %" for a fraction, "123.45" for a price, "3.2x" for a ratio. */
export function formatValue(value: number, unit: ValueUnit = 'fraction'): string {
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case 'fraction': {
      const pct = value * 100;
      return `${pct > 0 ? '+' : ''}${pct.toFixed(2)} %`;
    }
    case 'price':
      return value.toFixed(2);
    case 'ratio':
      return `${value.toFixed(1)}x`;
  }
}

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
