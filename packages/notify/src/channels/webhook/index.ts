/**
 * Webhooks: the versioned event (standard) or a Slack / Discord / Teams chat message (./formats.ts),
 * signed with Standard Webhooks headers and sent by the hardened sender (./sender.ts). The body is
 * built once per alert, event type and format, and kept on the row so every retry sends the same
 * bytes under the same webhook-id.
 */
import { chatBodyOf } from '../../custom/templates.ts';
import { classifyDeliveryError, refuse } from '../classify.ts';
import type { Notifier, TargetOf } from '../types.ts';
import { buildAlertEvent } from './events.ts';
import { renderWebhookBody, type WebhookFormat } from './formats.ts';
import { signingSecrets } from './signing.ts';

/** The sending half the worker is given (createWebhookSender, or a fake in a test). */
export interface WebhookPort {
  send(req: { url: string; messageId: string; secrets: string[]; body: string }): Promise<{
    status: number;
    durationMs: number;
    responseSnippet?: string;
  }>;
}

export interface WebhookTarget {
  url: string;
  secrets: string[];
  format: WebhookFormat;
  /** The body kept from the first attempt. */
  kept: string | null;
}

/** Every endpoint of a fan-out gets the same event: built once per alert, event type, format and templates. */
const bodyCache = new Map<string, { body: string; note?: string }>();

export function webhookNotifier(port: WebhookPort, schedule: readonly number[]): Notifier<WebhookTarget, string> {
  return {
    channel: 'webhook',
    // Any event an endpoint was given (alerts, tests, service notices, endpoint notices).
    eventTypes: [],
    schedule,
    target(row, _open, now): TargetOf<WebhookTarget> {
      if (row.epStatus !== 'active' || !row.url || !row.secret)
        return { ok: false, error: 'endpoint disabled or removed' };
      const kept = typeof row.payload === 'string' ? row.payload : row.payload ? JSON.stringify(row.payload) : null;
      return {
        ok: true,
        target: {
          url: row.url,
          secrets: signingSecrets({ ...row, secret: row.secret }, now),
          format: (row.epFormat ?? 'standard') as WebhookFormat,
          kept,
        },
      };
    },
    async render(group, target, env) {
      if (target.kept) return { message: target.kept };
      const alertId = group.alertIds[0];
      if (!alertId) throw refuse('nothing to send');
      const format = target.format;
      const key = `${alertId}:${group.eventType}:${format}:${format === 'standard' ? '' : env.templatesVersion}`;
      let hit = bodyCache.get(key);
      if (!hit) {
        const view = (await env.alerts())[0];
        if (!view) throw refuse('alert no longer exists');
        const event = buildAlertEvent(view, {
          type: group.eventType as 'alert.firing' | 'alert.resolved',
          timestamp: group.eventType === 'alert.resolved' ? (view.resolvedAt ?? env.now) : view.firedAt,
          publicBaseUrl: env.publicBaseUrl,
        });
        const own = format !== 'standard' ? await env.template(format, view) : null;
        const body =
          own?.text && format !== 'standard' ? chatBodyOf(format, own.text) : renderWebhookBody(event, format);
        hit = { body, ...(own?.note ? { note: own.note } : {}) };
        bodyCache.set(key, hit);
        if (bodyCache.size > 2000) bodyCache.delete(bodyCache.keys().next().value as string);
      }
      return { message: hit.body, keep: hit.body, ...(hit.note ? { note: hit.note } : {}) };
    },
    async send(body, target, opts) {
      const r = await port.send({ url: target.url, messageId: opts.messageId, secrets: target.secrets, body });
      return { status: r.status, response: r.responseSnippet ?? '' };
    },
    classify: classifyDeliveryError,
  };
}

export * from './events.ts';
export * from './formats.ts';
export * from './sender.ts';
export * from './signing.ts';
