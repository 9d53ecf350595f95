import { describe, expect, it } from 'vitest';
import {
  describeRule,
  parseRuleDefinition,
  type RuleDefinition,
  ruleDefinitionSchema,
  ValidationError,
  validateRuleDefinition,
} from '../src/index.ts';

const valid = {
  id: 'nvda-drop',
  name: 'Nvidia one-day drop',
  kind: 'pct_move',
  params: { sessions: 1, thresholdPct: 10, direction: 'down' },
  symbols: ['nvda'],
  severity: 'critical',
  cooldownSec: 86_400,
};

function issues(input: unknown) {
  const r = validateRuleDefinition(input);
  if (r.ok) throw new Error('expected a validation failure');
  return r.issues;
}

describe('ruleDefinitionSchema', () => {
  it('accepts a valid rule and upper-cases symbols', () => {
    const r = parseRuleDefinition(valid);
    expect(r.symbols).toEqual(['NVDA']);
    expect(r.kind).toBe('pct_move');
  });

  it('rejects unknown fields at the root and in params, each at its own path', () => {
    expect(issues({ ...valid, colour: 'red' })).toEqual([{ path: 'colour', message: 'unknown field' }]);
    expect(issues({ ...valid, params: { ...valid.params, window: 3 } })).toEqual([
      { path: 'params.window', message: 'unknown field' },
    ]);
  });

  it('gives field-level messages for bad values', () => {
    const got = issues({ ...valid, params: { thresholdPct: -5, direction: 'sideways' }, cooldownSec: 1.5 });
    expect(got.map((i) => i.path).sort()).toEqual(['cooldownSec', 'params.direction', 'params.thresholdPct']);
    expect(got.find((i) => i.path === 'params.thresholdPct')?.message).toMatch(/greater than 0/);
  });

  it('rejects an unknown kind at `kind`', () => {
    const got = issues({ ...valid, kind: 'moon_phase' });
    expect(got).toHaveLength(1);
    expect(got[0]?.path).toBe('kind');
  });

  it('checks cross-field rules: baskets need 2+ symbols, intraday needs 1 session, ids without colons', () => {
    expect(
      issues({
        ...valid,
        kind: 'basket_move',
        params: { sessions: 5, thresholdPct: 8, direction: 'down', weighting: 'equal' },
        symbols: ['CRM'],
      }),
    ).toEqual([{ path: 'symbols', message: 'a basket needs at least 2 symbols' }]);
    expect(
      issues({ ...valid, params: { sessions: 3, thresholdPct: 8, direction: 'up', intraday: true } }).map(
        (i) => i.path,
      ),
    ).toEqual(['params.sessions']);
    expect(issues({ ...valid, id: 'a:b' }).map((i) => i.path)).toEqual(['id']);
    expect(issues({ ...valid, symbols: ['NVDA', 'nvda'] }).map((i) => i.path)).toEqual(['symbols']);
  });

  it('news rules need something to match; confirmations validate their nested rule', () => {
    expect(issues({ ...valid, kind: 'news_match', params: {} }).map((i) => i.path)).toEqual(['params.keywords']);
    const nested = issues({
      ...valid,
      kind: 'confirmation',
      params: { mode: 'price_news', price: { kind: 'pct_move', params: { thresholdPct: 0, direction: 'down' } } },
    });
    expect(nested.map((i) => i.path)).toEqual(['params.price.params.thresholdPct']);
  });

  it('parseRuleDefinition throws ValidationError carrying the issues', () => {
    try {
      parseRuleDefinition({ ...valid, severity: 'apocalyptic' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues.map((i) => i.path)).toEqual(['severity']);
      expect((e as ValidationError).code).toBe('validation_failed');
    }
  });
});

describe('describe', () => {
  const d = (r: unknown) => describeRule(ruleDefinitionSchema.parse(r) as RuleDefinition);
  it('reads like a sentence per kind', () => {
    expect(d(valid)).toBe('NVDA: falls 10 % or more over 1 trading session (close to close)');
    expect(d({ ...valid, params: { thresholdPct: 10, direction: 'up', intraday: true, extremes: true } })).toBe(
      'NVDA: trades 10 % or more above the previous close intraday (session high/low)',
    );
    expect(
      d({
        ...valid,
        kind: 'basket_move',
        symbols: ['CRM', 'INTU'],
        params: { sessions: 5, thresholdPct: 8, direction: 'down', weighting: 'market_cap' },
      }),
    ).toBe('basket (CRM, INTU) falls 8 % or more over 5 trading sessions (market-cap-weighted)');
    expect(d({ ...valid, kind: 'drawdown', params: { sessions: 20, thresholdPct: 15 } })).toBe(
      'NVDA: closes 15 % or more below its 20-session high',
    );
    expect(d({ ...valid, kind: 'vol_scaled_move', params: { lookback: 60, k: 4, direction: 'either' } })).toBe(
      'NVDA: daily move of more than 4 standard deviations of its own daily returns (60-session lookback)',
    );
    expect(d({ ...valid, kind: 'volume_spike', params: { sessions: 20, multiple: 3 } })).toBe(
      'NVDA: volume 3x or more its 20-session average',
    );
    expect(d({ ...valid, kind: 'price_cross', params: { level: 100, direction: 'down' } })).toBe(
      'NVDA: price crosses below 100 (the session low counts)',
    );
    expect(
      d({
        ...valid,
        kind: 'news_match',
        symbols: ['NVDA', 'PLTR'],
        params: { topics: ['short'], keywords: ['Burry'] },
      }),
    ).toBe('new news about NVDA, PLTR matching keywords "Burry" or topics short');
  });
});
