/**
 * Backtests: replays daily history bar by bar through {@link evaluate} (the same state machine the
 * worker runs: pending, cooldown and re-arm apply), with the clock pinned to each session's close,
 * and news_match rules also at each news item's own time (as the live worker sees it).
 * Deterministic: same rules and histories, same alerts.
 */
import { sessionCloseMs, zonedDate } from '../calendar.ts';
import { FixedClock, type History, type NewsItem } from '../domain.ts';
import { ValidationError } from '../errors.ts';
import { NEWS_WINDOW_MS } from '../headlines.ts';
import { alertHeadlines, type EvaluateOutput, evaluate, type RuleStateSnapshot } from '../engine/index.ts';
import { type RuleDefinition, type RuleKind, rulePerSymbol } from '../rules.ts';
import { createSeries, type SymbolSeries } from '../series.ts';
import type { Unit } from '../units.ts';

export interface BacktestOptions {
  /** First session date (YYYY-MM-DD) to report alerts for; earlier bars only warm up the windows. */
  from?: string;
  /** Last session date to replay. */
  to?: string;
  /** News to replay: each item is visible from its firstSeenAt on (no look-ahead). */
  news?: readonly NewsItem[];
  /** Also list resolved notices (rules with notifyResolved) in `alerts`. Default false. */
  includeResolved?: boolean;
}

export interface BacktestAlert {
  /** Rule id. */
  rule: string;
  ruleName: string;
  /** Symbol, or `__basket__` / `__news__`. */
  symbol: string;
  /** Session date (YYYY-MM-DD) of the bar the alert was raised on. */
  at: string;
  value: number;
  threshold: number;
  /** Unit of value and threshold (the rule kind's). */
  unit: Unit;
  /** The alert's headlines ("why it moved"), best first, as a live alert stores them. */
  headlines: { title: string; link: string | null; publishedAt: string | null }[];
  status: 'firing' | 'resolved';
  dedupKey: string;
  title: string;
}

export interface BacktestRuleSummary {
  rule: string;
  name: string;
  kind: RuleKind;
  /** Firing alerts (events) in the reported range. */
  fired: number;
  /** Resolved notices in the reported range (only rules with notifyResolved). */
  resolved: number;
  /** Subjects that fired at least once. */
  subjects: number;
  /** Evaluations refused, by reason (stale is not counted: a symbol without a bar that day). */
  skipped: Partial<Record<string, number>>;
}

export interface BacktestResult {
  alerts: BacktestAlert[];
  summary: BacktestRuleSummary[];
  /** Sessions replayed (union of the histories' dates within `to`). */
  sessions: number;
  /** Rule x subject evaluations (one per rule, symbol and bar; one per rule and session for basket/news rules). */
  evaluations: number;
  /** Final states (for inspection). */
  states: Map<string, RuleStateSnapshot>;
}

/** Sorted union of the dates of all series. */
function unionDates(series: readonly SymbolSeries[]): string[] {
  if (series.length === 1) return [...(series[0] as SymbolSeries).dates];
  const set = new Set<string>();
  for (const s of series) for (const d of s.dates) set.add(d);
  return [...set].sort();
}

/**
 * Replays `histories` (split-adjusted daily bars) through the rules, one session at a time.
 * On each session date every series shows the bars up to that date; a series without a bar that
 * day is stale for that step (not evaluated, state kept).
 */
export function backtest(
  rules: readonly RuleDefinition[],
  histories: readonly History[],
  opts: BacktestOptions = {},
): BacktestResult {
  const seen = new Set<string>();
  const all: SymbolSeries[] = [];
  for (const h of histories) {
    if (seen.has(h.symbol)) throw new ValidationError(`backtest: two histories for ${h.symbol}`);
    seen.add(h.symbol);
    all.push(createSeries(h));
  }
  const seriesMap = new Map<string, SymbolSeries>();
  for (const s of all) {
    s.length = 0;
    seriesMap.set(s.symbol, s);
  }
  const news = [...(opts.news ?? [])].sort((a, b) => a.firstSeenAt.getTime() - b.firstSeenAt.getTime());
  let newsLo = 0;
  let newsHi = 0;
  /** The next item whose own instant is still to be evaluated (news rules, see below). */
  let newsAt = 0;
  const newsRules = news.length ? rules.filter((r) => r.kind === 'news_match') : [];

  const dates = unionDates(all).filter((d) => opts.to === undefined || d <= opts.to);
  const states = new Map<string, RuleStateSnapshot>();
  const clock = new FixedClock(new Date(0));
  const pointers = new Int32Array(all.length);
  const tally = new BacktestTally(rules);
  const noNews: NewsItem[] = [];

  for (const d of dates) {
    for (let j = 0; j < all.length; j++) {
      const s = all[j] as SymbolSeries;
      let p = pointers[j] as number;
      while (p < s.dates.length && (s.dates[p] as string) <= d) p++;
      pointers[j] = p;
      s.length = p;
      s.freshness = p > 0 && s.dates[p - 1] === d ? 'fresh' : 'stale';
    }
    const now = sessionCloseMs(d);
    // News rules (news_match) fire in the live worker when an item is seen, weekends and nights
    // included; judged only at the next session close, an item older than the rule's maxAge by
    // then (a Saturday's, at Monday's close) would be dropped and the cooldowns would start at
    // other instants. So they are also evaluated at each item's own time before the close.
    if (newsRules.length) {
      while (newsAt < news.length && (news[newsAt] as NewsItem).firstSeenAt.getTime() < now) {
        const t = (news[newsAt] as NewsItem).firstSeenAt.getTime();
        while (newsAt < news.length && (news[newsAt] as NewsItem).firstSeenAt.getTime() === t) newsAt++;
        let lo = newsAt;
        while (lo > 0 && (news[lo - 1] as NewsItem).firstSeenAt.getTime() > t - NEWS_WINDOW_MS) lo--;
        clock.set(new Date(t));
        const at = evaluate({ rules: newsRules, series: seriesMap, news: news.slice(lo, newsAt), states, clock });
        for (const [k, v] of at.states) states.set(k, v);
        const day = zonedDate(t);
        if (opts.from === undefined || day >= opts.from) tally.record(at, day);
      }
    }
    clock.set(new Date(now));
    let window: readonly NewsItem[] = noNews;
    if (news.length) {
      while (newsHi < news.length && (news[newsHi] as NewsItem).firstSeenAt.getTime() <= now) newsHi++;
      while (newsLo < newsHi && (news[newsLo] as NewsItem).firstSeenAt.getTime() <= now - NEWS_WINDOW_MS) newsLo++;
      window = news.slice(newsLo, newsHi);
    }
    const out = evaluate({ rules, series: seriesMap, news: window, states, clock });
    for (const [k, v] of out.states) states.set(k, v);
    tally.countSkips(out);
    if (opts.from === undefined || d >= opts.from) tally.record(out, d);
  }
  const evaluations = countEvaluations(rules, all, dates);
  return {
    alerts: tally.reported(opts.includeResolved),
    summary: tally.summary(),
    sessions: dates.length,
    evaluations,
    states,
  };
}

/**
 * What a backtest counts from each evaluation, the same for daily and intraday replays: skips per
 * rule and reason (stale is the replay's own doing, not a finding), the alerts as BacktestAlerts,
 * and the per-rule summary at the end.
 */
export class BacktestTally {
  readonly alerts: BacktestAlert[] = [];
  private readonly skipped = new Map<string, Partial<Record<string, number>>>();
  private readonly names: Map<string, string>;

  constructor(private readonly rules: readonly RuleDefinition[]) {
    this.names = new Map(rules.map((r) => [r.id, r.name]));
  }

  countSkips(out: EvaluateOutput): void {
    for (const sk of out.skipped) {
      if (sk.reason === 'stale') continue;
      let m = this.skipped.get(sk.ruleId);
      if (!m) {
        m = {};
        this.skipped.set(sk.ruleId, m);
      }
      m[sk.reason] = (m[sk.reason] ?? 0) + 1;
    }
  }

  /** Records the evaluation's alerts as raised at `at` (a session date, or a bar's ISO time). */
  record(out: EvaluateOutput, at: string): void {
    for (const a of out.alerts) {
      this.alerts.push({
        rule: a.ruleId,
        ruleName: this.names.get(a.ruleId) ?? a.ruleId,
        symbol: a.subject,
        at,
        value: a.value,
        threshold: a.threshold,
        unit: a.unit,
        headlines: alertHeadlines(a.details.relatedNews),
        status: a.status,
        dedupKey: a.dedupKey,
        title: a.title,
      });
    }
  }

  summary(): BacktestRuleSummary[] {
    return this.rules.map((r) => {
      const mine = this.alerts.filter((a) => a.rule === r.id);
      const firing = mine.filter((a) => a.status === 'firing');
      return {
        rule: r.id,
        name: r.name,
        kind: r.kind,
        fired: firing.length,
        resolved: mine.length - firing.length,
        subjects: new Set(firing.map((a) => a.symbol)).size,
        skipped: this.skipped.get(r.id) ?? {},
      };
    });
  }

  /** The alerts to report: the firing ones, or every transition with `includeResolved`. */
  reported(includeResolved: boolean | undefined): BacktestAlert[] {
    return includeResolved ? this.alerts : this.alerts.filter((a) => a.status === 'firing');
  }
}

/** Rule x symbol pairs with a bar on each date (what the engine evaluated), for throughput figures. */
function countEvaluations(rules: readonly RuleDefinition[], all: readonly SymbolSeries[], dates: string[]): number {
  const last = dates[dates.length - 1];
  const barsOf = new Map<SymbolSeries, number>();
  for (const s of all) {
    let bars = 0;
    for (const d of s.dates) if (last !== undefined && d <= last) bars++;
    barsOf.set(s, bars);
  }
  let n = 0;
  for (const r of rules) {
    if (!rulePerSymbol(r)) {
      n += dates.length;
      continue;
    }
    for (const s of all) {
      if (r.symbols && !r.symbols.includes(s.symbol)) continue;
      n += barsOf.get(s) ?? 0;
    }
  }
  return n;
}
