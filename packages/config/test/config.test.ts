import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv, publicBaseUrl } from '@signals/config';

describe('environment', () => {
  it('has defaults that fit the development machine', () => {
    const env = parseEnv({});
    expect(env.DATABASE_URL).toBe('postgresql://postgres@127.0.0.1:5432/signals');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(env.PORT).toBe(3000);
    expect(env.SMTP_URL).toBeUndefined();
    expect(env.YAHOO_BASE_URL).toBeUndefined();
    expect(publicBaseUrl(env)).toBe('http://localhost:3000');
  });

  it('names every malformed variable', () => {
    try {
      parseEnv({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        WEBHOOK_ALLOWED_CIDRS: '127.0.0.1',
        WORKER_QUEUES: 'deliveries,emails',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const vars = (err as ConfigError).problems.map((p) => p.variable).sort();
      expect(vars).toEqual(['DATABASE_URL', 'PORT', 'WEBHOOK_ALLOWED_CIDRS', 'WORKER_QUEUES']);
      expect((err as Error).message).toMatch(/PORT: /);
      expect((err as Error).message).toMatch(/WORKER_QUEUES: must be a comma-separated list of prices, news/);
    }
  });

  it('parses lists and treats empty strings as unset', () => {
    const env = parseEnv({
      WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32, 10.0.0.0/8',
      WEBHOOK_RETRY_SCHEDULE: '0,1,2.5',
      SMTP_URL: '',
      PUBLIC_BASE_URL: 'https://signals.example.com/',
    });
    expect(env.WEBHOOK_ALLOWED_CIDRS).toEqual(['127.0.0.1/32', '10.0.0.0/8']);
    expect(env.WEBHOOK_RETRY_SCHEDULE).toEqual([0, 1000, 2500]);
    expect(env.SMTP_URL).toBeUndefined();
    expect(publicBaseUrl(env)).toBe('https://signals.example.com');
  });

  it('refuses a short admin password', () => {
    expect(() => parseEnv({ ADMIN_EMAIL: 'a@b.co', ADMIN_PASSWORD: 'short' })).toThrow(/ADMIN_PASSWORD/);
  });

  it('parses the web security settings and names malformed ones', () => {
    const env = parseEnv({
      ALLOWED_HOSTS: 'Signals.Internal, 10.0.0.5:3000,[::1]:3000',
      TRUST_PROXY: '10.0.0.0/8, ::1/128',
      METRICS_TOKEN: 'a-long-enough-token',
      PREVIEW_TIMEOUT_SEC: '2.5',
    });
    expect(env.ALLOWED_HOSTS).toEqual(['signals.internal', '10.0.0.5:3000', '[::1]:3000']);
    expect(env.TRUST_PROXY).toEqual(['10.0.0.0/8', '::1/128']);
    expect(env.PREVIEW_TIMEOUT_SEC).toBe(2.5);
    const defaults = parseEnv({});
    expect(defaults.ALLOWED_HOSTS).toEqual([]);
    expect(defaults.TRUST_PROXY).toEqual([]);
    expect(defaults.METRICS_TOKEN).toBeUndefined();
    expect(defaults.PREVIEW_TIMEOUT_SEC).toBe(10);
    try {
      parseEnv({
        ALLOWED_HOSTS: 'https://signals.example.org/',
        TRUST_PROXY: '10.0.0.300/8',
        METRICS_TOKEN: 'short',
        PREVIEW_TIMEOUT_SEC: '0',
        WEBHOOK_ALLOWED_CIDRS: '10.0.0.0/33',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
        'ALLOWED_HOSTS',
        'METRICS_TOKEN',
        'PREVIEW_TIMEOUT_SEC',
        'TRUST_PROXY',
        'WEBHOOK_ALLOWED_CIDRS',
      ]);
    }
  });
});
