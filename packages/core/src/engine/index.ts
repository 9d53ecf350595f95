/**
 * The rule engine: pure, deterministic, allocation-light. The worker calls {@link evaluate} once
 * per poll cycle; the backtester ({@link backtest} in backtest/daily.ts) replays history bar by bar
 * through the same code. This folder is the lifecycle and the registry's user: what a kind means
 * (its params, its signal computation) is in kinds/<kind>.ts, compiled once per rule definition;
 * an alert's headlines are chosen in headlines.ts, its value rendered by units.ts.
 *
 * ## Alert lifecycle per (rule, subject)
 * ```
 *  inactive --condition--> pending --held pendingSec / session close--> firing
 *     ^   \______________________(no pending needed)_____________________^  |
 *     |                                                                      | recovered by rearmFraction
 *     +-- cooldown elapsed -- cooldown <-- cooldown not yet elapsed -- resolved (optional notice)
 * ```
 * - The subject is the symbol (basket rules: `__basket__`; news rules without a symbol: `__news__`).
 * - An event starts when an armed rule's condition becomes true; its dedup key is
 *   `${ruleId}:${subject}:${eventStart}` (eventStart = the session date, or `n-${newsItemId}` for
 *   news events), so whoever evaluates the same data computes the same key; at most one event per
 *   rule, subject and session. Resolved notices use `${dedupKey}:resolved`.
 * - While firing, the rule stays quiet. The event resolves when the measured move recovers to
 *   `(1 - rearmFraction) x threshold` (default fraction 0.5), or when the rule's window has rolled
 *   past the event's last qualifying session (a 1-session rule's event is over the next session).
 *   A new qualifying window that shares no session return with the event's last one (or a move in
 *   the other direction) is a new event: it ends the old one and fires if the cooldown allows.
 * - Cooldown: after firing, no new event before `lastFiredAt + cooldownSec`.
 * - Never evaluated on stale/failed/unknown series or on zero, negative or NaN prices: such
 *   (rule, subject) pairs are reported in `skipped` and their state is left as it is.
 *
 * ## Where things are
 * - types.ts: states, alerts, skips, input/output, keys
 * - compile.ts: a rule definition compiled once into engine specs
 * - observe.ts: what a rule sees of a symbol (quote, bar, extended hours)
 * - context.ts: one evaluation's context and state access
 * - alerts.ts: building alerts and their related news
 * - lifecycle.ts: pending/firing/resolved/cooldown of price-like rules
 * - price.ts, basket.ts, news.ts, news-price.ts: one evaluator per family
 */
import type { NewsItem } from '../domain.ts';
import type { RuleDefinition } from '../rules.ts';
import type { SymbolSeries } from '../series.ts';
import { evalBasket } from './basket.ts';
import { compile } from './compile.ts';
import type { Ctx, EngineSink } from './context.ts';
import { evalNewsRule, sortedNews } from './news.ts';
import { evalPriceRule } from './price.ts';
import type { EvaluateInput, EvaluateOutput } from './types.ts';

export { alertHeadlines } from './alerts.ts';
export * from './types.ts';

/**
 * The engine core: evaluates `rules` at instant `now` and writes to `sink`. The backtesters
 * (backtest/daily.ts, backtest/intraday.ts) replay through {@link evaluate}, so they run through here too.
 */
function runRules(
  rules: readonly RuleDefinition[],
  series: ReadonlyMap<string, SymbolSeries>,
  news: readonly NewsItem[],
  now: number,
  sink: EngineSink,
): void {
  const ctx: Ctx = { now, nowIso: null, series, news, sink, obs: new Map(), obsExt: new Map() };
  for (let i = 0; i < rules.length; i++) {
    const c = compile(rules[i] as RuleDefinition);
    if (c.price) evalPriceRule(ctx, c);
    else if (c.basket) evalBasket(ctx, c);
    else if (c.news) evalNewsRule(ctx, c);
  }
}

/**
 * Evaluates every rule against the current observations.
 *
 * Pure and deterministic: the same input gives the same output; time comes only from
 * `input.clock` (read once). `input.states` is not mutated; the result holds only the states that
 * changed, to be written with the alerts in one transaction. Two workers evaluating the same data
 * produce the same dedup keys, so the unique index on Alert.dedupKey makes the second a no-op.
 *
 * Cost: O(rules x symbols) with O(1) work per pair (precomputed windows in {@link SymbolSeries});
 * the only allocations are for state changes and alerts.
 */
export function evaluate(input: EvaluateInput): EvaluateOutput {
  const now = input.clock.now().getTime();
  const sink: EngineSink = {
    read: input.states,
    write: new Map(),
    alerts: [],
    skipped: [],
  };
  runRules(input.rules, input.series, input.news?.length ? sortedNews(input.news) : [], now, sink);
  return { alerts: sink.alerts, states: sink.write, skipped: sink.skipped };
}
