/**
 * HTML building blocks for the admin and public pages. Everything goes through hono/html's html``,
 * which escapes every interpolated value; nested html`` results are kept as they are. No user data
 * is ever concatenated into markup by hand.
 */
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { FieldError } from '../problem.ts';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const NAV: [string, string][] = [
  ['/admin/watchlists', 'Watchlists'],
  ['/admin/rules', 'Rules'],
  ['/admin/alerts', 'Alerts'],
  ['/admin/silences', 'Silences'],
  ['/admin/inhibit-rules', 'Inhibit rules'],
  ['/admin/subscribers', 'Subscribers'],
  ['/admin/endpoints', 'Webhooks'],
  ['/admin/templates', 'Templates'],
  ['/admin/feeds', 'Feeds'],
  ['/admin/api-keys', 'API keys'],
  ['/admin/system', 'System'],
  ['/admin/queues', 'Queues'],
];

export interface PageOptions {
  title: string;
  /** Logged-in admin: shows the navigation and the logout button. */
  user?: { email: string; csrfToken: string } | undefined;
  active?: string;
  notice?: string | null;
  error?: string | null;
  body: Html;
  /** Extra scripts (served from /assets). */
  scripts?: string[];
}

export function page(o: PageOptions): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · Market Signals</title>
<link rel="stylesheet" href="/assets/app.css">
${o.user ? html`<meta name="csrf-token" content="${o.user.csrfToken}">` : ''}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="${o.user ? '/admin' : '/subscribe'}">Market Signals</a>
  ${
    o.user
      ? html`<nav aria-label="Admin sections"><ul>${NAV.map(
          ([href, label]) =>
            html`<li><a href="${href}"${o.active === href ? html` aria-current="page"` : ''}>${label}</a></li>`,
        )}</ul></nav>
  <form method="post" action="/admin/logout" class="logout">
    <input type="hidden" name="_csrf" value="${o.user.csrfToken}">
    <a class="who" href="/admin/account" title="Your account: password and sessions"${o.active === '/admin/account' ? html` aria-current="page"` : ''}>${o.user.email}</a> <button type="submit" class="link">Log out</button>
  </form>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
<h1>${o.title}</h1>
${o.notice ? html`<p class="notice" role="status">${o.notice}</p>` : ''}
${o.error ? html`<p class="alert-error" role="alert">${o.error}</p>` : ''}
${o.body}
</main>
<script src="/assets/admin.js" defer></script>
${(o.scripts ?? []).map((s) => html`<script src="${s}" defer></script>`)}
</body>
</html>`;
}

export const csrfField = (token: string) => html`<input type="hidden" name="_csrf" value="${token}">`;

export interface FieldOptions {
  name: string;
  label: string;
  value?: string | number | null | undefined;
  type?: string;
  required?: boolean;
  hint?: string;
  errors?: FieldError[];
  /** Error paths that belong to this field besides `name` (prefix match); '*' shows every error given. */
  errorPrefix?: string;
  attrs?: Html;
  autocomplete?: string;
}

function errorsFor(o: { name: string; errors?: FieldError[]; errorPrefix?: string }): FieldError[] {
  if (o.errorPrefix === '*') return o.errors ?? [];
  const prefix = o.errorPrefix ?? o.name;
  return (o.errors ?? []).filter((e) => e.path === o.name || e.path === prefix || e.path.startsWith(`${prefix}.`));
}

function describedBy(id: string, hint: boolean, err: boolean): string {
  return [hint ? `${id}-hint` : '', err ? `${id}-err` : ''].filter(Boolean).join(' ');
}

export function field(o: FieldOptions): Html {
  const id = `f-${o.name}`;
  const errs = errorsFor(o);
  const desc = describedBy(id, !!o.hint, errs.length > 0);
  return html`<div class="field${errs.length ? ' has-error' : ''}">
  <label for="${id}">${o.label}${o.required ? html` <span class="req" aria-hidden="true">*</span>` : ''}</label>
  ${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}
  <input id="${id}" name="${o.name}" type="${o.type ?? 'text'}" value="${o.value ?? ''}"${o.required ? html` required` : ''}${
    desc ? html` aria-describedby="${desc}"` : ''
  }${errs.length ? html` aria-invalid="true"` : ''}${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : ''}${o.attrs ?? ''}>
  ${fieldErrorList(id, errs)}
</div>`;
}

export function fieldErrorList(id: string, errs: FieldError[]): Html {
  if (errs.length === 0) return html``;
  return html`<ul class="errors" id="${id}-err">${errs.map(
    (e) =>
      html`<li>${e.path && !e.path.includes('.') ? '' : e.path ? html`<code>${e.path}</code>: ` : ''}${e.message}</li>`,
  )}</ul>`;
}

export function textarea(o: FieldOptions & { rows?: number }): Html {
  const id = `f-${o.name}`;
  const errs = errorsFor(o);
  const desc = describedBy(id, !!o.hint, errs.length > 0);
  return html`<div class="field${errs.length ? ' has-error' : ''}">
  <label for="${id}">${o.label}${o.required ? html` <span class="req" aria-hidden="true">*</span>` : ''}</label>
  ${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}
  <textarea id="${id}" name="${o.name}" rows="${o.rows ?? 4}"${o.required ? html` required` : ''}${
    desc ? html` aria-describedby="${desc}"` : ''
  }${errs.length ? html` aria-invalid="true"` : ''}>${o.value ?? ''}</textarea>
  ${fieldErrorList(id, errs)}
</div>`;
}

export function select(
  o: FieldOptions & { options: { value: string; label: string }[]; multiple?: boolean; selected?: string[] },
): Html {
  const id = `f-${o.name}`;
  const errs = errorsFor(o);
  const chosen = new Set(o.selected ?? (o.value != null ? [String(o.value)] : []));
  const desc = describedBy(id, !!o.hint, errs.length > 0);
  return html`<div class="field${errs.length ? ' has-error' : ''}">
  <label for="${id}">${o.label}</label>
  ${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}
  <select id="${id}" name="${o.name}"${o.multiple ? html` multiple` : ''}${desc ? html` aria-describedby="${desc}"` : ''}${
    errs.length ? html` aria-invalid="true"` : ''
  }>
    ${o.options.map((x) => html`<option value="${x.value}"${chosen.has(x.value) ? html` selected` : ''}>${x.label}</option>`)}
  </select>
  ${fieldErrorList(id, errs)}
</div>`;
}

export function checkbox(o: { name: string; label: string; checked?: boolean; value?: string; id?: string }): Html {
  const id = o.id ?? `f-${o.name}`;
  return html`<div class="check"><input type="checkbox" id="${id}" name="${o.name}" value="${o.value ?? 'on'}"${
    o.checked ? html` checked` : ''
  }> <label for="${id}">${o.label}</label></div>`;
}

/** A one-button POST form (delete, enable, rotate...), CSRF-protected. */
export function actionButton(
  action: string,
  label: string,
  csrf: string,
  opts: { confirm?: string; className?: string; hidden?: Record<string, string> } = {},
): Html {
  return html`<form method="post" action="${action}" class="inline"${opts.confirm ? html` data-confirm="${opts.confirm}"` : ''}>
${csrfField(csrf)}${Object.entries(opts.hidden ?? {}).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<button type="submit" class="${opts.className ?? 'secondary'}">${label}</button></form>`;
}

export function fmtTime(iso: string | Date | null | undefined): string {
  if (!iso) return '—';
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function fmtPct(x: number | null | undefined): string {
  if (x == null || !Number.isFinite(x)) return '—';
  const v = x * 100;
  return `${v > 0 ? '+' : v < 0 ? '−' : ''}${Math.abs(v).toFixed(2)} %`;
}

export function fmtNum(x: number | null | undefined, digits = 2): string {
  if (x == null || !Number.isFinite(x)) return '—';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function badge(text: string, kind?: string): Html {
  return html`<span class="badge badge-${kind ?? text}">${text}</span>`;
}

/** Fixed notices chosen by key (never text from the query string). */
export const NOTICES: Record<string, string> = {
  created: 'Created.',
  saved: 'Saved.',
  deleted: 'Deleted.',
  added: 'Added.',
  removed: 'Removed.',
  enabled: 'Enabled.',
  disabled: 'Disabled.',
  revoked: 'Revoked.',
  redelivered: 'Delivery queued again.',
  reactivated: 'Reactivated: alerts are sent to this address again.',
  loggedout: 'You are logged out.',
  setup: 'Admin account created. Log in.',
  'password-changed': 'Password changed. Every other session of your account is logged out.',
  'sessions-ended': 'Every other session of your account is logged out.',
};

export function noticeOf(key: string | undefined): string | null {
  return key ? (NOTICES[key] ?? null) : null;
}
