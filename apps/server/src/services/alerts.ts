/** Alerts: filtered list, and the detail view (price bars around the event, headlines, deliveries). */
import { NotFoundError, storedMeasure } from '@signals/core';
import type { Prisma } from '@signals/db';
import { z } from 'zod';
import { redactEmailAddresses } from '@signals/notify';
import type { Runtime } from '../context.ts';
import { text } from '../input.ts';
import { cursorFields, newestFirstPage, olderThan } from './paging.ts';

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

/** The columns the alert list shows (not dedupKey, the window or the headlines). */
const listColumns = {
  id: true,
  ruleId: true,
  subject: true,
  status: true,
  severity: true,
  title: true,
  value: true,
  threshold: true,
  // unit and kind for measureView
  details: true,
  firedAt: true,
  resolvedAt: true,
  silenceId: true,
  inhibitedById: true,
  rule: { select: { name: true } },
} as const;

export async function listAlerts(rt: Runtime, f: AlertFilter) {
  const where: Prisma.AlertWhereInput = {
    ...(f.ruleId ? { ruleId: f.ruleId } : {}),
    ...(f.symbol ? { subject: f.symbol.toUpperCase() } : {}),
    ...(f.status ? { status: f.status } : {}),
    ...(f.from || f.to
      ? { firedAt: { ...(f.from ? { gte: new Date(f.from) } : {}), ...(f.to ? { lte: endOfDay(f.to) } : {}) } }
      : {}),
  };
  const page = await newestFirstPage(
    f,
    ({ take, skip, after }) =>
      rt.prisma.alert.findMany({
        where: after ? { AND: [where, olderThan('firedAt', after)] } : where,
        orderBy: [{ firedAt: 'desc' }, { id: 'desc' }],
        take,
        skip,
        select: listColumns,
      }),
    (a) => a.firedAt,
    () => rt.prisma.alert.count({ where }),
  );
  // Delivery counts of this page only, from the (alertId, target) index. Prisma's `_count` include
  // aggregates the whole Delivery table before joining (measured: 164 ms of 20,000 alerts with
  // 40,000 deliveries, growing with the table; this is ~1 ms).
  const counts = new Map<string, number>();
  if (page.items.length > 0) {
    const rows = await rt.prisma.delivery.groupBy({
      by: ['alertId'],
      where: { alertId: { in: page.items.map((a) => a.id) } },
      _count: { _all: true },
    });
    for (const r of rows) if (r.alertId) counts.set(r.alertId, r._count._all);
  }
  return {
    ...page,
    items: page.items.map((a) => ({
      id: a.id,
      ruleId: a.ruleId,
      ruleName: a.rule.name,
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
      deliveryCount: counts.get(a.id) ?? 0,
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
