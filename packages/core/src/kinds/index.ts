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

export function isRuleKind(k: unknown): k is RuleKind {
  return typeof k === 'string' && Object.hasOwn(KINDS, k);
}

/** The module of a kind. */
export function kindModule(kind: RuleKind): AnyKindModule {
  return KINDS[kind] as unknown as AnyKindModule;
}
