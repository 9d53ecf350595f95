/** Adding a rule kind takes one file (test/fixtures/gap-kind.ts) and one registration. */
import { describe, expect, it } from 'vitest';
import {
  backtest,
  describeRule,
  formatValue,
  lookbackDays,
  parseRuleDefinition,
  RULE_KINDS,
  registerKind,
  ruleUnit,
  validateRuleDefinition,
} from '../src/index.ts';
import { gapMove } from './fixtures/gap-kind.ts';
import { makeBars } from './helpers.ts';

registerKind(gapMove);

describe('a kind from one file', () => {
  it('validates, describes, has a unit and a look-back, and the engine runs it in a backtest', () => {
    expect(RULE_KINDS as readonly string[]).toContain('gap_move');
    const input = {
      id: 'gap',
      name: 'Gap',
      severity: 'info',
      cooldownSec: 0,
      kind: 'gap_move',
      params: { thresholdPct: 5, direction: 'down' },
      symbols: ['NVDA'],
    };
    const rule = parseRuleDefinition(input);
    expect(describeRule(rule)).toBe('NVDA: opens 5 % or more below the previous close');
    expect(ruleUnit(rule)).toBe('fraction');
    expect(lookbackDays([rule])).toBe(30);
    const bad = validateRuleDefinition({ ...input, params: { thresholdPct: 500, direction: 'down' } });
    expect(bad.ok).toBe(false);

    const bars = makeBars('NVDA', [100, 100, 100, { close: 95 }]);
    (bars[3] as { open: number }).open = 92; // gaps 8 % down at the open
    const r = backtest([rule], [{ symbol: 'NVDA', bars, splits: [] }]);
    expect(r.alerts.map((a) => [a.at, formatValue(a.value, a.unit)])).toEqual([[bars[3]?.date, '-8.00 %']]);
    expect(() => registerKind(gapMove)).toThrow(/already registered/);
  });
});
