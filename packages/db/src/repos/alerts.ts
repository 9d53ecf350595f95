/**
 * Alert fan-out: the alert and one delivery per target are written in ONE transaction (the
 * outbox). Who is told, and when, is decided by the pure plan (@signals/core planFanOut, its
 * stages listed in packages/core/src/fanout/pipeline.ts) over inputs loaded once
 * (./fanout-inputs.ts); this module only writes what the plan says. The alert's dedup key is
 * unique: when two workers evaluate the same event, the second insert finds the key taken and
 * writes nothing, so nobody is told twice.
 */
import {
  BASKET_SUBJECT,
  type FanOutPlan,
  type InhibitRuleSpec,
  planFanOut,
  type SilenceSpec,
  type Severity,
  sourcesFirst,
} from '@signals/core';
import type { Prisma, PrismaClient } from '../generated/client.ts';
import { activeSymbols, loadFanOutInputs } from './fanout-inputs.ts';
import { insertDeliveries, type NewDelivery, type Tx } from './outbox.ts';

export { nextDigestAt } from '@signals/core';

export interface NewAlert {
  dedupKey: string;
  ruleId: string;
  subject: string;
  symbol?: string;
  status: 'firing' | 'resolved';
  severity: Severity;
  title: string;
  value: number;
  threshold: number;
  windowStart?: Date;
  windowEnd?: Date;
  firedAt: Date;
  details: Prisma.InputJsonValue;
}

export interface FanOutOptions {
  now: Date;
  /** Email grouping wait for immediate subscribers (Alertmanager group_wait), ms. */
  emailGroupWaitMs: number;
  /**
   * The silences active now, when the caller loaded them once for many alerts; otherwise they are
   * read here, at wall-clock time.
   */
  silences?: readonly SilenceSpec[];
  /** The inhibit rules, when the caller loaded them; otherwise read here. */
  inhibitRules?: readonly InhibitRuleSpec[];
}

export interface FanOutResult {
  alertId: string | null;
  deliveryIds: string[];
  duplicate: boolean;
  /** Set when an active silence matched: the alert is recorded and nobody is notified. */
  silenceId?: string;
  /** Set when a firing alert inhibits this one: recorded with it, nobody is notified. */
  inhibitedById?: string;
  /** What the plan decided (held messages with their reasons included). */
  plan?: FanOutPlan;
}

/** Writes the alert and its deliveries in their own transaction. */
export async function createAlertWithDeliveries(
  prisma: PrismaClient,
  alert: NewAlert,
  opts: FanOutOptions,
): Promise<FanOutResult> {
  // A fan-out to many thousands of subscribers takes longer than Prisma's 5 s default.
  const [r] = await prisma.$transaction((tx) => fanOutAlerts(tx, [alert], opts), {
    timeout: 60_000,
    maxWait: 10_000,
  });
  return r as FanOutResult;
}

/**
 * Writes the alerts of one evaluation cycle and their deliveries, inside the caller's transaction:
 * the inputs are loaded once, sources of inhibition first, and each alert written becomes a
 * possible source for the ones after it. Results in the order of `alerts`.
 */
export async function fanOutAlerts(tx: Tx, alerts: readonly NewAlert[], opts: FanOutOptions): Promise<FanOutResult[]> {
  if (alerts.length === 0) return [];
  const { inputs, instrumentIds, ruleSymbols } = await loadFanOutInputs(tx, alerts, opts);
  // A basket alert's labels are its rule's symbols, else its watchlist's members: read only then.
  const members = new Map<string, { instrument: { symbol: string } }[]>();
  const symbolsOf = async (alert: NewAlert): Promise<string[]> => {
    const symbols = ruleSymbols.get(alert.ruleId) ?? [];
    const watchlistId = inputs.rules.get(alert.ruleId)?.watchlistId ?? null;
    if (alert.subject !== BASKET_SUBJECT || symbols.length || !watchlistId)
      return activeSymbols(alert.subject, { symbols, watchlist: null });
    let m = members.get(watchlistId);
    if (!m) {
      m = await tx.watchlistMember.findMany({
        where: { watchlistId },
        select: { instrument: { select: { symbol: true } } },
      });
      members.set(watchlistId, m);
    }
    return activeSymbols(alert.subject, { symbols, watchlist: { members: m } });
  };
  const ordered = sourcesFirst(
    inputs.inhibitRules,
    alerts.map((a, i) => ({
      a,
      i,
      ruleId: a.ruleId,
      severity: a.severity,
      watchlistId: inputs.rules.get(a.ruleId)?.watchlistId ?? null,
    })),
  );
  const results: FanOutResult[] = new Array(alerts.length);
  for (const { a: alert, i } of ordered) {
    if (!inputs.rules.has(alert.ruleId))
      throw new Error(`rule ${alert.ruleId} of alert ${alert.dedupKey} does not exist`);
    const plan = planFanOut(alert, inputs);
    const inserted = await tx.alert.createManyAndReturn({
      data: [
        {
          dedupKey: alert.dedupKey,
          ruleId: alert.ruleId,
          subject: alert.subject,
          instrumentId: (alert.symbol && instrumentIds.get(alert.symbol)) || null,
          status: alert.status,
          severity: alert.severity,
          title: alert.title,
          value: alert.value,
          threshold: alert.threshold,
          windowStart: alert.windowStart ?? null,
          windowEnd: alert.windowEnd ?? null,
          firedAt: alert.firedAt,
          details: alert.details,
          silenceId: plan.silenceId ?? null,
          inhibitedById: plan.inhibitor?.alertId ?? null,
          inhibitRuleId: plan.inhibitor?.inhibitRuleId || null,
        },
      ],
      skipDuplicates: true,
      select: { id: true },
    });
    const created = inserted[0];
    if (!created) {
      results[i] = { alertId: null, deliveryIds: [], duplicate: true };
      continue;
    }
    // A firing alert written now may inhibit the alerts after it (in this cycle and later ones).
    if (alert.status === 'firing')
      inputs.activeAlerts.push({
        id: created.id,
        ruleId: alert.ruleId,
        severity: alert.severity,
        watchlistId: inputs.rules.get(alert.ruleId)?.watchlistId ?? null,
        symbols: await symbolsOf(alert),
        firedAt: alert.firedAt,
      });
    const items = plan.deliveries.map((d): NewDelivery => ({ ...d, alertId: created.id }));
    const deliveryIds = await insertDeliveries(tx, items, opts.now);
    results[i] = {
      alertId: created.id,
      deliveryIds,
      duplicate: false,
      ...(plan.silenceId ? { silenceId: plan.silenceId } : {}),
      ...(plan.inhibitor ? { inhibitedById: plan.inhibitor.alertId } : {}),
      plan,
    };
  }
  return results;
}
