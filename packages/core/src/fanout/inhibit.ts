/**
 * Stage 2, inhibit (Alertmanager's inhibit_rules): while an alert matching a rule's source matcher
 * fires, an alert matching its target matcher that shares the `equal` labels with it is recorded,
 * marked with the source alert, and nobody is told. Pure: the firing alerts are loaded once.
 *
 * Labels: `symbol` is the alert's subject; a basket alert carries each member's symbol too (its
 * `symbols`), so a basket move can hold back its members' own alerts. `session` is the US market
 * date (New York) the alert fired on.
 */
import { US_MARKET_TZ, zonedDate } from '../calendar.ts';
import type { ActiveAlert, FanOutAlert, InhibitMatcher, InhibitRuleSpec, Inhibitor, Severity } from './types.ts';

interface Matchable {
  ruleId: string;
  severity: Severity;
  watchlistId: string | null;
}

/** A null matcher field matches anything; every set field must be equal. */
export function matchesMatcher(m: InhibitMatcher, a: Matchable): boolean {
  return (
    (m.ruleId === null || m.ruleId === a.ruleId) &&
    (m.severity === null || m.severity === a.severity) &&
    (m.watchlistId === null || m.watchlistId === a.watchlistId)
  );
}

/**
 * The firing alert that inhibits `alert`, with the rule that matched. The first rule (oldest) with
 * a source alert wins; among its source alerts, the earliest fired (then the smallest id).
 */
export function findInhibitor(
  rules: readonly InhibitRuleSpec[],
  active: readonly ActiveAlert[],
  alert: Pick<FanOutAlert, 'subject' | 'firedAt'> & Matchable,
): Inhibitor | undefined {
  let session: string | undefined;
  for (const r of rules) {
    if (!matchesMatcher(r.target, alert)) continue;
    let best: ActiveAlert | undefined;
    for (const src of active) {
      if (!matchesMatcher(r.source, src)) continue;
      if (r.equal.includes('symbol') && !src.symbols.includes(alert.subject)) continue;
      if (r.equal.includes('session')) {
        session ??= zonedDate(alert.firedAt, US_MARKET_TZ);
        if (zonedDate(src.firedAt, US_MARKET_TZ) !== session) continue;
      }
      if (!best || src.firedAt < best.firedAt || (src.firedAt.getTime() === best.firedAt.getTime() && src.id < best.id))
        best = src;
    }
    if (best) return { alertId: best.id, inhibitRuleId: r.id };
  }
  return undefined;
}

/**
 * Orders alerts raised together so that those that can inhibit come before those they could hold
 * back: an early warning and its at-event alert raised in the same cycle then give one message.
 * Stable otherwise.
 */
export function sourcesFirst<T extends Matchable>(rules: readonly InhibitRuleSpec[], alerts: readonly T[]): T[] {
  const isSource = (a: T) => rules.some((r) => matchesMatcher(r.source, a));
  return alerts
    .map((a, i) => ({ a, i, s: isSource(a) ? 0 : 1 }))
    .sort((x, y) => x.s - y.s || x.i - y.i)
    .map((x) => x.a);
}
