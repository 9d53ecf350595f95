/**
 * One delivery job: claim the row in Postgres, send, record the attempt, schedule the next one.
 *
 * Idempotency comes from Postgres, not from Redis: a job only acts if it moves the row from
 * `pending` (at the attempt number it was enqueued for) to `sending`. A second worker, a retried
 * job or a sweeper duplicate finds nothing to claim and does nothing, so a delivery that succeeded
 * is never sent again. A worker killed mid-send leaves the row in `sending`; the sweeper hands it
 * back after a lease, counting the interrupted try as an attempt (at-least-once, same webhook-id).
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { DomainError, PermanentDeliveryError, type Clock, type Logger, TransientDeliveryError } from '@signals/core';
import {
  type ClaimedDelivery,
  claimDeliveries,
  type DeliveryChannelName,
  type DeliveryResult,
  finishDeliveries,
  isDatabaseAway,
  loadAlertSnapshots,
  loadMessageTemplates,
  openSealed,
  type PrismaClient,
  signSubscriberToken,
} from '@signals/db';
import {
  type AlertView,
  alertVariables,
  buildAlertEvent,
  chatBodyOf,
  escapeHtml,
  preferencesUrl,
  type TemplateKey,
  type TemplatePool,
  templatePool,
  unsubscribeUrl,
  type ChatChannels,
  type ChatMessage,
  createToken,
  hashToken,
  MailPermanentError,
  type Mailer,
  nextAttemptDelay,
  renderAlertEmail,
  renderAlertMessage,
  renderChannelConfirmMessage,
  renderDigestMessage,
  renderConfirmationEmail,
  renderDigestEmail,
  renderEndpointDisabledEmail,
  renderServiceEventEmail,
  renderWebhookBody,
  type ServiceEvent,
  signingSecrets,
  TelegramChatGoneError,
  type WebhookFormat,
} from '@signals/notify';
import type { QueueSet } from '@signals/queue';

export interface WebhookPort {
  send(req: { url: string; messageId: string; secrets: string[]; body: string }): Promise<{
    status: number;
    durationMs: number;
    responseSnippet?: string;
  }>;
}

export interface DeliveryContext {
  prisma: PrismaClient;
  queues: QueueSet;
  logger: Logger;
  clock: Clock;
  mailer: Mailer;
  webhook: WebhookPort;
  publicBaseUrl: string;
  /** Signs subscriber links: resolveSigningKeys(...).current, the key the server verifies them with. */
  appSecret: string;
  /** Keys that may have sealed a channel secret (resolveSigningKeys(...).accepted); default [appSecret]. */
  openKeys?: readonly string[];
  /** The subscribers' chat channels (ntfy, Telegram), built once (@signals/notify buildChatChannels). */
  chat?: ChatChannels;
  /** How long operators' message templates are cached (default 5 s; tests 0). */
  templateCacheMs?: number;
  /** Renders operators' templates in worker threads with a time and memory cap (default: the process's pool). */
  templates?: TemplatePool;
  /** Delay before attempt i (ms); attempt 0 is the first. Its length is the number of attempts. Chat channels use it too. */
  webhookSchedule: number[];
  emailSchedule: number[];
  /** How long a confirmation link works. */
  confirmTtlMs?: number;
  /** Consecutive recipient bounces (no successful send between) that mark a subscriber as bouncing (default 3). */
  maxBounces?: number;
  /**
   * DELIVERY_LEASE_SEC in ms (default 120 s): after this the sweeper hands a row left `sending`
   * back. While Postgres is away, claiming and recording wait for it at most this long.
   */
  leaseMs?: number;
}

export const DEFAULT_EMAIL_SCHEDULE = [0, 30_000, 120_000, 600_000, 1_800_000, 7_200_000];
/**
 * Deliveries per job in a fan-out: one claim and one write per batch instead of per delivery
 * (measured: 531 -> ~1,000 webhooks/s). A killed worker may repeat up to concurrency x this many
 * in-flight sends, under the same webhook-id.
 */
export const DELIVERY_BATCH = 50;
const WORKER_ID = `${os.hostname()}:${process.pid}`;

type Outcome =
  | {
      ok: true;
      statusCode: number | null;
      response: string;
      /** Sent, but not as configured (an operator's template failed): recorded as the attempt's error. */
      note?: string;
    }
  | {
      ok: false;
      permanent: boolean;
      statusCode: number | null;
      error: string;
      retryAfterMs?: number;
      /** The recipient's mailbox does not work (not: this message was refused): counts as a bounce. */
      recipientBounce?: boolean;
    };

function outcomeOf(err: unknown): Outcome {
  if (err instanceof PermanentDeliveryError) {
    return {
      ok: false,
      permanent: true,
      statusCode: err.statusCode ?? null,
      error: err.message,
      ...(err instanceof MailPermanentError && err.recipientRejected ? { recipientBounce: true } : {}),
    };
  }
  if (err instanceof TransientDeliveryError) {
    return {
      ok: false,
      permanent: false,
      statusCode: err.statusCode ?? null,
      error: err.message,
      retryAfterMs: err.retryAfterMs,
    };
  }
  // Anything else (a bug, a dropped connection) is worth another try, not a lost alert.
  const message = err instanceof DomainError || err instanceof Error ? err.message : String(err);
  return { ok: false, permanent: false, statusCode: null, error: message };
}

/** A claimed row (repos/outbox.ts), its endpoint format narrowed to the formats the notifier knows. */
type Claimed = ClaimedDelivery & { epFormat: WebhookFormat | null };

/**
 * Alert messages to a subscriber (email, ntfy, Telegram) are claimed and sent per subscriber and
 * channel as a group: the alerts of a sector-wide sell-off, or those held by quiet hours, leave
 * as one message.
 */
const isGroupedAlert = (c: Pick<Claimed, 'channel' | 'eventType'>) =>
  (c.channel === 'email' || c.channel === 'ntfy' || c.channel === 'telegram') &&
  (c.eventType === 'alert.firing' || c.eventType === 'alert.resolved');

/** Claims the batch (repos/outbox.ts claimDeliveries: alert messages to a subscriber as a group). */
async function claim(ctx: DeliveryContext, items: { id: string; attempt: number }[]): Promise<Claimed[]> {
  return (await claimDeliveries(ctx.prisma, items, ctx.clock.now())) as Claimed[];
}

/** What one send produced: the rows it covered and how it went. */
interface Unit {
  rows: Claimed[];
  outcome: Outcome;
  channel: DeliveryChannelName;
  durationMs: number;
  /** Webhook body to keep on the row (first attempt). */
  payload?: string;
}

const done = (
  rows: Claimed[],
  outcome: Outcome,
  channel: DeliveryChannelName,
  durationMs = 0,
  payload?: string,
): Unit => ({
  rows,
  outcome,
  channel,
  durationMs,
  payload,
});

/**
 * A batch of deliveries (one job carries up to a few dozen): one statement claims them, the sends
 * run concurrently (webhooks to their endpoints, emails through the SMTP pool), one statement
 * records every attempt and moves every row on.
 */
export async function runDeliveries(
  ctx: DeliveryContext,
  items: { id: string; attempt: number }[],
): Promise<{ claimed: number; succeeded: number; retry: number; failed: number; dead: number }> {
  const leaseMs = ctx.leaseMs ?? 120_000;
  const rows = await whileDatabaseAway(ctx, 'claiming deliveries', Date.now() + leaseMs, () => claim(ctx, items));
  // The sweeper counts the lease from the claim (on its own clock): keep a tenth of it as margin.
  const recordBy = Date.now() + leaseMs * 0.9;
  if (rows.length === 0) {
    ctx.logger.debug({ deliveries: items.length }, 'nothing claimable (done, taken, or not due): skipped');
    return { claimed: 0, succeeded: 0, retry: 0, failed: 0, dead: 0 };
  }
  const work: { rows: Claimed[]; channel: DeliveryChannelName; run: Promise<Unit> }[] = [];
  const groups = new Map<string, Claimed[]>();
  for (const r of rows) {
    if (isGroupedAlert(r)) {
      const key = `${r.subscriberId}:${r.channel}`;
      const g = groups.get(key) ?? [];
      if (g.length === 0) groups.set(key, g);
      g.push(r);
    } else {
      const run =
        r.channel === 'email'
          ? deliverEmail(ctx, r)
          : r.channel === 'webhook'
            ? deliverWebhook(ctx, r)
            : deliverChat(ctx, [r]);
      work.push({ rows: [r], channel: r.channel, run });
    }
  }
  for (const g of groups.values()) {
    const channel = (g[0] as Claimed).channel;
    work.push({ rows: g, channel, run: channel === 'email' ? deliverAlertEmails(ctx, g) : deliverChat(ctx, g) });
  }
  const units = await Promise.all(
    // A bug in one send must not strand the others in `sending`: it becomes a retryable failure.
    work.map((w) => w.run.catch((err): Unit => done(w.rows, outcomeOf(err), w.channel))),
  );
  return finish(ctx, units, recordBy);
}

/**
 * Runs `fn` again, with backoff, while Postgres is away (a restart, a failover), until `deadline`.
 * Recording matters most: a send that succeeded but whose result is not written stays `sending`,
 * and the sweeper sends it again after the lease. Waiting for Postgres within the lease records it
 * once instead. Past the deadline the error goes up and the lease takes over.
 */
async function whileDatabaseAway<T>(ctx: DeliveryContext, what: string, deadline: number, fn: () => Promise<T>) {
  let delayMs = 250;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isDatabaseAway(err) || Date.now() + delayMs > deadline) throw err;
      ctx.logger.warn(
        { err: (err as Error).message, retryInMs: delayMs },
        `Postgres is unreachable: ${what} again soon`,
      );
      await new Promise((r) => setTimeout(r, delayMs));
      delayMs = Math.min(delayMs * 2, 5000);
    }
  }
}

async function deliverAlertEmails(ctx: DeliveryContext, group: Claimed[]): Promise<Unit> {
  const first = group[0] as Claimed;
  if (!first.subEmail) return done(group, permanent('subscriber no longer exists'), 'email');
  if (first.subStatus !== 'confirmed') {
    // Nobody gets an alert they did not confirm (or after they unsubscribed).
    return done(group, permanent(`subscriber is ${first.subStatus}: not sent`), 'email');
  }
  const views = await alertViews(
    ctx,
    group.map((g) => g.alertId).filter((x): x is string => !!x),
  );
  const alerts = group.map((g) => (g.alertId ? views.get(g.alertId) : undefined)).filter((v): v is AlertView => !!v);
  if (alerts.length === 0) return done(group, permanent('alert no longer exists'), 'email');
  const unsubscribeToken = signSubscriberToken(ctx.appSecret, first.subscriberId as string, first.subTokenVersion ?? 0);
  let notes: (string | undefined)[] = [];
  let mail =
    alerts.length === 1
      ? renderAlertEmail({ publicBaseUrl: ctx.publicBaseUrl, alert: alerts[0] as AlertView, unsubscribeToken })
      : renderDigestEmail({ publicBaseUrl: ctx.publicBaseUrl, alerts, unsubscribeToken });
  if (alerts.length === 1) {
    const a = alerts[0] as AlertView;
    const ownSubject = await templated(ctx, 'email.subject', a);
    const ownBody = await templated(ctx, 'email.body', a);
    notes = [ownSubject.note, ownBody.note];
    const subject = ownSubject.text;
    const body = ownBody.text;
    if (subject) mail = { ...mail, subject: subject.replace(/[\r\n]+/g, ' ').slice(0, 300) };
    if (body) {
      // The links people need stay, whatever the template says.
      const text = `${body}\n\n--\nChange what you receive: ${preferencesUrl(ctx.publicBaseUrl, unsubscribeToken)}\nUnsubscribe: ${unsubscribeUrl(ctx.publicBaseUrl, unsubscribeToken)}`;
      mail = {
        ...mail,
        text,
        html: `<!doctype html><html><body><pre style="white-space:pre-wrap;font-family:inherit">${escapeHtml(text)}</pre></body></html>`,
      };
    }
  }
  return noted(await sendMail(ctx, group, first.subEmail, mail), ...notes);
}

const permanent = (error: string): Outcome => ({ ok: false, permanent: true, statusCode: null, error });

/** Operators' message templates, read at most every `templateCacheMs` per database. */
const templateCache = new WeakMap<object, { at: number; map: Promise<Map<string, string>> }>();
function templatesOf(ctx: DeliveryContext): Promise<Map<string, string>> {
  const c = templateCache.get(ctx.prisma);
  if (c && Date.now() - c.at < (ctx.templateCacheMs ?? 5000)) return c.map;
  const map = loadMessageTemplates(ctx.prisma);
  map.catch(() => templateCache.delete(ctx.prisma));
  templateCache.set(ctx.prisma, { at: Date.now(), map });
  return map;
}

/** The operator's text for a message, or null for the built-in one; `note` says why a set template was not used. */
interface Templated {
  text: string | null;
  note?: string;
}

/**
 * The operator's text for `key` and this alert, rendered in the template pool (a thread with a time
 * and memory cap: a template bomb stored behind the save check costs this send a thread, not the
 * worker). None set: null. It failed: null and a note (logged, and recorded on the attempt); the
 * alert is still sent, with the built-in message.
 */
async function templated(ctx: DeliveryContext, key: TemplateKey, view: AlertView): Promise<Templated> {
  const source = (await templatesOf(ctx)).get(key);
  if (!source) return { text: null };
  try {
    return {
      text: await (ctx.templates ?? templatePool()).render(key, source, alertVariables(view, ctx.publicBaseUrl)),
    };
  } catch (err) {
    const why = (err as Error).message;
    ctx.logger.warn(
      { template: key, alertId: view.id, err: why },
      'message template failed at send time: the built-in message is sent instead',
    );
    return { text: null, note: `message template ${key} failed (${why}): the built-in message was sent` };
  }
}

/** A success that carries the template's note (see Templated); failures keep their own error. */
function noted(u: Unit, ...notes: (string | undefined)[]): Unit {
  const note = notes.filter(Boolean).join('; ');
  if (note && u.outcome.ok) u.outcome = { ...u.outcome, note };
  return u;
}

/**
 * Alert views are the same for every target of an alert: a fan-out to 50 endpoints or 10,000
 * subscribers reads each alert once per process (bounded cache; alerts do not change once written
 * except for their resolution, which is a new event type). The cache holds the load itself, so the
 * deliveries of one batch, sent concurrently, wait for one query instead of each running its own
 * (measured: 10,000 alert and rule reads for 200 alerts x 50 endpoints before, 200 after).
 */
const viewCache = new Map<string, Promise<AlertView | undefined>>();
const bodyCache = new Map<string, { body: string; note?: string }>();
async function alertViews(ctx: DeliveryContext, ids: string[]): Promise<Map<string, AlertView>> {
  const missing = [...new Set(ids.filter((id) => !viewCache.has(id)))];
  if (missing.length) {
    const loading: Promise<Map<string, AlertView>> = loadAlertSnapshots(ctx.prisma, missing);
    // A failed read is not kept: the next try reads again.
    loading.catch(() => {
      for (const id of missing) viewCache.delete(id);
    });
    for (const id of missing) {
      const one = loading.then((views) => views.get(id));
      one.catch(() => {}); // rejections reach whoever awaits it below, not the process
      viewCache.set(id, one);
      if (viewCache.size > 2000) viewCache.delete(viewCache.keys().next().value as string);
    }
  }
  // Taken before the first await, so a later eviction cannot lose one.
  const wanted = ids.map((id) => [id, viewCache.get(id)] as const);
  const out = new Map<string, AlertView>();
  for (const [id, view] of wanted) {
    const v = await view;
    if (v) out.set(id, v);
  }
  return out;
}

async function deliverEmail(ctx: DeliveryContext, d: Claimed): Promise<Unit> {
  if (d.eventType === 'service.degraded' || d.eventType === 'service.recovered') return deliverServiceEmail(ctx, d);
  if (!d.subscriberId || !d.subEmail) return done([d], permanent('subscriber no longer exists'), 'email');
  if (d.eventType !== 'subscriber.confirm') return done([d], permanent(`unknown email event ${d.eventType}`), 'email');
  if (d.subStatus !== 'pending') {
    return done([d], permanent(`subscriber is ${d.subStatus}: no confirmation sent`), 'email');
  }
  // The token exists in clear only in this email; Postgres keeps its hash. A retry makes a new one.
  const token = createToken();
  const expiresAt = new Date(ctx.clock.now().getTime() + (ctx.confirmTtlMs ?? 7 * 24 * 3600_000));
  await ctx.prisma.subscriber.update({
    where: { id: d.subscriberId },
    data: { confirmTokenHash: hashToken(token), confirmExpiresAt: expiresAt },
  });
  const mail = renderConfirmationEmail({ publicBaseUrl: ctx.publicBaseUrl, email: d.subEmail, token, expiresAt });
  return sendMail(ctx, [d], d.subEmail, mail);
}

/**
 * service.degraded / service.recovered to one admin account: the payload holds the event (the one
 * webhook endpoints receive) and the admin's id; the address is read at send time.
 */
async function deliverServiceEmail(ctx: DeliveryContext, d: Claimed): Promise<Unit> {
  const p = (d.payload ?? {}) as { adminId?: string; event?: ServiceEvent };
  if (!p.adminId || !p.event?.data?.incident) return done([d], permanent('malformed service event'), 'email');
  const admin = await ctx.prisma.adminUser.findUnique({ where: { id: p.adminId }, select: { email: true } });
  if (!admin) return done([d], permanent('admin account no longer exists'), 'email');
  const mail = renderServiceEventEmail({ publicBaseUrl: ctx.publicBaseUrl, event: p.event });
  return sendMail(ctx, [d], admin.email, mail);
}

async function sendMail(
  ctx: DeliveryContext,
  group: Claimed[],
  to: string,
  mail: { subject: string; text: string; html: string; headers: Record<string, string> },
): Promise<Unit> {
  const first = group[0] as Claimed;
  const t0 = performance.now();
  let outcome: Outcome;
  try {
    const r = await ctx.mailer.send({ to, ...mail, messageId: `<${first.messageId}@market-signals>` });
    outcome = { ok: true, statusCode: r.code, response: r.response };
  } catch (err) {
    outcome = outcomeOf(err);
  }
  return done(group, outcome, 'email', Math.round(performance.now() - t0));
}

async function deliverWebhook(ctx: DeliveryContext, d: Claimed): Promise<Unit> {
  if (d.epStatus !== 'active' || !d.url || !d.secret) {
    return done([d], permanent('endpoint disabled or removed'), 'webhook');
  }
  const now = ctx.clock.now();
  // The body is built once and kept (finish() stores it), so every retry sends the same event under
  // the same webhook-id.
  let body = typeof d.payload === 'string' ? d.payload : d.payload ? JSON.stringify(d.payload) : null;
  let store: string | undefined;
  let note: string | undefined;
  if (!body) {
    if (!d.alertId) return done([d], permanent('nothing to send'), 'webhook');
    // Every endpoint of a fan-out gets the same event: build it once per alert, event type and format.
    const format = d.epFormat ?? 'standard';
    const source = format !== 'standard' ? (await templatesOf(ctx)).get(format) : undefined;
    const key = `${d.alertId}:${d.eventType}:${format}${source ? `:${createHash('sha1').update(source).digest('hex')}` : ''}`;
    const cached = bodyCache.get(key);
    body = cached?.body ?? null;
    note = cached?.note;
    if (!body) {
      const view = (await alertViews(ctx, [d.alertId])).get(d.alertId);
      if (!view) return done([d], permanent('alert no longer exists'), 'webhook');
      const event = buildAlertEvent(view, {
        type: d.eventType as 'alert.firing' | 'alert.resolved',
        timestamp: d.eventType === 'alert.resolved' ? (view.resolvedAt ?? now) : view.firedAt,
        publicBaseUrl: ctx.publicBaseUrl,
      });
      const own = format !== 'standard' ? await templated(ctx, format, view) : null;
      note = own?.note;
      body = own?.text && format !== 'standard' ? chatBodyOf(format, own.text) : renderWebhookBody(event, format);
      bodyCache.set(key, { body, ...(note ? { note } : {}) });
      if (bodyCache.size > 2000) bodyCache.delete(bodyCache.keys().next().value as string);
    }
    store = body;
  }
  const secrets = signingSecrets({ ...d, secret: d.secret }, now);
  const t0 = performance.now();
  let outcome: Outcome;
  try {
    const r = await ctx.webhook.send({ url: d.url, messageId: d.messageId, secrets, body });
    outcome = { ok: true, statusCode: r.status, response: r.responseSnippet ?? '' };
  } catch (err) {
    outcome = outcomeOf(err);
  }
  return noted(done([d], outcome, 'webhook', Math.round(performance.now() - t0), store), note);
}

/**
 * A subscriber's chat channel (ntfy, Telegram), through the notifier its kind names in the
 * registry. `channel.confirm` goes to a pending ntfy topic with a one-time link (made here, only
 * its hash kept, like the email confirmation); alerts go only to a confirmed channel of a
 * confirmed subscriber.
 */
async function deliverChat(ctx: DeliveryContext, group: Claimed[]): Promise<Unit> {
  const d = group[0] as Claimed;
  const all = (o: Outcome) => done(group, o, d.channel);
  const notifier = ctx.chat?.get(d.channel);
  if (!notifier) return all(permanent(`${d.channel} is not configured on this worker`));
  if (!d.channelId || !d.chStatus) return all(permanent('channel no longer exists'));
  let token: string | null = null;
  if (d.chTokenSealed) {
    token = openSealed(ctx.openKeys ?? [ctx.appSecret], d.chTokenSealed);
    if (token === null) return all(permanent('the stored access token cannot be opened with the app key'));
  }
  const target = { topicUrl: d.chTopicUrl, token, chatId: d.chChatId };
  let message: ChatMessage;
  let note: string | undefined;
  if (d.eventType === 'channel.confirm') {
    if (d.chStatus !== 'pending')
      return done([d], permanent(`channel is ${d.chStatus}: no confirmation sent`), d.channel);
    const link = createToken();
    await ctx.prisma.subscriberChannel.update({
      where: { id: d.channelId },
      data: {
        linkTokenHash: hashToken(link),
        linkExpiresAt: new Date(ctx.clock.now().getTime() + (ctx.confirmTtlMs ?? 7 * 24 * 3600_000)),
      },
    });
    message = renderChannelConfirmMessage(
      `${ctx.publicBaseUrl.replace(/\/+$/, '')}/channels/confirm?token=${encodeURIComponent(link)}`,
    );
  } else if (d.eventType === 'alert.firing' || d.eventType === 'alert.resolved') {
    // Nothing reaches a chat or topic its owner has not confirmed, or after they stopped it.
    if (d.chStatus !== 'confirmed') return all(permanent(`channel is ${d.chStatus}: not sent`));
    if (d.subStatus !== 'confirmed') return all(permanent(`subscriber is ${d.subStatus}: not sent`));
    const views = await alertViews(
      ctx,
      group.map((g) => g.alertId).filter((x): x is string => !!x),
    );
    const alerts = group.map((g) => (g.alertId ? views.get(g.alertId) : undefined)).filter((v): v is AlertView => !!v);
    if (alerts.length === 0) return all(permanent('alert no longer exists'));
    message = alerts.length === 1 ? renderAlertMessage(alerts[0] as AlertView) : renderDigestMessage(alerts);
    const own =
      alerts.length === 1 ? await templated(ctx, d.channel as 'ntfy' | 'telegram', alerts[0] as AlertView) : null;
    note = own?.note;
    if (own?.text)
      message = d.channel === 'telegram' ? { ...message, fullText: own.text } : { ...message, body: own.text };
  } else {
    return all(permanent(`unknown ${d.channel} event ${d.eventType}`));
  }
  const t0 = performance.now();
  let outcome: Outcome;
  try {
    const r = await notifier.send(target, message, { messageId: d.messageId });
    outcome = { ok: true, statusCode: r.status, response: r.response };
  } catch (err) {
    outcome = outcomeOf(err);
    if (err instanceof TelegramChatGoneError) {
      // The owner blocked the bot or the chat is gone: stop, as /stop would.
      await ctx.prisma.subscriberChannel.updateMany({
        where: { id: d.channelId, status: { not: 'stopped' } },
        data: { status: 'stopped', stoppedAt: ctx.clock.now() },
      });
    }
  }
  return noted(done(group, outcome, d.channel, Math.round(performance.now() - t0)), note);
}

/**
 * Decides where every delivery of every unit goes next (done, retry later, failed or dead), records
 * them all in one statement (repos/outbox.ts finishDeliveries), then the bookkeeping: endpoint
 * failures, subscriber bounces, logs, and the retries' jobs.
 */
async function finish(ctx: DeliveryContext, units: Unit[], recordBy: number) {
  const now = ctx.clock.now();
  const counts = { claimed: 0, succeeded: 0, retry: 0, failed: 0, dead: 0 };
  const retries: { id: string; attempt: number; delayMs: number }[] = [];
  const rows: DeliveryResult[] = [];
  const results = new Map<Unit, string>();
  for (const u of units) {
    const schedule = u.channel === 'email' ? ctx.emailSchedule : ctx.webhookSchedule;
    const o = u.outcome;
    let result = 'succeeded';
    for (const d of u.rows) {
      counts.claimed++;
      const attemptsDone = d.attempts + 1;
      let status: DeliveryResult['status'] = 'succeeded';
      let next: string | null = null;
      if (!o.ok) {
        const delayMs = o.permanent ? null : nextAttemptDelay(attemptsDone, schedule, o.retryAfterMs);
        if (delayMs === null) status = o.permanent ? 'failed' : 'dead';
        else {
          status = 'pending';
          next = new Date(now.getTime() + delayMs).toISOString();
          retries.push({ id: d.id, attempt: attemptsDone, delayMs });
        }
      }
      result = status === 'pending' ? 'retry' : status;
      counts[result as 'succeeded' | 'retry' | 'failed' | 'dead']++;
      rows.push({
        id: d.id,
        status,
        nextAttemptAt: next,
        outcome: o.ok ? 'ok' : o.permanent ? 'failed' : 'retry',
        statusCode: o.statusCode,
        response: o.ok ? o.response.slice(0, 500) : null,
        error: o.ok ? (o.note?.slice(0, 1000) ?? null) : o.error.slice(0, 1000),
        durationMs: u.durationMs,
        startedAt: new Date(now.getTime() - u.durationMs).toISOString(),
        payload: u.payload ?? null,
      });
    }
    results.set(u, result);
  }
  if (rows.length) {
    await whileDatabaseAway(ctx, 'recording delivery results', recordBy, () =>
      finishDeliveries(ctx.prisma, rows, now, WORKER_ID),
    );
  }

  const delivered: string[] = [];
  for (const u of units) {
    const first = u.rows[0];
    if (!first) continue;
    const o = u.outcome;
    const result = results.get(u) as string;
    if (o.ok) delivered.push(...u.rows.map((r) => r.id));
    else {
      ctx.logger.warn(
        {
          deliveryIds: u.rows.map((g) => g.id),
          channel: u.channel,
          eventType: first.eventType,
          attempt: first.attempts + 1,
          statusCode: o.statusCode,
          durationMs: u.durationMs,
          error: o.error,
          outcome: result,
        },
        'delivery attempt failed',
      );
    }
    // Endpoint bookkeeping only when something changes (a success after failures, or a failure).
    if (u.channel === 'webhook' && first.endpointId && !(o.ok && (first.epFailures ?? 0) === 0)) {
      await endpointBookkeeping(ctx, first.endpointId, o, result);
    }
    // Only a mailbox that does not work counts; a message refused for its content or by policy
    // fails alone. A message accepted means the address works: the count starts over.
    if (u.channel === 'email' && first.subscriberId) {
      if (!o.ok && o.permanent && o.recipientBounce) await bounce(ctx, first.subscriberId);
      else if (o.ok && (first.subBounces ?? 0) > 0) await resetBounces(ctx, first.subscriberId);
    }
  }
  if (delivered.length) ctx.logger.info({ deliveryIds: delivered, count: delivered.length }, 'delivered');
  await ctx.queues.enqueueDeliveries(retries);
  return counts;
}

async function resetBounces(ctx: DeliveryContext, subscriberId: string) {
  await ctx.prisma.subscriber.updateMany({
    where: { id: subscriberId, bounceCount: { gt: 0 } },
    data: { bounceCount: 0 },
  });
}

/** One more recipient bounce; `maxBounces` in a row mark a confirmed subscriber bouncing (no more mail). */
async function bounce(ctx: DeliveryContext, subscriberId: string) {
  const s = await ctx.prisma.subscriber.update({
    where: { id: subscriberId },
    data: { bounceCount: { increment: 1 } },
  });
  if (s.bounceCount >= (ctx.maxBounces ?? 3) && s.status === 'confirmed') {
    await ctx.prisma.subscriber.update({ where: { id: subscriberId }, data: { status: 'bouncing' } });
    ctx.logger.warn(
      { subscriberId, bounces: s.bounceCount },
      'subscriber marked bouncing after repeated permanent failures',
    );
  }
}

async function endpointBookkeeping(ctx: DeliveryContext, endpointId: string, outcome: Outcome, result: string) {
  const now = ctx.clock.now();
  if (outcome.ok) {
    await ctx.prisma.webhookEndpoint.updateMany({
      where: { id: endpointId, consecutiveFailures: { gt: 0 } },
      data: { consecutiveFailures: 0, failingSince: null },
    });
    return;
  }
  const ep = await ctx.prisma.webhookEndpoint.update({
    where: { id: endpointId },
    data: { consecutiveFailures: { increment: 1 } },
  });
  if (!ep.failingSince)
    await ctx.prisma.webhookEndpoint.update({ where: { id: endpointId }, data: { failingSince: now } });
  const gone = outcome.statusCode === 410;
  if ((gone || result === 'dead') && ep.status === 'active') {
    const reason = gone ? 'the receiver answered 410 Gone' : 'a delivery failed through its whole retry schedule';
    const disabled = await ctx.prisma.webhookEndpoint.updateMany({
      where: { id: endpointId, status: 'active' },
      data: { status: 'disabled', disabledReason: reason },
    });
    if (disabled.count === 1) {
      ctx.logger.warn({ endpointId, reason }, 'webhook endpoint disabled');
      await tellAdmins(ctx, ep, reason, outcome);
    }
  }
}

async function tellAdmins(
  ctx: DeliveryContext,
  ep: { id: string; url: string; description: string | null; failingSince: Date | null },
  reason: string,
  outcome: Outcome,
) {
  const admins = await ctx.prisma.adminUser.findMany({ select: { email: true } });
  if (admins.length === 0) return;
  const mail = renderEndpointDisabledEmail({
    publicBaseUrl: ctx.publicBaseUrl,
    endpoint: ep,
    reason,
    disabledAt: ctx.clock.now(),
    failingSince: ep.failingSince,
    lastStatusCode: outcome.statusCode,
    lastError: outcome.ok ? null : outcome.error,
  });
  try {
    await ctx.mailer.send({ to: admins.map((a) => a.email), ...mail });
  } catch (err) {
    ctx.logger.error(
      { endpointId: ep.id, err: (err as Error).message },
      'could not email admins about the disabled endpoint',
    );
  }
}
