/** pct_move: a close-to-close move over N sessions, or (intraday) the live price against the previous close. */
import { z } from 'zod';
import type { SymbolSeries } from '../series.ts';
import { clean, dirOf, directional, type Obs, type PriceSpec, type Sig, type SkipReason } from './signal.ts';
import {
  type Bounds,
  defineKind,
  direction3,
  directionField,
  extendedText,
  moveVerb,
  pctText,
  percentSchema,
  rangeHint,
  sessionField,
  sessionSchema,
  sessionsSchema,
  sessText,
  thresholdField,
} from './types.ts';

export const PCT_MOVE_SESSIONS: Bounds = { min: 1, max: 260, default: 1 };

export const pctMoveParamsSchema = z
  .strictObject({
    /** Sessions the move is measured over (1 = against the previous close). Default 1. */
    sessions: sessionsSchema(PCT_MOVE_SESSIONS).optional(),
    thresholdPct: percentSchema(),
    direction: direction3,
    /** Measure the live quote against the quote's previous close (sessions must be 1). */
    intraday: z.boolean().optional(),
    /** Intraday only: measure the session's high/low instead of the last price (an intraday spike counts). */
    extremes: z.boolean().optional(),
    /** regular (default) or extended: pre- and post-market prices count too. */
    session: sessionSchema.optional(),
  })
  .refine((p) => !p.intraday || (p.sessions ?? 1) === 1, {
    path: ['sessions'],
    message: 'an intraday move is measured against the previous close: sessions must be 1',
  })
  .refine((p) => !p.extremes || p.intraday, { path: ['extremes'], message: 'extremes needs intraday: true' });
export type PctMoveParams = z.infer<typeof pctMoveParamsSchema>;

function signal(p: PriceSpec, s: SymbolSeries, o: Obs, sig: Sig): SkipReason | null {
  const L = o.L;
  const c = s.close;
  if (p.intraday) {
    let ref = o.quotePrev;
    if (!(ref > 0)) {
      if (L < 1 || !clean(s, L - 1, L - 1)) return L < 1 ? 'insufficient_history' : 'invalid_price';
      ref = c[L - 1] as number;
    }
    let move = o.price / ref - 1;
    if (p.extremes) {
      const up = o.high / ref - 1;
      const down = o.low / ref - 1;
      move = p.dir > 0 ? up : p.dir < 0 ? down : up >= -down ? up : down;
    }
    directional(sig, move, p.thr, p.dir);
    sig.ref = ref;
    sig.windowStart = L >= 1 ? (s.dates[L - 1] as string) : o.date;
    return null;
  }
  const a = L - p.n;
  if (a < 0) return 'insufficient_history';
  if (!clean(s, a, a)) return 'invalid_price';
  const ref = c[a] as number;
  directional(sig, o.price / ref - 1, p.thr, p.dir);
  sig.ref = ref;
  sig.windowStart = s.dates[a] as string;
  return null;
}

export const pctMove = defineKind({
  kind: 'pct_move',
  label: 'Percentage move',
  params: pctMoveParamsSchema,
  form: [
    {
      id: 'pct_move',
      path: 'params',
      fields: [
        {
          key: 'sessions',
          type: 'number',
          int: true,
          ...PCT_MOVE_SESSIONS,
          label: 'Sessions',
          hint: `Trading sessions the move is measured over, ${rangeHint(PCT_MOVE_SESSIONS)} 1 = against the previous close.`,
        },
        thresholdField('Percent: 10 = a 10 % move. Greater than 0, at most 1000.'),
        directionField,
        {
          key: 'intraday',
          type: 'check',
          label: 'Intraday: the live price against the previous close',
          hint: 'Needs sessions = 1.',
        },
        {
          key: 'extremes',
          type: 'check',
          label: 'Count the session high/low (an intraday spike counts)',
          hint: 'Intraday only.',
        },
        sessionField,
      ],
    },
  ],
  template: {
    label: 'One-day fall of 10 % or more',
    input: { name: 'One-day fall of 10 %', params: { sessions: 1, thresholdPct: 10, direction: 'down' } },
  },
  perSymbol: true,
  describe: (p) =>
    (p.intraday
      ? `${p.extremes ? 'trades' : 'is'} ${pctText(p.thresholdPct)} or more ${p.direction === 'up' ? 'above' : p.direction === 'down' ? 'below' : 'away from'} the previous close intraday${p.extremes ? ' (session high/low)' : ''}`
      : `${moveVerb(p.direction)} ${pctText(p.thresholdPct)} or more over ${sessText(p.sessions ?? 1)} (close to close${p.direction === 'either' ? ', either direction' : ''})`) +
    extendedText(p.session),
  unit: () => 'fraction',
  needsNews: () => false,
  needsPrices: () => true,
  lookback: (p) => p.sessions ?? PCT_MOVE_SESSIONS.default ?? 1,
  engine: (p) => {
    const n = p.sessions ?? PCT_MOVE_SESSIONS.default ?? 1;
    return {
      price: {
        kind: 'pct_move',
        signal,
        dir: dirOf(p.direction),
        thr: p.thresholdPct / 100,
        n,
        intraday: p.intraday === true,
        extremes: p.extremes === true,
        independentAfter: n,
      },
      extended: p.session === 'extended',
    };
  },
});
