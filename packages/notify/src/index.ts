/**
 * @signals/notify: the sending half of deliveries. Email over pooled SMTP with templates, Standard
 * Webhooks signing and a hardened webhook sender (SSRF guard from @signals/netguard, pinned DNS,
 * no redirects, timeouts), retry schedule. No process.env: everything comes in as options.
 */
export * from './alert-view.ts';
export * from './links.ts';
export * from './redact.ts';
export * from './tokens.ts';
export { formatTime, formatValue, formatWindow } from './format.ts';
export * from './retry.ts';
export * from './channels/index.ts';
export * from './custom/templates.ts';
export * from './custom/escape.ts';
export * from './custom/pool.ts';
