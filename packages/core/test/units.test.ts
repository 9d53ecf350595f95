import { describe, expect, it } from 'vitest';
import { formatMeasure, formatThreshold, formatValue, KINDS, RULE_KINDS, storedUnit, UNITS } from '../src/index.ts';

describe('units', () => {
  it('renders each unit one way', () => {
    expect(formatValue(-10.8199, 'sd')).toBe('-10.8 sd');
    expect(formatThreshold(-5, 'sd')).toBe('-5.0 sd');
    expect(formatValue(-0.1697, 'fraction')).toBe('-16.97 %');
    expect(formatValue(0.1, 'fraction')).toBe('+10.00 %');
    expect(formatValue(3.21, 'multiple')).toBe('3.2x');
    expect(formatValue(1, 'count')).toBe('1 item');
    expect(formatValue(4, 'count')).toBe('4 items');
    expect(formatValue(98.5, 'price')).toBe('98.50');
    expect(formatMeasure(-10.8199, -5, 'sd')).toBe('-10.8 sd (threshold -5.0 sd)');
    expect(formatMeasure(98.5, 100, 'price')).toBe('98.50 (crossed 100.00)');
  });

  it('every kind declares a known unit', () => {
    expect(RULE_KINDS.length).toBe(Object.keys(KINDS).length);
    for (const k of RULE_KINDS) {
      const template = KINDS[k].template.input.params;
      const params = KINDS[k].params.parse(template);
      // biome-ignore lint/suspicious/noExplicitAny: each kind's own params, just parsed by its schema.
      expect(UNITS).toContain((KINDS[k] as any).unit(params));
    }
  });

  it('reads the units of alerts stored before sd, multiple and count existed', () => {
    expect(storedUnit('ratio', 'vol_scaled_move')).toBe('sd');
    expect(storedUnit('ratio', 'volume_spike')).toBe('multiple');
    expect(storedUnit('ratio', undefined)).toBe('multiple');
    expect(storedUnit(undefined, 'pct_move')).toBe('fraction');
    expect(storedUnit('price', 'price_cross')).toBe('price');
  });
});

describe('freshness from the observation time', () => {
  const now = new Date('2025-01-29T15:00:00Z'); // Wednesday, market open
  it('a price from the latest or the previous session is fresh, an older one stale', async () => {
    const { observedFreshness, latestSession } = await import('../src/index.ts');
    expect(latestSession(now)).toBe('2025-01-29');
    expect(latestSession(new Date('2025-01-29T13:00:00Z'))).toBe('2025-01-28'); // before the open
    expect(observedFreshness('fresh', new Date('2025-01-29T14:45:00Z'), now)).toBe('fresh');
    expect(observedFreshness('fresh', new Date('2025-01-28T21:00:00Z'), now)).toBe('fresh');
    expect(observedFreshness('fresh', new Date('2025-01-27T21:00:00Z'), now)).toBe('stale');
    expect(observedFreshness('fresh', new Date('2024-01-29T21:00:00Z'), now)).toBe('stale');
    expect(observedFreshness('fresh', null, now)).toBe('unknown');
    expect(observedFreshness('failed', new Date('2025-01-29T14:45:00Z'), now)).toBe('failed');
    // Monday morning before the open: Friday's close is one session back.
    expect(observedFreshness('fresh', new Date('2025-01-24T21:00:00Z'), new Date('2025-01-27T12:00:00Z'))).toBe(
      'fresh',
    );
  });
});
