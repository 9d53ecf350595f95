/**
 * Worker observability: Prometheus metrics and a health check on WORKER_METRICS_PORT (unset: no
 * listener). Each worker process exposes its own: jobs by queue and outcome, job duration,
 * deliveries by channel and result, evaluation cycles and the alerts they raised.
 */
import http from 'node:http';
import type { Worker } from 'bullmq';
import type { LoopStatus } from '@signals/core';
import { registerLoopGauges } from '@signals/db';
import client from 'prom-client';

export function createWorkerMetrics(o: { loops?: () => Promise<LoopStatus[]> } = {}) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'signals_worker_' });
  // prom-client's sums of active handles/requests/resources are gauges named *_total, which
  // `promtool check metrics` rejects (only counters end in _total); the per-type gauges stay.
  for (const sum of ['handles', 'requests', 'resources'])
    registry.removeSingleMetric(`signals_worker_nodejs_active_${sum}_total`);
  if (o.loops) registerLoopGauges(client.Gauge, registry, o.loops);
  const jobs = new client.Counter({
    name: 'signals_worker_jobs_total',
    help: 'Jobs finished by this process, by queue and outcome',
    labelNames: ['queue', 'outcome'] as const,
    registers: [registry],
  });
  const jobSeconds = new client.Histogram({
    name: 'signals_worker_job_duration_seconds',
    help: 'Job processing time',
    labelNames: ['queue'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const deliveries = new client.Counter({
    name: 'signals_worker_deliveries_total',
    help: 'Delivery attempts by this process, by channel-independent result',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const alerts = new client.Counter({
    name: 'signals_worker_alerts_total',
    help: 'Alerts raised by evaluation cycles of this process',
    registers: [registry],
  });
  return {
    registry,
    /** Counts every finished job of these BullMQ workers, with its processing time. */
    observe(workers: Worker[]) {
      for (const w of workers) {
        const record = (outcome: string, job?: { processedOn?: number; finishedOn?: number }) => {
          jobs.inc({ queue: w.name, outcome });
          if (job?.processedOn && job.finishedOn)
            jobSeconds.observe({ queue: w.name }, (job.finishedOn - job.processedOn) / 1000);
        };
        w.on('completed', (job) => record('completed', job));
        w.on('failed', (job) => record('failed', job ?? undefined));
      }
    },
    deliveries(counts: { succeeded: number; retry: number; failed: number; dead: number }) {
      for (const result of ['succeeded', 'retry', 'failed', 'dead'] as const) {
        if (counts[result]) deliveries.inc({ result }, counts[result]);
      }
    },
    alerts(n: number) {
      if (n) alerts.inc(n);
    },
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/** GET /metrics (Prometheus text) and GET /healthz (200 when `health` resolves true, else 503). */
export async function startMetricsServer(o: {
  registry: client.Registry;
  port: number;
  host?: string;
  /** The body of /healthz: ok decides 200 or 503; the rest (checks, overdue loops) is answered as JSON. */
  health: () => Promise<{ ok: boolean; checks: Record<string, unknown> } & Record<string, unknown>>;
}): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    try {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': o.registry.contentType });
        res.end(await o.registry.metrics());
      } else if (req.url === '/healthz') {
        const { ok, ...body } = await o.health();
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...body }));
      } else {
        res.writeHead(404).end();
      }
    } catch {
      res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(o.port, o.host ?? '0.0.0.0', () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
