/**
 * The sweeper makes Postgres the truth and Redis only the carrier: whatever is due in Postgres
 * gets a job, whether or not Redis still has one (after a FLUSHALL, a restart without AOF, or a
 * crash between commit and enqueue). Rows left in `sending` by a killed worker are handed back
 * after a lease, the interrupted try counted as an attempt.
 */
import type { Clock, Logger } from '@signals/core';
import { duePendingDeliveries, type PrismaClient, recoverLeases } from '@signals/db';
import type { QueueSet } from '@signals/queue';
import { DELIVERY_BATCH } from './deliver.ts';

export interface SweepOptions {
  prisma: PrismaClient;
  queues: QueueSet;
  clock: Clock;
  logger: Logger;
  /** A row `sending` for longer than this was abandoned (longer than any send can take). */
  leaseMs?: number;
  /** Only rows due for at least this long (default 60 s): fresh ones still have a job coming. */
  graceMs?: number;
  batch?: number;
}

export async function sweepDeliveries(o: SweepOptions): Promise<{ recovered: number; requeued: number }> {
  const now = o.clock.now();
  const recovered = await recoverLeases(o.prisma, now, o.leaseMs ?? 120_000);
  if (recovered.length) {
    o.logger.warn({ count: recovered.length }, 'recovered deliveries abandoned in sending');
  }
  // Fan-outs enqueue deliveries in batches whose later members have no job of their own: give a
  // large fan-out a minute to drain before treating its rows as orphans.
  const dueBefore = new Date(now.getTime() - (o.graceMs ?? 60_000));
  const due = await duePendingDeliveries(o.prisma, dueBefore, o.batch ?? 5000);
  // Only rows whose job is gone (Redis flushed or restarted without AOF, a crash between commit and
  // enqueue): a large fan-out still draining keeps its jobs and is left alone.
  const orphans = await o.queues.deliveriesWithoutJob(due.map((d) => ({ id: d.id, attempt: d.attempts })));
  const items = [...recovered.map((d) => ({ id: d.id, attempt: d.attempts })), ...orphans];
  // `sweep` job ids: a second chance per attempt that does not collide with the original job.
  await o.queues.enqueueDeliveries(
    items.map((i) => ({ ...i, tag: 'sweep' })),
    { batchSize: DELIVERY_BATCH },
  );
  if (orphans.length)
    o.logger.info({ count: orphans.length, due: due.length }, 'sweeper re-enqueued deliveries that had no job');
  return { recovered: recovered.length, requeued: orphans.length };
}
