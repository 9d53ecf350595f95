/**
 * Admin: rules, from templates or from scratch, with a form per kind (see rule-form.ts), inline
 * errors mapped from the core schema's issue paths, an advanced JSON box, and a backtest preview
 * before saving.
 */
import { ValidationError } from '@signals/core';
import { loadEvaluationReport } from '@signals/db';
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { AppEnv, Runtime } from '../context.ts';
import { FormError, readForm } from '../input.ts';
import { type FieldError, fieldErrors } from '../problem.ts';
import {
  type RuleInput,
  type RulePreview,
  createRule,
  deleteRule,
  getRule,
  getTemplate,
  inputOf,
  KIND_TEMPLATES,
  listRules,
  listTemplates,
  previewRule,
  ruleInputSchema,
  setRuleEnabled,
  toDefinition,
  updateRule,
} from '../services/rules.ts';
import { listWatchlists } from '../services/watchlists.ts';
import type { DeliveryForecast } from '../services/backtest-deliveries.ts';
import {
  actionButton,
  badge,
  checkbox,
  csrfField,
  field,
  fieldErrorList,
  fmtTime,
  select,
  textarea,
} from '../views/layout.ts';
import { type C, csrfOf, formProblem, intField, listOf, opt, render } from './common.ts';
import {
  KIND_OPTIONS,
  completeValues,
  defaultValues,
  fieldPaths,
  paramFieldsets,
  paramsFromJson,
  paramsFromValues,
  switchButton,
  valuesOfParams,
} from './rule-form.ts';

const ACTIVE = '/admin/rules';

interface FormState {
  values: Record<string, string>;
  errors: FieldError[];
  error?: string | null;
  preview?: RulePreview | null;
}

/** Form fields outside the parameters. */
const TOP_FIELDS = new Set([
  'name',
  'description',
  'kind',
  'symbols',
  'watchlistId',
  'severity',
  'cooldownSec',
  'enabled',
]);

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}.`);

function valuesOf(input: RuleInput): Record<string, string> {
  return {
    ...defaultValues(),
    ...valuesOfParams(input.kind, input.params),
    name: input.name,
    description: input.description ?? '',
    kind: input.kind,
    paramsJson: JSON.stringify(input.params, null, 2),
    useJson: '',
    symbols: (input.symbols ?? []).join(', '),
    watchlistId: input.watchlistId ?? '',
    severity: input.severity ?? 'warning',
    cooldownSec: String(input.cooldownSec ?? 86_400),
    enabled: input.enabled === false ? '' : 'on',
  };
}

/**
 * The form's strings as the API's rule input, or every problem at once: strings that cannot be
 * read (numbers, JSON) and the schema's issues on the rest (an issue on a field that could not be
 * read is left out: the reading problem says more). With the JSON box in use, its params also
 * refill the fields.
 */
function readRuleForm(v: Record<string, string>): {
  values: Record<string, string>;
  input: RuleInput | null;
  errors: FieldError[];
} {
  let values = v;
  const errors: FieldError[] = [];
  let params: Record<string, unknown>;
  if (v.useJson === 'on') {
    const j = paramsFromJson(v.paramsJson);
    errors.push(...j.errors);
    params = j.params ?? {};
    if (j.params) values = { ...values, ...valuesOfParams(v.kind ?? '', j.params) };
  } else {
    const f = paramsFromValues(v);
    errors.push(...f.errors);
    params = f.params;
  }
  let cooldownSec: number | undefined;
  try {
    cooldownSec = intField(v, 'cooldownSec');
  } catch (err) {
    if (!(err instanceof FormError)) throw err;
    errors.push(...err.errors);
  }
  const add = (more: FieldError[]) => {
    for (const e of more) if (!errors.some((x) => under(e.path, x.path))) errors.push(e);
  };
  const r = ruleInputSchema.safeParse({
    name: v.name ?? '',
    ...(opt(v.description) ? { description: v.description } : {}),
    kind: v.kind ?? '',
    params,
    symbols: listOf(v.symbols).map((s) => s.toUpperCase()),
    watchlistId: opt(v.watchlistId) ?? null,
    severity: v.severity ?? 'warning',
    ...(cooldownSec !== undefined ? { cooldownSec } : {}),
    enabled: v.enabled === 'on',
  });
  if (!r.success) {
    add(fieldErrors(r.error));
    return { values, input: null, errors };
  }
  try {
    toDefinition(r.data, 'draft');
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    add(err.issues);
  }
  return { values, input: errors.length ? null : r.data, errors };
}

export function registerRulePages(admin: Hono<AppEnv>, rt: Runtime) {
  admin.get('/rules', async (c) => {
    const [rules, templates] = await Promise.all([listRules(rt), listTemplates(rt)]);
    const csrf = csrfOf(c);
    return render(c, {
      title: 'Rules',
      active: ACTIVE,
      body: html`<h2 id="new-rule">New rule</h2>
<form method="get" action="/admin/rules/new" class="row" aria-labelledby="new-rule">
  ${select({
    name: 'template',
    label: 'Start from',
    options: [
      { value: '', label: 'From scratch' },
      ...templates.map((t) => ({
        value: t.id,
        label: `${t.source === 'seed' ? 'Article rule: ' : 'Template: '}${t.label}`,
      })),
    ],
  })}
  <div class="field"><button type="submit">Start</button></div>
</form>
<h2 id="all-rules">All rules</h2>
<table aria-labelledby="all-rules">
  <thead><tr><th scope="col">Name</th><th scope="col">Condition</th><th scope="col">Scope</th><th scope="col">Severity</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${rules.map(
    (r) => html`<tr>
    <td><a href="/admin/rules/${r.id}">${r.name}</a>${r.seedId ? html`<br><span class="muted">from the articles</span>` : ''}</td>
    <td>${r.summary ?? html`<span class="muted">${r.kind}</span>`}</td>
    <td>${r.symbols.length ? r.symbols.join(', ') : (r.watchlist?.name ?? 'every watched symbol')}</td>
    <td>${badge(r.severity)}</td>
    <td>${badge(r.enabled ? 'enabled' : 'disabled')}</td>
    <td>${actionButton(`/admin/rules/${r.id}/toggle`, r.enabled ? `Disable ${r.name}` : `Enable ${r.name}`, csrf, {
      hidden: { enabled: r.enabled ? 'false' : 'true' },
    })}</td>
  </tr>`,
  )}</tbody>
</table>`,
    });
  });

  const formPage = async (
    c: C,
    o: { id?: string; title: string; state: FormState; source?: string | null; incomplete?: string | null },
    status = 200,
  ) => {
    const watchlists = await listWatchlists(rt);
    const csrf = csrfOf(c);
    const v = o.state.values;
    const errs = o.state.errors;
    const action = o.id ? `/admin/rules/${o.id}` : '/admin/rules/new';
    const jsonMode = v.useJson === 'on';
    // Parameter problems: under their fields, or (not tied to a field) in a list above them; with
    // the JSON box in use, all of them at the box.
    const paramErrors = errs.filter((e) => !TOP_FIELDS.has(e.path.split('.')[0] ?? ''));
    const covered = jsonMode ? [] : fieldPaths(v);
    const loose = jsonMode ? [] : paramErrors.filter((e) => !covered.some((p) => under(e.path, p)));
    const jsonText = jsonMode ? (v.paramsJson ?? '') : JSON.stringify(paramsFromValues(v).params, null, 2);
    const pv = o.state.preview;
    return render(
      c,
      {
        title: o.title,
        active: ACTIVE,
        error: o.state.error ?? null,
        body: html`<p><a href="/admin/rules">← All rules</a></p>
${o.source ? html`<div class="panel"><strong>From the article:</strong> ${o.source}</div>` : ''}
${o.incomplete ? html`<div class="panel" role="status"><strong>Not evaluated:</strong> ${o.incomplete}</div>` : ''}
<form method="post" action="${action}" class="stack" aria-label="Rule" novalidate data-rule-form>
  ${csrfField(csrf)}
  ${field({ name: 'name', label: 'Name', required: true, value: v.name, errors: errs })}
  ${field({ name: 'description', label: 'Description', value: v.description, errors: errs })}
  <div class="row">
    ${select({ name: 'kind', label: 'Kind', value: v.kind, errors: errs, options: KIND_OPTIONS })}
    <div class="field" data-nojs>${switchButton('Change kind')}</div>
  </div>
  ${
    loose.length
      ? html`<div class="field has-error" id="params-errors"><p class="hint">Parameters:</p>${fieldErrorList('params', loose)}</div>`
      : ''
  }
  ${paramFieldsets(v, jsonMode ? [] : errs)}
  <details class="advanced"${jsonMode ? html` open` : ''}>
    <summary>Advanced: edit as JSON</summary>
    ${checkbox({ name: 'useJson', label: 'Use this JSON for the parameters instead of the fields', checked: jsonMode })}
    ${textarea({
      name: 'paramsJson',
      label: 'Parameters (JSON)',
      value: jsonText,
      rows: 8,
      errors: jsonMode ? paramErrors : [],
      errorPrefix: '*',
      hint: 'The parameters as the API takes them, e.g. {"sessions": 1, "thresholdPct": 10, "direction": "down"}. Thresholds in percent. Shows what the fields held at the last submit.',
    })}
  </details>
  ${field({ name: 'symbols', label: 'Symbols', value: v.symbols, errors: errs, hint: 'Comma-separated; empty means the watchlist below (or every watched symbol).' })}
  ${select({
    name: 'watchlistId',
    label: 'Watchlist',
    value: v.watchlistId,
    errors: errs,
    options: [
      { value: '', label: 'None (every watched symbol)' },
      ...watchlists.map((w) => ({ value: w.id, label: w.name })),
    ],
  })}
  ${select({
    name: 'severity',
    label: 'Severity',
    value: v.severity,
    errors: errs,
    options: ['info', 'warning', 'critical'].map((s) => ({ value: s, label: s })),
  })}
  ${field({ name: 'cooldownSec', label: 'Cooldown (seconds)', type: 'number', value: v.cooldownSec, errors: errs, hint: 'No new event for this long after one fired (86400 = a day).' })}
  ${checkbox({ name: 'enabled', label: 'Enabled', checked: v.enabled === 'on' })}
  <p class="row">
    <button type="submit" name="action" value="preview" class="secondary">Preview backtest</button>
    <button type="submit" name="action" value="save">Save rule</button>
  </p>
</form>
${pv ? previewPanel(pv) : ''}
${o.id ? html`<h2>Delete</h2>${actionButton(`/admin/rules/${o.id}/delete`, 'Delete this rule', csrf, { className: 'danger', confirm: 'Delete this rule and its alerts?' })}` : ''}`,
      },
      status,
    );
  };

  const scratch = KIND_TEMPLATES.find((t) => t.id === 'kind:pct_move')?.input.params ?? {};
  const empty: FormState = { values: valuesOf({ name: '', kind: 'pct_move', params: scratch }), errors: [] };

  admin.get('/rules/new', async (c) => {
    const t = opt(c.req.query('template'));
    if (!t) return formPage(c, { title: 'New rule', state: empty });
    const tpl = await getTemplate(rt, t);
    return formPage(c, {
      title: `New rule from “${tpl.label}”`,
      state: { values: valuesOf(tpl.input), errors: [] },
      source: tpl.sourcePassage ?? null,
    });
  });

  const handle = async (c: C, id?: string) => {
    const title = id ? 'Edit rule' : 'New rule';
    const ids = id ? { id } : {};
    let values: Record<string, string> = {};
    try {
      const submitted = (await readForm(c)).values;
      // Fieldsets of other kinds were disabled (not sent): they show their defaults again.
      values = completeValues(submitted);
      // "Change kind" without JavaScript: the same form, with the chosen kind's fields.
      if (submitted.action === 'switch') return formPage(c, { ...ids, title, state: { values, errors: [] } });
      const r = readRuleForm(values);
      values = r.values;
      if (!r.input) throw new FormError(r.errors);
      if (submitted.action === 'preview') {
        const preview = await previewRule(rt, r.input, id ?? 'draft');
        return formPage(c, { ...ids, title, state: { values, errors: [], preview } });
      }
      const saved = id ? await updateRule(rt, id, r.input) : await createRule(rt, r.input);
      return c.redirect(`/admin/rules/${saved.id}?done=saved`, 303);
    } catch (err) {
      const p = formProblem(err);
      if (!p || (p.status === 404 && id)) throw err;
      return formPage(c, { ...ids, title, state: { values, errors: p.errors, error: p.message } }, p.status);
    }
  };

  admin.post('/rules/new', (c) => handle(c));

  admin.get('/rules/:id', async (c) => {
    const r = await getRule(rt, c.req.param('id'));
    const gap = (await loadEvaluationReport(rt.prisma)).incomplete.find((i) => i.ruleId === r.id);
    return formPage(c, {
      id: r.id,
      title: `Rule: ${r.name}`,
      state: { values: valuesOf(inputOf(r)), errors: [] },
      source: r.sourcePassage ? `${r.sourcePassage}${r.sourceArticle ? ` (${r.sourceArticle})` : ''}` : null,
      incomplete: gap ? `The basket is incomplete and was not evaluated in the last cycle: ${gap.detail}.` : null,
    });
  });

  admin.post('/rules/:id', (c) => handle(c, c.req.param('id')));

  admin.post('/rules/:id/toggle', async (c) => {
    const { values } = await readForm(c);
    const enabled = values.enabled === 'true';
    await setRuleEnabled(rt, c.req.param('id'), enabled);
    return c.redirect(`/admin/rules?done=${enabled ? 'enabled' : 'disabled'}`, 303);
  });

  admin.post('/rules/:id/delete', async (c) => {
    await deleteRule(rt, c.req.param('id'));
    return c.redirect('/admin/rules?done=deleted', 303);
  });
}

function previewPanel(p: RulePreview) {
  const hits = p.backtest?.alerts ?? [];
  return html`<section class="panel" aria-labelledby="preview-title" id="preview">
  <h2 id="preview-title">Backtest preview</h2>
  <p>${p.description}</p>
  <p class="muted">Symbols: ${p.symbols.length ? p.symbols.join(', ') : 'none'}</p>
  ${
    p.backtest
      ? html`<p><strong data-testid="fired-count">Would have fired ${p.fired} time${p.fired === 1 ? '' : 's'} in the last year.</strong>
  <span class="muted">(${p.backtest.summary.barsUsed} ${p.backtest.summary.resolution.interval === '1d' ? 'daily' : p.backtest.summary.resolution.interval} bars, ${p.backtest.summary.from} to ${p.backtest.summary.to})</span></p>
  <p class="muted" data-testid="resolution">Resolution: ${p.backtest.summary.resolution.reason}.</p>
  ${
    hits.length
      ? html`<table><thead><tr><th scope="col">When</th><th scope="col">Symbol</th><th scope="col" class="num">Value</th><th scope="col" class="num">Threshold</th></tr></thead>
  <tbody>${hits
    .slice(0, 100)
    .map(
      (h) =>
        html`<tr><td>${h.at.length > 10 ? fmtTime(h.at) : h.at}</td><td>${h.symbol}</td><td class="num">${h.valueText}</td><td class="num">${h.thresholdText}</td></tr>`,
    )}</tbody></table>`
      : ''
  }`
      : html`<p><strong data-testid="fired-count">No backtest: ${p.note ?? 'no data'}.</strong></p>`
  }
  ${p.deliveries ? deliveriesPanel(p.deliveries) : ''}
</section>`;
}

/** Who the preview's alerts would have told, through the live fan-out; nothing was written or sent. */
function deliveriesPanel(f: DeliveryForecast) {
  const held = (h: DeliveryForecast['perAlert'][number]) =>
    [
      h.held.quiet_hours ? `${h.held.quiet_hours} quiet hours` : '',
      h.held.inhibited ? `${h.held.inhibited} inhibited` : '',
      h.held.silenced ? `${h.held.silenced} silenced` : '',
      h.held.time_intervals ? `${h.held.time_intervals} outside time intervals` : '',
    ]
      .filter(Boolean)
      .join(', ');
  return html`<h3>Who would have been told</h3>
  <p data-testid="deliveries-forecast"><strong>Would have ${f.text.replace(/^would have /, '')}.</strong>
  <span class="muted">Today's subscribers, endpoints, silences, inhibit rules, quiet hours and time intervals, each judged at the alert's time; nothing was written or sent.</span></p>
  ${
    f.perAlert.length
      ? html`<table data-testid="deliveries-per-alert"><thead><tr><th scope="col">When</th><th scope="col">Subject</th><th scope="col" class="num">Emails</th><th scope="col" class="num">Webhooks</th><th scope="col" class="num">ntfy</th><th scope="col" class="num">Telegram</th><th scope="col">Held</th></tr></thead>
  <tbody>${f.perAlert
    .slice(0, 100)
    .map(
      (h) =>
        html`<tr><td>${fmtTime(h.at)}</td><td>${h.subject}</td><td class="num">${h.sent.email}</td><td class="num">${h.sent.webhook}</td><td class="num">${h.sent.ntfy}</td><td class="num">${h.sent.telegram}</td><td>${held(h)}</td></tr>`,
    )}</tbody></table>`
      : ''
  }`;
}
