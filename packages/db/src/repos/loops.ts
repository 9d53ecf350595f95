/**
 * Liveness of the service's loops, kept in Postgres (a Redis loss cannot erase it): heartbeats
 * written by the workers, the judged state every surface reads (/healthz, /metrics, the System
 * page, degraded events), and the incidents (one per outage of one loop).
 */
import { judgeLoops, LOOP_IDS, type JudgeInput, type LoopBeat, type LoopId, type LoopStatus } from '@signals/core';
import type { PrismaClient } from '../generated/client.ts';
import type { Tx } from './outbox.ts';

export interface LoopRun {
  loop: LoopId;
  intervalMs: number;
  marketHours: boolean;
  /** host:pid of the writer. */
  worker: string;
  at: Date;
  /** Set when the run failed: recorded as the last error, the last success is kept. */
  error?: string;
}

/**
 * Records one run of a loop. A success never moves lastSuccessAt backwards (two workers may write
 * out of order); the interval and market-hours flag are the writer's own settings.
 */
export async function recordLoopRun(prisma: Tx, r: LoopRun): Promise<void> {
  const at = r.at.toISOString();
  const ok = r.error === undefined;
  await prisma.$executeRaw`
    INSERT INTO "LoopHeartbeat" (loop, "intervalSec", "marketHours", "lastSuccessAt", "lastErrorAt", "lastError", worker, "updatedAt")
    VALUES (${r.loop}, ${r.intervalMs / 1000}, ${r.marketHours},
            ${ok ? at : null}::timestamptz AT TIME ZONE 'UTC', ${ok ? null : at}::timestamptz AT TIME ZONE 'UTC',
            ${ok ? null : (r.error ?? '').slice(0, 1000)}, ${r.worker}, now() AT TIME ZONE 'UTC')
    ON CONFLICT (loop) DO UPDATE SET
      "intervalSec" = EXCLUDED."intervalSec",
      "marketHours" = EXCLUDED."marketHours",
      "lastSuccessAt" = GREATEST("LoopHeartbeat"."lastSuccessAt", EXCLUDED."lastSuccessAt"),
      "lastErrorAt" = COALESCE(EXCLUDED."lastErrorAt", "LoopHeartbeat"."lastErrorAt"),
      "lastError" = CASE WHEN EXCLUDED."lastErrorAt" IS NULL THEN "LoopHeartbeat"."lastError" ELSE EXCLUDED."lastError" END,
      worker = EXCLUDED.worker,
      "updatedAt" = EXCLUDED."updatedAt"`;
}

export type LoopExpectations = JudgeInput['expected'];

/** Every loop's state now: the heartbeats and the oldest pending delivery, judged by @signals/core. */
export async function loopStatus(
  prisma: Tx,
  o: { now: Date; expected: LoopExpectations; watchingSince: Date },
): Promise<LoopStatus[]> {
  // One statement (one connection: /healthz runs it right after its own check, on a pool that may
  // be cold). `waiting`: since when the oldest due delivery has been waiting: its due time, or when
  // it was written if that is later (an evaluation on a replay clock writes due times in the
  // replayed past); only due rows are read, through the (status, nextAttemptAt) index.
  const rows = await prisma.$queryRaw<
    {
      waiting: Date | null;
      loop: string | null;
      intervalSec: number;
      marketHours: boolean;
      lastSuccessAt: Date | null;
      lastErrorAt: Date | null;
      lastError: string | null;
      worker: string | null;
    }[]
  >`
    SELECT d.waiting, h.loop, h."intervalSec", h."marketHours", h."lastSuccessAt", h."lastErrorAt", h."lastError", h.worker
    FROM (SELECT min(GREATEST("nextAttemptAt", "updatedAt")) AS waiting FROM "Delivery"
          WHERE status = 'pending' AND "nextAttemptAt" <= ${o.now.toISOString()}::timestamptz AT TIME ZONE 'UTC') d
    LEFT JOIN "LoopHeartbeat" h ON true`;
  const beats: LoopBeat[] = [];
  for (const r of rows) {
    // No heartbeat yet, or a loop a newer version added.
    if (r.loop === null || !(LOOP_IDS as readonly string[]).includes(r.loop)) continue;
    beats.push({
      loop: r.loop as LoopId,
      intervalMs: r.intervalSec * 1000,
      marketHours: r.marketHours,
      lastSuccessAt: r.lastSuccessAt,
      lastErrorAt: r.lastErrorAt,
      lastError: r.lastError,
      worker: r.worker,
    });
  }
  return judgeLoops({
    beats,
    now: o.now,
    expected: o.expected,
    watchingSince: o.watchingSince,
    oldestPendingDelivery: rows[0]?.waiting ?? null,
  });
}

/** Loop states as the health endpoints report them: ok unless a loop is overdue, naming it. */
export function loopHealth(statuses: readonly LoopStatus[]): {
  ok: boolean;
  overdue: LoopId[];
  loops: Record<string, { state: string; lastSuccessAt: string | null; intervalSec: number; reason: string }>;
} {
  const overdue = statuses.filter((s) => s.state === 'overdue').map((s) => s.loop);
  return {
    ok: overdue.length === 0,
    overdue,
    loops: Object.fromEntries(
      statuses.map((s) => [
        s.loop,
        {
          state: s.state,
          lastSuccessAt: s.lastSuccessAt?.toISOString() ?? null,
          intervalSec: s.intervalMs / 1000,
          reason: s.reason,
        },
      ]),
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// Incidents
// ---------------------------------------------------------------------------------------------

export interface IncidentRow {
  id: string;
  loop: string;
  since: Date;
  overdueAt: Date;
  degradedAt: Date;
  recoveredAt: Date | null;
  reason: string;
}

/**
 * Opens the incident of this outage unless one is open already (the unique key is the loop and its
 * last success before the outage). Returns it only to the caller that created it: that caller
 * writes the service.degraded deliveries in the same transaction.
 */
export async function openIncident(
  tx: Tx,
  o: { loop: LoopId; since: Date | null; overdueAt: Date; reason: string; now: Date },
): Promise<IncidentRow | null> {
  const rows = await tx.loopIncident.createManyAndReturn({
    data: [
      {
        loop: o.loop,
        since: o.since ?? new Date(0),
        overdueAt: o.overdueAt,
        degradedAt: o.now,
        reason: o.reason.slice(0, 500),
      },
    ],
    skipDuplicates: true,
  });
  return rows[0] ?? null;
}

/** Closes an open incident; returns it only to the caller that closed it (who writes service.recovered). */
export async function closeIncident(tx: Tx, id: string, now: Date): Promise<IncidentRow | null> {
  const done = await tx.loopIncident.updateManyAndReturn({
    where: { id, recoveredAt: null },
    data: { recoveredAt: now },
  });
  return done[0] ?? null;
}

export async function openIncidents(prisma: Tx | PrismaClient): Promise<IncidentRow[]> {
  return prisma.loopIncident.findMany({ where: { recoveredAt: null }, orderBy: { degradedAt: 'asc' } });
}

/** The part of prom-client's Gauge constructor the loop gauges use (db does not depend on prom-client). */
export type GaugeConstructor<Registry> = new (config: {
  name: string;
  help: string;
  labelNames: readonly 'loop'[];
  registers: Registry[];
  collect(this: { reset(): void; set(labels: { loop: string }, value: number): void }): Promise<void>;
}) => unknown;

/**
 * Registers the loop liveness gauges on a prom-client registry (the server's and each worker's):
 * `signals_loop_last_success_timestamp_seconds{loop}` (no sample for a loop that never succeeded)
 * and `signals_loop_overdue{loop}`, read from `loops` at each scrape.
 */
export function registerLoopGauges<Registry>(
  Gauge: GaugeConstructor<Registry>,
  registry: Registry,
  loops: () => Promise<LoopStatus[]>,
): void {
  const gauges: { name: string; help: string; value: (s: LoopStatus) => number | null }[] = [
    {
      name: 'signals_loop_last_success_timestamp_seconds',
      help: 'Unix time of the last successful run of each loop (prices, news, evaluate, sweep, deliveries)',
      value: (s) => (s.lastSuccessAt ? s.lastSuccessAt.getTime() / 1000 : null),
    },
    {
      name: 'signals_loop_overdue',
      help: '1 while a loop is overdue (3x its interval without a success; price polling and evaluation only while the market is open)',
      value: (s) => (s.state === 'overdue' ? 1 : 0),
    },
  ];
  for (const g of gauges) {
    new Gauge({
      name: g.name,
      help: g.help,
      labelNames: ['loop'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const s of await loops().catch(() => [])) {
          const v = g.value(s);
          if (v !== null) this.set({ loop: s.loop }, v);
        }
      },
    });
  }
}
