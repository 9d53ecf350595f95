/**
 * The rule editor's parameter fields: one fieldset per rule kind (and, for `confirmation`, per mode
 * and wrapped price rule), built from a small field table that mirrors @signals/core's params
 * schemas. The table gives each field its form name, its path in the rule (`params.thresholdPct`,
 * `params.price.params.sessions`), how its string is read and written, and its label and hint with
 * the unit. Validation stays with the core schema: its issue paths are mapped back onto the fields.
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
import { MAX_KEYWORD_WILDCARDS, RULE_KINDS, type RuleKind } from '@signals/core';
import { html } from 'hono/html';
import { cleanJson } from '../input.ts';
import type { FieldError } from '../problem.ts';
import { KIND_TEMPLATES } from '../services/rules.ts';
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

interface Base {
  key: string;
  label: string;
  hint?: string;
}
type Spec =
  | (Base & { type: 'number'; int?: boolean; units?: readonly string[]; required?: boolean })
  | (Base & { type: 'select'; options: readonly { value: string; label: string }[]; empty?: string })
  /** A checkbox; `defaultOn`: unset means true (checked), unchecked is written as false. */
  | (Base & { type: 'check'; defaultOn?: boolean })
  /** Yes / no / the schema's default. */
  | (Base & { type: 'bool3'; defaultLabel: string })
  | (Base & { type: 'list' });

const DIR3 = [
  { value: 'down', label: 'Down (a fall)' },
  { value: 'up', label: 'Up (a rise)' },
  { value: 'either', label: 'Either direction' },
] as const;

const direction3: Spec = { key: 'direction', type: 'select', label: 'Direction', options: DIR3 };

/** session: regular (left out) or extended; see "Intervals, retention and extended hours" in the README. */
const tradingHours: Spec = {
  key: 'session',
  type: 'select',
  label: 'Trading hours',
  empty: 'Regular session only (default)',
  options: [{ value: 'extended', label: 'Extended: pre- and post-market prices count too' }],
  hint: 'Extended: a move in pre-market (04:00-09:30 New York) or after hours (16:00-20:00) counts, measured against the last regular close; results published after the close are measured that evening.',
};

const threshold = (hint: string): Spec => ({
  key: 'thresholdPct',
  type: 'number',
  units: ['%'],
  required: true,
  label: 'Threshold (%)',
  hint,
});

const keywords: Spec = {
  key: 'keywords',
  type: 'list',
  label: 'Keywords',
  hint: `One per line, or comma-separated on one line. Whole words, case-insensitive; * is a wildcard inside a word (*blase), at most ${MAX_KEYWORD_WILDCARDS} per keyword.`,
};
const topics: Spec = {
  key: 'topics',
  type: 'list',
  label: 'Topics',
  hint: 'One per line, or comma-separated (e.g. bubble, short). Stored in lower case.',
};

const PRICE_KINDS = ['pct_move', 'price_cross', 'drawdown', 'vol_scaled_move', 'volume_spike'] as const;
type SimpleKind = Exclude<RuleKind, 'confirmation'>;

export const KIND_LABELS: Record<RuleKind, string> = {
  price_cross: 'Price crosses a level',
  pct_move: 'Percentage move',
  drawdown: 'Drawdown from a rolling high',
  basket_move: 'Basket move',
  vol_scaled_move: 'Move in standard deviations',
  volume_spike: 'Volume spike',
  news_match: 'News match',
  confirmation: 'Price and news confirming each other',
};

const KIND_NOTES: Partial<Record<RuleKind, string>> = {
  basket_move: 'The basket’s members are the rule’s Symbols below (at least 2).',
  news_match: 'Give keywords or topics, or require a symbol to match any news about the rule’s symbols.',
};

const SIMPLE_FIELDS: Record<SimpleKind, Spec[]> = {
  price_cross: [
    {
      key: 'level',
      type: 'number',
      required: true,
      label: 'Level (price)',
      hint: 'A price above 0, in the instrument’s currency. The session high (up) or low (down) counts.',
    },
    {
      key: 'direction',
      type: 'select',
      label: 'Direction',
      options: [
        { value: 'down', label: 'Crosses below (down)' },
        { value: 'up', label: 'Crosses above (up)' },
      ],
    },
  ],
  pct_move: [
    {
      key: 'sessions',
      type: 'number',
      int: true,
      label: 'Sessions',
      hint: 'Trading sessions the move is measured over, 1 to 260; 1 = against the previous close. Empty = 1.',
    },
    threshold('Percent: 10 = a 10 % move. Greater than 0, at most 1000.'),
    direction3,
    {
      key: 'intraday',
      type: 'check',
      label: 'Intraday: the live price against the previous close',
      hint: 'Needs sessions = 1.',
    },
    {
      key: 'extremes',
      type: 'check',
      label: 'Count the session high/low (an intraday spike counts)',
      hint: 'Intraday only.',
    },
    tradingHours,
  ],
  drawdown: [
    {
      key: 'sessions',
      type: 'number',
      int: true,
      required: true,
      label: 'Sessions',
      hint: 'Trading sessions of the rolling high, including the current one: 2 to 520.',
    },
    threshold('Percent below the rolling high: 20 = 20 %. Greater than 0, at most 100.'),
  ],
  basket_move: [
    {
      key: 'sessions',
      type: 'number',
      int: true,
      required: true,
      label: 'Sessions',
      hint: 'Trading sessions the move is measured over: 1 to 260.',
    },
    threshold('Percent: 5 = the basket moves 5 %. Greater than 0, at most 1000.'),
    direction3,
    {
      key: 'weighting',
      type: 'select',
      label: 'Weighting',
      options: [
        { value: 'equal', label: 'Equal (mean of the members’ moves)' },
        { value: 'market_cap', label: 'Market cap (the members’ combined value)' },
      ],
    },
    {
      key: 'minMembers',
      type: 'number',
      int: true,
      label: 'Minimum members',
      hint: 'Members with fresh data needed to evaluate, at least 1. Empty = all of them.',
    },
  ],
  vol_scaled_move: [
    {
      key: 'lookback',
      type: 'number',
      int: true,
      required: true,
      label: 'Lookback (sessions)',
      hint: 'Daily returns used for the standard deviation: 10 to 520 sessions.',
    },
    {
      key: 'k',
      type: 'number',
      units: ['σ', 'sd'],
      required: true,
      label: 'k (standard deviations)',
      hint: 'Fires on a daily move larger than k standard deviations, e.g. 3. Greater than 0, at most 50.',
    },
    direction3,
    tradingHours,
  ],
  volume_spike: [
    {
      key: 'sessions',
      type: 'number',
      int: true,
      required: true,
      label: 'Average over (sessions)',
      hint: 'Previous sessions averaged: 2 to 260.',
    },
    {
      key: 'multiple',
      type: 'number',
      units: ['x', '×'],
      required: true,
      label: 'Multiple (x)',
      hint: 'Volume at least this many times the average: 3 = 3x. Greater than 1.',
    },
  ],
  news_match: [
    keywords,
    topics,
    {
      key: 'requireSymbol',
      type: 'bool3',
      label: 'Must mention one of the rule’s symbols',
      defaultLabel: 'Default (yes when the rule lists symbols)',
      hint: '“Yes” needs the rule to list symbols.',
    },
    {
      key: 'maxAgeMin',
      type: 'number',
      int: true,
      label: 'Maximum age (minutes)',
      hint: 'Items first seen longer ago are not new: 1 to 10080 minutes. Empty = 1440 (one day).',
    },
  ],
};

/**
 * A group of fields that share a place in the params object. `path` is where they sit in the rule
 * (`params`, `params.price.params`); `id` prefixes their form names (`p.<id>.<key>`).
 */
interface Scope {
  id: string;
  path: string;
  fields: Spec[];
}

const SCOPES: Scope[] = [
  ...(Object.keys(SIMPLE_FIELDS) as SimpleKind[]).map((k) => ({ id: k, path: 'params', fields: SIMPLE_FIELDS[k] })),
  {
    id: 'confirmation',
    path: 'params',
    fields: [
      {
        key: 'mode',
        type: 'select',
        label: 'Mode',
        options: [
          { value: 'price_news', label: 'A price move confirmed by news (price_news)' },
          { value: 'news_price', label: 'News confirmed by a price move (news_price)' },
        ],
      },
    ],
  },
  {
    id: 'confirmation.price',
    path: 'params.price',
    fields: [
      {
        key: 'kind',
        type: 'select',
        label: 'Price rule',
        options: PRICE_KINDS.map((k) => ({ value: k, label: `${KIND_LABELS[k]} (${k})` })),
      },
    ],
  },
  ...PRICE_KINDS.map((k) => ({ id: `confirmation.price.${k}`, path: 'params.price.params', fields: SIMPLE_FIELDS[k] })),
  {
    id: 'confirmation.price_news',
    path: 'params',
    fields: [
      {
        key: 'beforeMin',
        type: 'number',
        int: true,
        label: 'News from before the move (minutes)',
        hint: '0 to 10080 minutes. Empty = 120.',
      },
      {
        key: 'afterMin',
        type: 'number',
        int: true,
        label: 'News until after the move (minutes)',
        hint: 'How long to wait for news: 0 to 1440 minutes. Empty = 15.',
      },
      { ...keywords, hint: `Only news matching these. ${keywords.hint}` },
      topics,
      { key: 'requireNews', type: 'check', defaultOn: true, label: 'Fire only when such news exists' },
    ],
  },
  { id: 'confirmation.news', path: 'params.news', fields: SIMPLE_FIELDS.news_match },
  {
    id: 'confirmation.news_price',
    path: 'params',
    fields: [
      {
        key: 'minMovePct',
        type: 'number',
        units: ['%'],
        required: true,
        label: 'Minimum move (%)',
        hint: 'Percent, measured from the price when the item was first seen: 5 = 5 %.',
      },
      {
        key: 'withinMin',
        type: 'number',
        int: true,
        required: true,
        label: 'Within (minutes)',
        hint: '1 to 1440 minutes after the item was first seen.',
      },
      direction3,
      tradingHours,
    ],
  },
];

const scopeById = new Map(SCOPES.map((s) => [s.id, s]));

const nameOf = (scope: Scope, spec: Spec) => `p.${scope.id}.${spec.key}`;
const idOf = (name: string) => `f-${name.replace(/\./g, '-')}`;
const pathOf = (scope: Scope, spec: Spec) => `${scope.path}.${spec.key}`;

export const MODE_FIELD = 'p.confirmation.mode';
export const PRICE_KIND_FIELD = 'p.confirmation.price.kind';

/** The scopes in use for a kind (with, for confirmation, its mode and wrapped price rule kind). */
function activeScopes(kind: string | undefined, mode: unknown, priceKind: unknown): Scope[] {
  const ids: string[] = [];
  if (kind && kind !== 'confirmation' && kind in SIMPLE_FIELDS) ids.push(kind);
  if (kind === 'confirmation') {
    ids.push('confirmation');
    if (mode === 'price_news') {
      ids.push('confirmation.price');
      if (typeof priceKind === 'string' && (PRICE_KINDS as readonly string[]).includes(priceKind))
        ids.push(`confirmation.price.${priceKind}`);
      ids.push('confirmation.price_news');
    } else if (mode === 'news_price') {
      ids.push('confirmation.news', 'confirmation.news_price');
    }
  }
  return ids.map((id) => scopeById.get(id)).filter((s): s is Scope => !!s);
}

const activeFromValues = (v: Record<string, string>) => activeScopes(v.kind, v[MODE_FIELD], v[PRICE_KIND_FIELD]);

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
  const price = isObj(p.price) ? p.price : {};
  const out: Record<string, string> = {};
  for (const scope of activeScopes(kind, p.mode, price.kind)) Object.assign(out, scopeValues(scope, at(p, scope.path)));
  return out;
}

const tplParams = (k: RuleKind): Obj => {
  const t = KIND_TEMPLATES.find((x) => x.id === `kind:${k}`);
  return (t?.input.params ?? {}) as Obj;
};

/** What a fieldset shows before anyone typed into it: the kind's template values. */
const DEFAULTS: Record<string, Record<string, string>> = Object.fromEntries(
  SCOPES.map((scope) => {
    let obj: Obj | undefined;
    if (scope.id in SIMPLE_FIELDS) obj = tplParams(scope.id as SimpleKind);
    else if (scope.id === 'confirmation') obj = { mode: 'price_news' };
    else if (scope.id === 'confirmation.price') obj = { kind: 'pct_move' };
    else if (scope.id.startsWith('confirmation.price.')) obj = tplParams(scope.id.split('.')[2] as RuleKind);
    else if (scope.id === 'confirmation.news') obj = tplParams('news_match');
    else if (scope.id === 'confirmation.news_price') obj = { minMovePct: 5, withinMin: 120, direction: 'down' };
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

/** All parameter fieldsets; the active ones enabled, the rest hidden and disabled. */
export function paramFieldsets(v: Record<string, string>, errors: FieldError[]): Html {
  const active = new Set(activeFromValues(v).map((s) => s.id));
  const kind = v.kind ?? '';
  const simple = (Object.keys(SIMPLE_FIELDS) as SimpleKind[]).map((k) =>
    when(
      'kind',
      k,
      kind === k,
      html`Parameters: ${KIND_LABELS[k]}`,
      html`${KIND_NOTES[k] ? html`<p class="hint">${KIND_NOTES[k]}</p>` : ''}${scopeFields(k, v, errors, active)}`,
      { id: `params-${k}` },
    ),
  );
  const inner = PRICE_KINDS.map((k) =>
    when(
      PRICE_KIND_FIELD,
      k,
      active.has(`confirmation.price.${k}`),
      html`Price rule: ${KIND_LABELS[k]}`,
      scopeFields(`confirmation.price.${k}`, v, errors, active),
    ),
  );
  const confirmation = when(
    'kind',
    'confirmation',
    kind === 'confirmation',
    html`Parameters: ${KIND_LABELS.confirmation}`,
    html`${scopeFields('confirmation', v, errors, active)}
  <p>${switchButton('Change mode')}</p>
  ${when(
    MODE_FIELD,
    'price_news',
    active.has('confirmation.price_news'),
    'A price move confirmed by news',
    html`${scopeFields('confirmation.price', v, errors, active)}
  <p>${switchButton('Change price rule')}</p>
  ${inner}
  ${scopeFields('confirmation.price_news', v, errors, active)}`,
  )}
  ${when(
    MODE_FIELD,
    'news_price',
    active.has('confirmation.news_price'),
    'News confirmed by a price move',
    html`${scopeFields('confirmation.news', v, errors, active)}${scopeFields('confirmation.news_price', v, errors, active)}`,
  )}`,
    { id: 'params-confirmation' },
  );
  return html`${simple}${confirmation}`;
}

export const KIND_OPTIONS = RULE_KINDS.map((k) => ({ value: k, label: `${KIND_LABELS[k]} (${k})` }));
