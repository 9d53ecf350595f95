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
 * The instant freshness is judged at, the same for every surface (System page, /metrics'
 * signals_instruments, GET /api/instruments, the watchlists): `now`, or in a replay (`replay:
 * true`), where the wall clock is years after the recording, the newest price of any instrument
 * (the replay's own time, when it is earlier than `now`).
 */
export async function freshnessInstant(prisma: PrismaClient, opts: { now: Date; replay?: boolean }): Promise<Date> {
  if (!opts.replay) return opts.now;
  const r = await prisma.instrument.aggregate({ _max: { lastSourceAt: true } });
  const newest = r._max.lastSourceAt;
  return newest && newest.getTime() < opts.now.getTime() ? newest : opts.now;
}

/** One instrument's freshness as every surface shows it: the poller's verdict judged by its newest price's time. */
export function instrumentFreshness(
  r: { status: string; freshness: string; lastSourceAt: Date | null },
  judgedAt: Date,
): Freshness {
  return observedFreshness(r.status === 'active' ? (r.freshness as Freshness) : 'failed', r.lastSourceAt, judgedAt);
}

/**
 * `now`: the instant to judge at (see freshnessInstant). In a replay (`replay: true`) the wall clock is years after the
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
  const judgedAt = await freshnessInstant(prisma, opts);
  const counts: Partial<Record<Freshness, number>> = {};
  const staleOrFailed: WatchedFreshness['staleOrFailed'] = [];
  for (const r of rows) {
    const f = instrumentFreshness(r, judgedAt);
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
