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

  it('reads the liveness settings, and refuses a heartbeat URL that is not http(s) without echoing it', () => {
    const env = parseEnv({});
    expect([env.EVALUATE_INTERVAL_SEC, env.SELF_CHECK_SEC, env.DEGRADED_AFTER_SEC]).toEqual([300, 15, 300]);
    expect(env.HEARTBEAT_URL).toBeUndefined();
    expect(parseEnv({ HEARTBEAT_URL: 'https://hc-ping.com/0f4c5a4e-6a8f-4b43-9d0e-2b7b5c1f9a11' }).HEARTBEAT_URL).toBe(
      'https://hc-ping.com/0f4c5a4e-6a8f-4b43-9d0e-2b7b5c1f9a11',
    );
    for (const bad of ['hc-ping.com/secret-uuid-0001', 'ftp://hc-ping.com/secret-uuid-0001']) {
      try {
        parseEnv({ HEARTBEAT_URL: bad });
        expect.unreachable();
      } catch (err) {
        expect((err as ConfigError).problems.map((p) => p.variable)).toEqual(['HEARTBEAT_URL']);
        expect((err as Error).message).toMatch(/HEARTBEAT_URL: must be a URL \(http: or https:\)/);
        expect((err as Error).message).not.toContain('secret-uuid');
      }
    }
    // The self-check must run at least every 30 s, or work would not resume within a minute of a Redis loss.
    expect(() => parseEnv({ SELF_CHECK_SEC: '60' })).toThrow(/SELF_CHECK_SEC/);
  });

  it('refuses a short admin password', () => {
    expect(() => parseEnv({ ADMIN_EMAIL: 'a@b.co', ADMIN_PASSWORD: 'short' })).toThrow(/ADMIN_PASSWORD/);
  });
});
