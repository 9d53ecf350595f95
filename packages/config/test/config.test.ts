import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  envSchema,
  isSet,
  productionFindings,
  SECURITY_SETTINGS,
  setupUrlFile,
  parseEnv,
  parseRedisUrl,
  publicBaseUrl,
  redactUrl,
  signingKeyConfig,
} from '@signals/config';

describe('environment', () => {
  it('has defaults that fit the development machine', () => {
    const env = parseEnv({});
    expect(env.DATABASE_URL).toBe('postgresql://postgres@127.0.0.1:5432/signals');
    expect(env.REDIS_URL).toEqual({ url: 'redis://127.0.0.1:6379' });
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

  it('reads REDIS_URL as one Redis or as a Redis Cluster with its seed nodes', () => {
    expect(parseEnv({ REDIS_URL: 'rediss://:pw@cache.example.com:6380/2' }).REDIS_URL).toEqual({
      url: 'rediss://:pw@cache.example.com:6380/2',
    });
    const env = parseEnv({ REDIS_URL: 'redis+cluster://10.0.0.1:7000,10.0.0.2:7001, redis-3.internal' });
    expect(env.REDIS_URL.cluster).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: 'redis-3.internal', port: 6379 },
      ],
      tls: false,
    });
    expect(env.QUEUE_PREFIX).toBe('{signals}'); // the default already carries a hash tag
    expect(parseRedisUrl('rediss+cluster://app:p%40ss%2Fw@[::1]:7000,h2:7001/').cluster).toEqual({
      nodes: [
        { host: '::1', port: 7000 },
        { host: 'h2', port: 7001 },
      ],
      username: 'app',
      password: 'p@ss/w',
      tls: true,
    });
  });

  it('stops on a malformed cluster URL, naming REDIS_URL and what is wrong, without the password', () => {
    const cases: [string, RegExp][] = [
      ['redis+cluster://', /node 1 \(""\) is not host:port/],
      ['redis+cluster://h1:7000,,h2:7001', /node 2/],
      ['redis+cluster://h1:70000', /outside 1-65535/],
      ['redis+cluster://h1:7000/3', /no path, database number or options/],
      ['redis+cluster://h1:7000?tls=true', /no path, database number or options/],
      ['redis+cluster://u:secret%zz@h1:7000', /URL encoding/],
      ['memcached://h1:11211', /must start with redis:\/\//],
    ];
    for (const [value, why] of cases) {
      try {
        parseEnv({ REDIS_URL: value });
        expect.unreachable(value);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        const problems = (err as ConfigError).problems;
        expect(problems.map((p) => p.variable)).toEqual(['REDIS_URL']);
        expect(problems[0]?.message).toMatch(why);
        expect((err as Error).message).not.toContain('secret');
      }
    }
  });

  it('requires a hash tag in QUEUE_PREFIX when REDIS_URL names a cluster', () => {
    const cluster = 'redis+cluster://127.0.0.1:7000';
    for (const prefix of ['signals', 'signals{}', '}signals{']) {
      expect(() => parseEnv({ REDIS_URL: cluster, QUEUE_PREFIX: prefix })).toThrow(
        /QUEUE_PREFIX: must contain a hash tag/,
      );
    }
    expect(parseEnv({ REDIS_URL: cluster, QUEUE_PREFIX: 'prod:{signals}' }).QUEUE_PREFIX).toBe('prod:{signals}');
    // One Redis takes any prefix.
    expect(parseEnv({ QUEUE_PREFIX: 'signals' }).QUEUE_PREFIX).toBe('signals');
  });

  it('keeps the password of a cluster URL out of logs', () => {
    expect(redactUrl('redis+cluster://app:s3cret@h1:7000,h2:7001')).toBe('redis+cluster://app:***@h1:7000,h2:7001');
    expect(redactUrl('redis+cluster://h1:7000,h2:7001')).toBe('redis+cluster://h1:7000,h2:7001');
  });

  it('tells a variable set to empty from one set to a value', () => {
    expect(isSet('DATABASE_URL', {})).toBe(false);
    expect(isSet('DATABASE_URL', { DATABASE_URL: '' })).toBe(false);
    expect(isSet('DATABASE_URL', { DATABASE_URL: 'postgresql://db/x' })).toBe(true);
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

describe('messages a new user meets (issue 18, item 5)', () => {
  const problemsOf = (source: Record<string, string>) => {
    try {
      parseEnv(source);
      return [];
    } catch (err) {
      return (err as ConfigError).problems.map((p) => `${p.variable}: ${p.message}`);
    }
  };

  it('says a malformed number is not a number, not that it is missing', () => {
    expect(problemsOf({ PORT: 'abc' })).toEqual(['PORT: must be a number']);
    expect(problemsOf({ PRICE_POLL_SEC: 'often' })).toEqual(['PRICE_POLL_SEC: must be a number']);
    // A variable the schema needs and that is absent still reads "is required".
    expect(problemsOf({ TELEGRAM_BOT_TOKEN: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ' })).toEqual([
      'TELEGRAM_BOT_USERNAME: is required with TELEGRAM_BOT_TOKEN (the deep link names the bot)',
    ]);
  });

  it('refuses REPLAY_START dates the calendar does not have', () => {
    expect(problemsOf({ REPLAY_START: '2021-13-01' })).toEqual([
      'REPLAY_START: must be a calendar date, YYYY-MM-DD (month 01-12, a day the month has)',
    ]);
    expect(problemsOf({ REPLAY_START: '2021-02-29' })).toHaveLength(1);
    expect(problemsOf({ REPLAY_START: '2021-04-31' })).toHaveLength(1);
    expect(parseEnv({ REPLAY_START: '2024-02-29' }).REPLAY_START).toBe('2024-02-29');
  });
});

describe('production mode (issue 18, item 2)', () => {
  const findings = (source: Record<string, string>, who?: 'server' | 'worker') =>
    productionFindings(parseEnv({ NODE_ENV: 'production', ...source }), who).map((f) => `${f.level} ${f.variable}`);

  it('finds nothing outside production', () => {
    expect(productionFindings(parseEnv({ PUBLIC_BASE_URL: 'http://localhost:3000' }))).toEqual([]);
  });

  it('refuses http, localhost and a missing PUBLIC_BASE_URL; warns on http with the LAN opt-out', () => {
    const token = { METRICS_TOKEN: 'x'.repeat(16) };
    expect(findings({ ...token, PUBLIC_BASE_URL: 'https://signals.example.org' })).toEqual([]);
    expect(findings({ ...token })).toEqual(['refuse PUBLIC_BASE_URL']);
    expect(findings({ ...token, PUBLIC_BASE_URL: 'http://signals.example.org' })).toEqual(['refuse PUBLIC_BASE_URL']);
    expect(findings({ ...token, PUBLIC_BASE_URL: 'https://[::1]:8443' })).toEqual(['refuse PUBLIC_BASE_URL']);
    expect(findings({ ...token, PUBLIC_BASE_URL: 'https://app.localhost' })).toEqual(['refuse PUBLIC_BASE_URL']);
    expect(findings({ ...token, PUBLIC_BASE_URL: 'http://10.0.0.5:3000', ALLOW_INSECURE_HTTP: 'true' })).toEqual([
      'warn PUBLIC_BASE_URL',
    ]);
    // The opt-out is for a LAN address, not for links to localhost.
    expect(findings({ ...token, PUBLIC_BASE_URL: 'http://localhost:3000', ALLOW_INSECURE_HTTP: 'true' })).toEqual([
      'refuse PUBLIC_BASE_URL',
      'warn PUBLIC_BASE_URL',
    ]);
  });

  it('warns the server (not the worker) that /metrics is closed without METRICS_TOKEN', () => {
    expect(findings({ PUBLIC_BASE_URL: 'https://signals.example.org' })).toEqual(['warn METRICS_TOKEN']);
    expect(findings({ PUBLIC_BASE_URL: 'https://signals.example.org' }, 'worker')).toEqual([]);
  });

  it('lists only settings the schema knows as security settings', () => {
    const known = new Set(Object.keys(envSchema.shape));
    expect(SECURITY_SETTINGS.filter((s) => !known.has(s))).toEqual([]);
  });

  it('puts the setup URL file under DATA_DIR unless SETUP_URL_FILE says where', () => {
    expect(setupUrlFile(parseEnv({}), '/srv/app')).toBe('/srv/app/.data/setup-url.txt');
    expect(setupUrlFile(parseEnv({ DATA_DIR: '/var/lib/signals' }), '/srv/app')).toBe('/var/lib/signals/setup-url.txt');
    expect(setupUrlFile(parseEnv({ SETUP_URL_FILE: '/home/node/setup-url' }), '/srv/app')).toBe('/home/node/setup-url');
  });
});
