/**
 * The outbox: deliveries are rows in Postgres, written in the same transaction as what causes them
 * (an alert, a subscription); jobs on Redis only point at them. A sweeper re-enqueues rows still
 * pending past their time, so losing Redis loses no delivery.
 */
import { randomBytes } from 'node:crypto';
import { groupKeyOf } from '@signals/core';
import type { Prisma, PrismaClient } from '../generated/client.ts';

export type Tx = Prisma.TransactionClient | PrismaClient;

/** Where a delivery goes: email and webhooks, and the subscribers' own channels (ntfy, Telegram). */
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
  notBefore?: Date | undefined;
}

/** Standard Webhooks message id: stable across retries of the same delivery. */
export function newMessageId(): string {
  return `msg_${randomBytes(12).toString('base64url')}`;
}

function targetOf(d: Pick<NewDelivery, 'channel' | 'subscriberId' | 'endpointId' | 'adminId' | 'channelId'>): string {
  if (d.channel === 'email' && d.adminId) return `admin:${d.adminId}`;
  if (d.channel === 'ntfy' || d.channel === 'telegram') {
    if (!d.channelId) throw new Error(`${d.channel} delivery needs a channelId`);
    return `${d.channel}:${d.channelId}`;
  }
  const id = d.channel === 'email' ? d.subscriberId : d.endpointId;
  if (!id) throw new Error(`${d.channel} delivery needs a ${d.channel === 'email' ? 'subscriberId' : 'endpointId'}`);
  return `${d.channel}:${id}`;
}

/**
 * One text parameter that Postgres reads as a text[] (`${x}::text::text[]`): an array literal with
 * every element quoted, NULL for null. Postgres parses it in C in one pass; the driver sends it as a
 * plain string (an array parameter is written element by element in JavaScript: measured ~2.5 s for
 * 12 x 100,000 strings) and no JSON is parsed on either side.
 */
export function textArrayLiteral(values: readonly (string | null)[]): string {
  let plain = true;
  for (const v of values)
    if (v === null || v === undefined || QUOTE_OR_BACKSLASH.test(v)) {
      plain = false;
      break;
    }
  // The usual case (ids, targets, times): no null and nothing to escape, joined natively.
  if (plain) return values.length ? `{"${values.join('","')}"}` : '{}';
  const out = new Array<string>(values.length);
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    out[k] =
      v === null || v === undefined ? 'NULL' : `"${QUOTE_OR_BACKSLASH.test(v) ? v.replace(/[\\"]/g, '\\$&') : v}"`;
  }
  return `{${out.join(',')}}`;
}
const QUOTE_OR_BACKSLASH = /[\\"]/;

/** A column whose rows all hold the same value travels as that one value (see insertDeliveries). */
function sameOrAll(values: readonly (string | null)[]): string {
  const first = values[0] ?? null;
  for (const v of values) if (v !== first) return textArrayLiteral(values);
  return textArrayLiteral([first]);
}

/**
 * Inserts deliveries (one per alert and target; a second insert for the same pair is skipped) and
 * returns the ids of the rows now pending for them, in the order of `items`. Call inside the
 * transaction that writes the cause. One statement whatever the fan-out: 100,000 subscribers are
 * one INSERT ... SELECT FROM unnest(...) over one text[] per column.
 */
export async function insertDeliveries(tx: Tx, items: NewDelivery[], now: Date): Promise<string[]> {
  if (items.length === 0) return [];
  const at = now.toISOString();
  const n = items.length;
  // Random bytes for every row's id (`dl` + 20 characters; Prisma's cuid default only applies to
  // client inserts) and message id (newMessageId's form), in one call instead of two per row. The
  // ids are made here, so the statement need not send 100,000 of them back (RETURNING).
  const random = randomBytes(27 * n).toString('base64url');
  const ids = new Array<string>(n);
  const cols = {
    a: new Array<string | null>(n),
    c: new Array<string>(n),
    s: new Array<string | null>(n),
    e: new Array<string | null>(n),
    h: new Array<string | null>(n),
    v: new Array<string>(n),
    t: new Array<string>(n),
    g: new Array<string | null>(n),
    m: new Array<string>(n),
    p: new Array<string | null>(n),
    nb: new Array<string>(n),
  };
  for (let k = 0; k < n; k++) {
    const d = items[k] as NewDelivery;
    ids[k] = `dl${random.slice(36 * k, 36 * k + 20)}`;
    cols.a[k] = d.alertId ?? null;
    cols.c[k] = d.channel;
    cols.s[k] = d.subscriberId ?? null;
    cols.e[k] = d.endpointId ?? null;
    cols.h[k] = d.channelId ?? null;
    cols.v[k] = d.eventType;
    cols.t[k] = targetOf(d);
    cols.g[k] = groupKeyOf(d);
    cols.m[k] = `msg_${random.slice(36 * k + 20, 36 * k + 36)}`;
    cols.p[k] = d.payload === undefined ? null : JSON.stringify(d.payload);
    cols.nb[k] = d.notBefore ? d.notBefore.toISOString() : at;
  }
  const L = textArrayLiteral;
  const S = sameOrAll;
  // Columns that are usually the same on every row of a fan-out (the alert, channel, event type,
  // due time, no endpoint...) are sent as a one-element array when they are, and every row reads
  // that element (with one row both are the same). MATERIALIZED: each array is parsed once, not
  // once per row.
  const [r] = await tx.$queryRaw<{ n: number }[]>`
    WITH k AS MATERIALIZED (
      SELECT ${S(cols.a)}::text::text[] AS a, ${S(cols.c)}::text::text[] AS c, ${S(cols.s)}::text::text[] AS s,
             ${S(cols.e)}::text::text[] AS e, ${S(cols.h)}::text::text[] AS h, ${S(cols.v)}::text::text[] AS v,
             ${S(cols.p)}::text::text[] AS p, ${S(cols.nb)}::text::text[] AS n
    ), ins AS (
      INSERT INTO "Delivery" (id, "alertId", channel, "subscriberId", "endpointId", "channelId", "eventType", target, "groupKey",
                              "messageId", payload, status, attempts, "nextAttemptAt", "createdAt", "updatedAt")
      SELECT u.i,
             CASE WHEN cardinality(k.a) = 1 THEN k.a[1] ELSE u.a END,
             (CASE WHEN cardinality(k.c) = 1 THEN k.c[1] ELSE u.c END)::"DeliveryChannel",
             CASE WHEN cardinality(k.s) = 1 THEN k.s[1] ELSE u.s END,
             CASE WHEN cardinality(k.e) = 1 THEN k.e[1] ELSE u.e END,
             CASE WHEN cardinality(k.h) = 1 THEN k.h[1] ELSE u.h END,
             CASE WHEN cardinality(k.v) = 1 THEN k.v[1] ELSE u.v END,
             u.t, u.g, u.m,
             (CASE WHEN cardinality(k.p) = 1 THEN k.p[1] ELSE u.p END)::jsonb,
             'pending', 0,
             (CASE WHEN cardinality(k.n) = 1 THEN k.n[1] ELSE u.n END)::timestamptz AT TIME ZONE 'UTC',
             now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
      FROM k, unnest(${L(ids)}::text::text[], k.a, k.c, k.s, k.e, k.h, k.v, ${L(cols.t)}::text::text[],
                     ${L(cols.g)}::text::text[], ${L(cols.m)}::text::text[], k.p, k.n)
           AS u(i, a, c, s, e, h, v, t, g, m, p, n)
      ON CONFLICT ("alertId", target) DO NOTHING
      RETURNING 1
    )
    SELECT count(*)::int AS n FROM ins`;
  let inserted = ids;
  if ((r?.n ?? 0) !== n) {
    // Some pairs were there already (or twice in `items`): the ids of the rows this insert wrote.
    const rows = await tx.$queryRaw<{ id: string }[]>`
      SELECT id FROM "Delivery" WHERE id = ANY(${L(ids)}::text::text[])`;
    const written = new Set(rows.map((x) => x.id));
    inserted = ids.filter((id) => written.has(id));
  }
  // A large fan-out can change the table more than its statistics know (autovacuum looks about
  // once a minute): with stale statistics Postgres plans the workers' claim as a scan of every
  // delivery, ~50x slower, for the whole burst. Fresh statistics cost ~0.1 s once.
  if (inserted.length >= ANALYZE_AFTER) await tx.$executeRawUnsafe('ANALYZE "Delivery"');
  return inserted;
}

/** A fan-out of at least this many deliveries refreshes the table's planner statistics. */
export const ANALYZE_AFTER = 1000;

// ---------------------------------------------------------------------------------------------
// State transitions of a Delivery row: pending -> sending (claim) -> succeeded / pending again /
// failed / dead (finish); sending -> pending after the lease (recoverLeases); failed / dead ->
// pending (redeliver); pending -> dead when nobody should receive it any more (cancel...).
// Workers and the server call these. One exception left: the endpoint test send
// (apps/server/src/services/endpoints.ts sendTestEvent) writes its own row, sending then done.
// ---------------------------------------------------------------------------------------------

/** What a claim returns: the delivery row with its endpoint or subscriber (one statement). */
export interface ClaimedDelivery {
  id: string;
  alertId: string | null;
  channel: DeliveryChannelName;
  channelId: string | null;
  chStatus: string | null;
  chTopicUrl: string | null;
  chTokenSealed: string | null;
  chChatId: string | null;
  subscriberId: string | null;
  endpointId: string | null;
  eventType: string;
  /** Rows with the same key were claimed together and leave as one message (@signals/core groupKeyOf). */
  groupKey: string | null;
  messageId: string;
  payload: unknown;
  attempts: number;
  url: string | null;
  secret: string | null;
  previousSecret: string | null;
  previousSecretUntil: Date | null;
  epStatus: string | null;
  /** The endpoint's body format (standard, slack, ...), as stored. */
  epFormat: string | null;
  epFailures: number | null;
  subEmail: string | null;
  subStatus: string | null;
  subTokenVersion: number | null;
  /** The subscriber's consecutive recipient bounces so far. */
  subBounces: number | null;
}

/**
 * Claims in ONE statement, for a batch of (delivery id, attempt), returning the rows with their
 * endpoint or subscriber:
 * - every delivery that is pending at its attempt and due and has no group key;
 * - for a row with a group key (an alert message to a subscriber on one channel, as decided by the
 *   fan-out plan's group stage, @signals/core groupKeyOf), every due row of the same group, so the
 *   alerts of a sector-wide sell-off leave as one message. Jobs of the other rows of the group run
 *   the same statement, find nothing left (row locks serialise them) and stop.
 */
export async function claimDeliveries(
  prisma: Tx,
  items: { id: string; attempt: number }[],
  now: Date,
): Promise<ClaimedDelivery[]> {
  const due = new Date(now.getTime() + 1000).toISOString();
  const ids = items.map((i) => i.id);
  const attempts = items.map((i) => i.attempt);
  return prisma.$queryRaw<ClaimedDelivery[]>`
    WITH req AS (SELECT * FROM unnest(${ids}::text[], ${attempts}::int[]) AS r(id, attempt)),
    one AS (
      UPDATE "Delivery" d SET status = 'sending', "updatedAt" = now() AT TIME ZONE 'UTC'
      FROM req
      WHERE d.id = req.id AND d.status = 'pending' AND d.attempts = req.attempt
        AND d."nextAttemptAt" <= ${due}::timestamptz AT TIME ZONE 'UTC'
        AND d."groupKey" IS NULL
      RETURNING d.id, d."alertId", d.channel::text AS channel, d."subscriberId", d."endpointId", d."channelId",
                d."eventType", d."groupKey", d."messageId", d.payload, d.attempts
    ), grp AS (
      UPDATE "Delivery" d SET status = 'sending', "updatedAt" = now() AT TIME ZONE 'UTC'
      WHERE d."groupKey" IN (SELECT x."groupKey" FROM "Delivery" x JOIN req ON x.id = req.id WHERE x."groupKey" IS NOT NULL)
        AND d.status = 'pending'
        AND d."nextAttemptAt" <= ${due}::timestamptz AT TIME ZONE 'UTC'
        AND NOT EXISTS (SELECT 1 FROM req WHERE req.id = d.id AND req.attempt <> d.attempts)
      RETURNING d.id, d."alertId", d.channel::text AS channel, d."subscriberId", d."endpointId", d."channelId",
                d."eventType", d."groupKey", d."messageId", d.payload, d.attempts
    ), c AS (SELECT * FROM one UNION ALL SELECT * FROM grp)
    SELECT c.*, e.url, e.secret, e."previousSecret", e."previousSecretUntil", e.status::text AS "epStatus",
           e.format::text AS "epFormat", e."consecutiveFailures" AS "epFailures", s.email AS "subEmail", s.status::text AS "subStatus",
           s."tokenVersion" AS "subTokenVersion", s."bounceCount" AS "subBounces",
           ch.status::text AS "chStatus", ch."topicUrl" AS "chTopicUrl", ch."tokenSealed" AS "chTokenSealed",
           ch."chatId" AS "chChatId"
    FROM c
    LEFT JOIN "WebhookEndpoint" e ON e.id = c."endpointId"
    LEFT JOIN "Subscriber" s ON s.id = c."subscriberId"
    LEFT JOIN "SubscriberChannel" ch ON ch.id = c."channelId"
    ORDER BY c.id`;
}

/** How one attempt of one claimed delivery went, and where the row goes next. */
export interface DeliveryResult {
  id: string;
  /** succeeded; pending (retry at nextAttemptAt); failed (permanent); dead (out of attempts). */
  status: 'succeeded' | 'pending' | 'failed' | 'dead';
  /** ISO time of the next attempt, for `pending`. */
  nextAttemptAt: string | null;
  /** The attempt's outcome as logged: ok, failed or retry. */
  outcome: string;
  statusCode: number | null;
  response: string | null;
  error: string | null;
  durationMs: number;
  /** ISO time the attempt started. */
  startedAt: string;
  /** Webhook body to keep on the row (first attempt), so retries send the same bytes. */
  payload: string | null;
}

/**
 * Records the attempt of every claimed delivery and moves each row on (succeeded, pending for a
 * retry, failed or dead) in ONE statement, storing the webhook body on its first attempt.
 */
export async function finishDeliveries(prisma: Tx, results: DeliveryResult[], now: Date, worker: string) {
  if (results.length === 0) return;
  const col = <T>(f: (r: DeliveryResult) => T) => results.map(f);
  await prisma.$executeRaw`
      WITH u AS (
        SELECT * FROM unnest(${col((r) => r.id)}::text[], ${col((r) => r.status)}::text[], ${col((r) => r.nextAttemptAt)}::text[],
                             ${col((r) => r.outcome)}::text[], ${col((r) => r.statusCode)}::int[], ${col((r) => r.response)}::text[],
                             ${col((r) => r.error)}::text[], ${col((r) => r.durationMs)}::int[],
                             ${col((r) => r.startedAt)}::text[], ${col((r) => r.payload)}::text[])
          AS u(id, status, next_at, outcome, code, response, error, ms, started, payload)
      ), attempt AS (
        INSERT INTO "DeliveryAttempt" ("deliveryId", "startedAt", "durationMs", outcome, "statusCode", response, error, worker)
        SELECT u.id, u.started::timestamptz AT TIME ZONE 'UTC', u.ms, u.outcome, u.code, u.response, u.error, ${worker}
        FROM u
      )
      UPDATE "Delivery" d SET
        status = u.status::"DeliveryStatus",
        attempts = d.attempts + 1,
        "deliveredAt" = CASE WHEN u.status = 'succeeded' THEN ${now.toISOString()}::timestamptz AT TIME ZONE 'UTC' ELSE d."deliveredAt" END,
        "nextAttemptAt" = COALESCE(u.next_at::timestamptz AT TIME ZONE 'UTC', d."nextAttemptAt"),
        "lastError" = u.error,
        -- Kept as a JSON string, not parsed into jsonb (which reorders keys): retries send the same bytes.
        payload = COALESCE(d.payload, to_jsonb(u.payload)),
        "updatedAt" = now() AT TIME ZONE 'UTC'
      FROM u WHERE d.id = u.id`;
}

/**
 * Hands back rows left `sending` longer than the lease (a worker killed mid-send): pending again,
 * due now, the interrupted try counted as an attempt and logged as `interrupted`.
 */
export async function recoverLeases(
  prisma: PrismaClient,
  now: Date,
  leaseMs: number,
): Promise<{ id: string; attempts: number }[]> {
  const leaseCutoff = new Date(now.getTime() - leaseMs);
  const recovered = await prisma.$queryRaw<{ id: string; attempts: number }[]>`
    UPDATE "Delivery" SET status = 'pending', attempts = attempts + 1, "nextAttemptAt" = ${now},
           "lastError" = 'interrupted: the worker stopped during the attempt', "updatedAt" = ${now}
    WHERE status = 'sending' AND "updatedAt" < ${leaseCutoff}
    RETURNING id, attempts`;
  if (recovered.length) {
    await prisma.deliveryAttempt.createMany({
      data: recovered.map((r) => ({
        deliveryId: r.id,
        startedAt: leaseCutoff,
        durationMs: 0,
        outcome: 'interrupted',
        error: 'worker stopped during the attempt; retried',
      })),
    });
  }
  return recovered;
}

/** Pending rows due at or before `dueBefore`, oldest first (the sweeper checks each still has a job). */
export function duePendingDeliveries(prisma: Tx, dueBefore: Date, take: number) {
  return prisma.delivery.findMany({
    where: { status: 'pending', nextAttemptAt: { lte: dueBefore } },
    select: { id: true, attempts: true },
    orderBy: { nextAttemptAt: 'asc' },
    take,
  });
}

/**
 * A failed or dead delivery back to pending, due now, if it is still in the status it was read in.
 * False when it changed meanwhile.
 */
export async function redeliverDelivery(
  prisma: Tx,
  d: { id: string; status: 'failed' | 'dead' },
  now: Date,
): Promise<boolean> {
  const r = await prisma.delivery.updateMany({
    where: { id: d.id, status: d.status },
    data: { status: 'pending', nextAttemptAt: now },
  });
  return r.count > 0;
}

/** Mail still waiting for a subscriber who unsubscribed is not sent: pending and failed rows die. */
export async function cancelSubscriberDeliveries(prisma: Tx, subscriberId: string) {
  await prisma.delivery.updateMany({
    where: { subscriberId, status: { in: ['pending', 'failed'] } },
    data: { status: 'dead', lastError: 'subscriber unsubscribed' },
  });
}

/** Confirmations still waiting for an earlier topic of a subscriber's ntfy channel are not sent. */
export async function cancelPendingConfirmations(prisma: Tx, channelId: string) {
  await prisma.delivery.updateMany({
    where: { channelId, eventType: 'channel.confirm', status: 'pending' },
    data: { status: 'dead', lastError: 'replaced by a newer request' },
  });
}
