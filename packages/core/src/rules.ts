/**
 * Rule definitions: one zod schema per rule kind (params), the discriminated union
 * {@link ruleDefinitionSchema} the API validates user input with (unknown fields rejected, messages
 * per field), and a readable `describe` per kind.
 *
 * Units: thresholds are given in percent (`thresholdPct: 10` is 10 %); alerts report the measured
 * value as a fraction (-0.169 for a 16.9 % fall), as the Alert table stores it.
 */
import { z } from 'zod';
import { ValidationError } from './errors.ts';
import { keywordSchema } from './keywords.ts';

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

const direction2 = z.enum(['up', 'down']);
const direction3 = z.enum(['up', 'down', 'either']);
export type Direction = z.infer<typeof direction3>;

const sessions = (min: number, max: number) =>
  z
    .number({ error: 'must be a whole number of trading sessions' })
    .int('must be a whole number of trading sessions')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const percent = z
  .number({ error: 'must be a number (percent, 10 = 10 %)' })
  .positive('must be greater than 0 (percent, 10 = 10 %)')
  .max(1000, 'must be at most 1000 (percent)');

/** Yahoo-style symbol (NVDA, BRK-B, ^GSPC, SAP.DE, EURUSD=X); stored upper case. */
export const symbolSchema = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9^][A-Z0-9.=^-]{0,23}$/, 'not a ticker symbol (e.g. NVDA, BRK-B, ^GSPC, SAP.DE)');

const keywordList = z.array(keywordSchema).max(100);

/**
 * Which prices a price condition sees: `regular` (default) the regular session only; `extended`
 * also pre-market (04:00-09:30 ET) and post-market (16:00-20:00 ET) prices, so a reaction to
 * results published after the close is measured that evening (against the day's regular close).
 */
export const sessionSchema = z.enum(['regular', 'extended'], { error: 'must be "regular" or "extended"' });
export type SessionScope = z.infer<typeof sessionSchema>;
const topicList = z.array(z.string().trim().toLowerCase().min(1, 'topics must not be empty').max(50)).max(50);

// ---------------------------------------------------------------------------------------------
// Params per kind
// ---------------------------------------------------------------------------------------------

/** Price crosses a level; the session's high (up) or low (down) counts, so a crossing between polls is caught. */
export const priceCrossParamsSchema = z.strictObject({
  level: z.number().positive('must be a price above 0').finite(),
  direction: direction2,
});

/** Close-to-close move over N sessions, or (intraday) the live price against the previous close. */
export const pctMoveParamsSchema = z
  .strictObject({
    /** Sessions the move is measured over (1 = against the previous close). Default 1. */
    sessions: sessions(1, 260).optional(),
    thresholdPct: percent,
    direction: direction3,
    /** Measure the live quote against the quote's previous close (sessions must be 1). */
    intraday: z.boolean().optional(),
    /** Intraday only: measure the session's high/low instead of the last price (an intraday spike counts). */
    extremes: z.boolean().optional(),
    /** regular (default) or extended: pre- and post-market prices count too. */
    session: sessionSchema.optional(),
  })
  .refine((p) => !p.intraday || (p.sessions ?? 1) === 1, {
    path: ['sessions'],
    message: 'an intraday move is measured against the previous close: sessions must be 1',
  })
  .refine((p) => !p.extremes || p.intraday, { path: ['extremes'], message: 'extremes needs intraday: true' });

/** Close below the rolling N-session high by at least thresholdPct. */
export const drawdownParamsSchema = z.strictObject({
  /** Sessions of the rolling high, including the current one. */
  sessions: sessions(2, 520),
  thresholdPct: percent.max(100, 'a drawdown is at most 100 %'),
});

/** Several symbols (the rule's `symbols`) moving together over N sessions. */
export const basketMoveParamsSchema = z.strictObject({
  sessions: sessions(1, 260),
  thresholdPct: percent,
  direction: direction3,
  /** equal: mean of member moves; market_cap: change of the members' combined market value. */
  weighting: z.enum(['equal', 'market_cap']),
  /** Members with fresh data needed to evaluate (default: all). */
  minMembers: z.number().int().min(1).optional(),
});

/** A daily move larger than k standard deviations of the symbol's own daily returns. */
export const volScaledMoveParamsSchema = z.strictObject({
  /** Daily returns before the current session used for the standard deviation. */
  lookback: sessions(10, 520),
  k: z.number().positive('must be greater than 0').max(50),
  direction: direction3,
  /** regular (default) or extended: pre- and post-market prices count too. */
  session: sessionSchema.optional(),
});

/** Session volume at least `multiple` times the average of the previous N sessions. */
export const volumeSpikeParamsSchema = z.strictObject({
  sessions: sessions(2, 260),
  multiple: z.number().gt(1, 'must be greater than 1'),
});

/** New news items matching keywords and/or topics, within the rule's symbols (its watchlist). */
export const newsMatchParamsSchema = z
  .strictObject({
    /**
     * Case-insensitive whole-word matches in title and summary; `*` is a wildcard inside a word
     * (`*blase`), at most MAX_KEYWORD_WILDCARDS per keyword (see keywords.ts).
     */
    keywords: keywordList.optional(),
    /** Any of these topics (NewsItem.topics). */
    topics: topicList.optional(),
    /** Only items that mention one of the rule's symbols (default: true when the rule has symbols). */
    requireSymbol: z.boolean().optional(),
    /** Items first seen longer ago than this are not "new" (default 1440 = one day). */
    maxAgeMin: z.number().int().min(1).max(10_080).optional(),
  })
  .refine((p) => (p.keywords?.length ?? 0) + (p.topics?.length ?? 0) > 0 || p.requireSymbol === true, {
    path: ['keywords'],
    message: 'give keywords or topics (or requireSymbol: true to match any news about the symbols)',
  });

/** Price rules a confirmation can wrap. */
const innerPriceRuleSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('price_cross'), params: priceCrossParamsSchema }),
  z.strictObject({ kind: z.literal('pct_move'), params: pctMoveParamsSchema }),
  z.strictObject({ kind: z.literal('drawdown'), params: drawdownParamsSchema }),
  z.strictObject({ kind: z.literal('vol_scaled_move'), params: volScaledMoveParamsSchema }),
  z.strictObject({ kind: z.literal('volume_spike'), params: volumeSpikeParamsSchema }),
]);

/**
 * Price and news confirming each other.
 * - `price_news`: the wrapped price rule fires with the news about the symbol from `beforeMin`
 *   before to `afterMin` after the move attached; with `requireNews` (default) it fires only when
 *   such news exists (waiting up to `afterMin` for it).
 * - `news_price`: a news match fires only if the symbol then moves at least `minMovePct` within
 *   `withinMin` minutes (measured from the price when the item was first evaluated).
 */
export const confirmationParamsSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('price_news'),
    price: innerPriceRuleSchema,
    beforeMin: z.number().int().min(0).max(10_080).optional(),
    afterMin: z.number().int().min(0).max(1440).optional(),
    keywords: keywordList.optional(),
    topics: topicList.optional(),
    requireNews: z.boolean().optional(),
  }),
  z.strictObject({
    mode: z.literal('news_price'),
    news: newsMatchParamsSchema,
    minMovePct: percent,
    withinMin: z.number().int().min(1).max(1440),
    direction: direction3,
    /** regular (default) or extended: the confirming move may happen in pre- or post-market. */
    session: sessionSchema.optional(),
  }),
]);

export type PriceCrossParams = z.infer<typeof priceCrossParamsSchema>;
export type PctMoveParams = z.infer<typeof pctMoveParamsSchema>;
export type DrawdownParams = z.infer<typeof drawdownParamsSchema>;
export type BasketMoveParams = z.infer<typeof basketMoveParamsSchema>;
export type VolScaledMoveParams = z.infer<typeof volScaledMoveParamsSchema>;
export type VolumeSpikeParams = z.infer<typeof volumeSpikeParamsSchema>;
export type NewsMatchParams = z.infer<typeof newsMatchParamsSchema>;
export type ConfirmationParams = z.infer<typeof confirmationParamsSchema>;

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

const kindSchemas = [
  z.strictObject({ ...ruleBase, kind: z.literal('price_cross'), params: priceCrossParamsSchema }),
  z.strictObject({ ...ruleBase, kind: z.literal('pct_move'), params: pctMoveParamsSchema }),
  z.strictObject({ ...ruleBase, kind: z.literal('drawdown'), params: drawdownParamsSchema }),
  z.strictObject({ ...ruleBase, kind: z.literal('basket_move'), params: basketMoveParamsSchema }),
  z.strictObject({ ...ruleBase, kind: z.literal('vol_scaled_move'), params: volScaledMoveParamsSchema }),
  z.strictObject({ ...ruleBase, kind: z.literal('volume_spike'), params: volumeSpikeParamsSchema }),
  z.strictObject({ ...ruleBase, kind: z.literal('news_match'), params: newsMatchParamsSchema }),
  z.strictObject({ ...ruleBase, kind: z.literal('confirmation'), params: confirmationParamsSchema }),
] as const;

export const RULE_KINDS = [
  'price_cross',
  'pct_move',
  'drawdown',
  'basket_move',
  'vol_scaled_move',
  'volume_spike',
  'news_match',
  'confirmation',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** Validates a rule definition (API input, seeds, stored rows). Unknown fields are rejected. */
export const ruleDefinitionSchema = z.discriminatedUnion('kind', kindSchemas).superRefine((r, ctx) => {
  if (r.kind === 'basket_move') {
    const n = r.symbols?.length ?? 0;
    if (n < 2) ctx.addIssue({ code: 'custom', path: ['symbols'], message: 'a basket needs at least 2 symbols' });
    if (r.params.minMembers !== undefined && r.params.minMembers > n)
      ctx.addIssue({ code: 'custom', path: ['params', 'minMembers'], message: `must be at most ${n} (the members)` });
  }
  if (r.symbols && new Set(r.symbols).size !== r.symbols.length)
    ctx.addIssue({ code: 'custom', path: ['symbols'], message: 'symbols must not repeat' });
  const needsSymbol =
    (r.kind === 'news_match' && r.params.requireSymbol === true) ||
    (r.kind === 'confirmation' && r.params.mode === 'news_price' && r.params.news.requireSymbol === true);
  if (needsSymbol && !r.symbols?.length)
    ctx.addIssue({ code: 'custom', path: ['symbols'], message: 'requireSymbol needs the rule to list symbols' });
});

/** A validated rule. */
export type RuleDefinition = z.infer<typeof ruleDefinitionSchema>;
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
// describe
// ---------------------------------------------------------------------------------------------

const pct = (p: number) => `${Number(p.toFixed(2))} %`;
const sess = (n: number) => `${n} trading session${n === 1 ? '' : 's'}`;
const list = (xs: readonly string[]) => xs.join(', ');

function moveVerb(d: Direction): string {
  return d === 'up' ? 'rises' : d === 'down' ? 'falls' : 'moves';
}

function newsText(p: NewsMatchParams, symbols?: readonly string[]): string {
  const parts: string[] = [];
  if (p.keywords?.length) parts.push(`keywords ${p.keywords.map((k) => `"${k}"`).join(' / ')}`);
  if (p.topics?.length) parts.push(`topics ${list(p.topics)}`);
  const scope = symbols?.length && p.requireSymbol !== false ? ` about ${list(symbols)}` : '';
  return `new news${scope}${parts.length ? ` matching ${parts.join(' or ')}` : ''}`;
}

function extendedText(s: SessionScope | undefined): string {
  return s === 'extended' ? ' (pre- and post-market prices count)' : '';
}

/** Readable descriptions per kind (English, for alert texts and the admin page). */
export const describeParams = {
  price_cross: (p: PriceCrossParams) =>
    `price crosses ${p.direction === 'up' ? 'above' : 'below'} ${p.level} (the session ${p.direction === 'up' ? 'high' : 'low'} counts)`,
  pct_move: (p: PctMoveParams) =>
    (p.intraday
      ? `${p.extremes ? 'trades' : 'is'} ${pct(p.thresholdPct)} or more ${p.direction === 'up' ? 'above' : p.direction === 'down' ? 'below' : 'away from'} the previous close intraday${p.extremes ? ' (session high/low)' : ''}`
      : `${moveVerb(p.direction)} ${pct(p.thresholdPct)} or more over ${sess(p.sessions ?? 1)} (close to close${p.direction === 'either' ? ', either direction' : ''})`) +
    extendedText(p.session),
  drawdown: (p: DrawdownParams) => `closes ${pct(p.thresholdPct)} or more below its ${p.sessions}-session high`,
  basket_move: (p: BasketMoveParams, symbols?: readonly string[]) =>
    `basket ${symbols?.length ? `(${list(symbols)}) ` : ''}${moveVerb(p.direction)} ${pct(p.thresholdPct)} or more over ${sess(p.sessions)} (${p.weighting === 'equal' ? 'equal-weighted' : 'market-cap-weighted'})`,
  vol_scaled_move: (p: VolScaledMoveParams) =>
    `daily move ${p.direction === 'either' ? '' : `${p.direction} `}of more than ${p.k} standard deviations of its own daily returns (${p.lookback}-session lookback)${extendedText(p.session)}`,
  volume_spike: (p: VolumeSpikeParams) => `volume ${p.multiple}x or more its ${p.sessions}-session average`,
  news_match: (p: NewsMatchParams, symbols?: readonly string[]) => newsText(p, symbols),
  confirmation: (p: ConfirmationParams, symbols?: readonly string[]): string => {
    if (p.mode === 'price_news') {
      const inner = describeKind(p.price.kind, p.price.params, symbols);
      const win = `${p.beforeMin ?? 120} min before to ${p.afterMin ?? 15} min after`;
      return p.requireNews === false
        ? `${inner}, with the news from ${win} attached`
        : `${inner}, confirmed by news about the symbol from ${win}`;
    }
    return `${newsText(p.news, symbols)}, confirmed by a move ${p.direction === 'either' ? '' : `${p.direction} `}of ${pct(p.minMovePct)} or more within ${p.withinMin} min${extendedText(p.session)}`;
  },
} as const;

/** Describes params of `kind`. */
export function describeKind(kind: RuleKind, params: unknown, symbols?: readonly string[]): string {
  // biome-ignore lint/suspicious/noExplicitAny: params were validated by the kind's schema.
  return (describeParams[kind] as (p: any, s?: readonly string[]) => string)(params, symbols);
}

/** One readable sentence for a rule ("NVDA, MSFT: falls 10 % or more over 1 trading session ..."). */
export function describeRule(rule: RuleDefinition): string {
  const text = describeKind(rule.kind, rule.params, rule.symbols);
  const perSymbol = rule.kind !== 'basket_move' && rule.kind !== 'news_match' && rule.kind !== 'confirmation';
  return perSymbol && rule.symbols?.length ? `${list(rule.symbols)}: ${text}` : text;
}
