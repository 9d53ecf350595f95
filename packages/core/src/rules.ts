/**
 * Rule definitions: the fields every rule has, and the discriminated union
 * {@link ruleDefinitionSchema} (built from the kind registry, kinds/index.ts) the API validates
 * user input with (unknown fields rejected, messages per field). What a kind means (params,
 * description, unit, look-back, news needs) lives in its module; the helpers below ask it.
 *
 * Units: thresholds are given in percent (`thresholdPct: 10` is 10 %); alerts report the measured
 * value as a fraction (-0.169 for a 16.9 % fall), as the Alert table stores it.
 */
import { z } from 'zod';
import { ValidationError } from './errors.ts';
import {
  isRuleKind,
  KINDS,
  kindModule,
  onKindsChanged,
  type ParamsOf,
  RULE_KINDS,
  type RuleKind,
  registerKind,
} from './kinds/index.ts';
import { formatThreshold, formatValue, isUnit, type Unit } from './units.ts';

export { KINDS, kindModule, RULE_KINDS, type RuleKind, type ParamsOf, registerKind };

/** Yahoo-style symbol (NVDA, BRK-B, ^GSPC, SAP.DE, EURUSD=X); stored upper case. */
export const symbolSchema = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9^][A-Z0-9.=^-]{0,23}$/, 'not a ticker symbol (e.g. NVDA, BRK-B, ^GSPC, SAP.DE)');

// ---------------------------------------------------------------------------------------------
// The rule definition
// ---------------------------------------------------------------------------------------------

const ruleBase = {
  /** Stable id; part of dedup and state keys, so no colons or spaces. */
  id: z
    .string()
    .min(1, 'must not be empty')
    .max(100)
    .regex(/^[^:\s]+$/, 'must not contain colons or spaces (it is part of dedup keys)'),
  name: z.string().trim().min(1, 'must not be empty').max(200),
  description: z.string().max(2000).optional(),
  /** Instruments the rule watches (basket members for basket_move). Default: every series given to the engine. */
  symbols: z.array(symbolSchema).max(1000).optional(),
  severity: z.enum(['info', 'warning', 'critical']),
  /** After firing, no new event for this long (seconds). */
  cooldownSec: z
    .number()
    .int()
    .min(0)
    .max(90 * 86_400),
  /** The condition must hold this long before firing (a completed daily bar always satisfies it). */
  pendingSec: z.number().int().min(0).max(86_400).optional(),
  /** Fire only on the session close (a live-quote condition waits in `pending` for the close). */
  confirmAtClose: z.boolean().optional(),
  /** Re-arm only after the move recovers by this fraction of the threshold (0..1, default 0.5). */
  rearmFraction: z.number().min(0).max(1).optional(),
  /** Also send a notice when an event resolves. */
  notifyResolved: z.boolean().optional(),
};

const ruleBaseSchema = z.object(ruleBase);
type RuleBase = z.output<typeof ruleBaseSchema>;

/** A validated rule: the common fields plus `kind` and that kind's params. */
export type RuleDefinition = { [K in RuleKind]: RuleBase & { kind: K; params: ParamsOf<K> } }[RuleKind];

function buildSchema(): z.ZodType {
  const kindSchemas = RULE_KINDS.map((k) =>
    z.strictObject({ ...ruleBase, kind: z.literal(k), params: kindModule(k).params as z.ZodType }),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]];
  return z.discriminatedUnion('kind', kindSchemas).superRefine((input, ctx) => {
    const r = input as unknown as RuleDefinition;
    kindModule(r.kind).checkRule?.(r.params, r, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
    if (r.symbols && new Set(r.symbols).size !== r.symbols.length)
      ctx.addIssue({ code: 'custom', path: ['symbols'], message: 'symbols must not repeat' });
  });
}
let built: z.ZodType | null = null;
onKindsChanged(() => {
  built = null;
});

/** Validates a rule definition (API input, seeds, stored rows). Unknown fields are rejected. */
export const ruleDefinitionSchema = z.lazy(() => {
  built ??= buildSchema();
  return built;
}) as unknown as z.ZodType<RuleDefinition>;

export type RuleOf<K extends RuleKind> = Extract<RuleDefinition, { kind: K }>;

export interface FieldIssue {
  /** Dotted path, e.g. `params.thresholdPct`, `symbols.2`. */
  path: string;
  message: string;
}

/** Validates without throwing: the rule, or field-level issues. */
export function validateRuleDefinition(
  input: unknown,
): { ok: true; rule: RuleDefinition } | { ok: false; issues: FieldIssue[] } {
  const r = ruleDefinitionSchema.safeParse(input);
  if (r.success) return { ok: true, rule: r.data };
  const issues: FieldIssue[] = [];
  for (const i of r.error.issues) {
    if (i.code === 'unrecognized_keys') {
      // One issue per unknown field, at the field's own path.
      for (const k of i.keys) issues.push({ path: [...i.path, k].map(String).join('.'), message: 'unknown field' });
    } else {
      issues.push({ path: i.path.map(String).join('.') || '(root)', message: i.message });
    }
  }
  return { ok: false, issues };
}

/** Validates or throws {@link ValidationError} with one issue per field. */
export function parseRuleDefinition(input: unknown): RuleDefinition {
  const r = validateRuleDefinition(input);
  if (r.ok) return r.rule;
  throw new ValidationError(`Invalid rule: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, r.issues);
}

// ---------------------------------------------------------------------------------------------
// What a rule's kind says about it
// ---------------------------------------------------------------------------------------------

/** One readable sentence for a rule ("NVDA, MSFT: falls 10 % or more over 1 trading session ..."). */
export function describeRule(rule: RuleDefinition): string {
  const m = kindModule(rule.kind);
  const text = m.describe(rule.params, rule.symbols);
  const prefix = m.prefixSymbols ?? m.perSymbol === true;
  return prefix && rule.symbols?.length ? `${rule.symbols.join(', ')}: ${text}` : text;
}

/** Unit of the rule's alert values. */
export function ruleUnit(rule: Pick<RuleDefinition, 'kind' | 'params'>): Unit {
  return kindModule(rule.kind).unit(rule.params);
}

/** The rule cannot fire (or fire right) without news. */
export function ruleNeedsNews(rule: Pick<RuleDefinition, 'kind' | 'params'>): boolean {
  return kindModule(rule.kind).needsNews(rule.params);
}

/**
 * The rule reacts within or outside the session, so a backtest on daily bars measures it close to
 * close: its kind compiles it to an intraday or extended-hours price signal, or it needs news
 * (news and news+price rules fire at the news's time, which a daily bar cannot place).
 */
export function ruleWantsIntraday(rule: Pick<RuleDefinition, 'kind' | 'params' | 'symbols'>): boolean {
  const m = kindModule(rule.kind);
  if (m.needsNews(rule.params)) return true;
  const spec = m.engine(rule.params, { symbols: rule.symbols });
  return spec.extended === true || spec.price?.intraday === true;
}

/** The rule reads prices. */
export function ruleNeedsPrices(rule: Pick<RuleDefinition, 'kind' | 'params'>): boolean {
  return kindModule(rule.kind).needsPrices(rule.params);
}

/** Evaluated once per symbol (else once per rule: baskets, news). */
export function rulePerSymbol(rule: Pick<RuleDefinition, 'kind' | 'params'>): boolean {
  const m = kindModule(rule.kind);
  return typeof m.perSymbol === 'function' ? m.perSymbol(rule.params) : m.perSymbol;
}

/** Completed sessions before the evaluated one that the rule reads (its kind's look-back). */
export function ruleLookback(rule: Pick<RuleDefinition, 'kind' | 'params'>): number {
  return kindModule(rule.kind).lookback(rule.params);
}

/**
 * Calendar days of bars to load so every rule's window is warm on the first evaluated session:
 * the longest look-back in sessions, at 5 sessions per 7 days, plus room for holidays; at least 30.
 * The worker, the backtest loader (CLI, API, preview) all use this one figure.
 */
export function lookbackDays(rules: readonly Pick<RuleDefinition, 'kind' | 'params'>[]): number {
  let sessions = 1;
  for (const r of rules) sessions = Math.max(sessions, ruleLookback(r) + 1);
  return Math.max(30, Math.ceil(((sessions + 5) * 7) / 5) + 10);
}

/**
 * The unit of a stored alert (details.unit). Alerts written before the unit list grew say `ratio`
 * for standard deviations and multiples alike: their kind tells which.
 */
export function storedUnit(unit: unknown, kind?: unknown): Unit {
  if (isUnit(unit)) return unit;
  if (unit === 'ratio') {
    // Only kinds whose unit does not depend on params ever wrote `ratio` (vol_scaled_move, volume_spike).
    return isRuleKind(kind) && kindModule(kind).unit({}) === 'sd' ? 'sd' : 'multiple';
  }
  return 'fraction';
}

/** A stored alert's value and threshold in its unit, rendered as every surface renders them. */
export function storedMeasure(a: { value: number; threshold: number; details: unknown }): {
  unit: Unit;
  valueText: string;
  thresholdText: string;
} {
  const d = (a.details ?? {}) as { unit?: unknown; kind?: unknown };
  const unit = storedUnit(d.unit, d.kind);
  return { unit, valueText: formatValue(a.value, unit), thresholdText: formatThreshold(a.threshold, unit) };
}
