/**
 * The pure part of a backtest: the engine's `backtest(rules, histories)` reduced to the list of
 * every alert that would have fired plus a summary. It imports @signals/core only, so a worker
 * thread can load it quickly (services/backtest-runner.ts runs it off the request thread).
 */
import {
  type BacktestAlert,
  type BacktestResolution,
  backtest,
  backtestIntraday,
  dailyResolution,
  formatThreshold,
  formatValue,
  type History,
  type IntradayHistory,
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
  /** The resolution the backtest ran at ('1d' or an intraday interval), and why (and what that means for the rules given). */
  resolution: BacktestResolution;
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
  /** Why it runs on daily bars (the default says intraday bars are the CLI's). */
  resolution?: BacktestResolution;
}

/** An intraday backtest: `intraday` of one interval, `histories` (daily) for warm-up, and its resolution. */
export interface IntradayBacktestJob extends BacktestJob {
  intraday: IntradayHistory[];
  resolution: BacktestResolution;
}

/**
 * Runs the engine's backtest. `histories` may start before `range.from` (warm-up); only alerts
 * from `range.from` on are reported.
 */
export function runBacktest({ rules, histories, range, news = [], resolution }: BacktestJob): BacktestOutcome {
  const r = backtest(
    rules.map((x) => x.def),
    histories,
    { from: isoDay(range.from), to: isoDay(range.to), news },
  );
  const inRange = (h: History) =>
    h.bars.filter((b) => b.date >= isoDay(range.from) && b.date <= isoDay(range.to)).length;
  return outcomeOf(rules, r.alerts, range, {
    symbols: histories.map((h) => h.symbol),
    barsUsed: histories.reduce((n, h) => n + inRange(h), 0),
    resolution:
      resolution ??
      dailyResolution(
        rules.map((x) => x.def),
        'intraday bars: pnpm cli backtest --interval 5m',
      ),
  });
}

/**
 * Replays intraday bars (core backtestIntraday: each bar as the live quote after it, news at its
 * publication time); alerts' `at` is the ISO start of the bar they fired on.
 */
export function runBacktestIntraday({
  rules,
  histories,
  intraday,
  range,
  news = [],
  resolution,
}: IntradayBacktestJob): BacktestOutcome {
  const symbols = intraday.map((h) => h.symbol);
  if (!intraday.length) return outcomeOf(rules, [], range, { symbols, barsUsed: 0, resolution });
  const r = backtestIntraday(
    rules.map((x) => x.def),
    intraday,
    { from: isoDay(range.from), to: isoDay(range.to), news, daily: histories },
  );
  // Bars replayed within the reported range (with the evening of its last day: the post-market).
  const lo = range.from.getTime();
  const hi = range.to.getTime() + 6 * 3_600_000;
  let barsUsed = 0;
  for (const h of intraday) for (const b of h.bars) if (b.at.getTime() >= lo && b.at.getTime() <= hi) barsUsed++;
  return outcomeOf(rules, r.alerts, range, { symbols, barsUsed, resolution });
}

function outcomeOf(
  rules: BacktestJob['rules'],
  fired: readonly BacktestAlert[],
  range: BacktestJob['range'],
  s: Pick<BacktestSummary, 'symbols' | 'barsUsed' | 'resolution'>,
): BacktestOutcome {
  const names = new Map(rules.map((x) => [x.def.id, x.name]));
  const alerts: BacktestHit[] = fired
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
      from: isoDay(range.from),
      to: isoDay(range.to),
      symbols: s.symbols,
      barsUsed: s.barsUsed,
      total: alerts.length,
      byRule: rules.map((x) => ({
        ruleId: x.def.id,
        ruleName: x.name,
        fired: alerts.filter((a) => a.ruleId === x.def.id).length,
      })),
      resolution: s.resolution,
    },
  };
}
