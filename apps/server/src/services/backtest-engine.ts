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
  /** The resolution the backtest ran at, and why (and what that means for the rules given). */
  resolution: { interval: '1d'; reason: string };
}

export interface BacktestOutcome {
  alerts: BacktestHit[];
  summary: BacktestSummary;
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** Rules whose live behaviour depends on prices within a session (or outside it). */
function intradayMinded(def: RuleDefinition): boolean {
  const p = def.params as { intraday?: boolean; session?: string; mode?: string };
  return p.intraday === true || p.session === 'extended' || (def.kind === 'confirmation' && p.mode === 'news_price');
}

function resolutionOf(rules: readonly { def: RuleDefinition }[]): BacktestSummary['resolution'] {
  const minded = rules.filter((r) => intradayMinded(r.def)).map((r) => r.def.id);
  const base = 'daily bars: this backtest replays one observation per session, at its close';
  return {
    interval: '1d',
    reason: minded.length
      ? `${base}; ${minded.join(', ')} ${minded.length === 1 ? 'reacts' : 'react'} within or outside the session, so ${minded.length === 1 ? 'it is' : 'they are'} measured close to close here (intraday bars: pnpm cli backtest --interval 5m)`
      : base,
  };
}

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
      resolution: resolutionOf(rules),
    },
  };
}
