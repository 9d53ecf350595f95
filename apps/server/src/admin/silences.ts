/** Admin: silences (list, create with a duration, expire). Alerts link here to silence their kind. */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { AppEnv, Runtime } from '../context.ts';
import { readForm } from '../input.ts';
import type { FieldError } from '../problem.ts';
import { listRules } from '../services/rules.ts';
import { actorOf, createSilence, expireSilence, listSilences, silenceCreateSchema } from '../services/silences.ts';
import { actionButton, badge, csrfField, field, fmtTime, select } from '../views/layout.ts';
import { type C, csrfOf, formProblem, opt, parseForm, render } from './common.ts';

const ACTIVE = '/admin/silences';

const DURATIONS = [
  { value: '60', label: '1 hour' },
  { value: '240', label: '4 hours' },
  { value: '1440', label: '1 day' },
  { value: '4320', label: '3 days' },
  { value: '10080', label: '1 week' },
  { value: '43200', label: '30 days' },
];

type Silence = Awaited<ReturnType<typeof listSilences>>['items'][number];

function silenceTable(rows: Silence[], csrf: string, expirable: boolean) {
  return html`<table>
  <thead><tr><th scope="col">Rule</th><th scope="col">Symbol</th><th scope="col">State</th><th scope="col">From</th><th scope="col">Until</th><th scope="col">Why</th><th scope="col" class="num">Alerts held</th>${
    expirable ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>` : ''
  }</tr></thead>
  <tbody>${rows.map(
    (s) => html`<tr>
    <td>${s.ruleName ?? html`<span class="muted">any rule</span>`}</td>
    <td>${s.subject ?? html`<span class="muted">any symbol</span>`}</td>
    <td>${badge(s.state)}</td><td>${fmtTime(s.startsAt)}</td><td>${fmtTime(s.endsAt)}</td>
    <td>${s.comment}${s.createdBy ? html`<br><span class="muted">by ${s.createdBy}</span>` : ''}</td>
    <td class="num">${s.silencedAlerts}</td>
    ${expirable ? html`<td>${actionButton(`/admin/silences/${s.id}/expire`, 'Expire now', csrf)}</td>` : ''}
  </tr>`,
  )}</tbody>
</table>`;
}

export function registerSilencePages(admin: Hono<AppEnv>, rt: Runtime) {
  const listPage = async (
    c: C,
    o: { values?: Record<string, string>; errors?: FieldError[]; error?: string | null } = {},
    status = 200,
  ) => {
    const [current, expired, rules] = await Promise.all([
      listSilences(rt, { limit: 500 }),
      listSilences(rt, { state: 'expired', limit: 20 }),
      listRules(rt),
    ]);
    // Prefilled from an alert's "Silence alerts like this" link.
    const v = o.values ?? { ruleId: c.req.query('ruleId') ?? '', subject: c.req.query('subject') ?? '' };
    const csrf = csrfOf(c);
    return render(
      c,
      {
        title: 'Silences',
        active: ACTIVE,
        error: o.error ?? null,
        body: html`<p>While a silence is active, the alerts it matches still fire and are listed, marked as silenced, but nobody is emailed and no webhook is sent.</p>
${current.items.length ? silenceTable(current.items, csrf, true) : html`<p class="muted">No active or pending silence.</p>`}
<h2 id="new-silence">Add a silence</h2>
<form method="post" action="/admin/silences" class="stack" aria-labelledby="new-silence">
  ${csrfField(csrf)}
  ${select({
    name: 'ruleId',
    label: 'Rule',
    value: v.ruleId ?? '',
    options: [{ value: '', label: 'Any rule' }, ...rules.map((r) => ({ value: r.id, label: r.name }))],
    errors: o.errors,
  })}
  ${field({ name: 'subject', label: 'Symbol', value: v.subject, hint: 'e.g. NVDA; empty: any symbol. Give a rule, a symbol or both.', errors: o.errors })}
  ${select({ name: 'durationMin', label: 'For', value: v.durationMin ?? '240', options: DURATIONS, errors: o.errors })}
  ${field({ name: 'comment', label: 'Why', required: true, value: v.comment, hint: 'Shown here and on the alerts it holds back.', errors: o.errors })}
  <button type="submit">Add silence</button>
</form>
${
  expired.items.length
    ? html`<h2>Recently expired</h2>
${silenceTable(expired.items, csrf, false)}`
    : ''
}`,
      },
      status,
    );
  };

  admin.get('/silences', (c) => listPage(c));

  admin.post('/silences', async (c) => {
    let values: Record<string, string> = {};
    try {
      values = (await readForm(c)).values;
      const minutes = Number(values.durationMin);
      const input = parseForm(silenceCreateSchema, {
        ...(opt(values.ruleId) ? { ruleId: values.ruleId } : {}),
        ...(opt(values.subject) ? { subject: values.subject?.trim() } : {}),
        durationMin: DURATIONS.some((d) => d.value === values.durationMin) ? minutes : 0,
        comment: (values.comment ?? '').trim(),
      });
      await createSilence(rt, input, await actorOf(rt, c.get('auth')));
      return c.redirect('/admin/silences?done=created', 303);
    } catch (err) {
      const p = formProblem(err);
      if (!p) throw err;
      return listPage(c, { values, errors: p.errors, error: p.message }, p.status);
    }
  });

  admin.post('/silences/:id/expire', async (c) => {
    await expireSilence(rt, c.req.param('id'));
    return c.redirect('/admin/silences?done=saved', 303);
  });
}
