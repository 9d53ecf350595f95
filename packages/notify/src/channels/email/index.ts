/**
 * Email: alerts to confirmed subscribers (one alert, or several due together as one digest-style
 * message), the double opt-in confirmation, and service notices to admins, over the pooled SMTP
 * mailer. Operators' subject and body templates replace the built-in text; the unsubscribe and
 * preferences links stay whatever the template says.
 */
import type { AlertView } from '../../alert-view.ts';
import { preferencesUrl, unsubscribeUrl } from '../../links.ts';
import { classifyDeliveryError, refuse } from '../classify.ts';
import type { Notifier, TargetOf } from '../types.ts';
import type { ServiceEvent } from '../webhook/events.ts';
import { escapeHtml } from './html.ts';
import { MailPermanentError, type Mailer } from './mailer.ts';
import {
  type RenderedEmail,
  renderAlertEmail,
  renderConfirmationEmail,
  renderDigestEmail,
  renderServiceEventEmail,
} from './templates.ts';

export interface EmailTarget {
  /** The subscriber's address (null for a notice to an admin, read at render time). */
  to: string | null;
}
export type EmailMessage = RenderedEmail & { to: string };

const SERVICE = new Set(['service.degraded', 'service.recovered']);

export function emailNotifier(mailer: Mailer, schedule: readonly number[]): Notifier<EmailTarget, EmailMessage> {
  return {
    channel: 'email',
    eventTypes: ['alert.firing', 'alert.resolved', 'subscriber.confirm', 'service.degraded', 'service.recovered'],
    schedule,
    target(row): TargetOf<EmailTarget> {
      if (SERVICE.has(row.eventType)) return { ok: true, target: { to: null } };
      if (!row.subscriberId || !row.subEmail) return { ok: false, error: 'subscriber no longer exists' };
      if (row.eventType === 'subscriber.confirm') {
        if (row.subStatus !== 'pending')
          return { ok: false, error: `subscriber is ${row.subStatus}: no confirmation sent` };
      } else if (row.eventType === 'alert.firing' || row.eventType === 'alert.resolved') {
        // Nobody gets an alert they did not confirm (or after they unsubscribed).
        if (row.subStatus !== 'confirmed') return { ok: false, error: `subscriber is ${row.subStatus}: not sent` };
      } else return { ok: false, error: `unknown email event ${row.eventType}` };
      return { ok: true, target: { to: row.subEmail } };
    },
    async render(group, target, env) {
      if (SERVICE.has(group.eventType)) {
        const p = (group.payload ?? {}) as { adminId?: string; event?: ServiceEvent };
        if (!p.adminId || !p.event?.data?.incident) throw refuse('malformed service event');
        const to = await env.adminEmail(p.adminId);
        if (!to) throw refuse('admin account no longer exists');
        return { message: { to, ...renderServiceEventEmail({ publicBaseUrl: env.publicBaseUrl, event: p.event }) } };
      }
      const to = target.to as string;
      if (group.eventType === 'subscriber.confirm') {
        // The token exists in clear only in this email; Postgres keeps its hash. A retry makes a new one.
        const { token, expiresAt } = await env.confirmToken();
        return {
          message: {
            to,
            ...renderConfirmationEmail({ publicBaseUrl: env.publicBaseUrl, email: to, token, expiresAt }),
          },
        };
      }
      const alerts = await env.alerts();
      if (alerts.length === 0) throw refuse('alert no longer exists');
      const unsubscribeToken = env.unsubscribeToken as string;
      let mail =
        alerts.length === 1
          ? renderAlertEmail({ publicBaseUrl: env.publicBaseUrl, alert: alerts[0] as AlertView, unsubscribeToken })
          : renderDigestEmail({ publicBaseUrl: env.publicBaseUrl, alerts, unsubscribeToken });
      let note: string | undefined;
      if (alerts.length === 1) {
        const a = alerts[0] as AlertView;
        const ownSubject = await env.template('email.subject', a);
        const ownBody = await env.template('email.body', a);
        note = [ownSubject.note, ownBody.note].filter(Boolean).join('; ') || undefined;
        if (ownSubject.text) mail = { ...mail, subject: ownSubject.text.replace(/[\r\n]+/g, ' ').slice(0, 300) };
        if (ownBody.text) {
          // The links people need stay, whatever the template says.
          const text = `${ownBody.text}\n\n--\nChange what you receive: ${preferencesUrl(env.publicBaseUrl, unsubscribeToken)}\nUnsubscribe: ${unsubscribeUrl(env.publicBaseUrl, unsubscribeToken)}`;
          mail = {
            ...mail,
            text,
            html: `<!doctype html><html><body><pre style="white-space:pre-wrap;font-family:inherit">${escapeHtml(text)}</pre></body></html>`,
          };
        }
      }
      return { message: { to, ...mail }, ...(note ? { note } : {}) };
    },
    async send(message, _target, opts) {
      const r = await mailer.send({ ...message, messageId: `<${opts.messageId}@market-signals>` });
      return { status: r.code, response: r.response };
    },
    classify(err) {
      const f = classifyDeliveryError(err);
      // Only a mailbox that does not work counts as a bounce; a message refused for its content fails alone.
      return err instanceof MailPermanentError && err.recipientRejected ? { ...f, kind: 'bounce' } : f;
    },
  };
}

export * from './html.ts';
export * from './mailer.ts';
export * from './templates.ts';
