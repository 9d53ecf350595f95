import client from 'prom-client';
import type { QueueSet } from '@signals/queue';
import type { LoopStatus } from '@signals/core';
import {
  type PrismaClient,
  registerLoopGauges,
  silencesIn,
  type TableStat,
  tableStats,
  watchedFreshness,
} from '@signals/db';

/** Prometheus metrics: process defaults, HTTP, queue depths, data freshness, deliveries, loop liveness. */
export function createMetrics(deps: {
  queues: QueueSet;
  prisma: PrismaClient;
  /** Every loop's liveness (serverLoops): adds signals_loop_* gauges. */
  loops?: () => Promise<LoopStatus[]>;
  /** PRICE_SOURCE is a replay: freshness is judged against the replay's newest price. */
  replay?: boolean;
}) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'signals_' });
  // prom-client's sums of active handles/requests/resources are gauges named *_total, which
  // `promtool check metrics` rejects (only counters end in _total); the per-type gauges stay.
  for (const sum of ['handles', 'requests', 'resources'])
    registry.removeSingleMetric(`signals_nodejs_active_${sum}_total`);

  const httpRequests = new client.Counter({
    name: 'signals_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new client.Histogram({
    name: 'signals_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  new client.Gauge({
    name: 'signals_queue_jobs',
    help: 'Jobs per queue and state',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        deps.queues.all().map(async (q) => {
          const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
          for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
        }),
      ).catch(() => {});
    },
  });

  new client.Gauge({
    name: 'signals_instruments',
    help: 'Instruments by data freshness (judged by when their newest price is from)',
    labelNames: ['freshness'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const f = await watchedFreshness(deps.prisma, {
        now: new Date(),
        replay: deps.replay === true,
        watchedOnly: false,
        take: 0,
      }).catch(() => null);
      for (const [k, n] of Object.entries(f?.counts ?? {})) this.set({ freshness: k }, n);
    },
  });

  new client.Gauge({
    name: 'signals_deliveries',
    help: 'Deliveries by channel and status',
    labelNames: ['channel', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await deps.prisma.delivery
        .groupBy({ by: ['channel', 'status'], _count: { _all: true } })
        .catch(() => []);
      for (const r of rows) this.set({ channel: r.channel, status: r.status }, r._count._all);
    },
  });

  new client.Gauge({
    name: 'signals_silences',
    help: 'Silences that hold back notifications now (active) or will (pending)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const now = new Date();
      const [active, pending] = await Promise.all([
        deps.prisma.silence.count({ where: silencesIn('active', now) }),
        deps.prisma.silence.count({ where: silencesIn('pending', now) }),
      ]).catch(() => [null, null]);
      if (active !== null) this.set({ state: 'active' }, active);
      if (pending !== null) this.set({ state: 'pending' }, pending);
    },
  });

  if (deps.loops) registerLoopGauges(client.Gauge, registry, deps.loops);
  registerTableGauges(registry, deps.prisma);

  return { registry, httpRequests, httpDuration };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** How long one reading of the table sizes serves scrapes (three gauges, every scraper). */
const TABLE_STATS_TTL_MS = 30_000;

/**
 * Per table that grows with time: rows, bytes and the oldest row's time (@signals/db tableStats,
 * shown on the System page too). Read once per TABLE_STATS_TTL_MS for all three gauges.
 */
function registerTableGauges(registry: client.Registry, prisma: PrismaClient): void {
  let cached: { at: number; stats: Promise<TableStat[]> } | undefined;
  const read = () => {
    const now = Date.now();
    if (!cached || now - cached.at > TABLE_STATS_TTL_MS)
      cached = { at: now, stats: tableStats(prisma).catch(() => [] as TableStat[]) };
    return cached.stats;
  };
  const gauges: [string, string, (s: TableStat) => number | null][] = [
    ['signals_table_rows', 'Rows per table (counted below 100k rows, else the planner estimate)', (s) => s.rows],
    ['signals_table_bytes', 'Size per table with its indexes and TOAST (pg_total_relation_size)', (s) => s.bytes],
    [
      'signals_table_oldest_row_timestamp_seconds',
      'Time of the oldest row per table (what retention keeps); absent for an empty table',
      (s) => (s.oldest ? s.oldest.getTime() / 1000 : null),
    ],
  ];
  for (const [name, help, pick] of gauges) {
    new client.Gauge({
      name,
      help,
      labelNames: ['table'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const s of await read()) {
          const v = pick(s);
          if (v !== null) this.set({ table: s.table }, v);
        }
      },
    });
  }
}
