/**
 * Email templates: pure functions from views to { subject, text, html, headers }. Every value is
 * escaped in the HTML part (see ./html.ts); links from feeds are kept only when they are http(s).
 * Alert and digest emails carry RFC 8058 one-click unsubscribe headers and visible unsubscribe and
 * preference links.
 */
import type { Severity } from '@signals/core';
import type { AlertView, HeadlineView } from '../../alert-view.ts';
import { redactUrl } from '../../redact.ts';
import {
  alertAdminUrl,
  confirmUrl,
  endpointAdminUrl,
  preferencesUrl,
  systemAdminUrl,
  unsubscribeUrl,
} from '../../links.ts';
import type { ServiceEvent } from '../webhook/events.ts';
import { formatTime, formatValue, formatWindow, oneLine } from '../../format.ts';
import { html, type SafeHtml, safeHref } from './html.ts';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
  /** Extra headers (List-Unsubscribe, List-Unsubscribe-Post, ...), passed to the mailer as is. */
  headers: Record<string, string>;
}

/** Shared by templates that link back to the public site. */
export interface SiteOptions {
  /** Public origin of the server, e.g. `https://signals.example.org` (no trailing slash needed). */
  publicBaseUrl: string;
  /** Product name shown in subjects and footers. Default "Market Signals". */
  productName?: string;
}

/** Recipient-specific part of alert and digest emails. */
export interface SubscriberLinks {
  /**
   * The subscriber's manage token (clear text; the database holds only its hash). It authorises
   * one-click unsubscribe and the preferences page.
   */
  unsubscribeToken: string;
}

const DEFAULT_PRODUCT = 'Market Signals';
const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
const SEVERITY_COLOR: Record<Severity, string> = { info: '#2563eb', warning: '#d97706', critical: '#dc2626' };
const MAX_HEADLINES = 5;

/**
 * RFC 2369 + RFC 8058 headers: mail clients show an "Unsubscribe" button that POSTs
 * `List-Unsubscribe=One-Click` to the URL (so the server must accept POST there without a login).
 * Gmail and Yahoo require both for bulk senders.
 */
export function listUnsubscribeHeaders(publicBaseUrl: string, token: string): Record<string, string> {
  return {
    'List-Unsubscribe': `<${unsubscribeUrl(publicBaseUrl, token)}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}

// ---------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------

function layout(title: string, body: SafeHtml, footer: SafeHtml | null): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
</head>
<body style="margin:0;padding:0;background:#f4f4f5;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#18181b;">
<div style="max-width:640px;margin:0 auto;padding:24px;background:#ffffff;">
${body}
${
  footer
    ? html`<hr style="border:none;border-top:1px solid #e4e4e7;margin:24px 0;">
<div style="font-size:12px;color:#71717a;">${footer}</div>`
    : null
}
</div>
</body>
</html>
`.value;
}

function subscriberFooter(site: SiteOptions, links: SubscriberLinks): { html: SafeHtml; text: string } {
  const product = site.productName ?? DEFAULT_PRODUCT;
  const unsub = unsubscribeUrl(site.publicBaseUrl, links.unsubscribeToken);
  const prefs = preferencesUrl(site.publicBaseUrl, links.unsubscribeToken);
  return {
    html: html`<p>You receive this because you subscribed to ${product} alerts.
<a href="${unsub}">Unsubscribe</a> · <a href="${prefs}">Email preferences</a></p>`,
    text: `You receive this because you subscribed to ${product} alerts.\nUnsubscribe: ${unsub}\nEmail preferences: ${prefs}\n`,
  };
}

function button(href: string, label: string): SafeHtml {
  return html`<p style="margin:24px 0;"><a href="${href}" style="display:inline-block;padding:10px 18px;background:#18181b;color:#ffffff;text-decoration:none;border-radius:6px;">${label}</a></p>`;
}

function severityBadge(severity: Severity): SafeHtml {
  return html`<span style="display:inline-block;padding:2px 8px;border-radius:4px;color:#ffffff;background:${SEVERITY_COLOR[severity]};font-size:12px;text-transform:uppercase;">${severity}</span>`;
}

function headlinesHtml(headlines: readonly HeadlineView[]): SafeHtml | null {
  if (headlines.length === 0) return null;
  return html`<h3 style="font-size:15px;margin:20px 0 8px;">Related headlines</h3>
<ul style="padding-left:20px;margin:0;">${headlines.map((h) => {
    const href = safeHref(h.link);
    const when = h.publishedAt ? html` <span style="color:#71717a;">(${formatTime(h.publishedAt)})</span>` : null;
    return href ? html`<li><a href="${href}">${h.title}</a>${when}</li>` : html`<li>${h.title}${when}</li>`;
  })}</ul>`;
}

function headlinesText(headlines: readonly HeadlineView[]): string {
  if (headlines.length === 0) return '';
  const lines = headlines.map((h) => {
    const href = safeHref(h.link);
    const when = h.publishedAt ? ` (${formatTime(h.publishedAt)})` : '';
    return `- ${oneLine(h.title, 300)}${when}${href ? `\n  ${href}` : ''}`;
  });
  return `Related headlines:\n${lines.join('\n')}\n`;
}

function sourceHtml(rule: AlertView['rule']): SafeHtml | null {
  if (!rule.sourceArticle && !rule.sourcePassage) return null;
  return html`<h3 style="font-size:15px;margin:20px 0 8px;">Why this threshold</h3>
${rule.sourceArticle ? html`<p style="margin:0 0 8px;color:#52525b;">From: ${rule.sourceArticle}</p>` : null}
${rule.sourcePassage ? html`<blockquote style="margin:0;padding:8px 12px;border-left:3px solid #d4d4d8;color:#3f3f46;">${rule.sourcePassage}</blockquote>` : null}`;
}

function sourceText(rule: AlertView['rule']): string {
  if (!rule.sourceArticle && !rule.sourcePassage) return '';
  let out = 'Why this threshold:\n';
  if (rule.sourceArticle) out += `From: ${rule.sourceArticle}\n`;
  if (rule.sourcePassage) out += `> ${rule.sourcePassage.replace(/\r?\n/g, '\n> ')}\n`;
  return out;
}

function dedupeHeadlines(all: readonly HeadlineView[], max = MAX_HEADLINES): HeadlineView[] {
  const seen = new Set<string>();
  const out: HeadlineView[] = [];
  for (const h of all) {
    const key = (h.link ?? '').trim() || h.title.trim().toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(h);
    if (out.length >= max) break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Confirmation (double opt-in)
// ---------------------------------------------------------------------------------------------

export interface ConfirmationEmailInput extends SiteOptions {
  /** The address being confirmed (shown, so a mistyped one is noticed). */
  email: string;
  /** Clear confirmation token; the database holds only its hash. */
  token: string;
  /** When the link stops working, if it expires. */
  expiresAt?: Date | null;
}

export function renderConfirmationEmail(input: ConfirmationEmailInput): RenderedEmail {
  const product = input.productName ?? DEFAULT_PRODUCT;
  const url = confirmUrl(input.publicBaseUrl, input.token);
  const expiry = input.expiresAt ? `This link expires on ${formatTime(input.expiresAt)}.` : '';
  const subject = oneLine(`Confirm your subscription to ${product}`);
  const body = html`<h1 style="font-size:20px;margin:0 0 16px;">Confirm your subscription</h1>
<p>Someone, hopefully you, asked to receive ${product} alerts at <strong>${input.email}</strong>.</p>
<p>No email will be sent until the address is confirmed.</p>
${button(url, 'Confirm subscription')}
<p style="font-size:13px;color:#52525b;">Or open this link: <a href="${url}">${url}</a></p>
${expiry ? html`<p style="font-size:13px;color:#52525b;">${expiry}</p>` : null}
<p style="font-size:13px;color:#52525b;">If you did not ask for this, ignore this email: you will not be subscribed.</p>`;
  const text =
    `Confirm your subscription\n\n` +
    `Someone, hopefully you, asked to receive ${product} alerts at ${input.email}.\n` +
    `No email will be sent until the address is confirmed. Confirm here:\n\n${url}\n\n` +
    (expiry ? `${expiry}\n` : '') +
    `If you did not ask for this, ignore this email: you will not be subscribed.\n`;
  return { subject, text, html: layout(subject, body, null), headers: {} };
}

// ---------------------------------------------------------------------------------------------
// One alert
// ---------------------------------------------------------------------------------------------

export interface AlertEmailInput extends SiteOptions, SubscriberLinks {
  alert: AlertView;
}

function alertSubject(alert: AlertView): string {
  const prefix = alert.status === 'resolved' ? '[resolved] ' : `[${alert.severity}] `;
  return oneLine(`${prefix}${alert.title}`);
}

export function renderAlertEmail(input: AlertEmailInput): RenderedEmail {
  const { alert } = input;
  const unit = alert.unit ?? 'fraction';
  const link = alertAdminUrl(input.publicBaseUrl, alert.id);
  const footer = subscriberFooter(input, input);
  const subject = alertSubject(alert);
  const window = formatWindow(alert.windowStart, alert.windowEnd);
  const rows: [string, string][] = [
    ['Instrument', alert.symbol],
    [unit === 'fraction' ? 'Move' : 'Value', formatValue(alert.value, unit)],
    ['Threshold', formatValue(alert.threshold, unit)],
    ...(window ? ([['Window', window]] as [string, string][]) : []),
    ['Fired at', formatTime(alert.firedAt)],
    ...(alert.resolvedAt ? ([['Resolved at', formatTime(alert.resolvedAt)]] as [string, string][]) : []),
    ['Status', alert.status],
  ];
  const headlines = dedupeHeadlines(alert.headlines);
  const body = html`<p style="margin:0 0 8px;">${severityBadge(alert.severity)}</p>
<h1 style="font-size:20px;margin:0 0 16px;">${alert.title}</h1>
<table style="border-collapse:collapse;font-size:14px;">${rows.map(
    ([k, v]) =>
      html`<tr><td style="padding:4px 16px 4px 0;color:#71717a;">${k}</td><td style="padding:4px 0;"><strong>${v}</strong></td></tr>`,
  )}</table>
<h3 style="font-size:15px;margin:20px 0 8px;">Rule: ${alert.rule.name}</h3>
${alert.rule.description ? html`<p style="margin:0;">${alert.rule.description}</p>` : null}
${sourceHtml(alert.rule)}
${headlinesHtml(headlines)}
${button(link, 'View alert')}`;
  const text =
    `${alert.title}\n` +
    `Severity: ${alert.severity}\n\n` +
    rows.map(([k, v]) => `${k}: ${v}`).join('\n') +
    `\n\nRule: ${alert.rule.name}\n` +
    (alert.rule.description ? `${alert.rule.description}\n` : '') +
    `\n${sourceText(alert.rule)}\n${headlinesText(headlines)}\nView alert: ${link}\n\n-- \n${footer.text}`;
  return {
    subject,
    text,
    html: layout(subject, body, footer.html),
    headers: listUnsubscribeHeaders(input.publicBaseUrl, input.unsubscribeToken),
  };
}

// ---------------------------------------------------------------------------------------------
// Digest: several alerts, one message
// ---------------------------------------------------------------------------------------------

/** Alerts of one rule at one severity (Alertmanager's group_by: [rule, severity]). */
export interface AlertGroup {
  key: string;
  rule: AlertView['rule'];
  severity: Severity;
  alerts: AlertView[];
}

/**
 * Groups alerts by rule and severity, so a sector-wide sell-off (one rule firing for many symbols)
 * reads as one group. Groups come most severe first, then largest, then most recent; alerts inside
 * a group by firing time.
 */
export function groupAlerts(alerts: readonly AlertView[]): AlertGroup[] {
  const groups = new Map<string, AlertGroup>();
  for (const a of alerts) {
    const key = `${a.rule.id ?? `name:${a.rule.name}`}|${a.severity}`;
    let g = groups.get(key);
    if (!g) {
      g = { key, rule: a.rule, severity: a.severity, alerts: [] };
      groups.set(key, g);
    }
    g.alerts.push(a);
  }
  const latest = (g: AlertGroup) => Math.max(...g.alerts.map((a) => a.firedAt.getTime()));
  for (const g of groups.values()) g.alerts.sort((x, y) => x.firedAt.getTime() - y.firedAt.getTime());
  return [...groups.values()].sort(
    (x, y) =>
      SEVERITY_RANK[y.severity] - SEVERITY_RANK[x.severity] ||
      y.alerts.length - x.alerts.length ||
      latest(y) - latest(x),
  );
}

function listNames(names: readonly string[], max: number): string {
  const unique = [...new Set(names)];
  const shown = unique.slice(0, max).join(', ');
  return unique.length > max ? `${shown}, +${unique.length - max}` : shown;
}

export interface DigestEmailInput extends SiteOptions, SubscriberLinks {
  alerts: readonly AlertView[];
  /** The period the digest covers, shown in the heading when given. */
  since?: Date | null;
  until?: Date | null;
}

export function renderDigestEmail(input: DigestEmailInput): RenderedEmail {
  if (input.alerts.length === 0) throw new Error('renderDigestEmail: no alerts to send');
  const groups = groupAlerts(input.alerts);
  const first = groups[0] as AlertGroup;
  const n = input.alerts.length;
  const plural = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
  const subject =
    groups.length === 1
      ? oneLine(
          `[${first.severity}] ${first.rule.name}: ${plural(n, 'alert')} (${listNames(
            first.alerts.map((a) => a.symbol),
            4,
          )})`,
        )
      : oneLine(
          `[${first.severity}] ${plural(n, 'alert')} from ${groups.length} rules: ${listNames(
            groups.map((g) => g.rule.name),
            3,
          )}`,
        );
  const period = formatWindow(input.since ?? null, input.until ?? null);
  const footer = subscriberFooter(input, input);

  const groupHtml = groups.map((g) => {
    const headlines = dedupeHeadlines(g.alerts.flatMap((a) => a.headlines));
    return html`<div style="margin:0 0 28px;">
<h2 style="font-size:17px;margin:0 0 6px;">${severityBadge(g.severity)} ${g.rule.name} <span style="color:#71717a;font-weight:normal;">(${plural(g.alerts.length, 'alert')})</span></h2>
${g.rule.description ? html`<p style="margin:0 0 8px;">${g.rule.description}</p>` : null}
<table style="border-collapse:collapse;font-size:14px;width:100%;">
<tr style="text-align:left;color:#71717a;"><th style="padding:4px 8px 4px 0;">Instrument</th><th style="padding:4px 8px;">Move</th><th style="padding:4px 8px;">Threshold</th><th style="padding:4px 8px;">Fired at</th><th style="padding:4px 8px;">Status</th><th></th></tr>
${g.alerts.map((a) => {
  const unit = a.unit ?? 'fraction';
  return html`<tr><td style="padding:4px 8px 4px 0;"><strong>${a.symbol}</strong></td><td style="padding:4px 8px;">${formatValue(a.value, unit)}</td><td style="padding:4px 8px;">${formatValue(a.threshold, unit)}</td><td style="padding:4px 8px;">${formatTime(a.firedAt)}</td><td style="padding:4px 8px;">${a.status}</td><td style="padding:4px 0;"><a href="${alertAdminUrl(input.publicBaseUrl, a.id)}">details</a></td></tr>`;
})}
</table>
${sourceHtml(g.rule)}
${headlinesHtml(headlines)}
</div>`;
  });
  const body = html`<h1 style="font-size:20px;margin:0 0 4px;">${plural(n, 'alert')}</h1>
${period ? html`<p style="margin:0 0 20px;color:#71717a;">${period}</p>` : null}
${groupHtml}`;

  const groupText = groups.map((g) => {
    const headlines = dedupeHeadlines(g.alerts.flatMap((a) => a.headlines));
    const lines = g.alerts.map((a) => {
      const unit = a.unit ?? 'fraction';
      return `- ${a.symbol}: ${formatValue(a.value, unit)} (threshold ${formatValue(a.threshold, unit)}), ${formatTime(a.firedAt)}, ${a.status}\n  ${alertAdminUrl(input.publicBaseUrl, a.id)}`;
    });
    return (
      `== [${g.severity}] ${g.rule.name} (${plural(g.alerts.length, 'alert')})\n` +
      (g.rule.description ? `${g.rule.description}\n` : '') +
      `${lines.join('\n')}\n\n${[sourceText(g.rule), headlinesText(headlines)].filter(Boolean).join('\n')}`
    );
  });
  const text = `${plural(n, 'alert')}${period ? `, ${period}` : ''}\n\n${groupText.join('\n')}\n-- \n${footer.text}`;
  return {
    subject,
    text,
    html: layout(subject, body, footer.html),
    headers: listUnsubscribeHeaders(input.publicBaseUrl, input.unsubscribeToken),
  };
}

// ---------------------------------------------------------------------------------------------
// Endpoint disabled (to admins)
// ---------------------------------------------------------------------------------------------

export interface EndpointDisabledEmailInput extends SiteOptions {
  endpoint: { id: string; url: string; description?: string | null };
  /** Why it was disabled, e.g. "410 Gone" or "failing since 2025-01-27 for more than 5 days". */
  reason: string;
  disabledAt: Date;
  failingSince?: Date | null;
  lastStatusCode?: number | null;
  /** Last error message (already redacted by the sender). */
  lastError?: string | null;
}

export function renderEndpointDisabledEmail(input: EndpointDisabledEmailInput): RenderedEmail {
  const product = input.productName ?? DEFAULT_PRODUCT;
  // The URL may carry a token in its query: shown redacted.
  const shownUrl = redactUrl(input.endpoint.url);
  const link = endpointAdminUrl(input.publicBaseUrl, input.endpoint.id);
  const subject = oneLine(`[${product}] Webhook endpoint disabled: ${shownUrl}`);
  const rows: [string, string][] = [
    ['Endpoint', shownUrl],
    ...(input.endpoint.description ? ([['Description', input.endpoint.description]] as [string, string][]) : []),
    ['Reason', input.reason],
    ['Disabled at', formatTime(input.disabledAt)],
    ...(input.failingSince ? ([['Failing since', formatTime(input.failingSince)]] as [string, string][]) : []),
    ...(input.lastStatusCode != null ? ([['Last status', String(input.lastStatusCode)]] as [string, string][]) : []),
    ...(input.lastError ? ([['Last error', oneLine(input.lastError, 500)]] as [string, string][]) : []),
  ];
  return adminNotice({
    subject,
    heading: 'A webhook endpoint was disabled',
    lead: 'No more events will be sent to it until it is re-enabled in the admin page.',
    rows,
    link,
    linkLabel: 'Open endpoint',
  });
}

/** A notice to admins: heading, one paragraph, a table of facts and a button (text: the same lines). */
function adminNotice(o: {
  subject: string;
  heading: string;
  lead: string;
  rows: [string, string][];
  link: string;
  linkLabel: string;
}): RenderedEmail {
  const body = html`<h1 style="font-size:20px;margin:0 0 16px;">${o.heading}</h1>
<p>${o.lead}</p>
<table style="border-collapse:collapse;font-size:14px;">${o.rows.map(
    ([k, v]) =>
      html`<tr><td style="padding:4px 16px 4px 0;color:#71717a;vertical-align:top;">${k}</td><td style="padding:4px 0;">${v}</td></tr>`,
  )}</table>
${button(o.link, o.linkLabel)}`;
  const text = `${o.heading}\n\n${o.lead}\n\n${o.rows.map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${o.linkLabel}: ${o.link}\n`;
  return { subject: o.subject, text, html: layout(o.subject, body, null), headers: {} };
}

// ---------------------------------------------------------------------------------------------
// Service degraded / recovered (to admins)
// ---------------------------------------------------------------------------------------------

export interface ServiceEventEmailInput extends SiteOptions {
  /** The same event webhook endpoints receive (service.degraded or service.recovered). */
  event: ServiceEvent;
}

export function renderServiceEventEmail(input: ServiceEventEmailInput): RenderedEmail {
  const product = input.productName ?? DEFAULT_PRODUCT;
  const i = input.event.data.incident;
  const recovered = i.status === 'recovered';
  const name = oneLine(i.name, 100);
  const subject = oneLine(
    recovered ? `[${product}] Recovered: ${name} runs again` : `[${product}] Degraded: ${name} has stopped`,
  );
  const heading = recovered ? `${name} runs again` : `${name} has stopped running`;
  const lead = recovered
    ? 'The loop ran successfully again. Nothing else to do unless it happens often.'
    : `It is overdue: alerts that depend on it are not being raised or sent. Check the workers (their logs and /healthz), Redis and Postgres.`;
  const rows: [string, string][] = [
    ['Loop', `${name} (${i.loop}), expected every ${i.intervalSec} s`],
    ['Last success before', i.lastSuccessAt ? formatTime(new Date(i.lastSuccessAt)) : 'never ran'],
    ['Overdue since', formatTime(new Date(i.overdueSince))],
    ['Reported degraded', formatTime(new Date(i.degradedAt))],
    ...(i.recoveredAt ? ([['Recovered', formatTime(new Date(i.recoveredAt))]] as [string, string][]) : []),
    ['Why', oneLine(i.reason, 500)],
  ];
  return adminNotice({
    subject,
    heading,
    lead,
    rows,
    link: systemAdminUrl(input.publicBaseUrl),
    linkLabel: 'Open the System page',
  });
}
