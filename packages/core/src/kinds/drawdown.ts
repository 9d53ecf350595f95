/** drawdown: the close below the rolling N-session high by at least thresholdPct. */
import { z } from 'zod';
import { rollingMax, type SymbolSeries } from '../series.ts';
import { clean, directional, type Obs, type PriceSpec, type Sig, type SkipReason } from './signal.ts';
import { type Bounds, defineKind, pctText, percentSchema, rangeHint, sessionsSchema, thresholdField } from './types.ts';

export const DRAWDOWN_SESSIONS: Bounds = { min: 2, max: 520 };

export const drawdownParamsSchema = z.strictObject({
  /** Sessions of the rolling high, including the current one. */
  sessions: sessionsSchema(DRAWDOWN_SESSIONS),
  thresholdPct: percentSchema().max(100, 'a drawdown is at most 100 %'),
});
export type DrawdownParams = z.infer<typeof drawdownParamsSchema>;

function signal(p: PriceSpec, s: SymbolSeries, o: Obs, sig: Sig): SkipReason | null {
  const L = o.L;
  // Rolling high over the current session and the n-1 before it.
  const a = L - p.n + 1;
  if (a < 0) return 'insufficient_history';
  if (!clean(s, a, L - 1)) return 'invalid_price';
  const rm = rollingMax(s, p.n - 1);
  const prior = rm[L - 1] as number;
  const peak = Math.max(prior, o.high);
  directional(sig, o.price / peak - 1, p.thr, -1);
  sig.ref = peak;
  sig.windowStart = s.dates[a] as string;
  return null;
}

export const drawdown = defineKind({
  kind: 'drawdown',
  label: 'Drawdown from a rolling high',
  params: drawdownParamsSchema,
  form: [
    {
      id: 'drawdown',
      path: 'params',
      fields: [
        {
          key: 'sessions',
          type: 'number',
          int: true,
          required: true,
          ...DRAWDOWN_SESSIONS,
          label: 'Sessions',
          hint: `Trading sessions of the rolling high, including the current one: ${rangeHint(DRAWDOWN_SESSIONS)}`,
        },
        thresholdField('Percent below the rolling high: 20 = 20 %. Greater than 0, at most 100.'),
      ],
    },
  ],
  template: {
    label: 'Drawdown of 20 % from the 60-session high',
    input: { name: 'Drawdown of 20 %', params: { sessions: 60, thresholdPct: 20 } },
  },
  perSymbol: true,
  describe: (p) => `closes ${pctText(p.thresholdPct)} or more below its ${p.sessions}-session high`,
  unit: () => 'fraction',
  needsNews: () => false,
  needsPrices: () => true,
  // The rolling high covers the current session and the sessions - 1 before it.
  lookback: (p) => p.sessions - 1,
  engine: (p) => ({
    price: {
      kind: 'drawdown',
      signal,
      dir: -1,
      thr: p.thresholdPct / 100,
      n: p.sessions,
      intraday: false,
      extremes: false,
      independentAfter: p.sessions,
    },
  }),
});
