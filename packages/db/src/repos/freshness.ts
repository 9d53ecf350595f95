/**
 * Watched instruments by freshness as the System page and /metrics show it: the poller's verdict
 * judged by when each newest price is from (core observedFreshness), so a symbol whose newest
 * price is a year old is `stale` even when the source answered.
 */
import { type Freshness, observedFreshness } from '@signals/core';
import type { PrismaClient } from '../generated/client.ts';

export interface WatchedFreshness {
  counts: Partial<Record<Freshness, number>>;
  /** Stale or failed instruments (at most `take`), with why. */
  staleOrFailed: { symbol: string; freshness: Freshness; lastError: string | null; lastSourceAt: string | null }[];
  /** The instant freshness was judged at. */
  judgedAt: Date;
}

/**
 * `now`: the instant to judge at. In a replay (`replay: true`) the wall clock is years after the
 * recording, so the newest observation of any watched instrument stands for "now" (the replay's
 * own time): a symbol a session or more behind the others is stale.
 */
export async function watchedFreshness(
  prisma: PrismaClient,
  opts: { now: Date; replay?: boolean; watchedOnly?: boolean; take?: number },
): Promise<WatchedFreshness> {
  const rows = await prisma.instrument.findMany({
    where: opts.watchedOnly === false ? {} : { members: { some: {} } },
    select: { symbol: true, status: true, freshness: true, lastSourceAt: true, lastError: true },
    orderBy: { symbol: 'asc' },
  });
  let judgedAt = opts.now;
  if (opts.replay) {
    const newest = Math.max(0, ...rows.map((r) => r.lastSourceAt?.getTime() ?? 0));
    if (newest > 0 && newest < opts.now.getTime()) judgedAt = new Date(newest);
  }
  const counts: Partial<Record<Freshness, number>> = {};
  const staleOrFailed: WatchedFreshness['staleOrFailed'] = [];
  for (const r of rows) {
    const f = observedFreshness(r.status === 'active' ? r.freshness : 'failed', r.lastSourceAt, judgedAt);
    counts[f] = (counts[f] ?? 0) + 1;
    if ((f === 'stale' || f === 'failed') && staleOrFailed.length < (opts.take ?? 100)) {
      const why =
        r.lastError ??
        (f === 'stale' && r.freshness === 'fresh' && r.lastSourceAt
          ? `newest price is from ${r.lastSourceAt.toISOString().slice(0, 10)}`
          : null);
      staleOrFailed.push({
        symbol: r.symbol,
        freshness: f,
        lastError: why,
        lastSourceAt: r.lastSourceAt?.toISOString() ?? null,
      });
    }
  }
  return { counts, staleOrFailed, judgedAt };
}
