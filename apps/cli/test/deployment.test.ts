/**
 * The deployment files, read as Docker would (Docker does not run here): docker-compose.yml
 * publishes only the app, databases need passwords, Redis keeps its queues (AOF, noeviction),
 * images are pinned; the Dockerfile uses a supported Node LTS, a pinned pnpm and a non-root user;
 * .env.example names every value compose asks for. Each check is also run on a bad example, so
 * the test is known to catch what it is about.
 */
import fs from 'node:fs';
import path from 'node:path';
import { envSchema, SECURITY_SETTINGS } from '@signals/config';
import { repoPaths } from '@signals/db';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = repoPaths().root;
const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  ports?: unknown[];
  networks?: string[] | Record<string, unknown>;
  environment?: Record<string, string>;
  command?: string[] | string;
  profiles?: string[];
}
interface Compose {
  services: Record<string, Service>;
  networks?: Record<string, { internal?: boolean } | null>;
}

const DATA_SERVICES = ['postgres', 'redis', 'mailpit'];
/** An exact version tag (15.19, 7.4.11, v1.30.5, 26.7.0-trixie-slim) or a digest; never latest. */
const PINNED = /^[^:@\s]+(:v?\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?|@sha256:[0-9a-f]{64})$/;
const required = (name: string) => new RegExp(`\\$\\{${name}:\\?[^}]+\\}`);

/** Everything wrong with a compose file, in words; empty when it is fine. */
function composeProblems(c: Compose): string[] {
  const problems: string[] = [];
  const networksOf = (s: Service) =>
    Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? { default: 1 });
  for (const [name, s] of Object.entries(c.services)) {
    if (s.image !== undefined && !s.build && !PINNED.test(s.image))
      problems.push(`${name}: image ${s.image} is not pinned`);
    if (s.ports?.length) {
      if (name !== 'server') problems.push(`${name}: publishes ${JSON.stringify(s.ports)}`);
      for (const p of s.ports) {
        // host-ip:host-port:container-port, never all interfaces by default.
        if (typeof p !== 'string' || !/^\$\{[A-Z_]+:-127\.0\.0\.1\}:|^127\.0\.0\.1:/.test(p)) {
          problems.push(`${name}: port ${JSON.stringify(p)} is not bound to 127.0.0.1 by default`);
        }
      }
    }
  }
  for (const name of DATA_SERVICES) {
    const s = c.services[name];
    if (!s) continue;
    for (const n of networksOf(s)) {
      if (c.networks?.[n]?.internal !== true) problems.push(`${name}: on network ${n}, which is not internal`);
    }
  }
  const pg = c.services.postgres;
  if (!pg) problems.push('no postgres service');
  else {
    const env = pg.environment ?? {};
    if (!required('POSTGRES_PASSWORD').test(env.POSTGRES_PASSWORD ?? ''))
      problems.push('postgres: no required password');
    if ((env.POSTGRES_HOST_AUTH_METHOD ?? '').toLowerCase() === 'trust')
      problems.push('postgres: trust authentication');
  }
  const redis = c.services.redis;
  const cmd = Array.isArray(redis?.command) ? redis.command.join(' ') : (redis?.command ?? '');
  if (!/--requirepass \$\{REDIS_PASSWORD:\?[^}]+\}/.test(cmd)) problems.push('redis: no required password');
  if (!/--appendonly "?yes"?/.test(cmd)) problems.push('redis: no AOF (--appendonly yes)');
  if (!/--maxmemory-policy noeviction/.test(cmd)) problems.push('redis: not noeviction');
  for (const name of ['server', 'worker', 'migrate']) {
    const env = c.services[name]?.environment ?? {};
    if (!required('POSTGRES_PASSWORD').test(env.DATABASE_URL ?? ''))
      problems.push(`${name}: DATABASE_URL without the password`);
    if (!required('REDIS_PASSWORD').test(env.REDIS_URL ?? '')) problems.push(`${name}: REDIS_URL without the password`);
  }
  return problems;
}

/** The Dockerfile's problems: base image, Node line, pnpm pin, user. */
function dockerfileProblems(text: string): string[] {
  const problems: string[] = [];
  const lines = text.split('\n').map((l) => l.trim());
  const from = lines.filter((l) => /^FROM\s/i.test(l)).map((l) => l.split(/\s+/)[1] ?? '');
  if (from.length === 0) problems.push('no FROM');
  for (const image of from) {
    const m = /^node:(\d+)\.(\d+)\.(\d+)(-[a-z0-9-]+)?(@sha256:[0-9a-f]{64})?$/.exec(image);
    if (!m) {
      problems.push(`base image ${image} is not node pinned to an exact version`);
      continue;
    }
    const major = Number(m[1]);
    // LTS lines are the even ones; 20 ended on 2026-04-30, 22 is in maintenance until 2027-04-30.
    if (major % 2 !== 0 || major < 24) problems.push(`base image ${image}: Node ${major} is not a current LTS line`);
  }
  if (!/pnpm@\d+\.\d+\.\d+/.test(text)) problems.push('pnpm is not pinned');
  const users = lines.filter((l) => /^USER\s/i.test(l)).map((l) => l.split(/\s+/)[1] ?? '');
  const last = users.at(-1);
  if (!last || last === 'root' || last === '0' || last.startsWith('0:')) problems.push('runs as root');
  return problems;
}

/** `${NAME...}` as compose writes it (a plain string, not a template literal). */
const ref = (inner: string) => ['$', '{', inner, '}'].join('');

/** Variables compose itself reads from .env (not passed to the app as such). */
const COMPOSE_ONLY = ['POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'PUBLISH_ADDRESS', 'PUBLISH_PORT', 'COMPOSE_PROFILES'];

/**
 * Issue 18, item 2: every security setting reaches the app from .env (compose passes
 * `NAME: ${NAME...}`) and is listed in .env.example; neither file names a variable nothing reads.
 */
function securityWiringProblems(appEnv: Record<string, string>, composeText: string, example: string): string[] {
  const problems: string[] = [];
  const known = new Set([...Object.keys(envSchema.shape), ...COMPOSE_ONLY]);
  const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] as string));
  for (const name of SECURITY_SETTINGS) {
    const value = appEnv[name];
    if (value === undefined) problems.push(`compose does not pass ${name}`);
    else if (!new RegExp(`^\\$\\{${name}(:[-?][^}]*)?\\}$`).test(String(value)))
      problems.push(`compose sets ${name} to ${JSON.stringify(value)} instead of passing it from .env`);
    if (!listed.has(name)) problems.push(`.env.example does not list ${name}`);
  }
  for (const name of listed) if (!known.has(name)) problems.push(`.env.example names unknown ${name}`);
  for (const m of composeText.matchAll(/\$\{([A-Z][A-Z0-9_]*)[:}]/g)) {
    if (!known.has(m[1] as string)) problems.push(`compose reads unknown ${m[1]}`);
  }
  return [...new Set(problems)];
}

describe('docker-compose.yml', () => {
  const text = read('docker-compose.yml');
  const compose = parse(text, { merge: true }) as Compose;

  it('publishes only the server, on 127.0.0.1 by default; databases need passwords; Redis keeps its queues', () => {
    expect(composeProblems(compose)).toEqual([]);
    expect(Object.keys(compose.services).sort()).toEqual([
      'mailpit',
      'migrate',
      'postgres',
      'redis',
      'server',
      'worker',
    ]);
  });

  it('catches what the old file did (published databases, trust, unpinned images)', () => {
    const old = parse(
      `services:
  postgres:
    image: postgres:15
    environment: { POSTGRES_USER: postgres, POSTGRES_HOST_AUTH_METHOD: trust, POSTGRES_DB: signals }
    ports: ["5432:5432"]
  redis:
    image: redis:7
    command: ["redis-server", "--maxmemory-policy", "noeviction", "--appendonly", "yes"]
    ports: ["6379:6379"]
  mailpit:
    image: axllent/mailpit:latest
    ports: ["1025:1025", "8025:8025"]
  server:
    build: .
    environment: { DATABASE_URL: "postgresql://postgres@postgres:5432/signals", REDIS_URL: "redis://redis:6379" }
    ports: ["3000:3000"]
`,
    ) as Compose;
    expect(composeProblems(old)).toEqual([
      'postgres: image postgres:15 is not pinned',
      'postgres: publishes ["5432:5432"]',
      'postgres: port "5432:5432" is not bound to 127.0.0.1 by default',
      'redis: image redis:7 is not pinned',
      'redis: publishes ["6379:6379"]',
      'redis: port "6379:6379" is not bound to 127.0.0.1 by default',
      'mailpit: image axllent/mailpit:latest is not pinned',
      'mailpit: publishes ["1025:1025","8025:8025"]',
      'mailpit: port "1025:1025" is not bound to 127.0.0.1 by default',
      'mailpit: port "8025:8025" is not bound to 127.0.0.1 by default',
      'server: port "3000:3000" is not bound to 127.0.0.1 by default',
      'postgres: on network default, which is not internal',
      'redis: on network default, which is not internal',
      'mailpit: on network default, which is not internal',
      'postgres: no required password',
      'postgres: trust authentication',
      'redis: no required password',
      'server: DATABASE_URL without the password',
      'server: REDIS_URL without the password',
      'worker: DATABASE_URL without the password',
      'worker: REDIS_URL without the password',
      'migrate: DATABASE_URL without the password',
      'migrate: REDIS_URL without the password',
    ]);
  });

  it('passes the app only variables the configuration schema knows', () => {
    const known = new Set(Object.keys(envSchema.shape));
    for (const name of ['server', 'worker', 'migrate']) {
      const unknown = Object.keys(compose.services[name]?.environment ?? {}).filter((k) => !known.has(k));
      expect(unknown, name).toEqual([]);
    }
  });

  it('passes every security setting from .env, and .env.example lists each; nothing unknown in either', () => {
    const appEnv = compose.services.server?.environment ?? {};
    expect(securityWiringProblems(appEnv, text, read('.env.example'))).toEqual([]);
    // The same for the worker and the migrate step (one anchor, but checked as Docker reads it).
    for (const name of ['worker', 'migrate']) {
      expect(compose.services[name]?.environment, name).toEqual(appEnv);
    }
    // The setup URL goes where the README says to read it: the image's unprivileged user's home.
    expect(appEnv.SETUP_URL_FILE).toBe(ref('SETUP_URL_FILE:-/home/node/setup-url.txt'));
    expect(read('.env.example')).toMatch(/^SETUP_URL_FILE=\/home\/node\/setup-url\.txt$/m);
    expect(read('Dockerfile')).toMatch(/^USER node$/m);
    // Production mode is what compose runs unless told otherwise.
    expect(appEnv.NODE_ENV).toBe(ref('NODE_ENV:-production'));
    expect(read('.env.example')).toMatch(/^NODE_ENV=production$/m);
  });

  it('catches what the old files did (security settings missing, a fixed NODE_ENV, unknown names)', () => {
    const oldEnv = {
      NODE_ENV: 'production',
      PUBLIC_BASE_URL: ref('PUBLIC_BASE_URL:?set it'),
      COOKIE_SECURE: ref('COOKIE_SECURE:-'),
    };
    const oldExample = 'PUBLIC_BASE_URL=https://x.example\nCOOKIE_SECURE=\n# TRUST_PROXIES=10.0.0.0/8\n';
    const problems = securityWiringProblems(
      oldEnv,
      `${ref('PUBLIC_BASE_URL:?x')} ${ref('METRICS_TOKN:-')}`,
      oldExample,
    );
    expect(problems).toContain('compose sets NODE_ENV to "production" instead of passing it from .env');
    expect(problems).toContain('compose does not pass TRUST_PROXY');
    expect(problems).toContain('compose does not pass METRICS_TOKEN');
    expect(problems).toContain('compose does not pass ALLOWED_HOSTS');
    expect(problems).toContain('.env.example does not list TRUST_PROXY');
    expect(problems).toContain('.env.example does not list NODE_ENV');
    expect(problems).toContain('.env.example names unknown TRUST_PROXIES');
    expect(problems).toContain('compose reads unknown METRICS_TOKN');
    expect(problems).not.toContain('compose does not pass PUBLIC_BASE_URL');
    expect(problems).not.toContain('.env.example does not list COOKIE_SECURE');
  });

  it('.env.example names every variable compose reads, and stays free of real secrets', () => {
    const example = read('.env.example');
    const assigned = new Map(
      [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1] as string, (m[2] ?? '').trim()]),
    );
    const used = new Set([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)[:}]/g)].map((m) => m[1] as string));
    expect([...used].filter((v) => !assigned.has(v))).toEqual([]);
    for (const secret of ['POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'APP_SECRET', 'ADMIN_PASSWORD', 'METRICS_TOKEN']) {
      expect(assigned.get(secret), secret).toBe('');
    }
    // Never baked into an image.
    expect(read('.dockerignore').split('\n')).toContain('.env');
  });
});

describe('Dockerfile', () => {
  it('uses a pinned, current Node LTS image, a pinned pnpm, and a non-root user', () => {
    expect(dockerfileProblems(read('Dockerfile'))).toEqual([]);
  });

  it('catches what the old file did (Node 20, root)', () => {
    const old = 'FROM node:20-bookworm-slim\nWORKDIR /app\nRUN npm install -g pnpm@10.34.8\nCMD ["node"]\n';
    expect(dockerfileProblems(old)).toEqual([
      'base image node:20-bookworm-slim is not node pinned to an exact version',
      'runs as root',
    ]);
    expect(dockerfileProblems('FROM node:20.19.0-bookworm-slim\nRUN npm i -g pnpm\nUSER root\n')).toEqual([
      'base image node:20.19.0-bookworm-slim: Node 20 is not a current LTS line',
      'pnpm is not pinned',
      'runs as root',
    ]);
  });
});
