/** volume_spike: session volume at least `multiple` times the average of the previous N sessions. */
import { z } from 'zod';
import type { SymbolSeries } from '../series.ts';
import type { Obs, PriceSpec, Sig, SkipReason } from './signal.ts';
import { type Bounds, defineKind, rangeHint, sessionsSchema } from './types.ts';

export const VOLUME_SESSIONS: Bounds = { min: 2, max: 260 };

export const volumeSpikeParamsSchema = z.strictObject({
  sessions: sessionsSchema(VOLUME_SESSIONS),
  multiple: z.number().gt(1, 'must be greater than 1'),
});
export type VolumeSpikeParams = z.infer<typeof volumeSpikeParamsSchema>;

function signal(p: PriceSpec, s: SymbolSeries, o: Obs, sig: Sig): SkipReason | null {
  const L = o.L;
  const a = L - p.n;
  if (a < 0) return 'insufficient_history';
  const avg = ((s.pre.volSum[L] as number) - (s.pre.volSum[a] as number)) / p.n;
  if (!(avg > 0)) return 'insufficient_history';
  const ratio = o.volume / avg;
  sig.active = ratio >= p.thr;
  sig.strength = ratio / p.thr;
  sig.value = ratio;
  sig.threshold = p.thr;
  sig.sign = 1;
  sig.ref = avg;
  sig.windowStart = s.dates[a] as string;
  return null;
}

export const volumeSpike = defineKind({
  kind: 'volume_spike',
  label: 'Volume spike',
  params: volumeSpikeParamsSchema,
  form: [
    {
      id: 'volume_spike',
      path: 'params',
      fields: [
        {
          key: 'sessions',
          type: 'number',
          int: true,
          required: true,
          ...VOLUME_SESSIONS,
          label: 'Average over (sessions)',
          hint: `Previous sessions averaged: ${rangeHint(VOLUME_SESSIONS)}`,
        },
        {
          key: 'multiple',
          type: 'number',
          units: ['x', '×'],
          required: true,
          min: 1,
          label: 'Multiple (x)',
          hint: 'Volume at least this many times the average: 3 = 3x. Greater than 1.',
        },
      ],
    },
  ],
  template: {
    label: 'Volume 3x its 20-session average',
    input: { name: 'Volume spike 3x', params: { sessions: 20, multiple: 3 } },
  },
  perSymbol: true,
  describe: (p) => `volume ${p.multiple}x or more its ${p.sessions}-session average`,
  unit: () => 'multiple',
  needsNews: () => false,
  needsPrices: () => true,
  lookback: (p) => p.sessions,
  engine: (p) => ({
    price: {
      kind: 'volume_spike',
      signal,
      dir: 1,
      thr: p.multiple,
      n: p.sessions,
      intraday: false,
      extremes: false,
      independentAfter: 1,
    },
  }),
});
