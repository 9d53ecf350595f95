/** Admin: inhibit rules (list, create, delete). Alerts they held link here. */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { AppEnv, Runtime } from '../context.ts';
import { readForm } from '../input.ts';
import type { FieldError } from '../problem.ts';
import {
  createInhibitRule,
  deleteInhibitRule,
  inhibitRuleCreateSchema,
  listInhibitRules,
} from '../services/inhibitions.ts';
import { listRules } from '../services/rules.ts';
import { actorOf } from '../services/silences.ts';
import { listWatchlists } from '../services/watchlists.ts';
import { actionButton, checkbox, csrfField, field, select } from '../views/layout.ts';
import { type C, csrfOf, formProblem, opt, parseForm, render } from './common.ts';

const ACTIVE = '/admin/inhibit-rules';
const SEVERITIES = [
  { value: '', label: 'Any severity' },
  { value: 'info', label: 'info' },
  { value: 'warning', label: 'warning' },
  { value: 'critical', label: 'critical' },
];

type Rule = Awaited<ReturnType<typeof listInhibitRules>>['items'][number];
type Matcher = Rule['source'];

function matcherText(m: Matcher) {
  const parts = [
    m.ruleName ? html`rule <strong>${m.ruleName}</strong>` : '',
    m.severity ? html` severity ${m.severity}` : '',
    m.watchlistName ? html` on watchlist ${m.watchlistName}` : '',
  ];
  return html`${parts}`;
}

export function registerInhibitionPages(admin: Hono<AppEnv>, rt: Runtime) {
  const listPage = async (
    c: C,
    o: { values?: Record<string, string>; equal?: string[]; errors?: FieldError[]; error?: string | null } = {},
    status = 200,
  ) => {
    const [list, rules, watchlists] = await Promise.all([
      listInhibitRules(rt, { limit: 500 }),
      listRules(rt),
      listWatchlists(rt),
    ]);
    const v = o.values ?? {};
    const equal = new Set(o.equal ?? ['symbol', 'session']);
    const csrf = csrfOf(c);
    const ruleOptions = (any: string) => [
      { value: '', label: any },
      ...rules.map((r) => ({ value: r.id, label: r.name })),
    ];
    const wlOptions = [
      { value: '', label: 'Any watchlist' },
      ...watchlists.map((w) => ({ value: w.id, label: w.name })),
    ];
    const side = (name: 'source' | 'target', legend: string) => html`<fieldset><legend>${legend}</legend>
  ${select({ name: `${name}.ruleId`, label: 'Rule', value: v[`${name}.ruleId`] ?? '', options: ruleOptions('Any rule'), errors: o.errors })}
  ${select({ name: `${name}.severity`, label: 'Severity', value: v[`${name}.severity`] ?? '', options: SEVERITIES, errors: o.errors })}
  ${select({ name: `${name}.watchlistId`, label: 'Watchlist', value: v[`${name}.watchlistId`] ?? '', options: wlOptions, errors: o.errors })}
</fieldset>`;
    return render(
      c,
      {
        title: 'Inhibit rules',
        active: ACTIVE,
        error: o.error ?? null,
        body: html`<p>While an alert matching the <em>source</em> fires, alerts matching the <em>target</em> with the same symbol and session are recorded and listed, marked as inhibited, but nobody is notified: one market event, one message.</p>
${
  list.items.length
    ? html`<table>
  <thead><tr><th scope="col">While this fires</th><th scope="col">Hold back</th><th scope="col">Equal</th><th scope="col">Why</th><th scope="col" class="num">Alerts held</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${list.items.map(
    (r) => html`<tr>
    <td>${matcherText(r.source)}</td><td>${matcherText(r.target)}</td>
    <td>${r.equal.join(', ') || html`<span class="muted">nothing</span>`}</td>
    <td>${r.comment ?? ''}${r.createdBy ? html`<br><span class="muted">by ${r.createdBy}</span>` : ''}</td>
    <td class="num">${r.inhibitedAlerts}</td>
    <td>${actionButton(`/admin/inhibit-rules/${r.id}/delete`, 'Delete', csrf)}</td>
  </tr>`,
  )}</tbody>
</table>`
    : html`<p class="muted">No inhibit rule.</p>`
}
<h2 id="new-inhibit">Add an inhibit rule</h2>
<form method="post" action="/admin/inhibit-rules" class="stack" aria-labelledby="new-inhibit">
  ${csrfField(csrf)}
  ${side('source', 'While an alert of this kind fires (source)')}
  ${side('target', 'hold back alerts of this kind (target)')}
  <fieldset><legend>Only when both have the same</legend>
    ${checkbox({ name: 'equal', id: 'f-equal-symbol', value: 'symbol', label: 'symbol (a basket counts as each member)', checked: equal.has('symbol') })}
    ${checkbox({ name: 'equal', id: 'f-equal-session', value: 'session', label: 'session (market day)', checked: equal.has('session') })}
  </fieldset>
  ${field({ name: 'comment', label: 'Why', value: v.comment, hint: 'Shown here and on the alerts it holds back.', errors: o.errors })}
  <button type="submit">Add inhibit rule</button>
</form>`,
      },
      status,
    );
  };

  admin.get('/inhibit-rules', (c) => listPage(c));

  admin.post('/inhibit-rules', async (c) => {
    let values: Record<string, string> = {};
    let equal: string[] = [];
    try {
      const form = await readForm(c);
      values = form.values;
      equal = form.all.equal ?? [];
      const matcher = (side: string) => ({
        ...(opt(values[`${side}.ruleId`]) ? { ruleId: values[`${side}.ruleId`] } : {}),
        ...(opt(values[`${side}.severity`]) ? { severity: values[`${side}.severity`] } : {}),
        ...(opt(values[`${side}.watchlistId`]) ? { watchlistId: values[`${side}.watchlistId`] } : {}),
      });
      const input = parseForm(inhibitRuleCreateSchema, {
        source: matcher('source'),
        target: matcher('target'),
        equal,
        comment: (values.comment ?? '').trim(),
      });
      await createInhibitRule(rt, input, await actorOf(rt, c.get('auth')));
      return c.redirect('/admin/inhibit-rules?done=created', 303);
    } catch (err) {
      const p = formProblem(err);
      if (!p) throw err;
      return listPage(c, { values, equal, errors: p.errors, error: p.message }, p.status);
    }
  });

  admin.post('/inhibit-rules/:id/delete', async (c) => {
    await deleteInhibitRule(rt, c.req.param('id'));
    return c.redirect('/admin/inhibit-rules?done=deleted', 303);
  });
}
