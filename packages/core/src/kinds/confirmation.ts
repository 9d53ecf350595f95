/**
 * confirmation: price and news confirming each other.
 * - `price_news`: the wrapped price rule fires with the news about the symbol from `beforeMin`
 *   before to `afterMin` after the move attached; with `requireNews` (default) it fires only when
 *   such news exists (waiting up to `afterMin` for it).
 * - `news_price`: a news match fires only if the symbol then moves at least `minMovePct` within
 *   `withinMin` minutes (measured from the price when the item was first evaluated).
 */
import { z } from 'zod';
import { drawdown } from './drawdown.ts';
import { describeNews, keywordList, keywordsField, newsMatch, newsSpec, topicList, topicsField } from './news-match.ts';
import { pctMove } from './pct-move.ts';
import { priceCross } from './price-cross.ts';
import { dirOf } from './signal.ts';
import {
  type Bounds,
  defineKind,
  DIR3_OPTIONS,
  direction3,
  extendedText,
  type FormScope,
  pctText,
  percentSchema,
  rangeHint,
  sessionField,
  sessionSchema,
} from './types.ts';
import { volScaledMove } from './vol-scaled-move.ts';
import { volumeSpike } from './volume-spike.ts';

/**
 * The price kinds a confirmation can wrap. A new per-symbol price kind that should be wrappable is
 * added here too (the one place besides its own file and its registry line).
 */
const WRAPPABLE = [priceCross, pctMove, drawdown, volScaledMove, volumeSpike] as const;
type Wrappable = (typeof WRAPPABLE)[number];

const innerPriceRuleSchema = z.discriminatedUnion(
  'kind',
  WRAPPABLE.map((k) => z.strictObject({ kind: z.literal(k.kind), params: k.params })) as unknown as [
    z.ZodObject<{ kind: z.ZodLiteral<'price_cross'>; params: typeof priceCross.params }>,
    z.ZodObject<{ kind: z.ZodLiteral<'pct_move'>; params: typeof pctMove.params }>,
    z.ZodObject<{ kind: z.ZodLiteral<'drawdown'>; params: typeof drawdown.params }>,
    z.ZodObject<{ kind: z.ZodLiteral<'vol_scaled_move'>; params: typeof volScaledMove.params }>,
    z.ZodObject<{ kind: z.ZodLiteral<'volume_spike'>; params: typeof volumeSpike.params }>,
  ],
);
export type InnerPriceRule = z.infer<typeof innerPriceRuleSchema>;

/** The wrapped kind's module (typed loosely: its params were validated by its own schema). */
function inner(r: InnerPriceRule): Wrappable & { [k: string]: unknown } {
  const m = WRAPPABLE.find((k) => k.kind === r.kind);
  if (!m) throw new Error(`confirmation: ${r.kind} cannot be wrapped`);
  return m as Wrappable & { [k: string]: unknown };
}
// biome-ignore lint/suspicious/noExplicitAny: the inner params were validated by the inner kind's schema.
type Loose = (p: any) => any;
const call = <T>(r: InnerPriceRule, f: (m: Wrappable) => Loose): T => f(inner(r))(r.params) as T;

export const CONFIRM_BEFORE_MIN: Bounds = { min: 0, max: 10_080, default: 120 };
export const CONFIRM_AFTER_MIN: Bounds = { min: 0, max: 1440, default: 15 };
export const CONFIRM_WITHIN_MIN: Bounds = { min: 1, max: 1440 };

export const confirmationParamsSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('price_news'),
    price: innerPriceRuleSchema,
    beforeMin: z.number().int().min(CONFIRM_BEFORE_MIN.min).max(CONFIRM_BEFORE_MIN.max).optional(),
    afterMin: z.number().int().min(CONFIRM_AFTER_MIN.min).max(CONFIRM_AFTER_MIN.max).optional(),
    keywords: keywordList.optional(),
    topics: topicList.optional(),
    requireNews: z.boolean().optional(),
  }),
  z.strictObject({
    mode: z.literal('news_price'),
    news: newsMatch.params,
    minMovePct: percentSchema(),
    withinMin: z.number().int().min(CONFIRM_WITHIN_MIN.min).max(CONFIRM_WITHIN_MIN.max),
    direction: direction3,
    /** regular (default) or extended: the confirming move may happen in pre- or post-market. */
    session: sessionSchema.optional(),
  }),
]);
export type ConfirmationParams = z.infer<typeof confirmationParamsSchema>;

const MODE = 'p.confirmation.mode';
const PRICE_KIND = 'p.confirmation.price.kind';

const form: FormScope[] = [
  {
    id: 'confirmation',
    path: 'params',
    defaults: { mode: 'price_news' },
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
    when: { [MODE]: 'price_news' },
    defaults: { kind: 'pct_move' },
    fields: [
      {
        key: 'kind',
        type: 'select',
        label: 'Price rule',
        options: WRAPPABLE.map((k) => ({ value: k.kind, label: `${k.label} (${k.kind})` })),
      },
    ],
  },
  ...WRAPPABLE.map((k) => ({
    id: `confirmation.price.${k.kind}`,
    path: 'params.price.params',
    when: { [MODE]: 'price_news', [PRICE_KIND]: k.kind },
    defaults: k.template.input.params,
    fields: (k.form[0] as FormScope).fields,
  })),
  {
    id: 'confirmation.price_news',
    path: 'params',
    when: { [MODE]: 'price_news' },
    fields: [
      {
        key: 'beforeMin',
        type: 'number',
        int: true,
        ...CONFIRM_BEFORE_MIN,
        label: 'News from before the move (minutes)',
        hint: `${rangeHint(CONFIRM_BEFORE_MIN, 'minutes')}`,
      },
      {
        key: 'afterMin',
        type: 'number',
        int: true,
        ...CONFIRM_AFTER_MIN,
        label: 'News until after the move (minutes)',
        hint: `How long to wait for news: ${rangeHint(CONFIRM_AFTER_MIN, 'minutes')}`,
      },
      { ...keywordsField, hint: `Only news matching these. ${keywordsField.hint}` },
      topicsField,
      { key: 'requireNews', type: 'check', defaultOn: true, label: 'Fire only when such news exists' },
    ],
  },
  {
    id: 'confirmation.news',
    path: 'params.news',
    when: { [MODE]: 'news_price' },
    defaults: newsMatch.template.input.params,
    fields: (newsMatch.form[0] as FormScope).fields,
  },
  {
    id: 'confirmation.news_price',
    path: 'params',
    when: { [MODE]: 'news_price' },
    defaults: { minMovePct: 5, withinMin: 120, direction: 'down' },
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
        ...CONFIRM_WITHIN_MIN,
        label: 'Within (minutes)',
        hint: `${CONFIRM_WITHIN_MIN.min} to ${CONFIRM_WITHIN_MIN.max} minutes after the item was first seen.`,
      },
      { key: 'direction', type: 'select', label: 'Direction', options: DIR3_OPTIONS },
      sessionField,
    ],
  },
];

export const confirmation = defineKind({
  kind: 'confirmation',
  label: 'Price and news confirming each other',
  params: confirmationParamsSchema,
  form,
  template: {
    label: 'Price move confirmed by news',
    input: {
      name: 'Fall of 5 % with news',
      params: { mode: 'price_news', price: { kind: 'pct_move', params: { thresholdPct: 5, direction: 'down' } } },
    },
  },
  // price_news runs its price rule per symbol; news_price groups news per subject once per rule.
  perSymbol: (p) => p.mode === 'price_news',
  prefixSymbols: false,
  describe: (p, symbols) => {
    if (p.mode === 'price_news') {
      const text = call<string>(p.price, (m) => m.describe as Loose);
      const win = `${p.beforeMin ?? CONFIRM_BEFORE_MIN.default} min before to ${p.afterMin ?? CONFIRM_AFTER_MIN.default} min after`;
      return p.requireNews === false
        ? `${text}, with the news from ${win} attached`
        : `${text}, confirmed by news about the symbol from ${win}`;
    }
    return `${describeNews(p.news, symbols)}, confirmed by a move ${p.direction === 'either' ? '' : `${p.direction} `}of ${pctText(p.minMovePct)} or more within ${p.withinMin} min${extendedText(p.session)}`;
  },
  unit: (p) => (p.mode === 'price_news' ? call(p.price, (m) => m.unit as Loose) : 'fraction'),
  // A price_news confirmation that only attaches news (requireNews: false) fires on prices alone.
  needsNews: (p) => p.mode === 'news_price' || p.requireNews !== false,
  needsPrices: () => true,
  // A price_news confirmation reads its inner price window; news_price only the current price.
  lookback: (p) => (p.mode === 'price_news' ? call<number>(p.price, (m) => m.lookback as Loose) : 1),
  checkRule: (p, rule, issue) => {
    if (p.mode === 'news_price' && p.news.requireSymbol === true && !rule.symbols?.length)
      issue(['symbols'], 'requireSymbol needs the rule to list symbols');
  },
  engine: (p, rule) => {
    if (p.mode === 'price_news') {
      const spec = call<ReturnType<Wrappable['engine']>>(p.price, (m) => m.engine as Loose);
      const filter =
        p.keywords?.length || p.topics?.length
          ? newsSpec({ keywords: p.keywords, topics: p.topics, requireSymbol: true }, true)
          : null;
      return {
        ...spec,
        confirmNews: {
          beforeMs: (p.beforeMin ?? CONFIRM_BEFORE_MIN.default ?? 120) * 60_000,
          afterMs: (p.afterMin ?? CONFIRM_AFTER_MIN.default ?? 15) * 60_000,
          requireNews: p.requireNews !== false,
          filter,
        },
      };
    }
    const news = newsSpec(p.news, (rule.symbols?.length ?? 0) > 0);
    news.requireSymbol = true;
    return {
      news,
      confirmPrice: { minMove: p.minMovePct / 100, dir: dirOf(p.direction), withinMs: p.withinMin * 60_000 },
      extended: p.session === 'extended',
    };
  },
});
