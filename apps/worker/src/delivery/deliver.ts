/**
 * One delivery job: claim -> group -> notify -> classify -> finish.
 *
 * Idempotency comes from Postgres, not from Redis: a job only acts if it moves the row from
 * `pending` (at the attempt number it was enqueued for) to `sending`. A second worker, a retried
 * job or a sweeper duplicate finds nothing to claim and does nothing, so a delivery that succeeded
 * is never sent again. A worker killed mid-send leaves the row in `sending`; the sweeper hands it
 * back after a lease, counting the interrupted try as an attempt (at-least-once, same webhook-id).
 *
 * The channels are notifiers (@signals/notify buildNotifiers: email, webhook, ntfy, Telegram, each
 * one folder with target / render / send / classify); this file never switches on the channel.
 * What an attempt changes beyond its row lives in ./bookkeeping.ts.
 */
import os from 'node:os';
import { type ClaimedDelivery, claimDeliveries, type DeliveryResult, finishDeliveries, openSealed } from '@signals/db';
import { buildNotifiers, type Failure, type Notifiers, nextAttemptDelay } from '@signals/notify';
import { bookkeeping } from './bookkeeping.ts';
import type { DeliveryContext } from './context.ts';
import { renderEnvFor } from './render-env.ts';
import { whileDatabaseAway } from './while-database-away.ts';

export type { DeliveryContext, WebhookPort } from './context.ts';

export const DEFAULT_EMAIL_SCHEDULE = [0, 30_000, 120_000, 600_000, 1_800_000, 7_200_000];
/**
 * Deliveries per job in a fan-out: one claim and one write per batch instead of per delivery
 * (measured: 531 -> ~1,000 webhooks/s). A killed worker may repeat up to concurrency x this many
 * in-flight sends, under the same webhook-id.
 */
export const DELIVERY_BATCH = 50;
const WORKER_ID = `${os.hostname()}:${process.pid}`;

/** How one send went: sent (maybe with a note), or failed as its notifier classified it. */
export type Outcome =
  | { ok: true; statusCode: number | null; response: string; note?: string }
  | { ok: false; failure: Failure };

/** One send (one message) and the rows it covered. */
export interface Attempt {
  rows: ClaimedDelivery[];
  outcome: Outcome;
  schedule: readonly number[];
  durationMs: number;
  /** Webhook body to keep on the row (first attempt). */
  keep?: string;
}

const notifiersOf = new WeakMap<DeliveryContext, Notifiers>();
function notifiers(ctx: DeliveryContext): Notifiers {
  let n = notifiersOf.get(ctx);
  if (!n) {
    n = buildNotifiers({ ...ctx, subscriberChannels: ctx.subscriberChannels });
    notifiersOf.set(ctx, n);
  }
  return n;
}

const permanent = (error: string): Outcome => ({ ok: false, failure: { kind: 'permanent', statusCode: null, error } });

/** Sends one group (the rows of one group key, or one row) through its channel's notifier. */
async function notify(ctx: DeliveryContext, rows: ClaimedDelivery[]): Promise<Attempt> {
  const first = rows[0] as ClaimedDelivery;
  const n = notifiers(ctx).get(first.channel);
  const attempt = (outcome: Outcome, durationMs = 0, keep?: string): Attempt => ({
    rows,
    outcome,
    schedule: n?.schedule ?? ctx.webhookSchedule,
    durationMs,
    ...(keep ? { keep } : {}),
  });
  if (!n) return attempt(permanent(`${first.channel} is not configured on this worker`));
  const now = ctx.clock.now();
  const t = n.target(first, (sealed) => openSealed(ctx.openKeys ?? [ctx.appSecret], sealed), now);
  if (!t.ok) return attempt(permanent(t.error));
  let rendered: Awaited<ReturnType<typeof n.render>>;
  try {
    const env = await renderEnvFor(ctx, rows);
    const group = {
      eventType: first.eventType,
      payload: first.payload,
      alertIds: rows.flatMap((r) => r.alertId ?? []),
    };
    rendered = await n.render(group, t.target, env);
  } catch (err) {
    return attempt({ ok: false, failure: n.classify(err) });
  }
  const t0 = performance.now();
  let outcome: Outcome;
  try {
    const r = await n.send(rendered.message, t.target, { messageId: first.messageId });
    outcome = {
      ok: true,
      statusCode: r.status,
      response: r.response,
      ...(rendered.note ? { note: rendered.note } : {}),
    };
  } catch (err) {
    outcome = { ok: false, failure: n.classify(err) };
  }
  return attempt(outcome, Math.round(performance.now() - t0), rendered.keep);
}

/**
 * A batch of deliveries (one job carries up to a few dozen): one statement claims them (alert
 * messages of one recipient and channel as a group, by the group key the fan-out stored), the sends
 * run concurrently, one statement records every attempt and moves every row on.
 */
export async function runDeliveries(
  ctx: DeliveryContext,
  items: { id: string; attempt: number }[],
): Promise<{ claimed: number; succeeded: number; retry: number; failed: number; dead: number }> {
  const leaseMs = ctx.leaseMs ?? 120_000;
  const rows = await whileDatabaseAway(ctx, 'claiming deliveries', Date.now() + leaseMs, () =>
    claimDeliveries(ctx.prisma, items, ctx.clock.now()),
  );
  // The sweeper counts the lease from the claim (on its own clock): keep a tenth of it as margin.
  const recordBy = Date.now() + leaseMs * 0.9;
  if (rows.length === 0) {
    ctx.logger.debug({ deliveries: items.length }, 'nothing claimable (done, taken, or not due): skipped');
    return { claimed: 0, succeeded: 0, retry: 0, failed: 0, dead: 0 };
  }
  const groups = new Map<string, ClaimedDelivery[]>();
  for (const r of rows) {
    const key = r.groupKey ?? r.id;
    const g = groups.get(key) ?? [];
    if (g.length === 0) groups.set(key, g);
    g.push(r);
  }
  const attempts = await Promise.all(
    [...groups.values()].map((g) =>
      // A bug in one send must not strand the others in `sending`: it becomes a retryable failure.
      notify(ctx, g).catch(
        (err): Attempt => ({
          rows: g,
          outcome: { ok: false, failure: { kind: 'retry', statusCode: null, error: (err as Error).message } },
          schedule: notifiers(ctx).get((g[0] as ClaimedDelivery).channel)?.schedule ?? ctx.webhookSchedule,
          durationMs: 0,
        }),
      ),
    ),
  );
  return finish(ctx, attempts, recordBy);
}

/**
 * Decides where every row of every attempt goes next (done, retry later, failed or dead), records
 * them all in one statement (repos/outbox.ts finishDeliveries), then the bookkeeping, the logs and
 * the retries' jobs.
 */
async function finish(ctx: DeliveryContext, attempts: Attempt[], recordBy: number) {
  const now = ctx.clock.now();
  const counts = { claimed: 0, succeeded: 0, retry: 0, failed: 0, dead: 0 };
  const retries: { id: string; attempt: number; delayMs: number }[] = [];
  const rows: DeliveryResult[] = [];
  const results = new Map<Attempt, 'succeeded' | 'retry' | 'failed' | 'dead'>();
  for (const a of attempts) {
    const o = a.outcome;
    let result: 'succeeded' | 'retry' | 'failed' | 'dead' = 'succeeded';
    for (const d of a.rows) {
      counts.claimed++;
      const attemptsDone = d.attempts + 1;
      let status: DeliveryResult['status'] = 'succeeded';
      let next: string | null = null;
      if (!o.ok) {
        const retryable = o.failure.kind === 'retry';
        const delayMs = retryable ? nextAttemptDelay(attemptsDone, a.schedule, o.failure.retryAfterMs) : null;
        if (delayMs === null) status = retryable ? 'dead' : 'failed';
        else {
          status = 'pending';
          next = new Date(now.getTime() + delayMs).toISOString();
          retries.push({ id: d.id, attempt: attemptsDone, delayMs });
        }
      }
      result = status === 'pending' ? 'retry' : status;
      counts[result]++;
      rows.push({
        id: d.id,
        status,
        nextAttemptAt: next,
        outcome: o.ok ? 'ok' : o.failure.kind === 'retry' ? 'retry' : 'failed',
        statusCode: o.ok ? o.statusCode : o.failure.statusCode,
        response: o.ok ? o.response.slice(0, 500) : null,
        error: o.ok ? (o.note?.slice(0, 1000) ?? null) : o.failure.error.slice(0, 1000),
        durationMs: a.durationMs,
        startedAt: new Date(now.getTime() - a.durationMs).toISOString(),
        payload: a.keep ?? null,
      });
    }
    results.set(a, result);
  }
  if (rows.length) {
    await whileDatabaseAway(ctx, 'recording delivery results', recordBy, () =>
      finishDeliveries(ctx.prisma, rows, now, WORKER_ID),
    );
  }

  const delivered: string[] = [];
  for (const a of attempts) {
    const first = a.rows[0];
    if (!first) continue;
    const o = a.outcome;
    const result = results.get(a) as string;
    if (o.ok) delivered.push(...a.rows.map((r) => r.id));
    else {
      ctx.logger.warn(
        {
          deliveryIds: a.rows.map((g) => g.id),
          channel: first.channel,
          eventType: first.eventType,
          attempt: first.attempts + 1,
          statusCode: o.failure.statusCode,
          durationMs: a.durationMs,
          error: o.failure.error,
          outcome: result,
        },
        'delivery attempt failed',
      );
    }
    await bookkeeping(ctx, a, result);
  }
  // One line per batch; the ids of every message only at debug (a 100,000-mail fan-out would write
  // ~3 MB of ids at info). Each attempt is in Postgres (DeliveryAttempt) either way.
  if (delivered.length) {
    ctx.logger.info({ count: delivered.length }, 'delivered');
    ctx.logger.debug({ deliveryIds: delivered }, 'delivered: ids');
  }
  await ctx.queues.enqueueDeliveries(retries);
  return counts;
}
