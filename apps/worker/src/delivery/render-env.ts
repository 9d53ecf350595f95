/**
 * What a notifier may ask while it renders (@signals/notify RenderEnv), answered from Postgres: the
 * group's alerts (read once per process and alert), the operators' message templates (rendered in
 * the template pool with its time and memory caps), and the one-time tokens of confirmations
 * (made here, only their hashes stored).
 */
import { createHash } from 'node:crypto';
import { type ClaimedDelivery, loadAlertSnapshots, loadMessageTemplates, signSubscriberToken } from '@signals/db';
import {
  type AlertView,
  alertVariables,
  createToken,
  hashToken,
  type RenderEnv,
  type TemplateKey,
  templatePool,
} from '@signals/notify';
import type { DeliveryContext } from './context.ts';

/** Operators' message templates, read at most every `templateCacheMs` per database, with a version. */
interface Templates {
  map: Map<string, string>;
  version: string;
}
const templateCache = new WeakMap<object, { at: number; templates: Promise<Templates> }>();
function templatesOf(ctx: DeliveryContext): Promise<Templates> {
  const c = templateCache.get(ctx.prisma);
  if (c && Date.now() - c.at < (ctx.templateCacheMs ?? 5000)) return c.templates;
  const templates = loadMessageTemplates(ctx.prisma).then((map) => ({
    map,
    version: createHash('sha1')
      .update(JSON.stringify([...map].sort()))
      .digest('hex'),
  }));
  templates.catch(() => templateCache.delete(ctx.prisma));
  templateCache.set(ctx.prisma, { at: Date.now(), templates });
  return templates;
}

/**
 * The operator's text for `key` and this alert, rendered in the template pool (a thread with a time
 * and memory cap: a template bomb stored behind the save check costs this send a thread, not the
 * worker). None set: null. It failed: null and a note (logged, and recorded on the attempt); the
 * alert is still sent, with the built-in message.
 */
async function templated(
  ctx: DeliveryContext,
  templates: Templates,
  key: TemplateKey,
  view: AlertView,
): Promise<{ text: string | null; note?: string }> {
  const source = templates.map.get(key);
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

/**
 * Alert views are the same for every target of an alert: a fan-out to 50 endpoints or 10,000
 * subscribers reads each alert once per process (bounded cache; alerts do not change once written
 * except for their resolution, which is a new event type). The cache holds the load itself, so the
 * deliveries of one batch, sent concurrently, wait for one query instead of each running its own
 * (measured: 10,000 alert and rule reads for 200 alerts x 50 endpoints before, 200 after).
 */
const viewCache = new Map<string, Promise<AlertView | undefined>>();
async function alertViews(ctx: DeliveryContext, ids: readonly string[]): Promise<AlertView[]> {
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
  const wanted = ids.map((id) => viewCache.get(id));
  const out: AlertView[] = [];
  for (const view of wanted) {
    const v = await view;
    if (v) out.push(v);
  }
  return out;
}

/** The render environment of one group of claimed rows (alert messages of one recipient, or one row). */
export async function renderEnvFor(ctx: DeliveryContext, rows: readonly ClaimedDelivery[]): Promise<RenderEnv> {
  const first = rows[0] as ClaimedDelivery;
  const templates = await templatesOf(ctx);
  const ttl = ctx.confirmTtlMs ?? 7 * 24 * 3600_000;
  return {
    publicBaseUrl: ctx.publicBaseUrl,
    now: ctx.clock.now(),
    templatesVersion: templates.version,
    ...(first.subscriberId
      ? { unsubscribeToken: signSubscriberToken(ctx.appSecret, first.subscriberId, first.subTokenVersion ?? 0) }
      : {}),
    template: (key, view) => templated(ctx, templates, key, view),
    alerts: () =>
      alertViews(
        ctx,
        rows.map((r) => r.alertId).filter((x): x is string => !!x),
      ),
    async confirmToken() {
      const token = createToken();
      const expiresAt = new Date(ctx.clock.now().getTime() + ttl);
      await ctx.prisma.subscriber.update({
        where: { id: first.subscriberId as string },
        data: { confirmTokenHash: hashToken(token), confirmExpiresAt: expiresAt },
      });
      return { token, expiresAt };
    },
    async channelLink() {
      const link = createToken();
      await ctx.prisma.subscriberChannel.update({
        where: { id: first.channelId as string },
        data: { linkTokenHash: hashToken(link), linkExpiresAt: new Date(ctx.clock.now().getTime() + ttl) },
      });
      return `${ctx.publicBaseUrl.replace(/\/+$/, '')}/channels/confirm?token=${encodeURIComponent(link)}`;
    },
    async adminEmail(adminId) {
      const admin = await ctx.prisma.adminUser.findUnique({ where: { id: adminId }, select: { email: true } });
      return admin?.email ?? null;
    },
  };
}
