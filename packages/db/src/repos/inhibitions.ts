/**
 * Inhibition (as Alertmanager's inhibit_rules): while an alert matching a rule's source matcher
 * fires, an alert matching its target matcher that shares the `equal` labels with it is recorded,
 * marked with the source alert (`inhibitedById`), and nobody is notified of it. One stage of the
 * fan-out, beside silences: the stage itself is pure (@signals/core fanout/inhibit.ts); this module
 * loads the rules.
 *
 * Labels: `symbol` is the alert's subject; a basket alert (subject `__basket__`) carries the symbol
 * of each of its members, so a basket move can hold back its members' own alerts. `session` is the
 * US market date (New York) the alert fired on.
 */
import { INHIBIT_LABELS, type InhibitLabel, type InhibitRuleSpec } from '@signals/core';
import type { Tx } from './outbox.ts';

export { INHIBIT_LABELS, type InhibitLabel, matchesMatcher, sourcesFirst } from '@signals/core';
/** An inhibit rule as loaded (the plan's InhibitRuleSpec). */
export type LoadedInhibitRule = InhibitRuleSpec;

/** Every inhibit rule, once per evaluation cycle (a handful of rows), oldest first. */
export async function loadInhibitRules(tx: Tx): Promise<LoadedInhibitRule[]> {
  const rows = await tx.inhibitRule.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  return rows.map((r) => ({
    id: r.id,
    source: { ruleId: r.sourceRuleId, severity: r.sourceSeverity, watchlistId: r.sourceWatchlistId },
    target: { ruleId: r.targetRuleId, severity: r.targetSeverity, watchlistId: r.targetWatchlistId },
    equal: r.equal.filter((l): l is InhibitLabel => (INHIBIT_LABELS as readonly string[]).includes(l)),
  }));
}
