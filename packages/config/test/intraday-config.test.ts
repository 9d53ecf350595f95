import { ConfigError, parseEnv } from '@signals/config';
import { describe, expect, it } from 'vitest';

describe('intraday and extended-hours settings', () => {
  it('defaults: 5m bars, kept 7/90/90/730 days, extended-hours polling on', () => {
    const env = parseEnv({});
    expect(env.INTRADAY_INTERVALS).toEqual(['5m']);
    expect([
      env.INTRADAY_RETENTION_1M_DAYS,
      env.INTRADAY_RETENTION_5M_DAYS,
      env.INTRADAY_RETENTION_15M_DAYS,
      env.INTRADAY_RETENTION_1H_DAYS,
    ]).toEqual([7, 90, 90, 730]);
    expect(env.EXTENDED_HOURS_POLLING).toBe(true);
  });

  it('lists, none and false are read; anything else is named', () => {
    const env = parseEnv({ INTRADAY_INTERVALS: '1m,1h,1m', EXTENDED_HOURS_POLLING: 'false' });
    expect(env.INTRADAY_INTERVALS).toEqual(['1m', '1h']);
    expect(env.EXTENDED_HOURS_POLLING).toBe(false);
    expect(parseEnv({ INTRADAY_INTERVALS: 'none' }).INTRADAY_INTERVALS).toEqual([]);
    try {
      parseEnv({ INTRADAY_INTERVALS: '2m', INTRADAY_RETENTION_5M_DAYS: '0', EXTENDED_HOURS_POLLING: 'yes' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
        'EXTENDED_HOURS_POLLING',
        'INTRADAY_INTERVALS',
        'INTRADAY_RETENTION_5M_DAYS',
      ]);
    }
  });
});
