/** basket_move: several symbols (the rule's `symbols`) moving together over N sessions. */
import { z } from 'zod';
import type { SymbolSeries } from '../series.ts';
import { type BasketSpec, clean, dirOf, type Obs, type SkipReason } from './signal.ts';
import {
  type Bounds,
  defineKind,
  direction3,
  directionField,
  listText,
  moveVerb,
  pctText,
  percentSchema,
  rangeHint,
  sessionsSchema,
  sessText,
  thresholdField,
} from './types.ts';

export const BASKET_SESSIONS: Bounds = { min: 1, max: 260 };

export const basketMoveParamsSchema = z.strictObject({
  sessions: sessionsSchema(BASKET_SESSIONS),
  thresholdPct: percentSchema(),
  direction: direction3,
  /** equal: mean of member moves; market_cap: change of the members' combined market value. */
  weighting: z.enum(['equal', 'market_cap']),
  /** Members with fresh data needed to evaluate (when given, instead of minCoverage). */
  minMembers: z.number().int().min(1).optional(),
  /**
   * Share of the basket's weight (equal: of its members; market_cap: of their combined value) that
   * must have data to evaluate; the alert names the members left out. Default 0.75.
   */
  minCoverage: z.number().gt(0, 'must be greater than 0').max(1, 'must be at most 1').optional(),
});

export const BASKET_MIN_COVERAGE_DEFAULT = 0.75;
export type BasketMoveParams = z.infer<typeof basketMoveParamsSchema>;

export interface BasketMember {
  symbol: string;
  move: number;
  marketCap?: number;
}

/** The basket's move on the latest session its members share, or why it cannot be measured. */
export type BasketMeasure =
  | { ok: false; reason: SkipReason; missing: string[]; coverage: number }
  | {
      ok: true;
      /** Members left out (no data, stale, refused), and the share of the weight that was there. */
      missing: string[];
      coverage: number;
      move: number;
      weighted: boolean;
      capNow: number;
      capThen: number;
      used: number;
      windowStart: string;
      lead: SymbolSeries;
      leadObs: Obs;
      members: BasketMember[];
    };

/**
 * Measures the basket: members are evaluated on the latest session any of them has (older ones
 * count as stale); equal weighting averages the members' moves, market-cap weighting compares the
 * members' combined value now and `sessions` ago (equal when a cap is missing). It is measured on
 * the members that have data when they hold at least `minCoverage` of the weight (or, when the
 * rule gives it, `minMembers` of them); below that it is `incomplete`, naming the missing ones.
 */
export function measureBasket(
  b: BasketSpec,
  members: readonly string[],
  look: (symbol: string) => { s: SymbolSeries; o: Obs } | undefined,
): BasketMeasure {
  let date = '';
  for (const m of members) {
    const x = look(m);
    if (x && x.o.refused === null && x.o.date > date) date = x.o.date;
  }
  let used = 0;
  let sumMove = 0;
  let capNow = 0;
  let capThen = 0;
  let capsKnown = true;
  let windowStart = '';
  let lead: SymbolSeries | null = null;
  let leadObs: Obs | null = null;
  let worst: SkipReason = 'stale';
  const moves: BasketMember[] = [];
  const missing: string[] = [];
  // Weight of every member (market caps, when every member has one) and of those measured.
  let capAll = 0;
  let capUsed = 0;
  let capsOfAll = true;
  for (const m of members) {
    const x = look(m);
    const cap = x?.s.marketCap;
    if (cap !== undefined && cap > 0) capAll += cap;
    else capsOfAll = false;
    if (!x) {
      worst = 'no_data';
      missing.push(m);
      continue;
    }
    const { s, o } = x;
    if (o.refused !== null || o.date !== date) {
      if (o.refused === 'invalid_price') worst = 'invalid_price';
      missing.push(m);
      continue;
    }
    const a = o.L - b.n;
    if (a < 0) {
      worst = 'insufficient_history';
      missing.push(m);
      continue;
    }
    if (!clean(s, a, a)) {
      worst = 'invalid_price';
      missing.push(m);
      continue;
    }
    if (cap !== undefined && cap > 0) capUsed += cap;
    const move = o.price / (s.close[a] as number) - 1;
    used++;
    sumMove += move;
    if (cap !== undefined && cap > 0) {
      capNow += cap;
      capThen += cap / (1 + move);
    } else capsKnown = false;
    const ws = s.dates[a] as string;
    if (windowStart === '' || ws < windowStart) windowStart = ws;
    if (!lead) {
      lead = s;
      leadObs = o;
    }
    const entry: BasketMember = { symbol: m, move };
    if (cap !== undefined) entry.marketCap = cap;
    moves.push(entry);
  }
  const coverage =
    b.capWeighted && capsOfAll && capAll > 0 ? capUsed / capAll : members.length ? used / members.length : 0;
  const enough = b.minMembers > 0 ? used >= b.minMembers : coverage >= b.minCoverage - 1e-12;
  if (!enough || used === 0 || !lead || !leadObs)
    return { ok: false, reason: used > 0 && missing.length ? 'incomplete' : worst, missing, coverage };
  const weighted = b.capWeighted && capsKnown;
  return {
    ok: true,
    missing,
    coverage,
    move: weighted ? capNow / capThen - 1 : sumMove / used,
    weighted,
    capNow,
    capThen,
    used,
    windowStart,
    lead,
    leadObs,
    members: moves,
  };
}

export const basketMove = defineKind({
  kind: 'basket_move',
  label: 'Basket move',
  note: 'The basket’s members are the rule’s Symbols below (at least 2).',
  params: basketMoveParamsSchema,
  form: [
    {
      id: 'basket_move',
      path: 'params',
      fields: [
        {
          key: 'sessions',
          type: 'number',
          int: true,
          required: true,
          ...BASKET_SESSIONS,
          label: 'Sessions',
          hint: `Trading sessions the move is measured over: ${rangeHint(BASKET_SESSIONS)}`,
        },
        thresholdField('Percent: 5 = the basket moves 5 %. Greater than 0, at most 1000.'),
        directionField,
        {
          key: 'weighting',
          type: 'select',
          label: 'Weighting',
          options: [
            { value: 'equal', label: 'Equal (mean of the members’ moves)' },
            { value: 'market_cap', label: 'Market cap (the members’ combined value)' },
          ],
        },
        {
          key: 'minCoverage',
          type: 'number',
          max: 1,
          default: BASKET_MIN_COVERAGE_DEFAULT,
          label: 'Minimum coverage (0 to 1)',
          hint: `Share of the basket's weight that must have fresh data to evaluate; the alert names the members left out. Empty = ${BASKET_MIN_COVERAGE_DEFAULT}.`,
        },
        {
          key: 'minMembers',
          type: 'number',
          int: true,
          min: 1,
          label: 'Minimum members',
          hint: 'Members with fresh data needed to evaluate, at least 1 (instead of the coverage). Empty = use the coverage.',
        },
      ],
    },
  ],
  template: {
    label: 'Basket falls 5 % in a session',
    input: {
      name: 'Basket falls 5 %',
      params: { sessions: 1, thresholdPct: 5, direction: 'down', weighting: 'equal' },
      symbols: ['NVDA', 'MSFT'],
    },
  },
  perSymbol: false,
  describe: (p, symbols) =>
    `basket ${symbols?.length ? `(${listText(symbols)}) ` : ''}${moveVerb(p.direction)} ${pctText(p.thresholdPct)} or more over ${sessText(p.sessions)} (${p.weighting === 'equal' ? 'equal-weighted' : 'market-cap-weighted'})`,
  unit: () => 'fraction',
  needsNews: () => false,
  needsPrices: () => true,
  lookback: (p) => p.sessions,
  checkRule: (p, rule, issue) => {
    const n = rule.symbols?.length ?? 0;
    if (n < 2) issue(['symbols'], 'a basket needs at least 2 symbols');
    if (p.minMembers !== undefined && p.minMembers > n)
      issue(['params', 'minMembers'], `must be at most ${n} (the members)`);
  },
  engine: (p) => ({
    basket: {
      n: p.sessions,
      thr: p.thresholdPct / 100,
      dir: dirOf(p.direction),
      capWeighted: p.weighting === 'market_cap',
      minMembers: p.minMembers ?? 0,
      minCoverage: p.minCoverage ?? BASKET_MIN_COVERAGE_DEFAULT,
    },
  }),
});
