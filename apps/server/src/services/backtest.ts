/**
 * Backtests over stored history: one plan (which rules, symbols, range; posted bars or stored
 * ones) and one executor that loads its input with the one backtest input loader
 * (@signals/db loadBacktestInput: warm-up from the kinds' look-back, news by publication time,
 * inclusive dates, intraday bars when a rule wants them and they are stored; the CLI uses it too)
 * and runs the engine on daily or intraday bars (backtest-engine.ts). The rule preview
 * and POST /api/backtest both go through it, inside a worker thread with a time budget
 * (backtest-runner.ts): loading 20,000 news items and matching them is work the request thread
 * must never do.
 */
import {
  dailyResolution,
  type History,
  type IntradayInterval,
  type NewsItem,
  type RuleDefinition,
  ruleNeedsNews,
  ruleNeedsPrices,
} from '@signals/core';
import { loadBacktestInput, type PrismaClient } from '@signals/db';
import { type BacktestOutcome, runBacktest, runBacktestIntraday } from './backtest-engine.ts';

export type { BacktestHit, BacktestJob, BacktestOutcome, BacktestSummary } from './backtest-engine.ts';

/** What the loaders need: a database (the request's, or a worker thread's own client). */
export interface Db {
  prisma: PrismaClient;
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

/**
 * A backtest to run: rules over `symbols` from `from` to `to`, on stored bars (with warm-up) or on
 * `histories` given with it (posted bars), with the stored news of its symbols (or `news`).
 */
export interface BacktestPlan {
  rules: { def: RuleDefinition; name: string }[];
  symbols: string[];
  from: Date;
  to: Date;
  histories?: History[];
  news?: NewsItem[];
  /**
   * Intraday bars of this interval (the request named it; checked stored before). Without it the
   * loader picks: the finest stored interval when a rule wants intraday bars, else daily.
   */
  interval?: IntradayInterval;
}

export interface PlanResult {
  outcome: BacktestOutcome;
  /** Whether any bar was there to run over (a preview says so when there was none). */
  anyBars: boolean;
}

/** Loads what the plan needs and runs it: the same data whichever door the question came through. */
export async function executePlan(db: Db, plan: BacktestPlan): Promise<PlanResult> {
  // Posted bars bring their own data: the database is read only when a rule needs news.
  if (plan.histories && (plan.news || !plan.rules.some((r) => ruleNeedsNews(r.def)))) {
    const outcome = runBacktest({
      rules: plan.rules,
      histories: plan.histories,
      range: { from: plan.from, to: plan.to },
      news: plan.news ?? [],
      resolution: dailyResolution(
        plan.rules.map((r) => r.def),
        'the bars given are daily; without them the stored intraday bars are used',
      ),
    });
    return { outcome, anyBars: plan.histories.some((h) => h.bars.length > 0) };
  }
  const input = await loadBacktestInput(db.prisma, {
    rules: plan.rules.map((r) => r.def),
    symbols: plan.symbols,
    from: plan.from,
    to: plan.to,
    histories: plan.histories,
    interval: plan.interval ?? 'auto',
  });
  const news = plan.news ?? input.news;
  if (input.intraday) {
    const outcome = runBacktestIntraday({
      rules: plan.rules,
      histories: input.histories,
      intraday: input.intraday,
      range: { from: plan.from, to: plan.to },
      news,
      resolution: input.resolution,
    });
    return { outcome, anyBars: input.intraday.some((h) => h.bars.length > 0) };
  }
  const outcome = runBacktest({
    rules: plan.rules,
    histories: input.histories,
    range: { from: plan.from, to: plan.to },
    news,
    resolution: input.resolution,
  });
  return { outcome, anyBars: input.histories.some((h) => h.bars.length > 0) };
}
