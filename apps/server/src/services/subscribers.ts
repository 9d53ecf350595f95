/**
 * Subscribers. Double opt-in: subscribing writes a pending Subscriber, its Subscriptions and ONE
 * `subscriber.confirm` email Delivery in one transaction (the outbox); the delivery worker makes
 * the confirmation token at send time and stores its sha256. Nobody gets alert mail before
 * confirming. Manage and unsubscribe links are HMAC-signed (signSubscriberToken), not stored.
 */
import { createHash } from 'node:crypto';
import {
  ConflictError,
  NotFoundError,
  QUIET_CHANNELS,
  type QuietChannel,
  storedIntervals,
  type TimeInterval,
  timeZoneSchema,
  ValidationError,
} from '@signals/core';
import { signingKeyConfig } from '@signals/config';
import {
  cancelSubscriberDeliveries,
  insertDeliveries,
  resolveSigningKeys,
  signSubscriberToken,
  verifySubscriberToken,
} from '@signals/db';
import { z } from 'zod';
import type { Runtime } from '../context.ts';
import { text } from '../input.ts';
import { windowOf } from './paging.ts';
import { ruleView } from './rules.ts';

export const emailSchema = text({ min: 3, max: 254 })
  .overwrite((s) => s.toLowerCase())
  .pipe(z.email('must be an email address'));

const idList = z
  .array(text({ min: 1, max: 64 }))
  .max(50, 'choose at most 50')
  .default([]);

/** At least one watchlist or one rule; the message is shown above both lists (path `subscriptions`). */
const CHOOSE_ONE = 'choose at least one watchlist or rule';
const atLeastOne = (v: { watchlistIds: string[]; ruleIds: string[] }) => v.watchlistIds.length + v.ruleIds.length > 0;

export const subscribeSchema = z
  .strictObject({
    email: emailSchema,
    watchlistIds: idList,
    ruleIds: idList,
    mode: z.enum(['immediate', 'digest']).default('immediate'),
  })
  .refine(atLeastOne, { message: CHOOSE_ONE, path: ['subscriptions'] });
export type SubscribeInput = z.infer<typeof subscribeSchema>;

export const preferencesSchema = z
  .strictObject({
    watchlistIds: idList,
    ruleIds: idList,
    mode: z.enum(['immediate', 'digest']),
  })
  .refine(atLeastOne, { message: CHOOSE_ONE, path: ['subscriptions'] });

async function checkWatchlists(rt: Runtime, ids: string[]): Promise<string[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return unique;
  const found = await rt.prisma.watchlist.findMany({ where: { id: { in: unique } }, select: { id: true } });
  if (found.length !== unique.length) {
    throw new ValidationError('Unknown watchlist', [{ path: 'watchlistIds', message: 'unknown watchlist' }]);
  }
  return unique;
}

/**
 * Rules a person may subscribe to: enabled ones, plus (on the preferences page) disabled ones the
 * subscriber already has, so saving the page does not silently drop them.
 */
async function checkRules(rt: Runtime, ids: string[], subscriberId?: string): Promise<string[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return unique;
  const found = await rt.prisma.rule.findMany({
    where: {
      id: { in: unique },
      OR: [{ enabled: true }, ...(subscriberId ? [{ subscriptions: { some: { subscriberId } } }] : [])],
    },
    select: { id: true },
  });
  if (found.length !== unique.length) {
    throw new ValidationError('Unknown rule', [{ path: 'ruleIds', message: 'unknown or disabled rule' }]);
  }
  return unique;
}

const subscriptionRows = (subscriberId: string, watchlistIds: string[], ruleIds: string[]) => [
  ...watchlistIds.map((watchlistId) => ({ subscriberId, watchlistId })),
  ...ruleIds.map((ruleId) => ({ subscriberId, ruleId })),
];

/** One line about a rule for the public pages: its description's first line, else the engine's summary. */
function oneLine(r: { description: string | null; summary: string | null }): string | null {
  const first = r.description
    ?.split(/\r?\n/)
    .find((l) => l.trim())
    ?.trim();
  const line = first || r.summary;
  if (!line) return null;
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

export interface RuleChoice {
  id: string;
  name: string;
  line: string | null;
  enabled: boolean;
}
export interface RuleGroup {
  /** null: rules over every watched symbol or explicit symbols. */
  watchlist: { id: string; name: string } | null;
  rules: RuleChoice[];
}

/**
 * The rules offered on the public pages, grouped by watchlist (by watchlist name; the group of
 * rules without a watchlist last): every enabled rule, and the disabled ones in `alsoIds`.
 */
export async function ruleChoices(rt: Runtime, alsoIds: string[] = []): Promise<RuleGroup[]> {
  const rows = await rt.prisma.rule.findMany({
    where: { OR: [{ enabled: true }, ...(alsoIds.length ? [{ id: { in: alsoIds } }] : [])] },
    include: ruleChoiceInclude,
    orderBy: ruleChoiceOrder,
  });
  return groupRuleChoices(rows);
}

const ruleChoiceInclude = { watchlist: { select: { id: true, name: true, slug: true } } } as const;
const ruleChoiceOrder = [{ name: 'asc' as const }, { id: 'asc' as const }];

/** Every rule as the public pages show them (ruleChoicesOf picks from these without a query). */
export function loadRuleChoiceRows(rt: Runtime) {
  return rt.prisma.rule.findMany({ include: ruleChoiceInclude, orderBy: ruleChoiceOrder });
}
export type RuleChoiceRow = Awaited<ReturnType<typeof loadRuleChoiceRows>>[number];

/** ruleChoices(rt, alsoIds) over rows already loaded by loadRuleChoiceRows: the same groups. */
export function ruleChoicesOf(rows: RuleChoiceRow[], alsoIds: string[] = []): RuleGroup[] {
  const also = new Set(alsoIds);
  return groupRuleChoices(rows.filter((r) => r.enabled || also.has(r.id)));
}

function groupRuleChoices(rows: RuleChoiceRow[]): RuleGroup[] {
  const groups = new Map<string, RuleGroup>();
  for (const r of rows) {
    const key = r.watchlist?.id ?? '';
    let g = groups.get(key);
    if (!g) {
      g = { watchlist: r.watchlist ? { id: r.watchlist.id, name: r.watchlist.name } : null, rules: [] };
      groups.set(key, g);
    }
    const v = ruleView(r);
    g.rules.push({ id: r.id, name: r.name, line: oneLine(v), enabled: r.enabled });
  }
  return [...groups.values()].sort((a, b) => {
    if (!a.watchlist) return 1;
    if (!b.watchlist) return -1;
    return a.watchlist.name.localeCompare(b.watchlist.name);
  });
}

/**
 * Registers the wish to subscribe. The result is the same whether the address is new, pending,
 * confirmed or unsubscribed (nothing tells an observer which); only new, pending and unsubscribed
 * addresses get a confirmation email. Returns the delivery id, if one was written (for tests and logs).
 */
export async function subscribe(rt: Runtime, input: SubscribeInput): Promise<{ deliveryId: string | null }> {
  const watchlistIds = await checkWatchlists(rt, input.watchlistIds);
  const ruleIds = await checkRules(rt, input.ruleIds);
  const now = rt.clock.now();
  const ids = await rt.prisma.$transaction(async (tx) => {
    // Serialize per address: two forms sent at once must not both insert.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`subscribe:${input.email}`}))`;
    const existing = await tx.subscriber.findUnique({ where: { email: input.email } });
    if (existing?.status === 'confirmed' || existing?.status === 'bouncing') return [];
    const sub = existing
      ? await tx.subscriber.update({
          where: { id: existing.id },
          data: { status: 'pending', mode: input.mode, confirmTokenHash: null, confirmExpiresAt: null },
        })
      : await tx.subscriber.create({ data: { email: input.email, mode: input.mode } });
    await tx.subscription.deleteMany({ where: { subscriberId: sub.id } });
    await tx.subscription.createMany({ data: subscriptionRows(sub.id, watchlistIds, ruleIds) });
    return insertDeliveries(
      tx,
      [{ channel: 'email', subscriberId: sub.id, eventType: 'subscriber.confirm', payload: { email: input.email } }],
      now,
    );
  });
  if (ids.length) {
    await rt.queues.enqueueDeliveries(ids.map((id) => ({ id }))).catch((err: Error) => {
      // The row is pending in Postgres: the sweeper enqueues it when Redis is back.
      rt.logger.warn({ err: err.message }, 'confirmation delivery not enqueued; left to the sweeper');
    });
  }
  return { deliveryId: ids[0] ?? null };
}

export const sha256hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** The pending subscriber a confirmation token belongs to, if it is genuine and not expired. */
export async function pendingByConfirmToken(rt: Runtime, token: string) {
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(token)) return null;
  const sub = await rt.prisma.subscriber.findUnique({ where: { confirmTokenHash: sha256hex(token) } });
  if (!sub) return null;
  if (sub.confirmExpiresAt && sub.confirmExpiresAt.getTime() < rt.clock.now().getTime()) return null;
  return sub;
}

/** Confirms by the emailed token; null when unknown or expired. */
export async function confirm(rt: Runtime, token: string): Promise<{ subscriberId: string } | null> {
  const sub = await pendingByConfirmToken(rt, token);
  if (!sub) return null;
  const now = rt.clock.now();
  await rt.prisma.subscriber.update({
    where: { id: sub.id },
    data: {
      status: 'confirmed',
      confirmedAt: now,
      confirmTokenHash: null,
      confirmExpiresAt: null,
      unsubscribedAt: null,
    },
  });
  return { subscriberId: sub.id };
}

/** The keys of subscriber links: the same resolution as the worker's, which signs the emailed links. */
const signingKeys = (rt: Runtime) => {
  // Read once a minute, not on every preferences/unsubscribe request: the stored key is written
  // once (the first start without APP_SECRET) and never changed; APP_SECRET(_PREVIOUS) are env.
  const now = performance.now();
  const hit = keyCache.get(rt);
  if (hit && hit.until > now) return hit.keys;
  const keys = resolveSigningKeys(rt.prisma, signingKeyConfig(rt.env));
  keyCache.set(rt, { until: now + 60_000, keys });
  keys.catch(() => keyCache.delete(rt));
  return keys;
};
const keyCache = new WeakMap<Runtime, { until: number; keys: ReturnType<typeof resolveSigningKeys> }>();

export async function manageToken(rt: Runtime, subscriberId: string): Promise<string> {
  const sub = await rt.prisma.subscriber.findUnique({ where: { id: subscriberId }, select: { tokenVersion: true } });
  if (!sub) throw new NotFoundError('Subscriber');
  return signSubscriberToken((await signingKeys(rt)).current, subscriberId, sub.tokenVersion);
}

/** The subscriber a signed manage token is for, when it is genuine (under any accepted key) and not revoked. */
export async function subscriberByToken(rt: Runtime, token: string) {
  const v = verifySubscriberToken((await signingKeys(rt)).accepted, token);
  if (!v) return null;
  const sub = await rt.prisma.subscriber.findUnique({
    where: { id: v.subscriberId },
    include: { subscriptions: { select: { watchlistId: true, ruleId: true, activeIntervals: true } } },
  });
  if (!sub || sub.tokenVersion !== v.version) return null;
  return sub;
}

/** A subscriber of a manage link with what the preferences page shows of them (see subscriberPage). */
export interface SubscriberPage {
  sub: NonNullable<Awaited<ReturnType<typeof subscriberByToken>>>;
  channels: { kind: string; status: string; topicUrl: string | null; chatId: string | null }[];
  /** The value of `versionSql` (the public pages' choice-list version). */
  version: string;
}

/**
 * {@link subscriberByToken} with the subscriber's channels and the value of `versionSql` (a
 * constant SQL expression) in one query: the GET preferences page's reads in one round trip.
 */
export async function subscriberPage(rt: Runtime, token: string, versionSql: string): Promise<SubscriberPage | null> {
  const v = verifySubscriberToken((await signingKeys(rt)).accepted, token);
  if (!v) return null;
  const [row] = await rt.prisma.$queryRawUnsafe<
    (Omit<SubscriberPage['sub'], 'subscriptions'> & {
      subscriptions: SubscriberPage['sub']['subscriptions'];
      channels: SubscriberPage['channels'];
      version: string;
    })[]
  >(
    `SELECT s.id, s.email, s.status::text AS status, s."confirmTokenHash", s."confirmExpiresAt", s."tokenVersion",
        s.mode::text AS mode, s."digestWindowSec", s."timeZone", s."quietHours", s."quietCriticalBreaksThrough",
        s."bounceCount", s."confirmedAt", s."unsubscribedAt", s."createdAt", s."updatedAt",
        coalesce((SELECT json_agg(json_build_object('watchlistId', x."watchlistId", 'ruleId', x."ruleId",
            'activeIntervals', x."activeIntervals"))
          FROM "Subscription" x WHERE x."subscriberId" = s.id), '[]'::json) AS subscriptions,
        coalesce((SELECT json_agg(json_build_object('kind', c.kind, 'status', c.status, 'topicUrl', c."topicUrl",
            'chatId', c."chatId") ORDER BY c.kind)
          FROM "SubscriberChannel" c WHERE c."subscriberId" = s.id), '[]'::json) AS channels,
        ${versionSql} AS version
      FROM "Subscriber" s WHERE s.id = $1`,
    v.subscriberId,
  );
  if (!row || row.tokenVersion !== v.version) return null;
  const { channels, version, ...sub } = row;
  return { sub, channels, version };
}

export async function unsubscribe(rt: Runtime, subscriberId: string): Promise<void> {
  const now = rt.clock.now();
  await rt.prisma.subscriber.updateMany({
    where: { id: subscriberId, status: { not: 'unsubscribed' } },
    data: { status: 'unsubscribed', unsubscribedAt: now, confirmTokenHash: null },
  });
  // Mail still waiting for this address is not sent.
  await cancelSubscriberDeliveries(rt.prisma, subscriberId);
}

export async function updatePreferences(rt: Runtime, subscriberId: string, p: z.infer<typeof preferencesSchema>) {
  const watchlistIds = await checkWatchlists(rt, p.watchlistIds);
  const ruleIds = await checkRules(rt, p.ruleIds, subscriberId);
  // The "when" setting (time intervals) is kept on the new rows.
  const kept = await rt.prisma.subscription.findFirst({ where: { subscriberId }, select: { activeIntervals: true } });
  const intervals = storedIntervals(kept?.activeIntervals);
  await rt.prisma.$transaction([
    rt.prisma.subscriber.update({ where: { id: subscriberId }, data: { mode: p.mode } }),
    rt.prisma.subscription.deleteMany({ where: { subscriberId } }),
    rt.prisma.subscription.createMany({
      data: subscriptionRows(subscriberId, watchlistIds, ruleIds).map((r) => ({ ...r, activeIntervals: intervals })),
    }),
  ]);
}

/** "Only during" choices of the preferences page, as market-phase time intervals. */
export const MARKET_WINDOWS = {
  any: [],
  regular: [{ market: ['regular'] }],
  trading: [{ market: ['regular', 'extended'] }],
  closed: [{ market: ['closed'] }],
} as const satisfies Record<string, TimeInterval[]>;
export type MarketWindow = keyof typeof MARKET_WINDOWS;

const optTime = z
  .string()
  .regex(/^(([01]\d|2[0-3]):[0-5]\d)?$/, 'must be a time HH:MM, or empty')
  .default('');

/** When to notify: time zone, quiet hours per channel, critical break-through, market window. */
export const timingSchema = z.strictObject({
  timeZone: timeZoneSchema,
  quiet: z.strictObject(
    Object.fromEntries(QUIET_CHANNELS.map((c) => [c, z.strictObject({ start: optTime, end: optTime })])) as Record<
      QuietChannel,
      z.ZodObject<{ start: typeof optTime; end: typeof optTime }>
    >,
  ),
  criticalBreaksThrough: z.boolean(),
  window: z.enum(Object.keys(MARKET_WINDOWS) as [MarketWindow, ...MarketWindow[]]),
});

export async function updateTiming(rt: Runtime, subscriberId: string, t: z.infer<typeof timingSchema>) {
  const errors: { path: string; message: string }[] = [];
  const quietHours: Record<string, { start: string; end: string }> = {};
  for (const c of QUIET_CHANNELS) {
    const q = t.quiet[c];
    if (!q.start && !q.end) continue;
    if (!q.start || !q.end)
      errors.push({ path: `quiet.${c}.${q.start ? 'end' : 'start'}`, message: 'give both times, or neither' });
    else if (q.start === q.end) errors.push({ path: `quiet.${c}.end`, message: 'must differ from the start' });
    else quietHours[c] = { start: q.start, end: q.end };
  }
  if (errors.length) throw new ValidationError('Quiet hours refused', errors);
  await rt.prisma.$transaction([
    rt.prisma.subscriber.update({
      where: { id: subscriberId },
      data: { timeZone: t.timeZone, quietHours, quietCriticalBreaksThrough: t.criticalBreaksThrough },
    }),
    rt.prisma.subscription.updateMany({
      where: { subscriberId },
      data: { activeIntervals: [...MARKET_WINDOWS[t.window]] },
    }),
  ]);
}

/** The market window the subscriber's subscriptions use (the page's choice), `any` when none or custom. */
export function marketWindowOf(intervals: unknown): MarketWindow {
  const json = JSON.stringify(storedIntervals(intervals));
  return (
    (Object.keys(MARKET_WINDOWS) as MarketWindow[]).find((k) => JSON.stringify(MARKET_WINDOWS[k]) === json) ?? 'any'
  );
}

export async function listSubscribers(
  rt: Runtime,
  opts: {
    status?: 'pending' | 'confirmed' | 'unsubscribed' | 'bouncing';
    id?: string;
    limit?: number;
    offset?: number;
  } = {},
) {
  const where = { ...(opts.status ? { status: opts.status } : {}), ...(opts.id ? { id: opts.id } : {}) };
  const [rows, total] = await Promise.all([
    rt.prisma.subscriber.findMany({
      where,
      orderBy: { createdAt: 'desc' },
      ...windowOf(opts, 200),
      include: {
        subscriptions: { include: { watchlist: { select: { name: true } }, rule: { select: { name: true } } } },
        channels: { select: { kind: true, status: true }, orderBy: { kind: 'asc' } },
      },
    }),
    rt.prisma.subscriber.count({ where }),
  ]);
  return {
    total,
    items: rows.map((s) => ({
      id: s.id,
      email: s.email,
      status: s.status,
      mode: s.mode,
      bounceCount: s.bounceCount,
      timeZone: s.timeZone,
      quietHours: s.quietHours ?? {},
      quietCriticalBreaksThrough: s.quietCriticalBreaksThrough,
      /** Chat channels beside email (ntfy, Telegram) and their state; addresses and chats are not shown. */
      channels: s.channels.map((c) => ({ kind: c.kind, status: c.status })),
      subscriptions: s.subscriptions.map((x) => ({
        watchlistId: x.watchlistId,
        ruleId: x.ruleId,
        name: x.watchlist?.name ?? x.rule?.name ?? '',
      })),
      createdAt: s.createdAt.toISOString(),
      confirmedAt: s.confirmedAt?.toISOString() ?? null,
      unsubscribedAt: s.unsubscribedAt?.toISOString() ?? null,
    })),
  };
}

export async function getSubscriber(rt: Runtime, id: string) {
  const found = (await listSubscribers(rt, { id, limit: 1 })).items[0];
  if (!found) throw new NotFoundError('Subscriber');
  return found;
}

export async function removeSubscriber(rt: Runtime, id: string): Promise<void> {
  const r = await rt.prisma.subscriber.deleteMany({ where: { id } });
  if (r.count === 0) throw new NotFoundError('Subscriber');
}

/**
 * An admin's word that a bouncing address works again (the mailbox was fixed, the domain is back):
 * confirmed with the bounce count at zero, so alerts go to it again. Only a bouncing subscriber can
 * be reactivated: an unsubscribed one said no, a pending one has not confirmed.
 */
export async function reactivateSubscriber(rt: Runtime, id: string) {
  const r = await rt.prisma.subscriber.updateMany({
    where: { id, status: 'bouncing' },
    data: { status: 'confirmed', bounceCount: 0 },
  });
  if (r.count === 0) {
    const sub = await rt.prisma.subscriber.findUnique({ where: { id }, select: { status: true } });
    if (!sub) throw new NotFoundError('Subscriber');
    throw new ConflictError(`only a bouncing subscriber can be reactivated (this one is ${sub.status})`);
  }
  rt.logger.info({ subscriberId: id }, 'bouncing subscriber reactivated by an admin');
  return getSubscriber(rt, id);
}
