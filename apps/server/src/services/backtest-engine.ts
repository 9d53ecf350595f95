/**
 * The pure part of a backtest: the engine's `backtest(rules, histories)` reduced to the list of
 * every alert that would have fired plus a summary. It imports @signals/core only, so a worker
 * thread can load it quickly (services/backtest-runner.ts runs it off the request thread).
 */
import {
  backtest,
  formatThreshold,
  formatValue,
  type History,
  type NewsItem,
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
}

export interface BacktestOutcome {
  alerts: BacktestHit[];
  summary: BacktestSummary;
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** What a backtest runs: rules, their histories (warm-up included), the reported range and news. */
export interface BacktestJob {
  rules: { def: RuleDefinition; name: string }[];
  histories: History[];
  range: { from: Date; to: Date };
  news?: NewsItem[];
}

/**
 * Runs the engine's backtest. `histories` may start before `range.from` (warm-up); only alerts
 * from `range.from` on are reported.
 */
export function runBacktest({ rules, histories, range, news = [] }: BacktestJob): BacktestOutcome {
  const r = backtest(
    rules.map((x) => x.def),
    histories,
    { from: isoDay(range.from), to: isoDay(range.to), news },
  );
  const names = new Map(rules.map((x) => [x.def.id, x.name]));
  const alerts: BacktestHit[] = r.alerts
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
  const inRange = (h: History) =>
    h.bars.filter((b) => b.date >= isoDay(range.from) && b.date <= isoDay(range.to)).length;
  return {
    alerts,
    summary: {
      from: isoDay(range.from),
      to: isoDay(range.to),
      symbols: histories.map((h) => h.symbol),
      barsUsed: histories.reduce((n, h) => n + inRange(h), 0),
      total: alerts.length,
      byRule: rules.map((x) => ({
        ruleId: x.def.id,
        ruleName: x.name,
        fired: alerts.filter((a) => a.ruleId === x.def.id).length,
      })),
    },
  };
}
