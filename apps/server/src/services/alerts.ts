/** Alerts: filtered list, and the detail view (price bars around the event, headlines, deliveries). */
import { NotFoundError, storedMeasure } from '@signals/core';
import type { Prisma } from '@signals/db';
import { z } from 'zod';
import { redactEmailAddresses } from '@signals/notify';
import type { Runtime } from '../context.ts';
import { text } from '../input.ts';
import { cursorFields, newestFirstPage } from './paging.ts';

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/, 'must be a date (YYYY-MM-DD) or an ISO timestamp')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'not a valid date');

export const alertFilterSchema = z.strictObject({
  ruleId: text({ min: 1, max: 64 }).optional(),
  symbol: text({ min: 1, max: 24 }).optional(),
  status: z.enum(['firing', 'resolved']).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  ...cursorFields(500),
});
export type AlertFilter = z.infer<typeof alertFilterSchema>;

/** The value, threshold and unit of a stored alert, rendered the one way every surface renders them. */
export const measureView = storedMeasure;

function endOfDay(s: string): Date {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) ? new Date(`${s}T23:59:59.999Z`) : new Date(s);
}

/**
 * How long the count of every alert (the unfiltered list's `total`) is reused: counting the whole
 * table costs ~5 ms of Postgres per request at 20,000 alerts and grows with the table, and the
 * first page of the list is what clients poll. A filtered list (rule, symbol, status, dates)
 * counts its own matches on every request, exactly.
 */
export const ALERT_TOTAL_MAX_AGE_MS = 1_000;
const alertTotals = new WeakMap<Runtime, { at: number; total: Promise<number> }>();

/** The number of alerts, counted at most once per ALERT_TOTAL_MAX_AGE_MS (one count at a time). */
function alertTotal(rt: Runtime): Promise<number> {
  const now = rt.clock.now().getTime();
  const hit = alertTotals.get(rt);
  if (hit && now - hit.at < ALERT_TOTAL_MAX_AGE_MS && now >= hit.at) return hit.total;
  // A Prisma query runs only when awaited: the async wrapper starts it now, so that every request
  // within the window awaits this one count.
  const total = (async () => rt.prisma.alert.count())();
  const entry = { at: now, total };
  alertTotals.set(rt, entry);
  // A failed count is not kept: the next request counts again.
  total.catch(() => {
    if (alertTotals.get(rt) === entry) alertTotals.delete(rt);
  });
  return total;
}

/** One row of the alert list as the list query reads it. */
interface AlertListRow {
  id: string;
  ruleId: string;
  ruleName: string;
  subject: string;
  status: string;
  severity: string;
  title: string;
  value: number;
  threshold: number;
  /** Only `unit` and `kind` of the stored details (for measureView), not the headlines. */
  details: { unit?: unknown; kind?: unknown };
  firedAt: Date;
  resolvedAt: Date | null;
  silenceId: string | null;
  inhibitedById: string | null;
  deliveryCount: number;
}

/**
 * Alerts newest first, filtered, one page. One SQL statement per page (issue 20, item 4): the list
 * columns, the rule's name and each alert's delivery count (from the (alertId, target) index; Prisma's
 * `_count` include aggregates the whole Delivery table before joining, measured 164 ms at 40,000
 * deliveries), instead of three Prisma queries. `total` is counted beside it (see alertTotal).
 */
export async function listAlerts(rt: Runtime, f: AlertFilter) {
  const conds: string[] = [];
  const args: unknown[] = [];
  const arg = (v: unknown) => {
    args.push(v);
    return `$${args.length}`;
  };
  // Timestamps are stored as UTC without a zone: compare with the instant taken to UTC.
  const at = (d: Date) => `(${arg(d.toISOString())}::timestamptz AT TIME ZONE 'UTC')`;
  if (f.ruleId) conds.push(`a."ruleId" = ${arg(f.ruleId)}`);
  if (f.symbol) conds.push(`a.subject = ${arg(f.symbol.toUpperCase())}`);
  if (f.status) conds.push(`a.status = ${arg(f.status)}::"AlertStatus"`);
  if (f.from) conds.push(`a."firedAt" >= ${at(new Date(f.from))}`);
  if (f.to) conds.push(`a."firedAt" <= ${at(endOfDay(f.to))}`);
  const filtered = conds.length > 0;
  const filter = [...conds];
  const filterArgs = [...args];
  const page = await newestFirstPage(
    f,
    ({ take, skip, after }) => {
      const where = [...conds];
      if (after) {
        const t = at(after.at);
        where.push(`(a."firedAt" < ${t} OR (a."firedAt" = ${t} AND a.id < ${arg(after.id)}))`);
      }
      const sql = `SELECT a.id, a."ruleId", r.name AS "ruleName", a.subject, a.status::text AS status,
          a.severity::text AS severity, a.title, a.value, a.threshold,
          jsonb_build_object('unit', a.details->'unit', 'kind', a.details->'kind') AS details,
          a."firedAt", a."resolvedAt", a."silenceId", a."inhibitedById",
          (SELECT count(*)::int FROM "Delivery" d WHERE d."alertId" = a.id) AS "deliveryCount"
        FROM "Alert" a JOIN "Rule" r ON r.id = a."ruleId"
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY a."firedAt" DESC, a.id DESC
        LIMIT ${arg(take)} OFFSET ${arg(skip)}`;
      return rt.prisma.$queryRawUnsafe<AlertListRow[]>(sql, ...args);
    },
    (a) => a.firedAt,
    async () => {
      if (!filtered) return alertTotal(rt);
      const [r] = await rt.prisma.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM "Alert" a WHERE ${filter.join(' AND ')}`,
        ...filterArgs,
      );
      return r?.n ?? 0;
    },
  );
  return {
    ...page,
    items: page.items.map((a) => ({
      id: a.id,
      ruleId: a.ruleId,
      ruleName: a.ruleName,
      subject: a.subject,
      status: a.status,
      severity: a.severity,
      title: a.title,
      value: a.value,
      threshold: a.threshold,
      ...measureView(a),
      firedAt: a.firedAt.toISOString(),
      resolvedAt: a.resolvedAt?.toISOString() ?? null,
      silenceId: a.silenceId,
      inhibitedBy: a.inhibitedById,
      deliveryCount: a.deliveryCount,
    })),
  };
}

/**
 * Who reads a delivery log: `addresses` false (a key without the `admin` scope) gets every email
 * address in error and response texts masked. Mail servers quote the recipient in refusals
 * (`550 5.1.1 <someone@example.com>`), and subscribers' addresses are the admin scope's to read.
 */
export interface DeliveryReader {
  addresses: boolean;
}

export function deliveryView(d: Prisma.DeliveryGetPayload<{ include: { attemptLog: true } }>, reader: DeliveryReader) {
  const shown = reader.addresses ? (t: string | null) => t : redactEmailAddresses;
  return {
    id: d.id,
    alertId: d.alertId,
    channel: d.channel,
    target: d.target,
    subscriberId: d.subscriberId,
    endpointId: d.endpointId,
    eventType: d.eventType,
    messageId: d.messageId,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.nextAttemptAt.toISOString(),
    lastError: shown(d.lastError),
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
    createdAt: d.createdAt.toISOString(),
    attemptLog: d.attemptLog.map((a) => ({
      startedAt: a.startedAt.toISOString(),
      durationMs: a.durationMs,
      outcome: a.outcome,
      statusCode: a.statusCode,
      response: shown(a.response),
      error: shown(a.error),
    })),
  };
}

export async function alertDeliveries(rt: Runtime, alertId: string, reader: DeliveryReader) {
  const a = await rt.prisma.alert.findUnique({ where: { id: alertId }, select: { id: true } });
  if (!a) throw new NotFoundError('Alert');
  const rows = await rt.prisma.delivery.findMany({
    where: { alertId },
    include: { attemptLog: { orderBy: { startedAt: 'asc' } } },
    orderBy: { createdAt: 'asc' },
  });
  return rows.map((d) => deliveryView(d, reader));
}

const DAY = 86_400_000;

/** Finest first: the alert page shows the finest interval stored around the firing. */
const CHART_INTERVALS = ['1m', '5m', '15m', '1h'] as const;

/**
 * Intraday candles from 30 hours before to 12 hours after `fired` (the session, the evening before
 * and the post-market after), of the finest interval stored there; null when none are. Times are
 * epoch seconds (the chart's UTC timestamps); `session` marks pre/post-market bars.
 */
async function intradayAround(rt: Runtime, instrumentId: string, fired: number) {
  const from = new Date(fired - 30 * 3_600_000);
  const to = new Date(fired + 12 * 3_600_000);
  for (const interval of CHART_INTERVALS) {
    const rows = await rt.prisma.intradayBar.findMany({
      where: { instrumentId, interval, ts: { gte: from, lt: to } },
      orderBy: { ts: 'asc' },
      take: 2000,
    });
    if (rows.length) {
      return {
        interval,
        bars: rows.map((b) => ({
          time: Math.floor(b.ts.getTime() / 1000),
          open: b.open,
          high: b.high,
          low: b.low,
          close: b.close,
          session: b.session,
        })),
      };
    }
  }
  return null;
}

export async function getAlert(rt: Runtime, id: string, reader: DeliveryReader) {
  const a = await rt.prisma.alert.findUnique({
    where: { id },
    include: {
      rule: { select: { id: true, name: true, kind: true, sourceArticle: true, sourcePassage: true } },
      instrument: true,
      silence: { select: { id: true, comment: true, endsAt: true, createdBy: true } },
      inhibitedBy: { select: { id: true, title: true, firedAt: true, status: true } },
      inhibitRule: { select: { id: true, comment: true } },
    },
  });
  if (!a) throw new NotFoundError('Alert');
  const inst = a.instrument ?? (await rt.prisma.instrument.findUnique({ where: { symbol: a.subject } }));
  const fired = a.firedAt.getTime();
  const bars = inst
    ? await rt.prisma.priceBar.findMany({
        where: { instrumentId: inst.id, date: { gte: new Date(fired - 120 * DAY), lte: new Date(fired + 30 * DAY) } },
        orderBy: { date: 'asc' },
      })
    : [];
  const intraday = inst ? await intradayAround(rt, inst.id, fired) : null;
  // The headlines the alert carries ("why it moved"), chosen once by the engine and stored with it:
  // the same items, in the same order, as its email and webhook.
  const stored = ((a.details ?? {}) as { headlines?: { title?: unknown; link?: unknown; publishedAt?: unknown }[] })
    .headlines;
  const headlines = (Array.isArray(stored) ? stored : [])
    .filter((h) => typeof h?.title === 'string')
    .map((h) => ({
      title: h.title as string,
      link: typeof h.link === 'string' ? h.link : null,
      publishedAt: typeof h.publishedAt === 'string' ? h.publishedAt : null,
    }));
  return {
    id: a.id,
    title: a.title,
    subject: a.subject,
    status: a.status,
    severity: a.severity,
    value: a.value,
    threshold: a.threshold,
    ...measureView(a),
    windowStart: a.windowStart?.toISOString() ?? null,
    windowEnd: a.windowEnd?.toISOString() ?? null,
    firedAt: a.firedAt.toISOString(),
    resolvedAt: a.resolvedAt?.toISOString() ?? null,
    details: a.details,
    rule: a.rule,
    /** The silence that held its notifications back, if one did. */
    silence: a.silence
      ? {
          id: a.silence.id,
          comment: a.silence.comment,
          endsAt: a.silence.endsAt.toISOString(),
          createdBy: a.silence.createdBy,
        }
      : null,
    /** The firing alert whose inhibit rule held its notifications back, if one did. */
    inhibitedBy: a.inhibitedById,
    inhibition: a.inhibitedBy
      ? {
          alert: {
            id: a.inhibitedBy.id,
            title: a.inhibitedBy.title,
            firedAt: a.inhibitedBy.firedAt.toISOString(),
            status: a.inhibitedBy.status,
          },
          inhibitRule: a.inhibitRule ? { id: a.inhibitRule.id, comment: a.inhibitRule.comment } : null,
        }
      : null,
    bars: bars.map((b) => ({
      time: b.date.toISOString().slice(0, 10),
      open: b.open.toNumber(),
      high: b.high.toNumber(),
      low: b.low.toNumber(),
      close: b.close.toNumber(),
    })),
    /** Intraday candles around the firing (finest stored interval), when any are stored. */
    intraday,
    headlines,
    deliveries: await alertDeliveries(rt, a.id, reader),
  };
}
