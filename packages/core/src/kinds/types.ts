/**
 * The shape of a rule kind: everything the system knows about one kind lives in its module
 * (packages/core/src/kinds/<kind>.ts) and is registered with one line in kinds/index.ts. The
 * engine, rule validation, the API, the admin form and its hints, the worker, the CLI and the
 * backtest loader ask the registry; none of them switches on kinds.
 */
import { z } from 'zod';
import type { Unit } from '../units.ts';
import type { EngineSpec } from './signal.ts';

/**
 * A params field as the admin form shows it. Bounds and defaults are data here, and the same
 * constants build the kind's zod schema, so the form's hint, the API's validation and the engine's
 * default cannot drift apart.
 */
interface FieldBase {
  key: string;
  label: string;
  hint?: string;
}
export type FieldSpec =
  | (FieldBase & {
      type: 'number';
      int?: boolean;
      /** Units a typed value may carry ("10 %", "3x"). */
      units?: readonly string[];
      required?: boolean;
      min?: number;
      max?: number;
      default?: number;
    })
  | (FieldBase & { type: 'select'; options: readonly { value: string; label: string }[]; empty?: string })
  /** A checkbox; `defaultOn`: unset means true (checked), unchecked is written as false. */
  | (FieldBase & { type: 'check'; defaultOn?: boolean })
  /** Yes / no / the schema's default. */
  | (FieldBase & { type: 'bool3'; defaultLabel: string })
  | (FieldBase & { type: 'list' });

/**
 * A group of form fields that share a place in the params object. `path` is where they sit in the
 * rule (`params`, `params.price.params`); `id` prefixes their form names (`p.<id>.<key>`); `when`
 * names other form fields (by their full name) whose values make this group apply.
 */
export interface FormScope {
  id: string;
  path: string;
  fields: readonly FieldSpec[];
  when?: Readonly<Record<string, string>>;
  /** What the fields show before anyone typed (default: the kind's template params at `path`). */
  defaults?: Readonly<Record<string, unknown>>;
}

/** A rule as a kind sees it when it checks rule-level constraints or compiles. */
export interface RuleContext {
  symbols?: readonly string[] | undefined;
}

export interface KindModule<K extends string = string, S extends z.ZodType = z.ZodType> {
  readonly kind: K;
  /** Short human name (form select, docs). */
  readonly label: string;
  /** A note the form shows under the kind (optional). */
  readonly note?: string;
  /** Params schema (bounds and defaults from the module's constants). */
  readonly params: S;
  /** The form's field groups for this kind. */
  readonly form: readonly FormScope[];
  /** A starting point offered by the API and the form ("New rule from a template"). */
  readonly template: { label: string; input: { name: string; params: z.input<S>; symbols?: string[] } };
  /**
   * Evaluated per symbol (describeRule prefixes the symbols), or once per rule (baskets, news):
   * also how backtests count evaluations.
   */
  readonly perSymbol: boolean | ((p: z.output<S>) => boolean);
  /** describeRule puts the rule's symbols before the description (default: when perSymbol is true). */
  readonly prefixSymbols?: boolean;
  describe(p: z.output<S>, symbols?: readonly string[]): string;
  /** Unit of the alert's value and threshold. */
  unit(p: z.output<S>): Unit;
  /** Cannot fire (or fire right) without news items. */
  needsNews(p: z.output<S>): boolean;
  /** Reads prices (a pure news rule does not). */
  needsPrices(p: z.output<S>): boolean;
  /** Completed sessions before the evaluated one the signal reads (a confirmation includes its inner window). */
  lookback(p: z.output<S>): number;
  /** Rule-level checks beyond the params (a basket needs 2 symbols). */
  checkRule?(p: z.output<S>, rule: RuleContext, issue: (path: (string | number)[], message: string) => void): void;
  /** Compiles params into what the engine runs (called once per rule definition). */
  engine(p: z.output<S>, rule: RuleContext): EngineSpec;
}

/** Defines a kind module with its types checked against its own params schema. */
export function defineKind<K extends string, S extends z.ZodType>(m: KindModule<K, S>): KindModule<K, S> {
  return m;
}

// ---------------------------------------------------------------------------------------------
// Building blocks the kind modules share
// ---------------------------------------------------------------------------------------------

export const direction2 = z.enum(['up', 'down']);
export const direction3 = z.enum(['up', 'down', 'either']);
export type Direction = z.infer<typeof direction3>;

export interface Bounds {
  min: number;
  max: number;
  default?: number;
}

export const sessionsSchema = (b: Bounds) =>
  z
    .number({ error: 'must be a whole number of trading sessions' })
    .int('must be a whole number of trading sessions')
    .min(b.min, `must be at least ${b.min}`)
    .max(b.max, `must be at most ${b.max}`);

export const PERCENT: Bounds = { min: 0, max: 1000 };
export const percentSchema = (max = PERCENT.max) =>
  z
    .number({ error: 'must be a number (percent, 10 = 10 %)' })
    .positive('must be greater than 0 (percent, 10 = 10 %)')
    .max(max, max === PERCENT.max ? 'must be at most 1000 (percent)' : `must be at most ${max} %`);

/** "1 to 260" (+ "Empty = 1." when there is a default): hints written from the bounds. */
export function rangeHint(b: Bounds, unit = ''): string {
  const u = unit ? ` ${unit}` : '';
  return `${b.min} to ${b.max}${u}.${b.default !== undefined ? ` Empty = ${b.default}.` : ''}`;
}

export const DIR3_OPTIONS = [
  { value: 'down', label: 'Down (a fall)' },
  { value: 'up', label: 'Up (a rise)' },
  { value: 'either', label: 'Either direction' },
] as const;

/**
 * Which prices a price condition sees: `regular` (default) the regular session only; `extended`
 * also pre-market (04:00-09:30 ET) and post-market (16:00-20:00 ET) prices, so a reaction to
 * results published after the close is measured that evening (against the day's regular close).
 */
export const sessionSchema = z.enum(['regular', 'extended'], { error: 'must be "regular" or "extended"' });
export type SessionScope = z.infer<typeof sessionSchema>;

/** The form field for `session` (regular is left out of the params). */
export const sessionField: FieldSpec = {
  key: 'session',
  type: 'select',
  label: 'Trading hours',
  empty: 'Regular session only (default)',
  options: [{ value: 'extended', label: 'Extended: pre- and post-market prices count too' }],
  hint: 'Extended: a move in pre-market (04:00-09:30 New York) or after hours (16:00-20:00) counts, measured against the last regular close; results published after the close are measured that evening.',
};

/** The describe() suffix of an extended rule. */
export function extendedText(s: SessionScope | undefined): string {
  return s === 'extended' ? ' (pre- and post-market prices count)' : '';
}

export const directionField: FieldSpec = {
  key: 'direction',
  type: 'select',
  label: 'Direction',
  options: DIR3_OPTIONS,
};

export const thresholdField = (hint: string): FieldSpec => ({
  key: 'thresholdPct',
  type: 'number',
  units: ['%'],
  required: true,
  label: 'Threshold (%)',
  hint,
});

export const pctText = (p: number) => `${Number(p.toFixed(2))} %`;
export const sessText = (n: number) => `${n} trading session${n === 1 ? '' : 's'}`;
export const listText = (xs: readonly string[]) => xs.join(', ');
export const moveVerb = (d: Direction) => (d === 'up' ? 'rises' : d === 'down' ? 'falls' : 'moves');
