/** Data freshness per source and the source events (degraded, recovered, drift). */
import type { Runtime } from '../context.ts';

export async function systemStatus(rt: Runtime) {
  const [byFreshness, lastFetch, feeds, events] = await Promise.all([
    rt.prisma.instrument.groupBy({ by: ['freshness'], _count: { _all: true }, where: { members: { some: {} } } }),
    rt.prisma.instrument.aggregate({ _max: { lastFetchedAt: true, lastSourceAt: true } }),
    rt.prisma.feed.findMany({ orderBy: { name: 'asc' } }),
    rt.prisma.sourceEvent.findMany({ orderBy: { createdAt: 'desc' }, take: 100 }),
  ]);
  const stale = await rt.prisma.instrument.findMany({
    where: { members: { some: {} }, freshness: { in: ['stale', 'failed'] } },
    orderBy: { symbol: 'asc' },
    take: 100,
  });
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
      instruments: Object.fromEntries(byFreshness.map((r) => [r.freshness, r._count._all])),
      lastFetchedAt: lastFetch._max.lastFetchedAt?.toISOString() ?? null,
      lastSourceAt: lastFetch._max.lastSourceAt?.toISOString() ?? null,
      staleOrFailed: stale.map((i) => ({ symbol: i.symbol, freshness: i.freshness, lastError: i.lastError })),
    },
    feeds: feedStatus,
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
