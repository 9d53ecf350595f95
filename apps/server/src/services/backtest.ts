/**
 * Backtests over stored history: one plan (which rules, symbols, range; posted bars or stored
 * ones) and one executor that loads PriceBar and NewsItem rows into the engine's input and runs
 * it (backtest-engine.ts). The rule preview and POST /api/backtest both go through it, inside a
 * worker thread with a time budget (backtest-runner.ts): loading 20,000 news items and matching
 * them is work the request thread must never do.
 */
import type { History, NewsItem, RuleDefinition } from '@signals/core';
import { loadBars, loadNews as loadNewsRows, type PrismaClient } from '@signals/db';
import { type BacktestOutcome, runBacktest } from './backtest-engine.ts';

export type { BacktestHit, BacktestJob, BacktestOutcome, BacktestSummary } from './backtest-engine.ts';

/** What the loaders need: a database (the request's, or a worker thread's own client). */
export interface Db {
  prisma: PrismaClient;
}

/** Bars loaded before `from` so rolling windows (up to 520 sessions) are warm on the first day. */
export const WARMUP_MS = 800 * 86_400_000;
/** The most news items a backtest reads. */
export const NEWS_TAKE = 20_000;

/** Daily bars of `symbols` between `from` and `to` (inclusive), from PriceBar. */
export async function loadHistories(db: Db, symbols: string[], from: Date, to: Date): Promise<History[]> {
  const by = await loadBars(db.prisma, symbols, { from, to });
  return symbols.map((symbol) => ({ symbol, bars: by.get(symbol) ?? [], splits: [] }));
}

/** Symbols a rule watches: its own list, else its watchlist's members, else every watched symbol. */
export async function ruleSymbols(db: Db, rule: { symbols?: string[] | undefined; watchlistId?: string | null }) {
  if (rule.symbols?.length) return [...rule.symbols];
  const members = await db.prisma.watchlistMember.findMany({
    where: rule.watchlistId ? { watchlistId: rule.watchlistId } : {},
    select: { instrument: { select: { symbol: true } } },
  });
  return [...new Set(members.map((m) => m.instrument.symbol))].sort();
}

/** News items of `symbols` first seen in the range, for news rules. */
export async function loadNews(db: Db, symbols: string[], from: Date, to: Date): Promise<NewsItem[]> {
  // News rules without symbols match any item; with symbols, only items tagged with one.
  return loadNewsRows(db.prisma, {
    since: new Date(from.getTime() - 7 * 86_400_000),
    until: to,
    symbols,
    take: NEWS_TAKE,
  });
}

/**
 * A backtest to run: rules over `symbols` from `from` to `to`, on stored bars (with warm-up) or on
 * `histories` given with it (posted bars), with stored news when a rule reads news (or `news`).
 */
export interface BacktestPlan {
  rules: { def: RuleDefinition; name: string }[];
  symbols: string[];
  from: Date;
  to: Date;
  histories?: History[];
  news?: NewsItem[];
}

export interface PlanResult {
  outcome: BacktestOutcome;
  /** Whether any bar was there to run over (a preview says so when there was none). */
  anyBars: boolean;
}

export const usesNews = (def: RuleDefinition) => def.kind === 'news_match' || def.kind === 'confirmation';

/** Loads what the plan needs and runs it: the same data whichever door the question came through. */
export async function executePlan(db: Db, plan: BacktestPlan): Promise<PlanResult> {
  const histories =
    plan.histories ?? (await loadHistories(db, plan.symbols, new Date(plan.from.getTime() - WARMUP_MS), plan.to));
  const news =
    plan.news ??
    (plan.rules.some((r) => usesNews(r.def))
      ? await loadNews(
          db,
          histories.map((h) => h.symbol),
          plan.from,
          plan.to,
        )
      : []);
  const outcome = runBacktest({ rules: plan.rules, histories, range: { from: plan.from, to: plan.to }, news });
  return { outcome, anyBars: histories.some((h) => h.bars.length > 0) };
}
