/**
 * Backtests over stored history: PriceBar rows (or bars posted with the request) turned into the
 * engine's History, run through @signals/core's `backtest(rules, histories)`, reduced to a list of
 * every alert that would have fired plus a summary.
 */
import { type History, type NewsItem, type RuleDefinition, backtest } from '@signals/core';
import type { Runtime } from '../context.ts';
import { loadBars, loadNews as loadNewsRows } from '@signals/db';

export interface BacktestHit {
  ruleId: string;
  ruleName: string;
  symbol: string;
  at: string;
  value: number;
  threshold: number;
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

/** Bars loaded before `from` so rolling windows (up to 520 sessions) are warm on the first day. */
export const WARMUP_MS = 800 * 86_400_000;

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** Daily bars of `symbols` between `from` and `to` (inclusive), from PriceBar. */
export async function loadHistories(rt: Runtime, symbols: string[], from: Date, to: Date): Promise<History[]> {
  const by = await loadBars(rt.prisma, symbols, { from, to });
  return symbols.map((symbol) => ({ symbol, bars: by.get(symbol) ?? [], splits: [] }));
}

/** Symbols a rule watches: its own list, else its watchlist's members, else every watched symbol. */
export async function ruleSymbols(rt: Runtime, rule: { symbols?: string[] | undefined; watchlistId?: string | null }) {
  if (rule.symbols?.length) return [...rule.symbols];
  const members = await rt.prisma.watchlistMember.findMany({
    where: rule.watchlistId ? { watchlistId: rule.watchlistId } : {},
    select: { instrument: { select: { symbol: true } } },
  });
  return [...new Set(members.map((m) => m.instrument.symbol))].sort();
}

/** News items of `symbols` first seen in the range, for news rules. */
export async function loadNews(rt: Runtime, symbols: string[], from: Date, to: Date): Promise<NewsItem[]> {
  // News rules without symbols match any item; with symbols, only items tagged with one.
  return loadNewsRows(rt.prisma, {
    since: new Date(from.getTime() - 7 * 86_400_000),
    until: to,
    symbols,
    take: 20_000,
  });
}

/**
 * Runs the engine's backtest. `histories` may start before `range.from` (warm-up); only alerts
 * from `range.from` on are reported.
 */
export function runBacktest(
  rules: { def: RuleDefinition; name: string }[],
  histories: History[],
  range: { from: Date; to: Date },
  news: NewsItem[] = [],
): BacktestOutcome {
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
