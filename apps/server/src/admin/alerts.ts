/** Admin: alerts with filters; the detail page with a price chart, headlines and deliveries. */
import { ValidationError } from '@signals/core';
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { deliveryReaderOf } from '../api/scopes.ts';
import type { AppEnv, Runtime } from '../context.ts';
import { fieldErrors } from '../problem.ts';
import { type AlertFilter, alertFilterSchema, getAlert, listAlerts } from '../services/alerts.ts';
import { listRules } from '../services/rules.ts';
import { actionButton, badge, field, fmtTime, select } from '../views/layout.ts';
import { csrfOf, opt, render } from './common.ts';

const ACTIVE = '/admin/alerts';
const PAGE = 100;

type DeliveryRow = Awaited<ReturnType<typeof getAlert>>['deliveries'][number];

/** Deliveries with their attempts; failed and dead ones get a redeliver button. */
export function deliveryTable(rows: DeliveryRow[], csrf: string) {
  if (rows.length === 0) return html`<p class="muted">No deliveries.</p>`;
  return html`<table>
  <thead><tr><th scope="col">Created</th><th scope="col">Event</th><th scope="col">Target</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${rows.map(
    (d) => html`<tr>
    <td>${fmtTime(d.createdAt)}</td>
    <td><code>${d.eventType}</code></td>
    <td>${d.target}</td>
    <td>${badge(d.status)}${d.lastError ? html`<br><span class="muted">${d.lastError}</span>` : ''}</td>
    <td>${
      d.attemptLog.length
        ? html`<ol>${d.attemptLog.map(
            (a) =>
              html`<li>${fmtTime(a.startedAt)}: ${a.outcome}${a.statusCode != null ? html` (${a.statusCode})` : ''}, ${a.durationMs} ms${
                a.error ? html` <span class="muted">${a.error}</span>` : ''
              }${a.response ? html`<pre>${a.response.slice(0, 300)}</pre>` : ''}</li>`,
          )}</ol>`
        : html`<span class="muted">none yet</span>`
    }</td>
    <td>${d.status === 'failed' || d.status === 'dead' ? actionButton(`/admin/deliveries/${d.id}/redeliver`, 'Redeliver', csrf) : ''}</td>
  </tr>`,
  )}</tbody>
</table>`;
}

export function registerAlertPages(admin: Hono<AppEnv>, rt: Runtime) {
  admin.get('/alerts', async (c) => {
    const q = c.req.query();
    const raw: Record<string, string> = Object.fromEntries(
      (['ruleId', 'symbol', 'status', 'from', 'to'] as const).flatMap((k) => {
        const v = opt(q[k]);
        return v ? [[k, v]] : [];
      }),
    );
    const parsed = alertFilterSchema.safeParse(raw);
    const errors = parsed.success ? [] : fieldErrors(parsed.error);
    const filter: AlertFilter = parsed.success ? parsed.data : {};
    // Older pages continue from the last alert shown (a cursor), so new alerts do not shift them.
    const cursor = opt(q.cursor);
    const page = (c: string | undefined) => listAlerts(rt, { ...filter, limit: PAGE, ...(c ? { cursor: c } : {}) });
    const [alerts, rules] = await Promise.all([
      page(cursor).catch((err) => {
        if (err instanceof ValidationError) return page(undefined); // a mangled link: start from the newest
        throw err;
      }),
      listRules(rt),
    ]);
    const older = alerts.nextCursor
      ? `/admin/alerts?${new URLSearchParams({ ...raw, cursor: alerts.nextCursor })}`
      : null;
    const newest = cursor ? `/admin/alerts?${new URLSearchParams(raw)}` : null;
    return render(c, {
      title: 'Alerts',
      active: ACTIVE,
      error: errors.length ? 'Some filters were not understood and are ignored.' : null,
      body: html`<form method="get" action="/admin/alerts" class="row" aria-label="Filter alerts">
  ${select({ name: 'ruleId', label: 'Rule', value: raw.ruleId ?? '', options: [{ value: '', label: 'Any rule' }, ...rules.map((r) => ({ value: r.id, label: r.name }))] })}
  ${field({ name: 'symbol', label: 'Symbol', value: raw.symbol ?? '', errors })}
  ${select({
    name: 'status',
    label: 'Status',
    value: raw.status ?? '',
    options: [
      { value: '', label: 'Any' },
      { value: 'firing', label: 'firing' },
      { value: 'resolved', label: 'resolved' },
    ],
  })}
  ${field({ name: 'from', label: 'From', type: 'date', value: raw.from ?? '', errors })}
  ${field({ name: 'to', label: 'To', type: 'date', value: raw.to ?? '', errors })}
  <div class="field"><button type="submit">Filter</button></div>
</form>
<p class="muted">${alerts.total} alert(s)${alerts.total > alerts.items.length ? html`, ${alerts.items.length} shown` : ''}.</p>
<table>
  <thead><tr><th scope="col">Fired</th><th scope="col">Alert</th><th scope="col">Symbol</th><th scope="col">Rule</th><th scope="col" class="num">Value</th><th scope="col">Status</th><th scope="col" class="num">Deliveries</th></tr></thead>
  <tbody>${alerts.items.map(
    (a) => html`<tr>
    <td>${fmtTime(a.firedAt)}</td>
    <td><a href="/admin/alerts/${a.id}">${a.title}</a></td>
    <td>${a.subject}</td><td>${a.ruleName}</td>
    <td class="num">${a.valueText}</td>
    <td>${badge(a.status)} ${badge(a.severity)}${a.silenceId ? html` ${badge('silenced')}` : ''}${a.inhibitedBy ? html` ${badge('inhibited')}` : ''}</td>
    <td class="num">${a.deliveryCount}</td>
  </tr>`,
  )}</tbody>
</table>
${
  older || newest
    ? html`<nav class="row" aria-label="Pages of alerts">${newest ? html`<a href="${newest}">← Newest alerts</a>` : ''}${
        older ? html`<a href="${older}" rel="next">Older alerts →</a>` : ''
      }</nav>`
    : ''
}`,
    });
  });

  admin.get('/alerts/:id', async (c) => {
    const a = await getAlert(rt, c.req.param('id'), deliveryReaderOf(c.get('auth')));
    const csrf = csrfOf(c);
    return render(c, {
      title: a.title,
      active: ACTIVE,
      scripts: ['/assets/lightweight-charts.js', '/assets/chart.js'],
      body: html`<p><a href="/admin/alerts">← All alerts</a></p>
<dl class="panel">
  <dt>Symbol</dt><dd>${a.subject}</dd>
  <dt>Rule</dt><dd><a href="/admin/rules/${a.rule.id}">${a.rule.name}</a> (${a.rule.kind})</dd>
  <dt>Fired</dt><dd>${fmtTime(a.firedAt)} ${badge(a.status)} ${badge(a.severity)}</dd>
  <dt>Value / threshold</dt><dd>${a.valueText} / ${a.thresholdText}</dd>
  ${a.rule.sourcePassage ? html`<dt>From the article</dt><dd>${a.rule.sourcePassage}</dd>` : ''}
  <dt>Notifications</dt><dd>${
    a.silence
      ? html`${badge('silenced')} held back by a silence until ${fmtTime(a.silence.endsAt)}: ${a.silence.comment}${
          a.silence.createdBy ? html` <span class="muted">(${a.silence.createdBy})</span>` : ''
        } <a href="/admin/silences">Silences</a>`
      : a.inhibition
        ? html`${badge('inhibited')} held back while <a href="/admin/alerts/${a.inhibition.alert.id}">${a.inhibition.alert.title}</a> fired (${fmtTime(a.inhibition.alert.firedAt)})${
            a.inhibition.inhibitRule?.comment ? html`: ${a.inhibition.inhibitRule.comment}` : ''
          } <a href="/admin/inhibit-rules">Inhibit rules</a>`
        : html`sent to the subscribers and endpoints below. <a href="/admin/silences?${new URLSearchParams({ ruleId: a.rule.id, subject: a.subject })}#new-silence">Silence alerts like this</a>`
  }</dd>
</dl>
${
  a.intraday
    ? html`<h2 id="chart-intraday-title">Intraday</h2>
<div id="chart-intraday" class="chart" role="img" aria-labelledby="chart-intraday-title" aria-describedby="chart-intraday-desc" data-bars="${JSON.stringify(a.intraday.bars)}" data-fired="${String(Math.floor(Date.parse(a.firedAt) / 1000))}"></div>
<p id="chart-intraday-desc" class="muted">${a.intraday.interval} candles of ${a.subject} from ${new Date((a.intraday.bars[0]?.time ?? 0) * 1000).toISOString().slice(0, 16).replace('T', ' ')} to ${new Date((a.intraday.bars[a.intraday.bars.length - 1]?.time ?? 0) * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC${a.intraday.bars.some((b) => b.session !== 'regular') ? ', pre- and post-market bars paler' : ''}; the arrow marks the bar in which the rule fired (${fmtTime(a.firedAt)}).</p>`
    : ''
}
<h2 id="chart-title">Price</h2>
${
  a.bars.length
    ? html`<div id="chart" role="img" aria-labelledby="chart-title" aria-describedby="chart-desc" data-bars="${JSON.stringify(a.bars)}" data-fired="${a.firedAt.slice(0, 10)}"></div>
<p id="chart-desc" class="muted">Daily candles of ${a.subject} from ${a.bars[0]?.time} to ${a.bars[a.bars.length - 1]?.time}; the arrow marks ${a.firedAt.slice(0, 10)}, when the rule fired.</p>`
    : html`<p class="muted">No stored price history around this alert.</p>`
}
<h2>Why it moved</h2>
${
  a.headlines.length
    ? html`<ol>${a.headlines.map(
        (h) =>
          html`<li>${h.link && /^https?:\/\//i.test(h.link) ? html`<a href="${h.link}" rel="noopener noreferrer">${h.title}</a>` : h.title}${h.publishedAt ? html` <span class="muted">${fmtTime(h.publishedAt)}</span>` : ''}</li>`,
      )}</ol>`
    : html`<p class="muted">No headline naming ${a.subject} was published in the alert's window.</p>`
}
<h2>Deliveries</h2>
${deliveryTable(a.deliveries, csrf)}`,
    });
  });
}
