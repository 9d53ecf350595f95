/**
 * Inhibition (as Alertmanager's inhibit_rules): while an alert matching a rule's source matcher
 * fires, an alert matching its target matcher that shares the `equal` labels with it is recorded,
 * marked with the source alert (`inhibitedById`), and nobody is notified of it. One stage of the
 * fan-out, beside silences: the fan-out asks {@link findInhibitor} and writes no delivery when it
 * answers.
 *
 * Labels: `symbol` is the alert's subject; a basket alert (subject `__basket__`) carries the symbol
 * of each of its members, so a basket move can hold back its members' own alerts. `session` is the
 * US market date (New York) the alert fired on.
 */
import { BASKET_SUBJECT, US_MARKET_TZ, zonedDate, zonedTimeToUtcMs } from '@signals/core';
import type { Prisma } from '../generated/client.ts';
import type { Tx } from './outbox.ts';

export const INHIBIT_LABELS = ['symbol', 'session'] as const;
export type InhibitLabel = (typeof INHIBIT_LABELS)[number];
type Severity = 'info' | 'warning' | 'critical';

export interface InhibitMatcher {
  ruleId: string | null;
  severity: Severity | null;
  watchlistId: string | null;
}

export interface LoadedInhibitRule {
  id: string;
  source: InhibitMatcher;
  target: InhibitMatcher;
  equal: readonly InhibitLabel[];
}

/** What an alert is matched on: its rule, severity and the rule's watchlist. */
export interface InhibitSubject {
  ruleId: string;
  severity: Severity;
  watchlistId: string | null;
  subject: string;
  firedAt: Date;
}

/** A null matcher field matches anything; every set field must be equal. */
export function matchesMatcher(m: InhibitMatcher, a: Pick<InhibitSubject, 'ruleId' | 'severity' | 'watchlistId'>) {
  return (
    (m.ruleId === null || m.ruleId === a.ruleId) &&
    (m.severity === null || m.severity === a.severity) &&
    (m.watchlistId === null || m.watchlistId === a.watchlistId)
  );
}

/** Every inhibit rule, once per evaluation cycle (a handful of rows). */
export async function loadInhibitRules(tx: Tx): Promise<LoadedInhibitRule[]> {
  const rows = await tx.inhibitRule.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  return rows.map((r) => ({
    id: r.id,
    source: { ruleId: r.sourceRuleId, severity: r.sourceSeverity, watchlistId: r.sourceWatchlistId },
    target: { ruleId: r.targetRuleId, severity: r.targetSeverity, watchlistId: r.targetWatchlistId },
    equal: r.equal.filter((l): l is InhibitLabel => (INHIBIT_LABELS as readonly string[]).includes(l)),
  }));
}

/**
 * Orders alerts raised together so that those that can inhibit come before those they could hold
 * back: an early warning and its at-event alert raised in the same cycle then give one message.
 * Stable otherwise.
 */
export function sourcesFirst<T extends Pick<InhibitSubject, 'ruleId' | 'severity' | 'watchlistId'>>(
  rules: readonly LoadedInhibitRule[],
  alerts: readonly T[],
): T[] {
  const isSource = (a: T) => rules.some((r) => matchesMatcher(r.source, a));
  return alerts
    .map((a, i) => ({ a, i, s: isSource(a) ? 0 : 1 }))
    .sort((x, y) => x.s - y.s || x.i - y.i)
    .map((x) => x.a);
}

/** The UTC bounds of the New York calendar day an instant falls on. */
function sessionBounds(at: Date): { gte: Date; lt: Date } {
  const day = zonedDate(at, US_MARKET_TZ);
  const start = zonedTimeToUtcMs(day, 0, 0, US_MARKET_TZ);
  // The next day's midnight, computed from its own date so a DST change is handled.
  const next = zonedDate(start + 30 * 3600_000, US_MARKET_TZ);
  return { gte: new Date(start), lt: new Date(zonedTimeToUtcMs(next, 0, 0, US_MARKET_TZ)) };
}

/** The filter on source alerts for one inhibit rule and one target alert. */
function sourceWhere(r: LoadedInhibitRule, a: InhibitSubject, excludeId?: string): Prisma.AlertWhereInput {
  const and: Prisma.AlertWhereInput[] = [{ status: 'firing' }];
  if (excludeId) and.push({ id: { not: excludeId } });
  if (r.source.ruleId) and.push({ ruleId: r.source.ruleId });
  if (r.source.severity) and.push({ severity: r.source.severity });
  if (r.source.watchlistId) and.push({ rule: { watchlistId: r.source.watchlistId } });
  if (r.equal.includes('session')) and.push({ firedAt: sessionBounds(a.firedAt) });
  if (r.equal.includes('symbol')) {
    and.push({
      OR: [
        { subject: a.subject },
        // A basket alert stands for each of its members: the rule's symbols, else its watchlist's.
        {
          subject: BASKET_SUBJECT,
          rule: {
            OR: [
              { symbols: { has: a.subject } },
              { symbols: { isEmpty: true }, watchlist: { members: { some: { instrument: { symbol: a.subject } } } } },
            ],
          },
        },
      ],
    });
  }
  return { AND: and };
}

/**
 * The firing alert that inhibits `alert`, with the inhibit rule that matched, or undefined. The
 * first rule (oldest) with a source alert wins; among its source alerts, the earliest fired.
 */
export async function findInhibitor(
  tx: Tx,
  rules: readonly LoadedInhibitRule[],
  alert: InhibitSubject,
  excludeId?: string,
): Promise<{ alertId: string; inhibitRuleId: string } | undefined> {
  for (const r of rules) {
    if (!matchesMatcher(r.target, alert)) continue;
    const src = await tx.alert.findFirst({
      where: sourceWhere(r, alert, excludeId),
      orderBy: [{ firedAt: 'asc' }, { id: 'asc' }],
      select: { id: true },
    });
    if (src) return { alertId: src.id, inhibitRuleId: r.id };
  }
  return undefined;
}
