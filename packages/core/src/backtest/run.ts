/**
 * The one backtest runner: every door (POST /api/backtest, the rule preview, `pnpm cli backtest`)
 * brings its loaded input here, and the same two decisions are made the same way for all of them.
 *
 * 1. Resolution ({@link chooseResolution}): daily bars, or intraday bars of one interval. Without
 *    an interval asked for ('auto', the default everywhere), intraday bars are used when a rule
 *    reacts within or outside the session (ruleWantsIntraday: intraday, extended-hours, news and
 *    news+price rules) and bars of an intraday interval are available (stored, or recorded files
 *    given): the finest one. An interval asked for and not available is a 422.
 * 2. Engine ({@link runBacktestJob}): the intraday replay on intraday bars (daily bars warm it
 *    up), else the daily replay; the result carries the resolution and the bars used.
 *
 * Loading is the callers' part (@signals/db loadBacktestInput for stored data, the CLI's file
 * readers for recordings); presentation too (the API's outcome, the CLI's table).
 */
import type { History, NewsItem } from '../domain.ts';
import { ValidationError } from '../errors.ts';
import type { IntradayHistory, IntradayInterval } from '../intraday.ts';
import { type RuleDefinition, ruleWantsIntraday } from '../rules.ts';
import { type BacktestResult, backtest } from './daily.ts';
import { backtestIntraday } from './intraday.ts';

/** The resolution a backtest ran at, and why (POST /api/backtest, the rule preview, the CLI). */
export interface BacktestResolution {
  interval: '1d' | IntradayInterval;
  reason: string;
}

/** What a caller asks for: daily bars, one intraday interval, or the runner's choice (default). */
export type ResolutionRequest = '1d' | 'auto' | IntradayInterval;

const DAILY_REASON = 'daily bars: this backtest replays one observation per session, at its close';

/** Ids of the rules that react within or outside the session (ruleWantsIntraday), and the verb/pronoun for them. */
function intradayMinded(rules: readonly RuleDefinition[]) {
  const ids = rules.filter((r) => ruleWantsIntraday(r)).map((r) => r.id);
  const one = ids.length === 1;
  return { ids, list: ids.join(', '), reacts: one ? 'reacts' : 'react', is: one ? 'it is' : 'they are' };
}

/** A daily backtest of `rules`; `why` says why intraday bars were not used, for the rules that would want them. */
export function dailyResolution(rules: readonly RuleDefinition[], why: string): BacktestResolution {
  const m = intradayMinded(rules);
  if (!m.ids.length) return { interval: '1d', reason: DAILY_REASON };
  return {
    interval: '1d',
    reason: `${DAILY_REASON}; ${m.list} ${m.reacts} within or outside the session, so ${m.is} measured close to close here (${why})`,
  };
}

/** An intraday backtest of `rules` on `interval` bars: asked for, or chosen because a rule wants it. */
export function intradayResolution(
  rules: readonly RuleDefinition[],
  interval: IntradayInterval,
  opts: { requested: boolean; extended: boolean },
): BacktestResolution {
  const m = intradayMinded(rules);
  const why = opts.requested
    ? `${interval} bars, as requested`
    : `${interval} bars, the finest stored for these symbols over the range, because ${m.list} ${m.reacts} within or outside the session`;
  return {
    interval,
    reason: `${why}: each bar is replayed as the live quote after it${opts.extended ? ' (pre/post-market bars as extended-hours prices)' : ''}, news at its publication time`,
  };
}

/** What is there to choose from. */
export interface ResolutionChoices {
  /** Intraday intervals with bars for the symbols over the range, finest first. */
  intervals: readonly IntradayInterval[];
  /** Set when only daily bars can be used (posted daily bars): why. */
  dailyOnly?: string | undefined;
  /**
   * What is missing, in words: the `asked` interval (the 422's message), or, without `asked`, any
   * intraday bars (the daily resolution's reason, with how to get them).
   */
  missing(asked?: IntradayInterval): string;
}

/**
 * The daily/intraday decision, made once for every door. Returns the interval to load, or why
 * the backtest runs on daily bars. Throws ValidationError 422 when an interval is asked for and
 * none of its bars are there.
 */
export function chooseResolution(
  rules: readonly RuleDefinition[],
  asked: ResolutionRequest,
  c: ResolutionChoices,
): { interval: IntradayInterval; requested: boolean } | { why: string } {
  if (c.dailyOnly !== undefined) {
    if (asked !== '1d' && asked !== 'auto')
      throw new ValidationError('Bad interval', [{ path: 'interval', message: c.dailyOnly }]);
    return { why: c.dailyOnly };
  }
  if (asked === '1d') return { why: 'daily bars were asked for' };
  if (asked !== 'auto') {
    if (c.intervals.includes(asked)) return { interval: asked, requested: true };
    throw new ValidationError('No intraday bars', [{ path: 'interval', message: c.missing(asked) }], 422);
  }
  if (!rules.some((r) => ruleWantsIntraday(r))) return { why: 'no rule wants intraday bars' };
  const finest = c.intervals[0];
  if (finest) return { interval: finest, requested: false };
  return { why: c.missing() };
}

/** A loaded backtest: rules, bars (daily; intraday when the resolution is intraday), news, range. */
export interface BacktestJob {
  rules: readonly RuleDefinition[];
  /** Daily histories (the replay itself on daily resolution, the warm-up on intraday). */
  daily: readonly History[];
  /** Intraday histories of one interval when the resolution chose them, else null. */
  intraday: readonly IntradayHistory[] | null;
  news: readonly NewsItem[];
  /** First and last day reported (YYYY-MM-DD, inclusive); open when undefined. */
  from?: string | undefined;
  to?: string | undefined;
  resolution: BacktestResolution;
  includeResolved?: boolean;
}

export interface BacktestRun {
  result: BacktestResult;
  resolution: BacktestResolution;
  /** The symbols replayed. */
  symbols: string[];
  /** Bars replayed within the reported range (intraday: with the evening of its last day). */
  barsUsed: number;
  /** Steps of the replay: sessions (daily) or bar steps (intraday). */
  steps: number;
}

const DAY_END_MS = 86_400_000 - 1;
/** The post-market of a New York day ends by 01:00 UTC the next day. */
const EVENING_MS = 6 * 3_600_000;

/** Runs a loaded backtest on the engine its resolution names. */
export function runBacktestJob(job: BacktestJob): BacktestRun {
  const opts = { from: job.from, to: job.to, news: job.news, includeResolved: job.includeResolved };
  if (job.intraday?.length) {
    const r = backtestIntraday(job.rules, job.intraday, { ...opts, daily: job.daily });
    const lo = job.from ? Date.parse(`${job.from}T00:00:00Z`) : Number.NEGATIVE_INFINITY;
    const hi = job.to ? Date.parse(`${job.to}T00:00:00Z`) + DAY_END_MS + EVENING_MS : Number.POSITIVE_INFINITY;
    let barsUsed = 0;
    for (const h of job.intraday) for (const b of h.bars) if (b.at.getTime() >= lo && b.at.getTime() <= hi) barsUsed++;
    return {
      result: r,
      resolution: job.resolution,
      symbols: job.intraday.map((h) => h.symbol),
      barsUsed,
      steps: r.steps,
    };
  }
  const r = backtest(job.rules, job.daily, opts);
  const inRange = (d: string) => (job.from === undefined || d >= job.from) && (job.to === undefined || d <= job.to);
  let barsUsed = 0;
  for (const h of job.daily) for (const b of h.bars) if (inRange(b.date)) barsUsed++;
  return {
    result: r,
    resolution: job.resolution,
    symbols: job.daily.map((h) => h.symbol),
    barsUsed,
    steps: r.sessions,
  };
}
