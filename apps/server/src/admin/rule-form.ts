/**
 * The rule editor's parameter fields: one fieldset per rule kind (and nested ones where a kind's
 * field groups apply only under a choice, e.g. a confirmation's mode and wrapped price rule), all
 * read from the rule-kind registry (@signals/core kinds/<kind>.ts `form`): each field's form name,
 * its path in the rule (`params.thresholdPct`, `params.price.params.sessions`), how its string is
 * read and written, its label and its hint written from the kind's bounds and defaults. This file
 * knows no kind. Validation stays with the core schema: its issue paths are mapped back onto the fields.
 *
 * Every fieldset is in the page; those of other kinds are `hidden disabled` (disabled controls are
 * not submitted). admin.js switches them when the kind changes; without JavaScript a "Change kind"
 * submit re-renders the page with the chosen kind's fieldset.
 *
 * Numbers typed into the form: surrounding spaces are ignored, empty means "not given" (the field is
 * left out, so the schema's default or its "required" message applies), a trailing unit that the
 * field shows is accepted ("10 %", "3x"), and the decimal separator is the dot. A comma is refused
 * with a message rather than guessed at: "1,5" (German decimal) and "1,000" (English thousands)
 * cannot be told apart, and reading a threshold a thousand times off would be silent.
 */
import { type FieldSpec, type FormScope, KINDS, kindModule, RULE_KINDS, type RuleKind } from '@signals/core';
import { html } from 'hono/html';
import { cleanJson } from '../input.ts';
import type { FieldError } from '../problem.ts';
import type { Html } from '../views/layout.ts';

// ---------------------------------------------------------------------------------------------
// Reading form strings
// ---------------------------------------------------------------------------------------------

export type Parsed<T> = { ok: true; value: T | undefined } | { ok: false; message: string };

const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * A number from a form string: `undefined` when empty; the unit shown next to the field may follow
 * the number; a comma is refused (see the module comment). `int` refuses fractions.
 */
export function parseNumber(
  raw: string | undefined,
  opts: { int?: boolean; units?: readonly string[] } = {},
): Parsed<number> {
  let s = (raw ?? '').trim().replace(/\u2212/g, '-');
  if (s === '') return { ok: true, value: undefined };
  for (const u of opts.units ?? []) {
    if (s.toLowerCase().endsWith(u.toLowerCase())) {
      s = s.slice(0, s.length - u.length).trim();
      break;
    }
  }
  if (s.includes(',')) {
    return {
      ok: false,
      message: 'use a dot as the decimal separator (1.5, not 1,5) and no thousands separators',
    };
  }
  if (s.length > 30 || !NUMBER_RE.test(s)) {
    return { ok: false, message: opts.int ? 'must be a whole number, e.g. 20' : 'must be a number, e.g. 10 or 2.5' };
  }
  const n = Number(s);
  if (!Number.isFinite(n)) return { ok: false, message: 'is too large' };
  if (opts.int && !Number.isInteger(n)) return { ok: false, message: 'must be a whole number, e.g. 20' };
  if (opts.int && !Number.isSafeInteger(n)) return { ok: false, message: 'is too large' };
  return { ok: true, value: n };
}

/**
 * A list from a textarea: one item per line, or (on a single line) comma-separated; items trimmed,
 * empty ones dropped. `undefined` when nothing is left. (So an item may contain a comma when the
 * items are given one per line.)
 */
export function parseList(raw: string | undefined): string[] | undefined {
  const s = (raw ?? '').replace(/\r\n?/g, '\n');
  const items = (s.includes('\n') ? s.split('\n') : s.split(',')).map((x) => x.trim()).filter((x) => x !== '');
  return items.length ? items : undefined;
}

// ---------------------------------------------------------------------------------------------
// The field table
// ---------------------------------------------------------------------------------------------

type Spec = FieldSpec;

/** A kind's field group (kinds/types.ts FormScope) with the kind it belongs to. */
interface Scope extends FormScope {
  kind: RuleKind;
}

const SCOPES: Scope[] = RULE_KINDS.flatMap((kind) => kindModule(kind).form.map((s) => ({ ...s, kind })));

const scopeById = new Map(SCOPES.map((s) => [s.id, s]));

const nameOf = (scope: Scope, spec: Spec) => `p.${scope.id}.${spec.key}`;
const idOf = (name: string) => `f-${name.replace(/\./g, '-')}`;
const pathOf = (scope: Scope, spec: Spec) => `${scope.path}.${spec.key}`;

/**
 * The scopes in use for a kind, in declaration order: a scope applies when every form field its
 * `when` names has that value in `values`. `fill` adds the values of an applying scope's fields
 * (so a later scope can depend on an earlier one's choice, e.g. a confirmation's mode).
 */
function activeScopes(
  kind: string | undefined,
  values: Record<string, string>,
  fill?: (scope: Scope) => Record<string, string>,
): Scope[] {
  const out: Scope[] = [];
  for (const scope of SCOPES) {
    if (scope.kind !== kind) continue;
    if (!Object.entries(scope.when ?? {}).every(([name, want]) => values[name] === want)) continue;
    out.push(scope);
    if (fill) Object.assign(values, fill(scope));
  }
  return out;
}

const activeFromValues = (v: Record<string, string>) => activeScopes(v.kind, v);

// ---------------------------------------------------------------------------------------------
// params <-> form values
// ---------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);

function at(params: unknown, path: string): Obj | undefined {
  let cur: unknown = params;
  for (const seg of path.split('.').slice(1)) cur = isObj(cur) ? cur[seg] : undefined;
  return isObj(cur) ? cur : undefined;
}

function ensure(root: Obj, path: string): Obj {
  let cur = root;
  for (const seg of path.split('.').slice(1)) {
    const next = cur[seg];
    if (isObj(next)) cur = next;
    else {
      const o: Obj = {};
      cur[seg] = o;
      cur = o;
    }
  }
  return cur;
}

function format(spec: Spec, v: unknown): string {
  switch (spec.type) {
    case 'check':
      return (spec.defaultOn ? v !== false : v === true) ? 'on' : '';
    case 'bool3':
      return v === true ? 'true' : v === false ? 'false' : '';
    case 'list':
      return Array.isArray(v) ? v.map(String).join('\n') : v == null ? '' : String(v);
    default:
      return v == null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}

function scopeValues(scope: Scope, obj: Obj | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of scope.fields) out[nameOf(scope, spec)] = format(spec, obj?.[spec.key]);
  return out;
}

/** Form values of the fields that show `params` of `kind`. */
export function valuesOfParams(kind: string, params: unknown): Record<string, string> {
  const p = isObj(params) ? params : {};
  const out: Record<string, string> = {};
  activeScopes(kind, out, (scope) => scopeValues(scope, at(p, scope.path)));
  return out;
}

/** What a fieldset shows before anyone typed into it: the scope's defaults, else the kind's template values. */
const DEFAULTS: Record<string, Record<string, string>> = Object.fromEntries(
  SCOPES.map((scope) => {
    const tpl = kindModule(scope.kind).template.input.params as unknown;
    const obj = (scope.defaults as Obj | undefined) ?? at(tpl, scope.path);
    return [scope.id, scopeValues(scope, obj)];
  }),
);

/** Template defaults for every fieldset, under the given values. */
export function defaultValues(): Record<string, string> {
  return Object.assign({}, ...Object.values(DEFAULTS));
}

/**
 * Submitted values completed for rendering: fieldsets that were not submitted (disabled, so another
 * kind's) get their defaults; a submitted fieldset keeps what was sent (an absent checkbox is off).
 */
export function completeValues(submitted: Record<string, string>): Record<string, string> {
  const out = { ...submitted };
  for (const scope of SCOPES) {
    const names = scope.fields.map((f) => nameOf(scope, f));
    if (names.some((n) => n in submitted)) continue;
    Object.assign(out, DEFAULTS[scope.id]);
  }
  return out;
}

/** The params the active fields describe, and the strings that could not be read (by rule path). */
export function paramsFromValues(v: Record<string, string>): { params: Obj; errors: FieldError[] } {
  const params: Obj = {};
  const errors: FieldError[] = [];
  for (const scope of activeFromValues(v)) {
    const obj = ensure(params, scope.path);
    for (const spec of scope.fields) {
      const raw = v[nameOf(scope, spec)];
      let value: unknown;
      switch (spec.type) {
        case 'number': {
          const r = parseNumber(raw, {
            ...(spec.int ? { int: true } : {}),
            ...(spec.units ? { units: spec.units } : {}),
          });
          if (!r.ok) errors.push({ path: pathOf(scope, spec), message: r.message });
          else if (r.value === undefined && spec.required)
            errors.push({ path: pathOf(scope, spec), message: 'required' });
          else value = r.value;
          break;
        }
        case 'select':
          value = raw ? raw : undefined;
          break;
        case 'check':
          value = spec.defaultOn ? (raw ? undefined : false) : raw ? true : undefined;
          break;
        case 'bool3':
          value = raw === 'true' ? true : raw === 'false' ? false : undefined;
          break;
        case 'list':
          value = parseList(raw);
          break;
      }
      if (value !== undefined) obj[spec.key] = value;
    }
  }
  return { params, errors };
}

/** Params typed as JSON (the advanced box): an object, with strings checked like the API's. */
export function paramsFromJson(text: string | undefined): { params: Obj | null; errors: FieldError[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse((text ?? '').trim() || '{}');
  } catch (err) {
    return { params: null, errors: [{ path: 'params', message: `not valid JSON: ${(err as Error).message}` }] };
  }
  if (!isObj(parsed)) {
    return {
      params: null,
      errors: [{ path: 'params', message: 'must be a JSON object, e.g. {"thresholdPct": 10, "direction": "down"}' }],
    };
  }
  const errors: FieldError[] = [];
  const cleaned = cleanJson(parsed, ['params'], errors) as Obj;
  return { params: errors.length ? null : cleaned, errors };
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}.`);

/** The rule paths the active fields cover (errors elsewhere under params are shown in a list). */
export function fieldPaths(v: Record<string, string>): string[] {
  return activeFromValues(v).flatMap((scope) => scope.fields.map((spec) => pathOf(scope, spec)));
}

function errorList(id: string, fieldPath: string, errs: FieldError[]): Html {
  if (!errs.length) return html``;
  return html`<ul class="errors" id="${id}-err">${errs.map((e) => {
    const rest = e.path.slice(fieldPath.length + 1);
    const where = rest === '' ? '' : /^\d+$/.test(rest) ? `item ${Number(rest) + 1}: ` : `${rest}: `;
    return html`<li>${where}${e.message}</li>`;
  })}</ul>`;
}

function describedBy(id: string, hint: boolean, err: boolean): string {
  return [hint ? `${id}-hint` : '', err ? `${id}-err` : ''].filter(Boolean).join(' ');
}

function renderField(scope: Scope, spec: Spec, v: Record<string, string>, errors: FieldError[]): Html {
  const name = nameOf(scope, spec);
  const id = idOf(name);
  const path = pathOf(scope, spec);
  const errs = errors.filter((e) => under(e.path, path));
  const value = v[name] ?? '';
  const desc = describedBy(id, !!spec.hint, errs.length > 0);
  const aria = html`${desc ? html` aria-describedby="${desc}"` : ''}${errs.length ? html` aria-invalid="true"` : ''}`;
  const hint = spec.hint ? html`<p class="hint" id="${id}-hint">${spec.hint}</p>` : '';
  const cls = `field${errs.length ? ' has-error' : ''}`;
  const req = 'required' in spec && spec.required ? html` <span class="req" aria-hidden="true">*</span>` : '';
  switch (spec.type) {
    case 'number':
      return html`<div class="${cls}">
  <label for="${id}">${spec.label}${req}</label>
  ${hint}
  <input id="${id}" name="${name}" type="text" inputmode="${spec.int ? 'numeric' : 'decimal'}" autocomplete="off" value="${value}"${spec.required ? html` aria-required="true"` : ''}${aria}>
  ${errorList(id, path, errs)}
</div>`;
    case 'list':
      return html`<div class="${cls}">
  <label for="${id}">${spec.label}</label>
  ${hint}
  <textarea id="${id}" name="${name}" rows="3"${aria}>${value}</textarea>
  ${errorList(id, path, errs)}
</div>`;
    case 'select':
    case 'bool3': {
      const options =
        spec.type === 'bool3'
          ? [
              { value: '', label: spec.defaultLabel },
              { value: 'true', label: 'Yes' },
              { value: 'false', label: 'No' },
            ]
          : [...(spec.empty !== undefined ? [{ value: '', label: spec.empty }] : []), ...spec.options];
      return html`<div class="${cls}">
  <label for="${id}">${spec.label}</label>
  ${hint}
  <select id="${id}" name="${name}"${aria}>
    ${options.map((o) => html`<option value="${o.value}"${o.value === value ? html` selected` : ''}>${o.label}</option>`)}
  </select>
  ${errorList(id, path, errs)}
</div>`;
    }
    case 'check':
      return html`<div class="check${errs.length ? ' has-error' : ''}">
  <input type="checkbox" id="${id}" name="${name}" value="on"${value ? html` checked` : ''}${aria}> <label for="${id}">${spec.label}</label>
  ${hint}
  ${errorList(id, path, errs)}
</div>`;
  }
}

function scopeFields(id: string, v: Record<string, string>, errors: FieldError[], active: Set<string>): Html {
  const scope = scopeById.get(id);
  if (!scope) return html``;
  // Paths repeat across kinds (params.thresholdPct): only the fields in use show the errors.
  const mine = active.has(id) ? errors : [];
  return html`${scope.fields.map((spec) => renderField(scope, spec, v, mine))}`;
}

/** A fieldset shown (and submitted) only while the control `name` has `value`. */
function when(
  name: string,
  value: string,
  on: boolean,
  legend: string | Html,
  body: Html,
  extra: { id?: string } = {},
): Html {
  return html`<fieldset${extra.id ? html` id="${extra.id}"` : ''} data-when="${name}=${value}"${on ? '' : html` hidden disabled`}>
  <legend>${legend}</legend>
  ${body}
</fieldset>`;
}

/** A submit that re-renders the form for the chosen kind/mode; admin.js removes it (it switches live). */
export const switchButton = (label: string) =>
  html`<button type="submit" name="action" value="switch" class="secondary" data-nojs>${label}</button>`;

/** The label of the option `value` of the select field named `name` (a nested fieldset's legend). */
function legendOf(name: string, value: string): string {
  for (const scope of SCOPES)
    for (const f of scope.fields)
      if (f.type === 'select' && nameOf(scope, f) === name)
        return f.options.find((o) => o.value === value)?.label ?? value;
  return value;
}

/**
 * A kind's field groups in declaration order. A group whose `when` goes deeper than `depth` is
 * rendered inside a nested fieldset for its next condition (shown while that choice is made), at
 * the place of the first group under that condition; a select that other groups depend on gets a
 * "Change ..." submit for pages without JavaScript.
 */
function nestedScopes(
  scopes: readonly Scope[],
  depth: number,
  v: Record<string, string>,
  errors: FieldError[],
  active: Set<string>,
): Html {
  const parts: Html[] = [];
  const done = new Set<Scope>();
  const condAt = (s: Scope) => Object.entries(s.when ?? {})[depth];
  for (const s of scopes) {
    if (done.has(s)) continue;
    const cond = condAt(s);
    if (!cond) {
      done.add(s);
      parts.push(scopeFields(s.id, v, errors, active));
      for (const f of s.fields) {
        const name = nameOf(s, f);
        if (f.type === 'select' && SCOPES.some((o) => o.when && name in o.when))
          parts.push(html`<p>${switchButton(`Change ${f.label.toLowerCase()}`)}</p>`);
      }
      continue;
    }
    const group = scopes.filter((o) => !done.has(o) && condAt(o)?.[0] === cond[0] && condAt(o)?.[1] === cond[1]);
    for (const g of group) done.add(g);
    parts.push(
      when(
        cond[0],
        cond[1],
        group.some((g) => active.has(g.id)),
        legendOf(cond[0], cond[1]),
        nestedScopes(group, depth + 1, v, errors, active),
      ),
    );
  }
  return html`${parts}`;
}

/** All parameter fieldsets; the active ones enabled, the rest hidden and disabled. */
export function paramFieldsets(v: Record<string, string>, errors: FieldError[]): Html {
  const active = new Set(activeFromValues(v).map((s) => s.id));
  const kind = v.kind ?? '';
  return html`${RULE_KINDS.map((k) => {
    const m = kindModule(k);
    return when(
      'kind',
      k,
      kind === k,
      html`Parameters: ${m.label}`,
      html`${m.note ? html`<p class="hint">${m.note}</p>` : ''}${nestedScopes(
        SCOPES.filter((s) => s.kind === k),
        0,
        v,
        errors,
        active,
      )}`,
      { id: `params-${k}` },
    );
  })}`;
}

export const KIND_OPTIONS = RULE_KINDS.map((k) => ({ value: k, label: `${KINDS[k].label} (${k})` }));
