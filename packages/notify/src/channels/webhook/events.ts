/**
 * Webhook payloads, version 1. The published contract is schema/webhook-event.v1.json (JSON
 * Schema 2020-12); a test validates events built here against it, so the two cannot drift.
 *
 * Compatibility rule for version 1: fields may be added, never removed or retyped. A breaking
 * change is a new `version` and a new schema file.
 */
import type { Severity } from '@signals/core';
import type { AlertView, ValueUnit } from '../../alert-view.ts';
import { alertAdminUrl, systemAdminUrl } from '../../links.ts';

export const WEBHOOK_EVENT_VERSION = 1 as const;

export type AlertEventType = 'alert.firing' | 'alert.resolved';
/** The service itself: a loop stopped running (degraded) or runs again (recovered). */
export type ServiceEventType = 'service.degraded' | 'service.recovered';
export type WebhookEventType = AlertEventType | ServiceEventType | 'endpoint.test';
export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = [
  'alert.firing',
  'alert.resolved',
  'service.degraded',
  'service.recovered',
  'endpoint.test',
];

export interface AlertPayload {
  id: string;
  title: string;
  symbol: string;
  status: 'firing' | 'resolved';
  severity: Severity;
  value: number;
  threshold: number;
  unit: ValueUnit;
  windowStart: string | null;
  windowEnd: string | null;
  firedAt: string;
  resolvedAt: string | null;
  /** The alert in the admin page, when the sender knows the public URL. */
  url: string | null;
  rule: {
    id: string | null;
    name: string;
    description: string | null;
    sourceArticle: string | null;
    sourcePassage: string | null;
  };
  headlines: { title: string; link: string | null; publishedAt: string | null }[];
}

export interface WebhookEvent<T extends WebhookEventType = WebhookEventType, D = unknown> {
  type: T;
  /** When the event happened (ISO 8601, UTC). */
  timestamp: string;
  data: D;
  version: typeof WEBHOOK_EVENT_VERSION;
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export type AlertEvent = WebhookEvent<AlertEventType, { alert: AlertPayload }>;
export type TestEvent = WebhookEvent<'endpoint.test', { endpointId: string | null; message: string }>;

/** One outage of one loop, as receivers see it. */
export interface IncidentPayload {
  id: string;
  /** prices, news, evaluate, sweep or deliveries. */
  loop: string;
  /** The loop's name for people, e.g. "Rule evaluation". */
  name: string;
  status: 'degraded' | 'recovered';
  /** How often the loop is expected to run, in seconds. */
  intervalSec: number;
  /** Its last success before the outage (null: it had never run). */
  lastSuccessAt: string | null;
  /** When it became overdue (three intervals without a success). */
  overdueSince: string;
  degradedAt: string;
  recoveredAt: string | null;
  /** Why it was judged overdue, for people. */
  reason: string;
  /** The System page of the admin, when the sender knows the public URL. */
  url: string | null;
}

export type ServiceEvent = WebhookEvent<ServiceEventType, { incident: IncidentPayload }>;

/** What the sender knows of an incident (a LoopIncident row and its loop). */
export interface IncidentView {
  id: string;
  loop: string;
  name: string;
  intervalSec: number;
  /** The last success before the outage; null or the epoch when the loop had never run. */
  since: Date | null;
  overdueAt: Date;
  degradedAt: Date;
  recoveredAt: Date | null;
  reason: string;
}

/** service.degraded when the incident opens, service.recovered (with recoveredAt) when it closes. */
export function buildServiceEvent(incident: IncidentView, options: { publicBaseUrl?: string }): ServiceEvent {
  const recovered = incident.recoveredAt !== null;
  const since = incident.since && incident.since.getTime() > 0 ? incident.since : null;
  return {
    type: recovered ? 'service.recovered' : 'service.degraded',
    timestamp: (incident.recoveredAt ?? incident.degradedAt).toISOString(),
    data: {
      incident: {
        id: incident.id,
        loop: incident.loop,
        name: incident.name,
        status: recovered ? 'recovered' : 'degraded',
        intervalSec: incident.intervalSec,
        lastSuccessAt: iso(since),
        overdueSince: incident.overdueAt.toISOString(),
        degradedAt: incident.degradedAt.toISOString(),
        recoveredAt: iso(incident.recoveredAt),
        reason: incident.reason,
        url: options.publicBaseUrl ? systemAdminUrl(options.publicBaseUrl) : null,
      },
    },
    version: WEBHOOK_EVENT_VERSION,
  };
}

export interface BuildAlertEventOptions {
  type: AlertEventType;
  /** Event time: firedAt for alert.firing, resolvedAt for alert.resolved, typically. */
  timestamp: Date;
  /** Adds `data.alert.url` (the admin page of the alert). */
  publicBaseUrl?: string;
}

export function buildAlertEvent(alert: AlertView, options: BuildAlertEventOptions): AlertEvent {
  return {
    type: options.type,
    timestamp: options.timestamp.toISOString(),
    data: {
      alert: {
        id: alert.id,
        title: alert.title,
        symbol: alert.symbol,
        status: alert.status,
        severity: alert.severity,
        value: alert.value,
        threshold: alert.threshold,
        unit: alert.unit ?? 'fraction',
        windowStart: iso(alert.windowStart),
        windowEnd: iso(alert.windowEnd),
        firedAt: alert.firedAt.toISOString(),
        resolvedAt: iso(alert.resolvedAt),
        url: options.publicBaseUrl ? alertAdminUrl(options.publicBaseUrl, alert.id) : null,
        rule: {
          id: alert.rule.id ?? null,
          name: alert.rule.name,
          description: alert.rule.description,
          sourceArticle: alert.rule.sourceArticle,
          sourcePassage: alert.rule.sourcePassage,
        },
        headlines: alert.headlines.map((h) => ({ title: h.title, link: h.link, publishedAt: iso(h.publishedAt) })),
      },
    },
    version: WEBHOOK_EVENT_VERSION,
  };
}

/** The event the admin page's "send test" button sends. */
export function buildTestEvent(options: { timestamp: Date; endpointId?: string | null }): TestEvent {
  return {
    type: 'endpoint.test',
    timestamp: options.timestamp.toISOString(),
    data: {
      endpointId: options.endpointId ?? null,
      message: 'Test event from Market Signals: if you can read this, your endpoint receives and verifies webhooks.',
    },
    version: WEBHOOK_EVENT_VERSION,
  };
}

/** The body to sign and send: compact JSON. Sign exactly these bytes. */
export function serializeEvent(event: WebhookEvent): string {
  return JSON.stringify(event);
}
