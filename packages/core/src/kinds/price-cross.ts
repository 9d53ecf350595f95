/** price_cross: the price crosses a level; the session's high (up) or low (down) counts. */
import { z } from 'zod';
import type { SymbolSeries } from '../series.ts';
import { clean, dirOf, type Obs, type PriceSpec, type Sig, type SkipReason } from './signal.ts';
import { defineKind, direction2 } from './types.ts';

/** Price crosses a level; the session's high (up) or low (down) counts, so a crossing between polls is caught. */
export const priceCrossParamsSchema = z.strictObject({
  level: z.number().positive('must be a price above 0').finite(),
  direction: direction2,
});
export type PriceCrossParams = z.infer<typeof priceCrossParamsSchema>;

function signal(p: PriceSpec, s: SymbolSeries, o: Obs, sig: Sig): SkipReason | null {
  const L = o.L;
  if (L < 1) return 'insufficient_history';
  if (!clean(s, L - 1, L - 1)) return 'invalid_price';
  const prev = s.close[L - 1] as number;
  const level = p.thr;
  if (p.dir > 0) {
    sig.active = prev < level && o.high >= level;
    sig.value = o.high;
  } else {
    sig.active = prev > level && o.low <= level;
    sig.value = o.low;
  }
  // A crossing is an edge: once the condition is gone the rule is re-armed.
  sig.strength = sig.active ? 1 : 0;
  sig.threshold = level;
  sig.sign = p.dir;
  sig.ref = prev;
  sig.windowStart = s.dates[L - 1] as string;
  return null;
}

export const priceCross = defineKind({
  kind: 'price_cross',
  label: 'Price crosses a level',
  params: priceCrossParamsSchema,
  form: [
    {
      id: 'price_cross',
      path: 'params',
      fields: [
        {
          key: 'level',
          type: 'number',
          required: true,
          label: 'Level (price)',
          hint: 'A price above 0, in the instrument’s currency. The session high (up) or low (down) counts.',
        },
        {
          key: 'direction',
          type: 'select',
          label: 'Direction',
          options: [
            { value: 'down', label: 'Crosses below (down)' },
            { value: 'up', label: 'Crosses above (up)' },
          ],
        },
      ],
    },
  ],
  template: {
    label: 'Price crosses a level',
    input: { name: 'Price below a level', params: { level: 100, direction: 'down' } },
  },
  perSymbol: true,
  describe: (p) =>
    `price crosses ${p.direction === 'up' ? 'above' : 'below'} ${p.level} (the session ${p.direction === 'up' ? 'high' : 'low'} counts)`,
  unit: () => 'price',
  needsNews: () => false,
  needsPrices: () => true,
  lookback: () => 1,
  engine: (p) => ({
    price: {
      kind: 'price_cross',
      signal,
      dir: dirOf(p.direction),
      thr: p.level,
      n: 1,
      intraday: false,
      extremes: false,
      independentAfter: 1,
    },
  }),
});
