/**
 * One evaluation cycle: read rules, series, news and states (one query each), run the pure
 * engine, then write the changed states and every alert with its deliveries in ONE transaction,
 * and enqueue the deliveries after the commit. A transaction-scoped advisory lock makes cycles
 * from several workers take turns; the unique dedup key is the second guard.
 */
import {
  alertHeadlines,
  type Clock,
  evaluate,
  NEWS_WINDOW_MS,
  isMarketOpen,
  type Logger,
  lookbackDays,
} from '@signals/core';
import {
  type BarCache,
  fanOutAlerts,
  loadNews,
  loadRuleDefinitions,
  loadRuleStates,
  loadSeries,
  type PrismaClient,
  saveEvaluationReport,
  saveRuleStates,
} from '@signals/db';
import type { QueueSet } from '@signals/queue';
import { DELIVERY_BATCH } from '../delivery/deliver.ts';

export interface EvaluateDeps {
  prisma: PrismaClient;
  queues: QueueSet;
  clock: Clock;
  logger: Logger;
  /** Alertmanager-style group_wait for immediate email subscribers. */
  emailGroupWaitMs: number;
  /** A quote older than this while the market is open is stale (no evaluation). */
  staleAfterMs?: number;
  /** Bars kept between cycles by this process (reloaded per symbol when they change). */
  barCache?: BarCache;
}

export interface CycleResult {
  ran: boolean;
  rules: number;
  symbols: number;
  alerts: number;
  duplicates: number;
  /** Alerts recorded without notifications, because an active silence matched them. */
  silenced: number;
  /** Alerts recorded without notifications, because a firing alert inhibits them. */
  inhibited: number;
  deliveries: number;
  skipped: number;
  ms: number;
}

/** Transaction-scoped advisory lock: one evaluator at a time across processes ("Sgnl"). */
export const EVALUATION_LOCK_KEY = 0x5167_6e6c;

export async function runEvaluationCycle(d: EvaluateDeps): Promise<CycleResult> {
  const t0 = performance.now();
  const now = d.clock.now();
  const enqueue: string[] = [];
  const result = await d.prisma.$transaction(
    async (tx) => {
      const [{ locked }] = (await tx.$queryRaw<
        { locked: boolean }[]
      >`SELECT pg_try_advisory_xact_lock(${EVALUATION_LOCK_KEY}) AS locked`) as [{ locked: boolean }];
      if (!locked) return null; // another worker is evaluating this very moment; its cycle sees the same data
      const loaded = await loadRuleDefinitions(tx, d.logger);
      const rules = loaded.map((r) => r.def);
      const symbols = new Set<string>();
      for (const r of rules) for (const s of r.symbols ?? []) symbols.add(s);
      if (rules.some((r) => !r.symbols?.length)) {
        const all = await tx.instrument.findMany({
          where: { status: 'active', members: { some: {} } },
          select: { symbol: true },
        });
        for (const i of all) symbols.add(i.symbol);
      }
      const [series, news, states] = await Promise.all([
        loadSeries(tx, [...symbols], {
          now,
          days: lookbackDays(rules),
          marketOpen: isMarketOpen(now),
          staleAfterMs: d.staleAfterMs,
          cache: d.barCache,
        }),
        // A week of news (first seen up to now): news rules look back at most that far (maxAgeMin),
        // and an alert's headlines come from its measured window, at most a week back.
        loadNews(tx, { since: new Date(now.getTime() - NEWS_WINDOW_MS), until: now, take: 5000 }),
        loadRuleStates(
          tx,
          rules.map((r) => r.id),
        ),
      ]);
      const out = evaluate({ rules, series, news, states, clock: d.clock });
      // The rule and System pages say which baskets could not be evaluated for missing members.
      const incomplete = out.skipped
        .filter((s) => s.reason === 'incomplete' && s.detail)
        .map((s) => ({ ruleId: s.ruleId, subject: s.subject, detail: s.detail as string }));
      await Promise.all([saveRuleStates(tx, out.states.values()), saveEvaluationReport(tx, now, incomplete)]);
      // An event that stopped firing resolves its alert (its notice, if the rule wants one, is a
      // candidate of its own below).
      const ended: string[] = [];
      for (const [key, next] of out.states) {
        const prev = states.get(key);
        if (prev?.phase === 'firing' && next.phase !== 'firing' && prev.data.eventKey) ended.push(prev.data.eventKey);
      }
      if (ended.length) {
        await tx.alert.updateMany({
          where: { dedupKey: { in: ended }, status: 'firing' },
          data: { status: 'resolved', resolvedAt: now },
        });
      }
      // The fan-out (silence, inhibit, route, time intervals, quiet hours, group: @signals/core
      // FANOUT_STAGES) over inputs loaded once for the cycle; sources of inhibition first, so an
      // at-event alert raised in the same cycle as its early warning holds it back.
      const fanned = await fanOutAlerts(
        tx,
        out.alerts.map((c) => ({
          dedupKey: c.dedupKey,
          ruleId: c.ruleId,
          subject: c.subject,
          symbol: c.symbol,
          status: c.status,
          severity: c.severity,
          title: c.title,
          value: c.value,
          threshold: c.threshold,
          windowStart: new Date(c.windowStart),
          windowEnd: new Date(c.windowEnd),
          firedAt: new Date(c.firedAt),
          details: {
            ...c.details,
            unit: c.unit,
            headlines: alertHeadlines(c.details.relatedNews),
          } as object,
        })),
        { now, emailGroupWaitMs: d.emailGroupWaitMs },
      );
      let alerts = 0;
      let duplicates = 0;
      let silenced = 0;
      let inhibited = 0;
      for (const r of fanned) {
        if (r.duplicate) duplicates++;
        else alerts++;
        if (r.silenceId) silenced++;
        else if (r.inhibitedById) inhibited++;
        enqueue.push(...r.deliveryIds);
      }
      return {
        rules: rules.length,
        symbols: series.size,
        alerts,
        duplicates,
        silenced,
        inhibited,
        skipped: out.skipped.length,
      };
    },
    { timeout: 30_000 },
  );
  if (!result)
    return {
      ran: false,
      rules: 0,
      symbols: 0,
      alerts: 0,
      duplicates: 0,
      silenced: 0,
      inhibited: 0,
      deliveries: 0,
      skipped: 0,
      ms: 0,
    };
  // After the commit: a crash here leaves the rows pending, and the sweeper enqueues them.
  const deliveryRows = enqueue.length
    ? await d.prisma.delivery.findMany({ where: { id: { in: enqueue } }, select: { id: true, nextAttemptAt: true } })
    : [];
  await d.queues.enqueueDeliveries(
    deliveryRows.map((r) => ({ id: r.id, delayMs: Math.max(0, r.nextAttemptAt.getTime() - d.clock.now().getTime()) })),
    { batchSize: DELIVERY_BATCH },
  );
  const res = { ran: true, ...result, deliveries: enqueue.length, ms: Math.round(performance.now() - t0) };
  if (res.alerts) d.logger.info(res, 'evaluation cycle raised alerts');
  else d.logger.debug(res, 'evaluation cycle');
  return res;
}
