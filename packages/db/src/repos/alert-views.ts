/**
 * What messages show about stored alerts, read in one query: the one loader for the delivery
 * worker (every channel) and the admin template preview, so a preview shows what would be sent.
 * The shape is @signals/notify's AlertView (structurally; db does not import notify).
 */
import { storedUnit, type Unit } from '@signals/core';
import type { PrismaClient } from '../generated/client.ts';
import type { Tx } from './outbox.ts';

export interface AlertSnapshot {
  id: string;
  title: string;
  symbol: string;
  status: 'firing' | 'resolved';
  severity: 'info' | 'warning' | 'critical';
  value: number;
  threshold: number;
  /** The rule kind's unit (@signals/core units.ts); alerts stored before units grew are read by storedUnit. */
  unit: Unit;
  windowStart: Date | null;
  windowEnd: Date | null;
  firedAt: Date;
  resolvedAt: Date | null;
  rule: {
    id: string;
    name: string;
    description: string | null;
    sourceArticle: string | null;
    sourcePassage: string | null;
  };
  headlines: { title: string; link: string | null; publishedAt: Date | null }[];
}

export async function loadAlertSnapshots(
  prisma: PrismaClient | Tx,
  alertIds: readonly string[],
): Promise<Map<string, AlertSnapshot>> {
  const alerts = await prisma.alert.findMany({ where: { id: { in: [...alertIds] } }, include: { rule: true } });
  const views = new Map<string, AlertSnapshot>();
  for (const a of alerts) {
    const details = (a.details ?? {}) as {
      unit?: unknown;
      kind?: unknown;
      headlines?: { title: string; link?: string | null; publishedAt?: string | null }[];
    };
    views.set(a.id, {
      id: a.id,
      title: a.title,
      symbol: a.subject,
      status: a.status,
      severity: a.severity,
      value: a.value,
      threshold: a.threshold,
      unit: storedUnit(details.unit, details.kind),
      windowStart: a.windowStart,
      windowEnd: a.windowEnd,
      firedAt: a.firedAt,
      resolvedAt: a.resolvedAt,
      rule: {
        id: a.rule.id,
        name: a.rule.name,
        description: a.rule.description,
        sourceArticle: a.rule.sourceArticle,
        sourcePassage: a.rule.sourcePassage,
      },
      headlines: (details.headlines ?? []).map((h) => ({
        title: h.title,
        link: h.link ?? null,
        publishedAt: h.publishedAt ? new Date(h.publishedAt) : null,
      })),
    });
  }
  return views;
}

/** The operators' message templates (a handful of rows): key -> LiquidJS source. */
export async function loadMessageTemplates(prisma: PrismaClient | Tx): Promise<Map<string, string>> {
  const rows = await prisma.messageTemplate.findMany({ select: { key: true, source: true } });
  return new Map(rows.map((r) => [r.key, r.source]));
}
