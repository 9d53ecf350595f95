/**
 * POST /api/backtest: the request's schema and its logic (which rules, which bars, which range),
 * kept out of routes.ts. Loading and running go through the one backtest plan executor
 * (services/backtest.ts, @signals/db loadBacktestInput), in a backtest thread.
 */
import { z } from '@hono/zod-openapi';
import {
  type DailyBar,
  type History,
  INTRADAY_INTERVALS,
  NotFoundError,
  symbolSchema,
  ValidationError,
} from '@signals/core';
import { inclusiveRange } from '@signals/db';
import type { Runtime } from '../context.ts';
import { text } from '../input.ts';
import { watchedSymbols } from './backtest.ts';
import { backtestDeliveries } from './backtest-deliveries.ts';
import { getRule, inputOf, ruleInputSchema, toDefinition, YEAR_MS } from './rules.ts';

const dateString = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date (YYYY-MM-DD)')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'not a valid date');

const barSchema = z.strictObject({
  date: dateString,
  open: z.number().positive().finite().optional(),
  high: z.number().positive().finite().optional(),
  low: z.number().positive().finite().optional(),
  close: z.number().positive().finite(),
  volume: z.number().min(0).finite().optional(),
});

export const backtestRequestSchema = z
  .strictObject({
    ruleIds: z
      .array(text({ min: 1, max: 64 }))
      .max(50)
      .optional(),
    rules: z.array(ruleInputSchema).max(20).optional(),
    symbols: z
      .array(text({ min: 1, max: 24 }))
      .max(200)
      .optional(),
    from: dateString.optional(),
    to: dateString.optional(),
    bars: z
      .record(text({ min: 1, max: 24 }), z.array(barSchema).max(5000))
      .optional()
      .openapi({ description: 'Daily bars per symbol to run over instead of the stored history' }),
    interval: z
      .enum(INTRADAY_INTERVALS, { error: 'must be one of 1m, 5m, 15m, 1h' })
      .optional()
      .openapi({
        description:
          'Run on the stored intraday bars of this interval (422 when none are stored for the symbols over the range). ' +
          'Without it: the finest stored interval when a rule is intraday, extended-hours, news or news+price, else daily bars. ' +
          'summary.resolution says which and why.',
      }),
    deliveries: z
      .boolean()
      .optional()
      .openapi({
        description:
          'Also say who would have been told: the alerts found, run through the live fan-out (silences, inhibit rules, ' +
          "today's subscribers and endpoints, time intervals, quiet hours, grouping), each judged at its own time. " +
          'Nothing is written or sent. Not with `bars` (400): posted bars are a what-if without stored rules to plan against.',
      }),
  })
  .openapi('BacktestRequest');

/** POST /api/backtest: stored rules by id and/or drafts, over stored bars or the posted ones. */
export async function backtestRequest(rt: Runtime, req: z.infer<typeof backtestRequestSchema>) {
  if (!req.ruleIds?.length && !req.rules?.length) {
    throw new ValidationError('No rules', [{ path: 'rules', message: 'give ruleIds or rules (at least one)' }]);
  }
  const rules: { def: ReturnType<typeof toDefinition>; name: string; watchlistId: string | null }[] = [];
  for (const [i, id] of (req.ruleIds ?? []).entries()) {
    const r = await getRule(rt, id).catch((err) => {
      if (err instanceof NotFoundError) {
        throw new ValidationError('Unknown rule', [{ path: `ruleIds.${i}`, message: 'no such rule' }]);
      }
      throw err;
    });
    rules.push({ def: toDefinition(inputOf(r), r.id), name: r.name, watchlistId: r.watchlistId });
  }
  for (const [i, input] of (req.rules ?? []).entries()) {
    try {
      rules.push({
        def: toDefinition(input, `draft-${i + 1}`),
        name: input.name,
        watchlistId: input.watchlistId ?? null,
      });
    } catch (err) {
      if (err instanceof ValidationError) {
        throw new ValidationError(
          err.message,
          err.issues.map((x) => ({ ...x, path: `rules.${i}${x.path ? `.${x.path}` : ''}` })),
        );
      }
      throw err;
    }
  }
  if (req.deliveries && req.bars)
    throw new ValidationError('deliveries needs stored history', [
      {
        path: 'deliveries',
        message:
          'who would have been told is planned against stored rules and history: leave out bars to use the stored ones, or leave out deliveries',
      },
    ]);
  const range = inclusiveRange(req.from, req.to);
  const to = range.to ?? rt.clock.now();
  const from = range.from ?? new Date(to.getTime() - YEAR_MS);
  if (from.getTime() > to.getTime())
    throw new ValidationError('Bad range', [{ path: 'from', message: 'must not be after to' }]);

  let histories: History[] | undefined;
  const symbols = new Set<string>();
  if (req.bars) {
    histories = Object.entries(req.bars).map(([raw, bars]) => {
      const sym = symbolSchema.safeParse(raw);
      if (!sym.success)
        throw new ValidationError('Invalid symbol', [
          { path: `bars.${raw}`, message: sym.error.issues[0]?.message ?? 'not a symbol' },
        ]);
      const sorted = [...bars].sort((a, b) => (a.date < b.date ? -1 : 1));
      for (let j = 1; j < sorted.length; j++) {
        if (sorted[j]?.date === sorted[j - 1]?.date)
          throw new ValidationError('Duplicate bar', [
            { path: `bars.${raw}`, message: `two bars for ${sorted[j]?.date}` },
          ]);
      }
      return {
        symbol: sym.data,
        splits: [],
        bars: sorted
          .filter((b) => b.date <= iso(to))
          .map(
            (b): DailyBar => ({
              symbol: sym.data,
              date: b.date,
              open: b.open ?? b.close,
              high: Math.max(b.high ?? b.close, b.close),
              low: Math.min(b.low ?? b.close, b.close),
              close: b.close,
              volume: b.volume ?? 0,
              sourceAt: new Date(`${b.date}T21:00:00Z`),
            }),
          ),
      };
    });
  } else {
    if (req.symbols?.length) {
      for (const [i, s] of req.symbols.entries()) {
        const p = symbolSchema.safeParse(s);
        if (!p.success)
          throw new ValidationError('Invalid symbol', [
            { path: `symbols.${i}`, message: p.error.issues[0]?.message ?? '' },
          ]);
        symbols.add(p.data);
      }
    } else {
      for (const r of rules)
        for (const s of await watchedSymbols(rt, { symbols: r.def.symbols, watchlistId: r.watchlistId }))
          symbols.add(s);
    }
  }
  const planSymbols = histories ? histories.map((h) => h.symbol) : [...symbols].sort();
  if (req.interval && histories)
    throw new ValidationError('Bad interval', [
      { path: 'interval', message: 'posted bars are daily: leave out bars to run on stored intraday bars' },
    ]);
  // Loading, the daily/intraday choice (422 when the interval asked for is not stored) and running
  // happen in a backtest thread, within PREVIEW_TIMEOUT_SEC (422 when too heavy).
  const plan = {
    rules: rules.map((r) => ({ def: r.def, name: r.name })),
    symbols: planSymbols,
    from,
    to,
    ...(histories ? { histories } : {}),
    ...(req.interval ? { interval: req.interval } : {}),
  };
  const { outcome } = await rt.backtests.run(plan, 'backtest');
  if (!req.deliveries) return outcome;
  return { ...outcome, deliveries: await backtestDeliveries(rt, outcome, rules) };
}

const iso = (d: Date) => d.toISOString().slice(0, 10);
