import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv, publicBaseUrl, signingKeyConfig } from '@signals/config';

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
});

describe('signing keys', () => {
  it('refuses a short APP_SECRET_PREVIOUS, naming it', () => {
    expect(() => parseEnv({ APP_SECRET: 'x'.repeat(32), APP_SECRET_PREVIOUS: 'short' })).toThrow(
      /APP_SECRET_PREVIOUS: must be at least 32 characters/,
    );
  });

  it('gives the server and the worker the same key settings', () => {
    const env = parseEnv({ APP_SECRET: 'a'.repeat(32), APP_SECRET_PREVIOUS: 'b'.repeat(40) });
    expect(signingKeyConfig(env)).toEqual({ appSecret: 'a'.repeat(32), previous: 'b'.repeat(40) });
  });
});

describe('SMTP_REQUIRE_TLS', () => {
  it('is unset by default (the mailer decides by host), a boolean when set, and names itself when malformed', () => {
    expect(parseEnv({}).SMTP_REQUIRE_TLS).toBeUndefined();
    expect(parseEnv({ SMTP_REQUIRE_TLS: 'false' }).SMTP_REQUIRE_TLS).toBe(false);
    expect(parseEnv({ SMTP_REQUIRE_TLS: 'true' }).SMTP_REQUIRE_TLS).toBe(true);
    expect(() => parseEnv({ SMTP_REQUIRE_TLS: 'maybe' })).toThrow(/SMTP_REQUIRE_TLS/);
  });
});

describe('FEED_ALLOWED_CIDRS', () => {
  it('is empty by default, a list when set, and names itself when malformed', () => {
    expect(parseEnv({}).FEED_ALLOWED_CIDRS).toEqual([]);
    expect(parseEnv({ FEED_ALLOWED_CIDRS: '127.0.0.1/32, fd00::/8' }).FEED_ALLOWED_CIDRS).toEqual([
      '127.0.0.1/32',
      'fd00::/8',
    ]);
    expect(() => parseEnv({ FEED_ALLOWED_CIDRS: 'localhost' })).toThrow(
      /FEED_ALLOWED_CIDRS: must be a comma-separated list of CIDRs/,
    );
  });
});
