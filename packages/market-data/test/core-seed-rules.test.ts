/**
 * The default rules in seeds/rules.ts, checked against the core: every one validates, cites a passage
 * that is verbatim in its article, and behaves on the events it was drawn from.
 * (Lives here because it exercises the core's schema and engine; the seeds package only holds data.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { sharedDir } from '@signals/fixtures';
import { describe, expect, it } from 'vitest';
import { defaultWatchlists, seedRules, widerWatchlistSymbols } from '../../../seeds/rules.ts';
import { backtest, createSeries, describeRule, validateRuleDefinition, withQuote } from '@signals/core';
import { Harness, makeBars, news, quote } from '../../core/test/helpers.ts';
import { loadChart, NVDA_FILE } from './real-history.ts';

const article = (file: string) => fs.readFileSync(path.join(sharedDir(), 'seeds', file), 'utf8');
const asRule = ({
  seedId: _s,
  watchlist: _w,
  sourceArticle: _a,
  sourcePassage: _p,
  ...rule
}: (typeof seedRules)[number]) => rule;

describe('seed rules', () => {
  it('every rule validates against ruleDefinitionSchema and has a unique id equal to its seedId', () => {
    for (const r of seedRules) {
      const v = validateRuleDefinition(asRule(r));
      expect(v.ok ? [] : v.issues, r.seedId).toEqual([]);
      expect(r.id).toBe(r.seedId);
      expect(describeRule(asRule(r)).length).toBeGreaterThan(10);
    }
    expect(new Set(seedRules.map((r) => r.seedId)).size).toBe(seedRules.length);
  });

  it('every cited passage is verbatim in the cited article', () => {
    for (const r of seedRules) {
      expect(article(r.sourceArticle), `${r.seedId}: ${r.sourcePassage}`).toContain(r.sourcePassage);
    }
  });

  it('covers the events with an early warning and an at-event rule each', () => {
    const ids = seedRules.map((r) => r.seedId);
    for (const event of [
      'deepseek-nvda-drop',
      'deepseek-sector',
      'saas-selloff',
      'amzn-capex-drop',
      'msft-capex-drop',
      'meta-ai-rally',
    ]) {
      expect(ids).toContain(`${event}-early`);
      expect(ids).toContain(`${event}-historic`);
    }
    expect(ids).toEqual(expect.arrayContaining(['short-sellers-nvda-pltr', 'ai-bubble-coverage', 'ai-bubble-selloff']));
    // Each early warning sits below its at-event rule.
    const thr = (id: string) => {
      const p = seedRules.find((r) => r.seedId === id)?.params as { thresholdPct?: number; k?: number };
      return p.thresholdPct ?? p.k ?? Number.NaN;
    };
    for (const event of [
      'deepseek-nvda-drop',
      'deepseek-sector',
      'saas-selloff',
      'amzn-capex-drop',
      'msft-capex-drop',
      'meta-ai-rally',
    ]) {
      expect(thr(`${event}-early`)).toBeLessThan(thr(`${event}-historic`));
    }
  });

  it('watchlists: ai-core is NVDA, MSFT, CRM, PLTR; every rule symbol is on a watchlist; names appear in the articles', () => {
    expect(defaultWatchlists.map((w) => w.slug)).toEqual(['ai-core', 'ai-wider']);
    expect(defaultWatchlists[0]?.symbols.map((s) => s.symbol)).toEqual(['NVDA', 'MSFT', 'CRM', 'PLTR']);
    expect(defaultWatchlists[1]?.symbols).toBe(widerWatchlistSymbols);
    const watched = new Set(defaultWatchlists.flatMap((w) => w.symbols.map((s) => s.symbol)));
    for (const r of seedRules) for (const s of r.symbols ?? []) expect(watched.has(s), `${r.seedId}: ${s}`).toBe(true);
    for (const m of defaultWatchlists.flatMap((w) => w.symbols)) {
      for (const f of m.articles ?? []) {
        const text = article(f);
        expect(
          m.aliases.some((a) => text.includes(a)),
          `${m.symbol} in ${f}`,
        ).toBe(true);
      }
    }
  });
});

describe('seed rules on the events they come from', () => {
  const rules = seedRules.map(asRule);

  it('NVDA 2021 with its 4:1 split: the Nvidia rules stay quiet on the split day', () => {
    const r = backtest(rules, [loadChart(NVDA_FILE)]);
    expect(r.alerts.filter((a) => a.at === '2021-07-20')).toEqual([]);
  });

  it('a DeepSeek-size Nvidia fall raises the early warning (after its pending period) and the historic rule', () => {
    const nvda = createSeries({ symbol: 'NVDA', bars: makeBars('NVDA', [142.62, 142.62], '2025-01-23') });
    const h = new Harness(rules);
    const at = (t: string, p: number) => withQuote(nvda, quote('NVDA', p, t, { prevClose: 142.62 }));
    // 142.62 -> 118.42 is the -16.97 % of 27 January 2025.
    const first = h.run('2025-01-27T15:00:00Z', [at('2025-01-27T15:00:00Z', 118.42)]);
    expect(first.alerts.map((a) => a.ruleId)).toEqual(['deepseek-nvda-drop-historic']);
    const second = h.run('2025-01-27T15:06:00Z', [at('2025-01-27T15:06:00Z', 118.0)]);
    expect(second.alerts.map((a) => a.dedupKey)).toEqual(['deepseek-nvda-drop-early:NVDA:2025-01-27']);
  });

  it('Burry-style short news about Palantir raises the news rule', () => {
    const h = new Harness(rules);
    const out = h.run(
      '2025-11-04T15:00:00Z',
      [],
      [
        news('b1', 'Michael Burry wettet gegen Palantir: Put-Optionen im Wert von Millionen', '2025-11-04T14:40:00Z', {
          symbols: ['PLTR'],
        }),
      ],
    );
    expect(out.alerts.map((a) => a.dedupKey)).toEqual(['short-sellers-nvda-pltr:PLTR:n-b1']);
  });
});
