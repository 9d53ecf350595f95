/**
 * The outbox: deliveries are rows in Postgres, written in the same transaction as what causes them
 * (an alert, a subscription); jobs on Redis only point at them. A sweeper re-enqueues rows still
 * pending past their time, so losing Redis loses no delivery.
 */
import { randomBytes } from 'node:crypto';
import type { Prisma, PrismaClient } from '../generated/client.ts';

export type Tx = Prisma.TransactionClient | PrismaClient;

/** Where a delivery goes: email and webhooks, and the subscribers' chat channels (ntfy, Telegram). */
export type DeliveryChannelName = 'email' | 'webhook' | 'ntfy' | 'telegram';

export interface NewDelivery {
  channel: DeliveryChannelName;
  subscriberId?: string;
  /** The subscriber's ntfy or Telegram channel (SubscriberChannel id), for those channels. */
  channelId?: string;
  /** An email to an admin account (service.degraded / service.recovered) instead of a subscriber. */
  adminId?: string;
  endpointId?: string;
  alertId?: string;
  /** alert.firing, alert.resolved, subscriber.confirm, endpoint.test, endpoint.disabled, digest, service.degraded, service.recovered */
  eventType: string;
  payload?: Prisma.InputJsonValue;
  /** When the first attempt is due (default now). */
  notBefore?: Date;
}

/** Standard Webhooks message id: stable across retries of the same delivery. */
export function newMessageId(): string {
  return `msg_${randomBytes(12).toString('base64url')}`;
}

export function targetOf(
  d: Pick<NewDelivery, 'channel' | 'subscriberId' | 'endpointId' | 'adminId' | 'channelId'>,
): string {
  if (d.channel === 'email' && d.adminId) return `admin:${d.adminId}`;
  if (d.channel === 'ntfy' || d.channel === 'telegram') {
    if (!d.channelId) throw new Error(`${d.channel} delivery needs a channelId`);
    return `${d.channel}:${d.channelId}`;
  }
  const id = d.channel === 'email' ? d.subscriberId : d.endpointId;
  if (!id) throw new Error(`${d.channel} delivery needs a ${d.channel === 'email' ? 'subscriberId' : 'endpointId'}`);
  return `${d.channel}:${id}`;
}

/** Row ids for deliveries written in bulk (the Prisma cuid default only applies to client inserts). */
export function newDeliveryId(): string {
  return `dl${randomBytes(15).toString('base64url')}`;
}

/**
 * Inserts deliveries (one per alert and target; a second insert for the same pair is skipped) and
 * returns the ids of the rows now pending for them. Call inside the transaction that writes the cause.
 * One statement whatever the fan-out: 10,000 subscribers are one INSERT ... SELECT FROM unnest.
 */
export async function insertDeliveries(tx: Tx, items: NewDelivery[], now: Date): Promise<string[]> {
  if (items.length === 0) return [];
  const iso = (d: Date) => d.toISOString();
  const rows = await tx.$queryRaw<{ id: string }[]>`
    INSERT INTO "Delivery" (id, "alertId", channel, "subscriberId", "endpointId", "channelId", "eventType", target,
                            "messageId", payload, status, attempts, "nextAttemptAt", "createdAt", "updatedAt")
    SELECT u.id, u.alert_id, u.channel::"DeliveryChannel", u.subscriber_id, u.endpoint_id, u.channel_id, u.event_type, u.target,
           u.message_id, u.payload::jsonb, 'pending', 0, u.next_at::timestamptz AT TIME ZONE 'UTC',
           now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
    FROM unnest(${items.map(() => newDeliveryId())}::text[], ${items.map((d) => d.alertId ?? null)}::text[],
                ${items.map((d) => d.channel)}::text[], ${items.map((d) => d.subscriberId ?? null)}::text[],
                ${items.map((d) => d.endpointId ?? null)}::text[], ${items.map((d) => d.channelId ?? null)}::text[],
                ${items.map((d) => d.eventType)}::text[],
                ${items.map((d) => targetOf(d))}::text[], ${items.map(() => newMessageId())}::text[],
                ${items.map((d) => (d.payload === undefined ? null : JSON.stringify(d.payload)))}::text[],
                ${items.map((d) => iso(d.notBefore ?? now))}::text[])
         AS u(id, alert_id, channel, subscriber_id, endpoint_id, channel_id, event_type, target, message_id, payload, next_at)
    ON CONFLICT ("alertId", target) DO NOTHING
    RETURNING id`;
  // A large fan-out can change the table more than its statistics know (autovacuum looks about
  // once a minute): with stale statistics Postgres plans the workers' claim as a scan of every
  // delivery, ~50x slower, for the whole burst. Fresh statistics cost ~0.1 s once.
  if (rows.length >= ANALYZE_AFTER) await tx.$executeRawUnsafe('ANALYZE "Delivery"');
  return rows.map((r) => r.id);
}

/** A fan-out of at least this many deliveries refreshes the table's planner statistics. */
export const ANALYZE_AFTER = 1000;
