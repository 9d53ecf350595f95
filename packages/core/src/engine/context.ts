/**
 * One evaluation's context: the instant, the series and news, where states are read and written,
 * the observations cached per series, and the small helpers every evaluator uses on it.
 */
import type { NewsItem } from '../domain.ts';
import { newSig, type Obs, type SkipReason } from '../kinds/signal.ts';
import type { SymbolSeries } from '../series.ts';
import type { Compiled } from './compile.ts';
import { newObs, observe, observeExtended } from './observe.ts';
import type { AlertCandidate, RuleStateSnapshot, SkippedEvaluation } from './types.ts';

/** Where results go: states are read from `read` (not mutated), changes collected in `write`. */
export interface EngineSink {
  read: ReadonlyMap<string, RuleStateSnapshot>;
  write: Map<string, RuleStateSnapshot>;
  alerts: AlertCandidate[];
  skipped: SkippedEvaluation[];
}

export interface Ctx {
  now: number;
  nowIso: string | null;
  series: ReadonlyMap<string, SymbolSeries>;
  news: readonly NewsItem[];
  sink: EngineSink;
  obs: Map<SymbolSeries, Obs>;
  /** Observations with pre- and post-market prices (rules with session "extended"). */
  obsExt: Map<SymbolSeries, Obs>;
}

export function nowIso(ctx: Ctx): string {
  if (ctx.nowIso === null) ctx.nowIso = new Date(ctx.now).toISOString();
  return ctx.nowIso;
}

export function getState(ctx: Ctx, key: string): RuleStateSnapshot | undefined {
  const { read, write } = ctx.sink;
  return write.get(key) ?? read.get(key);
}

export function setState(ctx: Ctx, key: string, s: RuleStateSnapshot): void {
  ctx.sink.write.set(key, s);
}

export function skip(ctx: Ctx, c: Compiled, subject: string, reason: SkipReason, detail?: string): void {
  ctx.sink.skipped.push(
    detail === undefined ? { ruleId: c.id, subject, reason } : { ruleId: c.id, subject, reason, detail },
  );
}

/** The observation rule `c` sees: with pre/post-market prices when its session is "extended". */
export function observeFor(ctx: Ctx, c: Compiled, s: SymbolSeries): Obs {
  if (!c.extended) return observeCached(ctx, s);
  let o = ctx.obsExt.get(s);
  if (!o) {
    o = observeExtended(s, newObs());
    ctx.obsExt.set(s, o);
  }
  return o;
}

export function observeCached(ctx: Ctx, s: SymbolSeries): Obs {
  let o = ctx.obs.get(s);
  if (!o) {
    o = observe(s, newObs());
    ctx.obs.set(s, o);
  }
  return o;
}

export function ms(iso: string | null): number {
  return iso === null ? Number.NEGATIVE_INFINITY : Date.parse(iso);
}

export function inactiveState(c: Compiled, subject: string): RuleStateSnapshot {
  return {
    ruleId: c.id,
    subject,
    phase: 'inactive',
    since: null,
    lastValue: null,
    peakValue: null,
    lastFiredAt: null,
    cooldownUntil: null,
    data: {},
  };
}

/** The one scratch signal of the evaluators (one evaluation runs at a time: no allocation per pair). */
export const sigScratch = newSig();
