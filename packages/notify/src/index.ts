/**
 * @signals/notify: the sending half of deliveries. Email over pooled SMTP with templates, Standard
 * Webhooks signing and a hardened webhook sender (SSRF guard from @signals/netguard, pinned DNS,
 * no redirects, timeouts), retry schedule. No process.env: everything comes in as options.
 */
export * from './alert-view.ts';
export * from './links.ts';
export * from './redact.ts';
export * from './tokens.ts';
export { escapeHtml, html, SafeHtml, safeHref } from './email/html.ts';
export { formatTime, formatValue, formatWindow } from './email/format.ts';
export * from './email/templates.ts';
export * from './email/mailer.ts';
export * from './webhook/signing.ts';
export * from './webhook/events.ts';
export * from './webhook/chat.ts';
export * from './webhook/retry.ts';
export * from './webhook/sender.ts';
export * from './channels/index.ts';
export * from './custom/templates.ts';
export * from './custom/escape.ts';
export * from './custom/pool.ts';
