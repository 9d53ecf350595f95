/**
 * How the API and the rule preview present a backtest: the alerts that would have fired (value
 * and threshold rendered as every surface renders them) and a summary per rule, with the
 * resolution it ran at. Running is core's one runner (runBacktestJob); this only shapes its result.
 * It imports @signals/core only, so a backtest thread loads it quickly.
 */
import {
  type BacktestResolution,
  type BacktestRun,
  formatThreshold,
  formatValue,
  type RuleDefinition,
  type Unit,
} from '@signals/core';

export interface BacktestHit {
  ruleId: string;
  ruleName: string;
  symbol: string;
  at: string;
  value: number;
  threshold: number;
  unit: Unit;
  /** value and threshold as every surface renders them ("-10.8 sd"). */
  valueText: string;
  thresholdText: string;
}

export interface BacktestSummary {
  from: string;
  to: string;
  symbols: string[];
  barsUsed: number;
  total: number;
  byRule: { ruleId: string; ruleName: string; fired: number }[];
  /** The resolution the backtest ran at ('1d' or an intraday interval), and why (and what that means for the rules given). */
  resolution: BacktestResolution;
}

export interface BacktestOutcome {
  alerts: BacktestHit[];
  summary: BacktestSummary;
}

/** The firing alerts of a run and its summary, named as the caller named the rules. */
export function presentBacktest(
  rules: readonly { def: RuleDefinition; name: string }[],
  run: BacktestRun,
  range: { from: string; to: string },
): BacktestOutcome {
  const names = new Map(rules.map((x) => [x.def.id, x.name]));
  const alerts: BacktestHit[] = run.result.alerts
    .filter((a) => a.status === 'firing')
    .map((a) => ({
      ruleId: a.rule,
      ruleName: names.get(a.rule) ?? a.ruleName,
      symbol: a.symbol,
      at: a.at,
      value: a.value,
      threshold: a.threshold,
      unit: a.unit,
      valueText: formatValue(a.value, a.unit),
      thresholdText: formatThreshold(a.threshold, a.unit),
    }));
  return {
    alerts,
    summary: {
      from: range.from,
      to: range.to,
      symbols: run.symbols,
      barsUsed: run.barsUsed,
      total: alerts.length,
      byRule: rules.map((x) => ({
        ruleId: x.def.id,
        ruleName: x.name,
        fired: alerts.filter((a) => a.ruleId === x.def.id).length,
      })),
      resolution: run.resolution,
    },
  };
}
