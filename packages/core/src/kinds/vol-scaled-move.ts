/** vol_scaled_move: a daily move larger than k standard deviations of the symbol's own daily returns. */
import { z } from 'zod';
import type { SymbolSeries } from '../series.ts';
import { clean, dirOf, directional, type Obs, type PriceSpec, type Sig, type SkipReason } from './signal.ts';
import {
  type Bounds,
  defineKind,
  direction3,
  directionField,
  extendedText,
  rangeHint,
  sessionField,
  sessionSchema,
  sessionsSchema,
} from './types.ts';

export const VOL_LOOKBACK: Bounds = { min: 10, max: 520 };
export const VOL_K: Bounds = { min: 0, max: 50 };

export const volScaledMoveParamsSchema = z.strictObject({
  /** Daily returns before the current session used for the standard deviation. */
  lookback: sessionsSchema(VOL_LOOKBACK),
  k: z.number().positive('must be greater than 0').max(VOL_K.max),
  direction: direction3,
  /** regular (default) or extended: pre- and post-market prices count too. */
  session: sessionSchema.optional(),
});
export type VolScaledMoveParams = z.infer<typeof volScaledMoveParamsSchema>;

function signal(p: PriceSpec, s: SymbolSeries, o: Obs, sig: Sig): SkipReason | null {
  const L = o.L;
  // Standard deviation of the n daily returns before the current session: ret[L-n .. L-1].
  const m = p.n;
  const a = L - m;
  if (a < 1) return 'insufficient_history';
  if (!clean(s, a - 1, L - 1)) return 'invalid_price';
  const pre = s.pre;
  const s1 = (pre.retSum[L] as number) - (pre.retSum[a] as number);
  const s2 = (pre.retSq[L] as number) - (pre.retSq[a] as number);
  const mean = s1 / m;
  const variance = (s2 - m * mean * mean) / (m - 1);
  if (!(variance > 0)) return 'insufficient_history';
  // A pre/post-market price is measured against the last regular close (the quote's price).
  const ref = o.extended && o.quotePrev > 0 ? o.quotePrev : (s.close[L - 1] as number);
  const z = (o.price / ref - 1) / Math.sqrt(variance);
  directional(sig, z, p.thr, p.dir);
  sig.ref = ref;
  sig.windowStart = s.dates[a - 1] as string;
  return null;
}

export const volScaledMove = defineKind({
  kind: 'vol_scaled_move',
  label: 'Move in standard deviations',
  params: volScaledMoveParamsSchema,
  form: [
    {
      id: 'vol_scaled_move',
      path: 'params',
      fields: [
        {
          key: 'lookback',
          type: 'number',
          int: true,
          required: true,
          ...VOL_LOOKBACK,
          label: 'Lookback (sessions)',
          hint: `Daily returns used for the standard deviation: ${rangeHint(VOL_LOOKBACK, 'sessions')}`,
        },
        {
          key: 'k',
          type: 'number',
          units: ['σ', 'sd'],
          required: true,
          max: VOL_K.max,
          label: 'k (standard deviations)',
          hint: `Fires on a daily move larger than k standard deviations, e.g. 3. Greater than 0, at most ${VOL_K.max}.`,
        },
        directionField,
        sessionField,
      ],
    },
  ],
  template: {
    label: 'Move larger than 4 standard deviations',
    input: { name: '4-sigma move', params: { lookback: 60, k: 4, direction: 'either' } },
  },
  perSymbol: true,
  describe: (p) =>
    `daily move ${p.direction === 'either' ? '' : `${p.direction} `}of more than ${p.k} standard deviations of its own daily returns (${p.lookback}-session lookback)${extendedText(p.session)}`,
  unit: () => 'sd',
  needsNews: () => false,
  needsPrices: () => true,
  // `lookback` returns need lookback + 1 closes before the current session.
  lookback: (p) => p.lookback + 1,
  engine: (p) => ({
    price: {
      kind: 'vol_scaled_move',
      signal,
      dir: dirOf(p.direction),
      thr: p.k,
      n: p.lookback,
      intraday: false,
      extremes: false,
      independentAfter: 1,
    },
    extended: p.session === 'extended',
  }),
});
