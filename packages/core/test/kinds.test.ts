/** The rule-kind registry: every kind carries what the rest of the system asks of it. */
import { describe, expect, it } from 'vitest';
import {
  describeRule,
  KINDS,
  lookbackDays,
  parseRuleDefinition,
  RULE_KINDS,
  ruleLookback,
  ruleNeedsNews,
  ruleUnit,
  UNITS,
} from '../src/index.ts';

const ruleOf = (kind: string, params: unknown, symbols?: string[]) =>
  parseRuleDefinition({ id: `t-${kind}`, name: kind, severity: 'info', cooldownSec: 0, kind, params, symbols });

describe('kind registry', () => {
  it('every kind: its template is a valid rule, described, with a unit and a look-back', () => {
    for (const k of RULE_KINDS) {
      const t = KINDS[k].template.input;
      const r = ruleOf(k, t.params, t.symbols);
      expect(describeRule(r).length, k).toBeGreaterThan(10);
      expect(UNITS, k).toContain(ruleUnit(r));
      expect(ruleLookback(r), k).toBeGreaterThanOrEqual(0);
      expect(KINDS[k].form.length, k).toBeGreaterThan(0);
    }
  });

  it("a confirmation's look-back includes its wrapped price rule's window, and its unit is the price rule's", () => {
    const inner = { kind: 'drawdown', params: { sessions: 260, thresholdPct: 20 } };
    const r = ruleOf('confirmation', { mode: 'price_news', price: inner }, ['NVDA']);
    expect(ruleLookback(r)).toBe(259);
    expect(lookbackDays([r])).toBeGreaterThan(365);
    expect(
      ruleUnit(
        ruleOf(
          'confirmation',
          {
            mode: 'price_news',
            price: { kind: 'vol_scaled_move', params: { lookback: 60, k: 4, direction: 'either' } },
          },
          ['NVDA'],
        ),
      ),
    ).toBe('sd');
    expect(ruleLookback(ruleOf('vol_scaled_move', { lookback: 60, k: 4, direction: 'either' }))).toBe(61);
  });

  it('news needs: a news rule and a requiring confirmation need news; a price rule or an attach-only confirmation do not', () => {
    expect(ruleNeedsNews(ruleOf('news_match', { keywords: ['bubble'] }))).toBe(true);
    expect(ruleNeedsNews(ruleOf('pct_move', { thresholdPct: 5, direction: 'down' }))).toBe(false);
    const attach = {
      mode: 'price_news',
      price: { kind: 'pct_move', params: { thresholdPct: 5, direction: 'down' } },
      requireNews: false,
    };
    expect(ruleNeedsNews(ruleOf('confirmation', attach, ['NVDA']))).toBe(false);
    expect(ruleNeedsNews(ruleOf('confirmation', { ...attach, requireNews: true }, ['NVDA']))).toBe(true);
  });

  it('rule-level checks come from the kind (a basket needs two symbols)', () => {
    expect(() =>
      ruleOf('basket_move', { sessions: 1, thresholdPct: 5, direction: 'down', weighting: 'equal' }, ['NVDA']),
    ).toThrow(/symbols: a basket needs at least 2 symbols/);
  });
});
