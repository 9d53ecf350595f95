/**
 * Email: alerts to confirmed subscribers (one alert, or several due together as one digest-style
 * message), the double opt-in confirmation, and service notices to admins, over the pooled SMTP
 * mailer. Operators' subject and body templates replace the built-in text; the unsubscribe and
 * preferences links stay whatever the template says.
 */
import { randomBytes } from 'node:crypto';
import type { AlertView } from '../../alert-view.ts';
import { preferencesUrl, unsubscribeUrl } from '../../links.ts';
import { classifyDeliveryError, refuse } from '../classify.ts';
import type { Notifier, RenderEnv, TargetOf } from '../types.ts';
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

/**
 * An alert email is the same for every subscriber but for their token in the preferences and
 * unsubscribe links: it is rendered (operators' templates included) once per alert, event type and
 * templates version with this stand-in, and each message only puts the subscriber's token in its
 * place. The stand-in is random per process, so no alert text can contain it, and made of
 * characters that URL-encoding and HTML-escaping leave as they are.
 */
const TOKEN_STAND_IN = `tok${randomBytes(16).toString('hex')}`;
/** A token that URL-encoding leaves as it is and HTML-escaping too (base64url, dots): can be filled in. */
const FILLABLE = /^[A-Za-z0-9._~-]+$/;
const CACHED_ALERTS = 2000;

interface CachedMail {
  mail: RenderedEmail;
  note?: string;
}

/** One alert's email for `unsubscribeToken`, the operators' subject and body templates applied. */
async function renderOne(alert: AlertView, unsubscribeToken: string, env: RenderEnv): Promise<CachedMail> {
  let mail = renderAlertEmail({ publicBaseUrl: env.publicBaseUrl, alert, unsubscribeToken });
  const ownSubject = await env.template('email.subject', alert);
  const ownBody = await env.template('email.body', alert);
  const note = [ownSubject.note, ownBody.note].filter(Boolean).join('; ') || undefined;
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
  return { mail, ...(note ? { note } : {}) };
}

function fillToken(mail: RenderedEmail, token: string): RenderedEmail {
  const fill = (s: string) => s.replaceAll(TOKEN_STAND_IN, token);
  return {
    subject: mail.subject,
    text: fill(mail.text),
    html: fill(mail.html),
    headers: Object.fromEntries(Object.entries(mail.headers).map(([k, v]) => [k, fill(v)])),
  };
}

export function emailNotifier(mailer: Mailer, schedule: readonly number[]): Notifier<EmailTarget, EmailMessage> {
  const mailCache = new Map<string, Promise<CachedMail>>();
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
      if (alerts.length > 1) {
        // Several alerts due together: the set is this subscriber's own, rendered for them alone.
        return {
          message: { to, ...renderDigestEmail({ publicBaseUrl: env.publicBaseUrl, alerts, unsubscribeToken }) },
        };
      }
      const alert = alerts[0] as AlertView;
      if (!FILLABLE.test(unsubscribeToken)) {
        const one = await renderOne(alert, unsubscribeToken, env);
        return { message: { to, ...one.mail }, ...(one.note ? { note: one.note } : {}) };
      }
      const key = `${alert.id}:${group.eventType}:${env.templatesVersion}:${env.publicBaseUrl}`;
      let hit = mailCache.get(key);
      if (!hit) {
        // Held as the promise: the messages of one batch, rendered concurrently, wait for one render.
        hit = renderOne(alert, TOKEN_STAND_IN, env);
        mailCache.set(key, hit);
        hit.catch(() => mailCache.delete(key));
        if (mailCache.size > CACHED_ALERTS) mailCache.delete(mailCache.keys().next().value as string);
      }
      const { mail, note } = await hit;
      return { message: { to, ...fillToken(mail, unsubscribeToken) }, ...(note ? { note } : {}) };
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
