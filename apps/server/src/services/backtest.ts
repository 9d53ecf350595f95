/**
 * Backtests over stored history: one plan (which rules, symbols, range; posted bars or stored
 * ones) and one executor. It loads its input with the one backtest input loader (@signals/db
 * loadBacktestInput: warm-up from the kinds' look-back, news by publication time, inclusive dates,
 * and core's one daily/intraday decision over the stored intervals), runs core's one runner
 * (runBacktestJob, the same as `pnpm cli backtest`) and presents the result (backtest-present.ts).
 * The rule preview and POST /api/backtest both go through it, inside a worker thread with a time
 * budget (backtest-runner.ts): loading 20,000 news items and matching them is work the request
 * thread must never do.
 */
import {
  type BacktestJob,
  chooseResolution,
  dailyResolution,
  type History,
  type IntradayInterval,
  type NewsItem,
  type RuleDefinition,
  ruleNeedsNews,
  runBacktestJob,
} from '@signals/core';
import { loadBacktestInput, type PrismaClient } from '@signals/db';
import { type BacktestOutcome, presentBacktest } from './backtest-present.ts';

export type { BacktestHit, BacktestOutcome, BacktestSummary } from './backtest-present.ts';

/** What the loaders need: a database (the request's, or a worker thread's own client). */
export interface Db {
  prisma: PrismaClient;
}

/** Symbols a rule watches: its own list, else its watchlist's members, else every watched symbol. */
export async function watchedSymbols(db: Db, rule: { symbols?: string[] | undefined; watchlistId?: string | null }) {
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
   * Intraday bars of this interval (the request named it; 422 when none are stored). Without it
   * the runner chooses: the finest stored interval when a rule wants intraday bars, else daily.
   */
  interval?: IntradayInterval;
}

export interface PlanResult {
  outcome: BacktestOutcome;
  /** Whether any bar was there to run over (a preview says so when there was none). */
  anyBars: boolean;
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);
const POSTED = 'the bars given are daily; without them the stored intraday bars are used';

/** Loads what the plan needs and runs it: the same data whichever door the question came through. */
export async function executePlan(db: Db, plan: BacktestPlan): Promise<PlanResult> {
  const rules = plan.rules.map((r) => r.def);
  const range = { from: isoDay(plan.from), to: isoDay(plan.to) };
  let job: BacktestJob;
  // Posted bars bring their own data: the database is read only when a rule needs news.
  if (plan.histories && (plan.news || !rules.some((r) => ruleNeedsNews(r)))) {
    const chosen = chooseResolution(rules, plan.interval ?? 'auto', {
      intervals: [],
      dailyOnly: POSTED,
      missing: () => POSTED,
    });
    job = {
      rules,
      daily: plan.histories,
      intraday: null,
      news: plan.news ?? [],
      ...range,
      resolution: dailyResolution(rules, 'why' in chosen ? chosen.why : POSTED),
    };
  } else {
    const input = await loadBacktestInput(db.prisma, {
      rules,
      symbols: plan.symbols,
      from: plan.from,
      to: plan.to,
      histories: plan.histories,
      interval: plan.interval ?? 'auto',
    });
    job = {
      rules,
      daily: input.histories,
      intraday: input.intraday,
      news: plan.news ?? input.news,
      ...range,
      resolution: input.resolution,
    };
  }
  const run = runBacktestJob(job);
  const bars = job.intraday ?? job.daily;
  return { outcome: presentBacktest(plan.rules, run, range), anyBars: bars.some((h) => h.bars.length > 0) };
}
