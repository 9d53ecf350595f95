export * from './domain.ts';
export * from './errors.ts';
export * from './calendar.ts';
export * from './intraday.ts';
export * from './news-recording.ts';
export * from './rules.ts';
export * from './units.ts';
export { type AnyKindModule, isRuleKind } from './kinds/index.ts';
export {
  type Bounds,
  defineKind,
  type Direction,
  type FieldSpec,
  type FormScope,
  type KindModule,
  type RuleContext,
  type SessionScope,
  sessionSchema,
} from './kinds/types.ts';
export {
  clean,
  dirOf,
  directional,
  type EngineSpec,
  type Obs,
  type PriceSignalFn,
  type PriceSpec,
  type Sig,
} from './kinds/signal.ts';
export { type BasketMoveParams, basketMoveParamsSchema } from './kinds/basket-move.ts';
export { type ConfirmationParams, confirmationParamsSchema, type InnerPriceRule } from './kinds/confirmation.ts';
export { type DrawdownParams, drawdownParamsSchema } from './kinds/drawdown.ts';
export { type NewsMatchParams, newsMatchParamsSchema } from './kinds/news-match.ts';
export { type PctMoveParams, pctMoveParamsSchema } from './kinds/pct-move.ts';
export { type PriceCrossParams, priceCrossParamsSchema } from './kinds/price-cross.ts';
export { type VolScaledMoveParams, volScaledMoveParamsSchema } from './kinds/vol-scaled-move.ts';
export { type VolumeSpikeParams, volumeSpikeParamsSchema } from './kinds/volume-spike.ts';
export {
  compileKeywords,
  type KeywordMatcher,
  type KeywordMatcherOptions,
  keywordSchema,
  MAX_KEYWORD_WILDCARDS,
  type MatchStats,
} from './keywords.ts';
export * from './series.ts';
export {
  type AlertCandidate,
  type AlertDetails,
  type AlertPhase,
  alertHeadlines,
  BASKET_SUBJECT,
  dedupKey,
  evaluate,
  type EvaluateInput,
  type EvaluateOutput,
  NEWS_SUBJECT,
  type RelatedNews,
  type RuleStateData,
  type RuleStateSnapshot,
  type SkippedEvaluation,
  type SkipReason,
  stateKey,
} from './engine/index.ts';
export * from './backtest/daily.ts';
export * from './headlines.ts';
export * from './freshness.ts';
export * from './backtest/intraday.ts';
export * from './backtest/run.ts';
export * from './loops.ts';
export * from './timing.ts';
export * from './fanout/index.ts';
