/**
 * The rule-kind registry. A kind is one module (kinds/<kind>.ts, built with {@link defineKind})
 * and one line here. Everything else (rule validation, the engine, the API, the admin form, the
 * worker, the CLI, the backtest loader) iterates or looks up this registry.
 */
import type { z } from 'zod';
import { basketMove } from './basket-move.ts';
import { confirmation } from './confirmation.ts';
import { drawdown } from './drawdown.ts';
import { newsMatch } from './news-match.ts';
import { pctMove } from './pct-move.ts';
import { priceCross } from './price-cross.ts';
import type { KindModule } from './types.ts';
import { volScaledMove } from './vol-scaled-move.ts';
import { volumeSpike } from './volume-spike.ts';

export const KINDS = {
  price_cross: priceCross,
  pct_move: pctMove,
  drawdown,
  basket_move: basketMove,
  vol_scaled_move: volScaledMove,
  volume_spike: volumeSpike,
  news_match: newsMatch,
  confirmation,
} as const;

export type RuleKind = keyof typeof KINDS;
export const RULE_KINDS = Object.keys(KINDS) as [RuleKind, ...RuleKind[]];
export type ParamsOf<K extends RuleKind> = z.output<(typeof KINDS)[K]['params']>;

/** A kind module with its params typed loosely, for callers that hold a validated rule of any kind. */
// biome-ignore lint/suspicious/noExplicitAny: params were validated by the kind's own schema.
export type AnyKindModule = KindModule<RuleKind, z.ZodType<any>>;

/** Kinds registered at run time ({@link registerKind}): a test fixture's kind, a plugin's. */
const added = new Map<string, AnyKindModule>();
const listeners: (() => void)[] = [];

export function isRuleKind(k: unknown): k is RuleKind {
  return typeof k === 'string' && (Object.hasOwn(KINDS, k) || added.has(k));
}

/** The module of a kind. */
export function kindModule(kind: RuleKind): AnyKindModule {
  return (Object.hasOwn(KINDS, kind) ? KINDS[kind] : added.get(kind)) as unknown as AnyKindModule;
}

/**
 * Registers a kind defined outside this file (one module, one call): rule validation, the engine,
 * describe, units, look-back and backtests know it from then on. The built-in kinds are the
 * `KINDS` lines above; their names are also the TypeScript `RuleKind` type.
 */
export function registerKind(m: KindModule<string, z.ZodType>): void {
  if (isRuleKind(m.kind)) throw new Error(`rule kind ${m.kind} is already registered`);
  added.set(m.kind, m as unknown as AnyKindModule);
  (RULE_KINDS as string[]).push(m.kind);
  for (const l of listeners) l();
}

/** Called after {@link registerKind} (rules.ts rebuilds its schema). */
export function onKindsChanged(l: () => void): void {
  listeners.push(l);
}
