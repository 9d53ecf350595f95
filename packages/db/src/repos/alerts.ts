/**
 * Alert fan-out: the alert and one delivery per target are written in ONE transaction (the
 * outbox). The alert's dedup key is unique: when two workers evaluate the same event, the second
 * insert finds the key taken and writes nothing, so nobody is told twice.
 */
import { activeAt, deliveryTime, type QuietChannel, storedIntervals } from '@signals/core';
import type { Prisma, PrismaClient } from '../generated/client.ts';
import { insertDeliveries, type NewDelivery, type Tx } from './outbox.ts';
import { findInhibitor, type LoadedInhibitRule, loadInhibitRules } from './inhibitions.ts';
import { type ActiveSilence, activeSilences, matchSilence } from './silences.ts';

export interface NewAlert {
  dedupKey: string;
  ruleId: string;
  subject: string;
  symbol?: string;
  status: 'firing' | 'resolved';
  severity: 'info' | 'warning' | 'critical';
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
   * The silences active now, when the caller loaded them once for many alerts (an evaluation
   * cycle); otherwise they are read for this alert, at wall-clock time.
   */
  silences?: readonly ActiveSilence[];
  /** The inhibit rules, when the caller loaded them once for many alerts; otherwise read here. */
  inhibitRules?: readonly LoadedInhibitRule[];
}

export interface FanOutResult {
  alertId: string | null;
  deliveryIds: string[];
  duplicate: boolean;
  /** Set when an active silence matched: the alert is recorded and nobody is notified. */
  silenceId?: string;
  /** Set when a firing alert inhibits this one: recorded with it, nobody is notified. */
  inhibitedById?: string;
}

const RESOLVED_SUFFIX = ':resolved';

/** Start of the next digest window for a subscriber: windows are aligned to the epoch. */
export function nextDigestAt(now: Date, windowSec: number): Date {
  const w = Math.max(60, windowSec) * 1000;
  return new Date(Math.ceil(now.getTime() / w) * w);
}

/** Writes the alert and its deliveries in their own transaction. */
export async function createAlertWithDeliveries(
  prisma: PrismaClient,
  alert: NewAlert,
  opts: FanOutOptions,
): Promise<FanOutResult> {
  // A fan-out to many thousands of subscribers takes longer than Prisma's 5 s default.
  return prisma.$transaction((tx) => fanOutInTx(tx, alert, opts), { timeout: 60_000, maxWait: 10_000 });
}

/** The same, inside a transaction the caller holds (the evaluation cycle writes states with it). */
export async function fanOutInTx(tx: Tx, alert: NewAlert, opts: FanOutOptions): Promise<FanOutResult> {
  {
    const instrument = alert.symbol
      ? await tx.instrument.findUnique({ where: { symbol: alert.symbol }, select: { id: true } })
      : null;
    const silence = matchSilence(opts.silences ?? (await activeSilences(tx, new Date())), alert);
    const rule = await tx.rule.findUniqueOrThrow({
      where: { id: alert.ruleId },
      select: { watchlistId: true, notifyResolved: true },
    });
    let inhibitor = await findInhibitor(tx, opts.inhibitRules ?? (await loadInhibitRules(tx)), {
      ruleId: alert.ruleId,
      severity: alert.severity,
      watchlistId: rule.watchlistId,
      subject: alert.subject,
      firedAt: alert.firedAt,
    });
    // Nobody was told it fired, so nobody is told it resolved: a resolved notice of an inhibited
    // alert is held by the same source (the engine keys notices `<dedupKey>:resolved`).
    if (!inhibitor && alert.status === 'resolved' && alert.dedupKey.endsWith(RESOLVED_SUFFIX)) {
      const fired = await tx.alert.findUnique({
        where: { dedupKey: alert.dedupKey.slice(0, -RESOLVED_SUFFIX.length) },
        select: { inhibitedById: true, inhibitRuleId: true },
      });
      if (fired?.inhibitedById) inhibitor = { alertId: fired.inhibitedById, inhibitRuleId: fired.inhibitRuleId ?? '' };
    }
    const inserted = await tx.alert.createManyAndReturn({
      data: [
        {
          dedupKey: alert.dedupKey,
          ruleId: alert.ruleId,
          subject: alert.subject,
          instrumentId: instrument?.id ?? null,
          status: alert.status,
          severity: alert.severity,
          title: alert.title,
          value: alert.value,
          threshold: alert.threshold,
          windowStart: alert.windowStart ?? null,
          windowEnd: alert.windowEnd ?? null,
          firedAt: alert.firedAt,
          details: alert.details,
          silenceId: silence?.id ?? null,
          inhibitedById: inhibitor?.alertId ?? null,
          inhibitRuleId: inhibitor?.inhibitRuleId || null,
        },
      ],
      skipDuplicates: true,
      select: { id: true },
    });
    const created = inserted[0];
    if (!created) return { alertId: null, deliveryIds: [], duplicate: true };
    if (silence || inhibitor)
      return {
        alertId: created.id,
        deliveryIds: [],
        duplicate: false,
        ...(silence ? { silenceId: silence.id } : {}),
        ...(inhibitor ? { inhibitedById: inhibitor.alertId } : {}),
      };

    if (alert.status === 'resolved' && !rule.notifyResolved) {
      return { alertId: created.id, deliveryIds: [], duplicate: false };
    }
    const eventType = alert.status === 'firing' ? 'alert.firing' : 'alert.resolved';

    // Confirmed subscribers who asked for this rule, or for its watchlist, or for the watchlist of
    // the instrument (a rule without a watchlist is scoped by its symbols).
    const watchlistIds = new Set<string>();
    if (rule.watchlistId) watchlistIds.add(rule.watchlistId);
    if (instrument) {
      const memberOf = await tx.watchlistMember.findMany({
        where: { instrumentId: instrument.id },
        select: { watchlistId: true },
      });
      for (const m of memberOf) watchlistIds.add(m.watchlistId);
    }
    const wanted = { OR: [{ ruleId: alert.ruleId }, { watchlistId: { in: [...watchlistIds] } }] };
    const subscribers = await tx.subscriber.findMany({
      where: { status: 'confirmed', subscriptions: { some: wanted } },
      select: {
        id: true,
        mode: true,
        digestWindowSec: true,
        timeZone: true,
        quietHours: true,
        quietCriticalBreaksThrough: true,
        subscriptions: { where: wanted, select: { activeIntervals: true } },
        // Chat channels only once their owner confirmed them.
        channels: { where: { status: 'confirmed' }, select: { id: true, kind: true } },
      },
    });
    const endpoints = await tx.webhookEndpoint.findMany({
      where: { status: 'active', OR: [{ eventTypes: { isEmpty: true } }, { eventTypes: { has: eventType } }] },
      select: { id: true, activeIntervals: true },
    });

    // Time intervals mute (as Alertmanager's active_time_intervals): a subscriber is notified when
    // one of the subscriptions that matched is active now, in the subscriber's time zone; an
    // endpoint when it is active now (UTC unless an interval names a location).
    const live = subscribers.filter((s) =>
      s.subscriptions.some((x) => activeAt(opts.now, storedIntervals(x.activeIntervals), s.timeZone)),
    );
    // Quiet hours hold: each channel's delivery is due when its quiet hours end (a critical alert
    // may break through), so the alerts held are due together and leave as one message.
    const due = (s: (typeof live)[number], channel: QuietChannel, base: Date) =>
      deliveryTime(base, {
        timeZone: s.timeZone,
        quietHours: s.quietHours,
        channel,
        severity: alert.severity,
        criticalBreaksThrough: s.quietCriticalBreaksThrough,
      });
    const items: NewDelivery[] = [
      ...live.map(
        (s): NewDelivery => ({
          channel: 'email',
          subscriberId: s.id,
          alertId: created.id,
          eventType,
          notBefore: due(
            s,
            'email',
            s.mode === 'digest'
              ? nextDigestAt(opts.now, s.digestWindowSec)
              : new Date(opts.now.getTime() + opts.emailGroupWaitMs),
          ),
        }),
      ),
      ...live.flatMap((s) =>
        s.channels.map(
          (ch): NewDelivery => ({
            channel: ch.kind,
            subscriberId: s.id,
            channelId: ch.id,
            alertId: created.id,
            eventType,
            notBefore: due(s, ch.kind, opts.now),
          }),
        ),
      ),
      ...endpoints
        .filter((e) => activeAt(opts.now, storedIntervals(e.activeIntervals), 'UTC'))
        .map((e): NewDelivery => ({ channel: 'webhook', endpointId: e.id, alertId: created.id, eventType })),
    ];
    const deliveryIds = await insertDeliveries(tx, items, opts.now);
    return { alertId: created.id, deliveryIds, duplicate: false };
  }
}
