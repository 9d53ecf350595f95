/**
 * News keyword matching (issue 10, item 8): the matcher is linear in the text, so the heaviest
 * keywords the schema allows cannot stall a process.
 *
 * - keywords.worst_item_ms: one news item of 2,200 characters that is a single word of `a`
 *   (the longest title + summary the feed parser keeps) against the heaviest allowed keyword list
 *   (100 keywords of 100 characters with 3 wildcards each, all but the last letter matching), on a
 *   freshly compiled matcher: the worst case measured. (The regular expression this replaced did
 *   not finish on 20,000 characters and a keyword of 99 `*` stalled the server for over a minute.)
 * - keywords.seed_items_per_s: every line of the recorded feeds against the seed rules' keywords.
 */
import fs from 'node:fs';
import { compileKeywords, type RuleDefinition } from '@signals/core';
import { fixturePath } from '@signals/testing';
import { seedRules } from '../seeds/rules.ts';
import { type BenchResult, medianMs } from './lib.ts';

function keywordsOf(r: RuleDefinition): string[] {
  const p = r.params as { keywords?: string[]; news?: { keywords?: string[] } };
  return [...(p.keywords ?? []), ...(p.news?.keywords ?? [])];
}

export default async function run(): Promise<BenchResult[]> {
  const heavy = Array.from({ length: 100 }, (_, i) => `a*a*a*${'a'.repeat(93)}${String.fromCharCode(98 + (i % 20))}`);
  const item = 'a'.repeat(2200);
  const worst = await medianMs(() => compileKeywords(heavy)?.test(item), 7, 1);

  const seedKeywords = [...new Set(seedRules.flatMap(keywordsOf))];
  const dir = fixturePath('rss');
  const lines = fs
    .readdirSync(dir)
    .filter((f) => /\.(rss|atom)$/.test(f))
    .flatMap((f) => fs.readFileSync(`${dir}/${f}`, 'utf8').split('\n'))
    .map((l) => l.slice(0, 2200));
  const matcher = compileKeywords(seedKeywords);
  const rounds = 20;
  const ms = await medianMs(() => {
    for (let r = 0; r < rounds; r++) for (const l of lines) matcher?.test(l);
  }, 5);
  return [
    {
      name: 'keywords.worst_item_ms',
      value: Number(worst.toFixed(1)),
      unit: 'ms',
      target: null,
      better: 'lower',
      note: '2,200-character one-word item vs 100 keywords of 100 characters with 3 wildcards (fresh matcher)',
    },
    {
      name: 'keywords.seed_items_per_s',
      value: Math.round((rounds * lines.length) / (ms / 1000)),
      unit: 'items/s',
      target: null,
      better: 'higher',
      note: `${lines.length} lines of the recorded feeds vs the ${seedKeywords.length} seed keywords`,
    },
  ];
}
