export * from './domain.ts';
export * from './errors.ts';
export * from './calendar.ts';
export * from './history.ts';
export * from './intraday.ts';
export * from './news-recording.ts';
export * from './rules.ts';
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
} from './engine.ts';
export * from './backtest.ts';
export * from './backtest-intraday.ts';
export * from './loops.ts';
