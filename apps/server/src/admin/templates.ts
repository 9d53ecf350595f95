/** Admin: message templates per channel, with a preview against a recent real alert. */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { TEMPLATE_LIMITS, TEMPLATE_VARIABLES, type TemplateKey } from '@signals/notify';
import type { AppEnv, Runtime } from '../context.ts';
import { readForm } from '../input.ts';
import type { FieldError } from '../problem.ts';
import { actorOf } from '../services/silences.ts';
import {
  builtIn,
  isTemplateKey,
  listMessageTemplates,
  previewAlert,
  saveMessageTemplate,
  tryTemplate,
} from '../services/templates.ts';
import { csrfField, textarea } from '../views/layout.ts';
import { type C, csrfOf, formProblem, render } from './common.ts';

const ACTIVE = '/admin/templates';

export function registerTemplatePages(admin: Hono<AppEnv>, rt: Runtime) {
  const listPage = async (
    c: C,
    o: {
      key?: TemplateKey;
      source?: string;
      errors?: FieldError[];
      error?: string | null;
      preview?: { output: string } | null;
    } = {},
    status = 200,
  ) => {
    const [items, sample] = await Promise.all([listMessageTemplates(rt), previewAlert(rt, c.req.query('alertId'))]);
    const csrf = csrfOf(c);
    return render(
      c,
      {
        title: 'Message templates',
        active: ACTIVE,
        error: o.error ?? null,
        body: html`<p>Each channel sends its built-in message unless you set a template here, in <a href="https://liquidjs.com/tutorials/intro-to-liquid.html" rel="noopener noreferrer">Liquid</a> (sandboxed: no files, no network, at most ${TEMPLATE_LIMITS.renderLimitMs} ms and ${TEMPLATE_LIMITS.buildLimit.toLocaleString('en-US')} built characters per message; one that builds more is refused). In Slack, Discord and Teams templates, what <code>{{ ... }}</code> prints is escaped for that app, so a headline cannot mention a channel or disguise a link; <code>{{ alert.title | raw }}</code> prints it as it is. A template that fails when an alert is sent falls back to the built-in message, and the failure is logged. Empty a template to return to the built-in message.</p>
<p>Variables: ${TEMPLATE_VARIABLES.map((v, i) => html`${i ? ', ' : ''}<code>${v}</code>`)}.</p>
<p class="muted">Previews use ${sample.real ? html`the alert <a href="/admin/alerts/${sample.view.id}">${sample.view.title}</a>` : 'a sample alert (no alert has fired yet)'}.</p>
${items.map((t) => {
  const mine = o.key === t.key;
  const name = `template-${t.key}`;
  const value = mine ? (o.source ?? '') : (t.source ?? '');
  return html`<section aria-labelledby="h-${t.key}">
<h2 id="h-${t.key}">${t.label} ${t.source ? html`<span class="badge">custom</span>` : html`<span class="muted">(built-in)</span>`}</h2>
<form method="post" action="/admin/templates/${t.key}${c.req.query('alertId') ? `?alertId=${encodeURIComponent(c.req.query('alertId') ?? '')}` : ''}" class="stack">
  ${csrfField(csrf)}
  ${textarea({ name, label: `Template for ${t.label}`, value, rows: t.key === 'email.subject' ? 2 : 6, errors: mine ? o.errors : undefined, hint: t.updatedBy ? `Last changed by ${t.updatedBy}.` : undefined })}
  <div class="row"><button type="submit" name="action" value="preview">Preview</button> <button type="submit" name="action" value="save">Save</button></div>
</form>
${mine && o.preview ? html`<h3>Preview</h3><pre data-testid="preview-${t.key}">${o.preview.output}</pre>` : ''}
<details><summary>Built-in message for this alert</summary><pre>${builtIn(rt, t.key, sample.view)}</pre></details>
</section>`;
})}`,
      },
      status,
    );
  };

  admin.get('/templates', (c) => listPage(c));

  admin.post('/templates/:key', async (c) => {
    const key = c.req.param('key');
    if (!isTemplateKey(key)) return c.notFound();
    const { values } = await readForm(c);
    const source = values[`template-${key}`] ?? '';
    if (values.action === 'preview') {
      const { view } = await previewAlert(rt, c.req.query('alertId'));
      const r = await tryTemplate(rt, key, source, view);
      return r.ok
        ? listPage(c, { key, source, preview: { output: r.output } })
        : listPage(
            c,
            {
              key,
              source,
              errors: [{ path: `template-${key}`, message: r.error }],
              error: 'The template does not render.',
            },
            400,
          );
    }
    try {
      await saveMessageTemplate(rt, key, source, await actorOf(rt, c.get('auth')));
      return c.redirect('/admin/templates?done=saved', 303);
    } catch (err) {
      const p = formProblem(err);
      if (!p) throw err;
      return listPage(c, { key, source, errors: p.errors, error: p.message }, p.status);
    }
  });
}
