/**
 * Units of alert values and the ONE way to render them. Email, webhook payloads and chat formats,
 * the admin pages, the API and the CLI all call {@link formatValue} / {@link formatThreshold}, so
 * one measured value reads the same everywhere ("-10.8 sd").
 *
 * - `fraction`: a relative move, stored as a fraction (-0.1697), shown in percent ("-16.97 %")
 * - `sd`: a volatility-scaled move in standard deviations of the symbol's daily returns ("-10.8 sd")
 * - `multiple`: a multiple of an average (volume spikes: "3.2x")
 * - `count`: a number of items (news matches: "3 items")
 * - `price`: a price in the instrument's currency ("187.50")
 */
export const UNITS = ['fraction', 'sd', 'multiple', 'count', 'price'] as const;
export type Unit = (typeof UNITS)[number];

export const UNIT_DESCRIPTIONS: Record<Unit, string> = {
  fraction: 'a relative move as a fraction (-0.169 = -16.9 %)',
  sd: "standard deviations of the symbol's own daily returns",
  multiple: 'a multiple of an average (volume 3.2x its average)',
  count: 'a number of items (news items matched)',
  price: "a price in the instrument's currency",
};

export function isUnit(x: unknown): x is Unit {
  return typeof x === 'string' && (UNITS as readonly string[]).includes(x);
}

const signed = (x: string, v: number) => (v > 0 ? `+${x}` : x);

/** One value in its unit: "-16.97 %", "-10.8 sd", "3.2x", "3 items", "187.50". */
export function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case 'fraction':
      return `${signed((value * 100).toFixed(2), value)} %`;
    case 'sd':
      return `${signed(value.toFixed(1), value)} sd`;
    case 'multiple':
      return `${value.toFixed(1)}x`;
    case 'count': {
      const n = Math.round(value);
      return `${n} item${n === 1 ? '' : 's'}`;
    }
    case 'price':
      return value.toFixed(2);
  }
}

/** A threshold in its unit (the same rendering as values, so they compare at a glance). */
export function formatThreshold(threshold: number, unit: Unit): string {
  return formatValue(threshold, unit);
}

/** "-10.8 sd (threshold -5.0 sd)"; a price crossing reads "98.50 (crossed 100.00)". */
export function formatMeasure(value: number, threshold: number, unit: Unit): string {
  return unit === 'price'
    ? `${formatValue(value, unit)} (crossed ${formatThreshold(threshold, unit)})`
    : `${formatValue(value, unit)} (threshold ${formatThreshold(threshold, unit)})`;
}
