/** Admin: subscribers, webhook endpoints (secret shown once, rotate, test, delivery log, redeliver). */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { deliveryReaderOf } from '../api/scopes.ts';
import type { AppEnv, Runtime } from '../context.ts';
import { readForm } from '../input.ts';
import type { FieldError } from '../problem.ts';
import {
  type TestResult,
  createEndpoint,
  deleteEndpoint,
  endpointCreateSchema,
  endpointDeliveries,
  endpointUpdateSchema,
  getEndpoint,
  listEndpoints,
  redeliver,
  rotateSecret,
  sendTestEvent,
  updateEndpoint,
} from '../services/endpoints.ts';
import { listSubscribers, reactivateSubscriber, removeSubscriber } from '../services/subscribers.ts';
import { actionButton, badge, checkbox, csrfField, field, fmtTime, select } from '../views/layout.ts';
import { deliveryTable } from './alerts.ts';
import { type C, csrfOf, formProblem, opt, parseForm, render } from './common.ts';

const STATUSES = ['pending', 'confirmed', 'unsubscribed', 'bouncing'] as const;

const FORMAT_OPTIONS = [
  { value: 'standard', label: 'Standard Webhooks event (for systems)' },
  { value: 'slack', label: 'Slack message (incoming-webhook URL)' },
  { value: 'discord', label: 'Discord message (channel webhook URL)' },
  { value: 'teams', label: 'Microsoft Teams card (Workflows webhook URL)' },
];
const FORMAT_HINT =
  'Slack, Discord and Teams get a readable message for their channel webhook URL; systems get the versioned, signed JSON event.';
const formatLabel = (f: string) => FORMAT_OPTIONS.find((o) => o.value === f)?.label ?? f;
const EVENT_OPTIONS = [
  { value: 'alert.firing', label: 'Alert firing' },
  { value: 'alert.resolved', label: 'Alert resolved (rules that send resolved notices)' },
  { value: 'service.degraded', label: 'Service degraded (a loop such as evaluation stopped running)' },
  { value: 'service.recovered', label: 'Service recovered (it runs again)' },
  { value: 'endpoint.test', label: 'Test events' },
];

function secretBox(label: string, secret: string) {
  return html`<section class="panel" aria-labelledby="secret-title">
  <h2 id="secret-title">${label}</h2>
  <p>Copy it now: it is not shown again. Receivers verify the <code>webhook-signature</code> header with it (Standard Webhooks).</p>
  <p class="secret" id="secret-value" data-testid="secret">${secret}</p>
  <button type="button" class="secondary" data-copy="secret-value" hidden>Copy secret</button>
</section>`;
}

export function registerDeliveryPages(admin: Hono<AppEnv>, rt: Runtime) {
  // ---------------------------------------------------------------------------------------------
  // Subscribers
  // ---------------------------------------------------------------------------------------------
  admin.get('/subscribers', async (c) => {
    const status = c.req.query('status');
    const s = STATUSES.find((x) => x === status);
    const subs = await listSubscribers(rt, { ...(s ? { status: s } : {}), limit: 500 });
    const csrf = csrfOf(c);
    return render(c, {
      title: 'Subscribers',
      active: '/admin/subscribers',
      body: html`<form method="get" action="/admin/subscribers" class="row" aria-label="Filter subscribers">
  ${select({ name: 'status', label: 'Status', value: s ?? '', options: [{ value: '', label: 'Any' }, ...STATUSES.map((x) => ({ value: x, label: x }))] })}
  <div class="field"><button type="submit">Filter</button></div>
</form>
<p class="muted">${subs.total} subscriber(s). People subscribe on the public page <a href="/subscribe">/subscribe</a>.</p>
<table>
  <thead><tr><th scope="col">Email</th><th scope="col">Status</th><th scope="col">Mode</th><th scope="col">Channels</th><th scope="col">Subscribed to</th><th scope="col">Since</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${subs.items.map(
    (x) => html`<tr>
    <td>${x.email}</td><td>${badge(x.status)}${x.bounceCount ? html` <span class="muted">${x.bounceCount} bounce(s)</span>` : ''}</td><td>${x.mode}</td>
    <td>email${x.channels.map((ch) => html`, ${ch.kind} ${badge(ch.status)}`)}</td>
    <td>${x.subscriptions.map((y) => y.name).join(', ') || '—'}</td>
    <td>${fmtTime(x.createdAt)}</td>
    <td>${x.status === 'bouncing' ? actionButton(`/admin/subscribers/${x.id}/reactivate`, `Reactivate ${x.email}`, csrf, { className: 'secondary' }) : ''}
    ${actionButton(`/admin/subscribers/${x.id}/delete`, `Remove ${x.email}`, csrf, { className: 'danger', confirm: `Remove ${x.email} and their delivery history?` })}</td>
  </tr>`,
  )}</tbody>
</table>`,
    });
  });

  admin.post('/subscribers/:id/reactivate', async (c) => {
    await reactivateSubscriber(rt, c.req.param('id'));
    return c.redirect('/admin/subscribers?done=reactivated', 303);
  });

  admin.post('/subscribers/:id/delete', async (c) => {
    await removeSubscriber(rt, c.req.param('id'));
    return c.redirect('/admin/subscribers?done=removed', 303);
  });

  // ---------------------------------------------------------------------------------------------
  // Webhook endpoints
  // ---------------------------------------------------------------------------------------------
  const listPage = async (
    c: C,
    o: { values?: Record<string, string>; eventTypes?: string[]; errors?: FieldError[]; error?: string | null } = {},
    status = 200,
  ) => {
    const rows = await listEndpoints(rt);
    const csrf = csrfOf(c);
    return render(
      c,
      {
        title: 'Webhook endpoints',
        active: '/admin/endpoints',
        error: o.error ?? null,
        body: html`<table>
  <thead><tr><th scope="col">URL</th><th scope="col">Description</th><th scope="col">Format</th><th scope="col">Status</th><th scope="col">Events</th><th scope="col">Created</th></tr></thead>
  <tbody>${rows.map(
    (e) => html`<tr>
    <td><a href="/admin/endpoints/${e.id}">${e.url}</a></td><td>${e.description ?? ''}</td><td>${e.format}</td>
    <td>${badge(e.status)}${e.consecutiveFailures ? html` <span class="muted">${e.consecutiveFailures} failures</span>` : ''}</td>
    <td>${e.eventTypes.length ? e.eventTypes.join(', ') : 'all'}</td><td>${fmtTime(e.createdAt)}</td>
  </tr>`,
  )}</tbody>
</table>
<h2 id="new-endpoint">Add an endpoint</h2>
<form method="post" action="/admin/endpoints" class="stack" aria-labelledby="new-endpoint">
  ${csrfField(csrf)}
  ${field({ name: 'url', label: 'URL', type: 'url', required: true, value: o.values?.url, errors: o.errors, hint: 'https://… Addresses in private networks are refused unless allowed by WEBHOOK_ALLOWED_CIDRS.' })}
  ${field({ name: 'description', label: 'Description', value: o.values?.description, errors: o.errors })}
  ${select({ name: 'format', label: 'Format', value: o.values?.format ?? 'standard', options: FORMAT_OPTIONS, hint: FORMAT_HINT, errors: o.errors })}
  <fieldset>
    <legend>Events <span class="muted">(none ticked: all of them)</span></legend>
    ${EVENT_OPTIONS.map((e) =>
      checkbox({
        name: 'eventTypes',
        id: `f-event-${e.value}`,
        value: e.value,
        label: e.label,
        checked: o.eventTypes?.includes(e.value) ?? false,
      }),
    )}
  </fieldset>
  <button type="submit">Add endpoint</button>
</form>`,
      },
      status,
    );
  };

  admin.get('/endpoints', (c) => listPage(c));

  admin.post('/endpoints', async (c) => {
    let values: Record<string, string> = {};
    let eventTypes: string[] = [];
    try {
      const form = await readForm(c);
      values = form.values;
      eventTypes = form.all.eventTypes ?? [];
      const input = parseForm(endpointCreateSchema, {
        url: (values.url ?? '').trim(),
        ...(opt(values.description) ? { description: values.description } : {}),
        ...(opt(values.format) ? { format: values.format } : {}),
        ...(eventTypes.length ? { eventTypes } : {}),
      });
      const { endpoint, secret } = await createEndpoint(rt, input);
      return detailPage(
        c,
        endpoint.id,
        { secret: { label: 'Signing secret', value: secret }, notice: 'Endpoint added.' },
        201,
      );
    } catch (err) {
      const p = formProblem(err);
      if (!p) throw err;
      return listPage(c, { values, eventTypes, errors: p.errors, error: p.message }, p.status);
    }
  });

  const detailPage = async (
    c: C,
    id: string,
    o: { secret?: { label: string; value: string }; test?: TestResult; notice?: string } = {},
    status = 200,
  ) => {
    const e = await getEndpoint(rt, id);
    const deliveries = await endpointDeliveries(rt, id, { take: 50 }, deliveryReaderOf(c.get('auth')));
    const csrf = csrfOf(c);
    const t = o.test;
    return render(
      c,
      {
        title: `Webhook endpoint`,
        active: '/admin/endpoints',
        notice: o.notice ?? null,
        body: html`<p><a href="/admin/endpoints">← All endpoints</a></p>
${o.secret ? secretBox(o.secret.label, o.secret.value) : ''}
<dl class="panel">
  <dt>URL</dt><dd><code>${e.url}</code></dd>
  <dt>Description</dt><dd>${e.description ?? '—'}</dd>
  <dt>Format</dt><dd>${formatLabel(e.format)}</dd>
  <dt>Events</dt><dd>${e.eventTypes.length ? e.eventTypes.join(', ') : 'all'}</dd>
  <dt>Status</dt><dd>${badge(e.status)}${e.disabledReason ? html` <span class="muted">${e.disabledReason}</span>` : ''}</dd>
  <dt>Secret</dt><dd><code>${e.secretHint}</code>${e.rotationOverlapUntil ? html` (the previous secret also signs until ${fmtTime(e.rotationOverlapUntil)})` : ''}</dd>
</dl>
${
  t
    ? html`<section class="panel" aria-labelledby="test-title" id="test-result">
  <h2 id="test-title">Test event result</h2>
  <p data-testid="test-status">${t.ok ? 'Delivered' : 'Not delivered'}: ${t.status != null ? html`HTTP <strong>${t.status}</strong>` : 'no HTTP answer'} in ${Math.round(t.durationMs)} ms${t.error ? html` (${t.error})` : ''}</p>
  ${t.responseSnippet ? html`<p>Receiver answered:</p><pre data-testid="test-snippet">${t.responseSnippet}</pre>` : ''}
</section>`
    : ''
}
<p>
  ${actionButton(`/admin/endpoints/${e.id}/test`, 'Send test event', csrf, { className: 'primary' })}
  ${actionButton(`/admin/endpoints/${e.id}/rotate`, 'Rotate secret', csrf, { confirm: 'Make a new secret? The current one keeps signing for 24 hours.' })}
  ${actionButton(`/admin/endpoints/${e.id}/toggle`, e.status === 'active' ? 'Disable' : 'Enable', csrf, { hidden: { status: e.status === 'active' ? 'disabled' : 'active' } })}
  ${actionButton(`/admin/endpoints/${e.id}/delete`, 'Delete', csrf, { className: 'danger', confirm: 'Delete this endpoint and its delivery log?' })}
</p>
<form method="post" action="/admin/endpoints/${e.id}/format" class="row" aria-label="Change the format">
  ${csrfField(csrf)}
  ${select({ name: 'format', label: 'Format', value: e.format, options: FORMAT_OPTIONS })}
  <div class="field"><button type="submit" class="secondary">Change format</button></div>
</form>
<h2>Delivery log</h2>
${deliveryTable(deliveries, csrf)}`,
      },
      status,
    );
  };

  admin.get('/endpoints/:id', (c) => detailPage(c, c.req.param('id')));

  admin.post('/endpoints/:id/test', async (c) => {
    const id = c.req.param('id');
    const test = await sendTestEvent(rt, id, deliveryReaderOf(c.get('auth')));
    return detailPage(c, id, { test });
  });

  admin.post('/endpoints/:id/rotate', async (c) => {
    const id = c.req.param('id');
    const { secret } = await rotateSecret(rt, id);
    return detailPage(c, id, { secret: { label: 'New signing secret', value: secret }, notice: 'Secret rotated.' });
  });

  admin.post('/endpoints/:id/toggle', async (c) => {
    const id = c.req.param('id');
    const { values } = await readForm(c);
    const status = values.status === 'active' ? 'active' : 'disabled';
    await updateEndpoint(rt, id, { status });
    return c.redirect(`/admin/endpoints/${id}?done=${status === 'active' ? 'enabled' : 'disabled'}`, 303);
  });

  admin.post('/endpoints/:id/format', async (c) => {
    const id = c.req.param('id');
    const { values } = await readForm(c);
    const input = parseForm(endpointUpdateSchema, { format: values.format ?? '' });
    await updateEndpoint(rt, id, input);
    return c.redirect(`/admin/endpoints/${id}?done=saved`, 303);
  });

  admin.post('/endpoints/:id/delete', async (c) => {
    await deleteEndpoint(rt, c.req.param('id'));
    return c.redirect('/admin/endpoints?done=deleted', 303);
  });

  admin.post('/deliveries/:id/redeliver', async (c) => {
    const d = await redeliver(rt, c.req.param('id'), deliveryReaderOf(c.get('auth')));
    const back = d.endpointId
      ? `/admin/endpoints/${d.endpointId}`
      : d.alertId
        ? `/admin/alerts/${d.alertId}`
        : '/admin/endpoints';
    return c.redirect(`${back}?done=redelivered`, 303);
  });
}
