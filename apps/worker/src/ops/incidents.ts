/**
 * Degraded and recovered events. Every worker process runs this on its local timer (a Redis job
 * could not watch for the loss of Redis itself): a loop overdue for DEGRADED_AFTER_SEC opens an
 * incident and writes a service.degraded delivery for every webhook endpoint that accepts the event
 * and an email for every admin account, in one transaction (the outbox); the loop's next success
 * closes it with service.recovered. One of each per outage however many processes check: the
 * incident is unique per loop and last success before the outage, and only the transaction that
 * created (or closed) it writes the deliveries.
 */
import { type Logger, LOOPS, type LoopId, type LoopStatus } from '@signals/core';
import {
  closeIncident,
  type IncidentRow,
  insertDeliveries,
  type LoopExpectations,
  loopStatus,
  type NewDelivery,
  openIncident,
  openIncidents,
  type PrismaClient,
  type Tx,
} from '@signals/db';
import { buildServiceEvent, renderWebhookBody, type ServiceEventType } from '@signals/notify';
import type { QueueSet } from '@signals/queue';
import { DELIVERY_BATCH } from '../delivery/deliver.ts';

export interface IncidentCheckDeps {
  prisma: PrismaClient;
  queues: QueueSet;
  logger: Logger;
  publicBaseUrl: string;
  /** Every loop, with this process's settings (a loop with no heartbeat yet is judged by them). */
  expected: LoopExpectations;
  /** When this process started watching: a loop that never ran is overdue one period after it. */
  watchingSince: Date;
  /** How long a loop stays overdue before it is reported degraded. */
  degradedAfterMs: number;
}

/** Writes the event's deliveries: every active endpoint that accepts it, every admin by email. */
async function writeServiceDeliveries(
  tx: Tx,
  incident: IncidentRow,
  status: LoopStatus | undefined,
  d: IncidentCheckDeps,
  now: Date,
): Promise<string[]> {
  const loop = incident.loop as LoopId;
  const event = buildServiceEvent(
    {
      ...incident,
      name: LOOPS[loop]?.name ?? incident.loop,
      intervalSec: (status?.intervalMs ?? 0) / 1000,
      since: incident.since,
    },
    { publicBaseUrl: d.publicBaseUrl },
  );
  const type: ServiceEventType = event.type;
  const [endpoints, admins] = await Promise.all([
    tx.webhookEndpoint.findMany({
      where: { status: 'active', OR: [{ eventTypes: { isEmpty: true } }, { eventTypes: { has: type } }] },
      select: { id: true, format: true },
    }),
    tx.adminUser.findMany({ select: { id: true } }),
  ]);
  const items: NewDelivery[] = [
    // The body is rendered now and kept: every retry sends the same bytes under the same webhook-id.
    ...endpoints.map(
      (e): NewDelivery => ({
        channel: 'webhook',
        endpointId: e.id,
        eventType: type,
        payload: renderWebhookBody(event, e.format),
      }),
    ),
    ...admins.map(
      (a): NewDelivery => ({
        channel: 'email',
        adminId: a.id,
        eventType: type,
        payload: { adminId: a.id, event } as object,
      }),
    ),
  ];
  return insertDeliveries(tx, items, now);
}

/**
 * One check: closes the incidents whose loop ran again, opens one for each loop overdue longer than
 * the threshold, and enqueues the deliveries written (after the commit; if Redis is gone the
 * sweeper finds them in Postgres). Returns what changed.
 */
export async function checkIncidents(
  d: IncidentCheckDeps,
  now = new Date(),
): Promise<{ degraded: LoopId[]; recovered: LoopId[] }> {
  const statuses = await loopStatus(d.prisma, { now, expected: d.expected, watchingSince: d.watchingSince });
  const byLoop = new Map(statuses.map((s) => [s.loop, s]));
  const open = await openIncidents(d.prisma);
  const enqueue: string[] = [];
  const degraded: LoopId[] = [];
  const recovered: LoopId[] = [];

  for (const incident of open) {
    const s = byLoop.get(incident.loop as LoopId);
    // Recovered means ran successfully after the outage began, not merely "not judged now" (a price
    // loop that stopped in the session is not fixed by the close).
    if (!s?.lastSuccessAt || s.lastSuccessAt.getTime() <= incident.since.getTime()) continue;
    await d.prisma.$transaction(async (tx) => {
      const closed = await closeIncident(tx, incident.id, now);
      if (!closed) return; // another process closed it first
      enqueue.push(...(await writeServiceDeliveries(tx, closed, s, d, now)));
      recovered.push(s.loop);
    });
  }

  for (const s of statuses) {
    if (s.state !== 'overdue' || !s.overdueSince) continue;
    if (now.getTime() - s.overdueSince.getTime() < d.degradedAfterMs) continue;
    await d.prisma.$transaction(async (tx) => {
      const opened = await openIncident(tx, {
        loop: s.loop,
        since: s.lastSuccessAt,
        overdueAt: s.overdueSince as Date,
        reason: s.reason,
        now,
      });
      if (!opened) return; // this outage is reported already
      enqueue.push(...(await writeServiceDeliveries(tx, opened, s, d, now)));
      degraded.push(s.loop);
    });
  }

  if (degraded.length) d.logger.error({ loops: degraded }, 'service degraded: loops overdue');
  if (recovered.length) d.logger.info({ loops: recovered }, 'service recovered: loops run again');
  if (enqueue.length) {
    // Not awaited: with Redis away a worker connection queues commands until it is back, and this
    // check must keep running meanwhile. The rows are in Postgres; the sweeper enqueues them if this fails.
    d.queues
      .enqueueDeliveries(
        enqueue.map((id) => ({ id })),
        { batchSize: DELIVERY_BATCH },
      )
      .catch((err: Error) =>
        d.logger.warn({ err: err.message }, 'could not enqueue service event deliveries; the sweeper will'),
      );
  }
  return { degraded, recovered };
}
