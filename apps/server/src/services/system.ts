/** Data freshness per source, the source events (degraded, recovered, drift), and the loops. */
import { type Env, loopIntervals } from '@signals/config';
import type { LoopStatus } from '@signals/core';
import { loadEvaluationReport, loopStatus, type PrismaClient, tableStats, watchedFreshness } from '@signals/db';
import type { Runtime } from '../context.ts';

/**
 * Every loop's liveness as this server judges it: from the heartbeats in Postgres, with this
 * process's settings for a loop that has none yet (overdue one period after the server started).
 */
export function serverLoops(prisma: PrismaClient, env: Env): () => Promise<LoopStatus[]> {
  const startedAt = new Date();
  const expected = loopIntervals(env);
  return () => loopStatus(prisma, { now: new Date(), expected, watchingSince: startedAt });
}

export async function systemStatus(rt: Runtime) {
  const [fresh, lastFetch, feeds, events, loops, incidents, report] = await Promise.all([
    // Judged by when each newest price is from (in a replay: against the replay's newest price).
    watchedFreshness(rt.prisma, { now: rt.clock.now(), replay: rt.priceSource?.name === 'replay' }),
    rt.prisma.instrument.aggregate({ _max: { lastFetchedAt: true, lastSourceAt: true } }),
    rt.prisma.feed.findMany({ orderBy: { name: 'asc' } }),
    rt.prisma.sourceEvent.findMany({ orderBy: { createdAt: 'desc' }, take: 100 }),
    rt.loops(),
    rt.prisma.loopIncident.findMany({ orderBy: { degradedAt: 'desc' }, take: 50 }),
    loadEvaluationReport(rt.prisma),
  ]);
  const ruleNames = new Map(
    (
      await rt.prisma.rule.findMany({
        where: { id: { in: report.incomplete.map((i) => i.ruleId) } },
        select: { id: true, name: true },
      })
    ).map((r) => [r.id, r.name]),
  );
  const feedStatus = feeds.map((f) => ({
    source: `feed:${f.id}`,
    name: f.name,
    enabled: f.enabled,
    lastSuccessAt: f.lastSuccessAt?.toISOString() ?? null,
    lastError: f.lastError,
    consecutiveFailures: f.consecutiveFailures,
  }));
  const lastEventBySource = new Map<string, (typeof events)[number]>();
  for (const e of events) if (!lastEventBySource.has(e.source)) lastEventBySource.set(e.source, e);
  const degraded = [...lastEventBySource.values()].filter((e) => e.kind === 'degraded').map((e) => e.source);
  return {
    prices: {
      source: rt.priceSource?.name ?? 'none',
      instruments: fresh.counts,
      lastFetchedAt: lastFetch._max.lastFetchedAt?.toISOString() ?? null,
      lastSourceAt: lastFetch._max.lastSourceAt?.toISOString() ?? null,
      staleOrFailed: fresh.staleOrFailed,
      /** Baskets the last evaluation cycle left out: too few members with data, and which. */
      incompleteBaskets: report.incomplete.map((i) => ({ ...i, ruleName: ruleNames.get(i.ruleId) ?? i.ruleId })),
    },
    feeds: feedStatus,
    loops: loops.map((l) => ({
      loop: l.loop,
      name: l.name,
      intervalSec: l.intervalMs / 1000,
      state: l.state,
      lastSuccessAt: l.lastSuccessAt?.toISOString() ?? null,
      overdueSince: l.overdueSince?.toISOString() ?? null,
      reason: l.reason,
      lastError: l.lastError,
      lastErrorAt: l.lastErrorAt?.toISOString() ?? null,
      worker: l.worker,
    })),
    incidents: incidents.map((i) => ({
      id: i.id,
      loop: i.loop,
      lastSuccessAt: i.since.getTime() > 0 ? i.since.toISOString() : null,
      overdueSince: i.overdueAt.toISOString(),
      degradedAt: i.degradedAt.toISOString(),
      recoveredAt: i.recoveredAt?.toISOString() ?? null,
      reason: i.reason,
    })),
    degraded,
    events: events.map((e) => ({
      id: String(e.id),
      source: e.source,
      kind: e.kind,
      message: e.message,
      createdAt: e.createdAt.toISOString(),
    })),
  };
}

/** Rows, bytes and the oldest row per table that grows with time (the System page's Storage). */
export async function storageStatus(rt: Runtime) {
  const tables = await tableStats(rt.prisma);
  return {
    tables: tables.map((t) => ({ ...t, oldest: t.oldest?.toISOString() ?? null })),
    totalBytes: tables.reduce((a, t) => a + t.bytes, 0),
  };
}
