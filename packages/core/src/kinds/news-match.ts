/** news_match: new news items matching keywords and/or topics, within the rule's symbols (its watchlist). */
import { z } from 'zod';
import type { NewsItem } from '../domain.ts';
import { compileKeywords, keywordSchema, MAX_KEYWORD_WILDCARDS } from '../keywords.ts';
import type { NewsSpec } from './signal.ts';
import { type Bounds, defineKind, type FieldSpec, listText, rangeHint } from './types.ts';

export const keywordList = z.array(keywordSchema).max(100);
export const topicList = z.array(z.string().trim().toLowerCase().min(1, 'topics must not be empty').max(50)).max(50);

export const NEWS_MAX_AGE_MIN: Bounds = { min: 1, max: 10_080, default: 1440 };

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
    maxAgeMin: z.number().int().min(NEWS_MAX_AGE_MIN.min).max(NEWS_MAX_AGE_MIN.max).optional(),
  })
  .refine((p) => (p.keywords?.length ?? 0) + (p.topics?.length ?? 0) > 0 || p.requireSymbol === true, {
    path: ['keywords'],
    message: 'give keywords or topics (or requireSymbol: true to match any news about the symbols)',
  });
export type NewsMatchParams = z.infer<typeof newsMatchParamsSchema>;

export const keywordsField: FieldSpec = {
  key: 'keywords',
  type: 'list',
  label: 'Keywords',
  hint: `One per line, or comma-separated on one line. Whole words, case-insensitive; * is a wildcard inside a word (*blase), at most ${MAX_KEYWORD_WILDCARDS} per keyword.`,
};
export const topicsField: FieldSpec = {
  key: 'topics',
  type: 'list',
  label: 'Topics',
  hint: 'One per line, or comma-separated (e.g. bubble, short). Stored in lower case.',
};

export const newsMatchFields: readonly FieldSpec[] = [
  keywordsField,
  topicsField,
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
    ...NEWS_MAX_AGE_MIN,
    label: 'Maximum age (minutes)',
    hint: `Items first seen longer ago are not new: ${rangeHint(NEWS_MAX_AGE_MIN, 'minutes')}`,
  },
];

export function newsSpec(p: NewsMatchParams, hasSymbols: boolean): NewsSpec {
  return {
    keywords: compileKeywords(p.keywords),
    topics: p.topics ?? [],
    requireSymbol: p.requireSymbol ?? hasSymbols,
    maxAgeMs: (p.maxAgeMin ?? NEWS_MAX_AGE_MIN.default ?? 1440) * 60_000,
  };
}

/** Does the item's text or topics match the spec (symbols are checked by the caller)? */
export function matchesNews(spec: NewsSpec, n: NewsItem): boolean {
  let textOk = spec.keywords === null && spec.topics.length === 0;
  if (!textOk && spec.keywords !== null) {
    textOk = spec.keywords.test(n.summary ? `${n.title}\n${n.summary}` : n.title);
  }
  if (!textOk && spec.topics.length > 0) {
    for (const t of n.topics) {
      if (spec.topics.includes(t.toLowerCase())) {
        textOk = true;
        break;
      }
    }
  }
  return textOk;
}

export function describeNews(p: NewsMatchParams, symbols?: readonly string[]): string {
  const parts: string[] = [];
  if (p.keywords?.length) parts.push(`keywords ${p.keywords.map((k) => `"${k}"`).join(' / ')}`);
  if (p.topics?.length) parts.push(`topics ${listText(p.topics)}`);
  const scope = symbols?.length && p.requireSymbol !== false ? ` about ${listText(symbols)}` : '';
  return `new news${scope}${parts.length ? ` matching ${parts.join(' or ')}` : ''}`;
}

export const newsMatch = defineKind({
  kind: 'news_match',
  label: 'News match',
  note: 'Give keywords or topics, or require a symbol to match any news about the rule’s symbols.',
  params: newsMatchParamsSchema,
  form: [{ id: 'news_match', path: 'params', fields: newsMatchFields }],
  template: {
    label: 'News matching keywords',
    input: { name: 'News: AI bubble', params: { keywords: ['bubble'], topics: [] } },
  },
  perSymbol: false,
  describe: describeNews,
  unit: () => 'count',
  needsNews: () => true,
  needsPrices: () => false,
  lookback: () => 0,
  checkRule: (p, rule, issue) => {
    if (p.requireSymbol === true && !rule.symbols?.length)
      issue(['symbols'], 'requireSymbol needs the rule to list symbols');
  },
  engine: (p, rule) => ({ news: newsSpec(p, (rule.symbols?.length ?? 0) > 0) }),
});
