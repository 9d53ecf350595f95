/**
 * Issue 10, item 1: the first admin. A fresh instance opens /admin/setup only with a one-time token
 * that a server writes at start to a file only the operator can read (issue 18, item 5: on the
 * console only when it is a terminal, never in the log stream), or `pnpm cli setup-url` prints; the token expires
 * after 24 h and dies when used. /admin and /api answer only the hosts the server is known by, so
 * a DNS-rebinding page cannot reach them. The printing is about processes: real server processes.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSetupToken, isSetupTokenValid, repoPaths, SETUP_TOKEN_TTL_MS } from '@signals/db';
import {
  captured,
  cookieFrom,
  createTestDb,
  freePort,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
} from '@signals/testing';
import { publishSetupUrl } from '../src/services/admins.ts';
import { type Harness, preSessionForm, startHarness } from './harness.ts';

const PASSWORD = 'a long enough password';

const form = (o: Record<string, string>) => new URLSearchParams(o).toString();

describe('the setup page needs a valid one-time token', () => {
  let bare: Harness;
  beforeAll(async () => {
    bare = await startHarness({ env: { ADMIN_EMAIL: '', ADMIN_PASSWORD: '' } });
  });
  afterAll(async () => {
    await bare?.close();
  });

  /** GET the form with `token`, then POST it (login-CSRF cookie and field included). */
  async function setUp(token: string, email: string) {
    const f = await preSessionForm(bare.app, `/admin/setup?token=${token}`);
    expect(f.status).toBe(200);
    return bare.app.request('/admin/setup', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: f.cookie },
      body: form({ token, email, password: PASSWORD, confirm: PASSWORD, _csrf: f.token }),
    });
  }

  it('answers 404 without a token, with a wrong one and with an expired one; keeps only a hash', async () => {
    const { token } = await issueSetupToken(bare.db.prisma);
    const expired = await issueSetupToken(bare.db.prisma, new Date(Date.now() - SETUP_TOKEN_TTL_MS - 1000));
    for (const path of [
      '/admin/setup',
      '/admin/setup?token=',
      `/admin/setup?token=${'A'.repeat(43)}`,
      `/admin/setup?token=${expired.token}`,
      `/admin/setup?token=${token}x`,
    ]) {
      const r = await bare.app.request(path);
      expect(r.status, path).toBe(404);
      expect(await r.text(), path).not.toContain('name="password"');
    }
    // A POST with a bad token is refused before anything else, whatever the form holds.
    const f = await preSessionForm(bare.app, `/admin/setup?token=${token}`);
    const post = await bare.app.request('/admin/setup', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: f.cookie },
      body: form({
        token: expired.token,
        email: 'x@example.org',
        password: PASSWORD,
        confirm: PASSWORD,
        _csrf: f.token,
      }),
    });
    expect(post.status).toBe(404);
    expect(await bare.db.prisma.adminUser.count()).toBe(0);
    // At rest: sha256 only, never the token.
    const rows = await bare.db.prisma.setting.findMany({ where: { key: { startsWith: 'setup_token:' } } });
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const r of rows) {
      expect(r.key).toMatch(/^setup_token:[0-9a-f]{64}$/);
      expect(JSON.stringify(r)).not.toContain(token);
    }
    // Issuing another token dropped the expired one.
    expect(await isSetupTokenValid(bare.db.prisma, expired.token)).toBe(false);
  });

  it('lets exactly one of two racing requests with one token create the admin; the token then dies', async () => {
    const { token } = await issueSetupToken(bare.db.prisma);
    const other = await issueSetupToken(bare.db.prisma);
    const [a, b] = await Promise.all([setUp(token, 'first@example.org'), setUp(token, 'second@example.org')]);
    expect([a.status, b.status].sort()).toEqual([303, 404]);
    expect(await bare.db.prisma.adminUser.count()).toBe(1);
    // Every token died with the admin's creation, the unused one too.
    expect(await isSetupTokenValid(bare.db.prisma, token)).toBe(false);
    expect(await isSetupTokenValid(bare.db.prisma, other.token)).toBe(false);
    // Even if the admin row disappeared, the spent token would not reopen the page.
    await bare.db.prisma.adminUser.deleteMany({});
    expect((await bare.app.request(`/admin/setup?token=${token}`)).status).toBe(404);
    expect((await bare.app.request(`/admin/setup?token=${other.token}`)).status).toBe(404);
  });

  it('is closed (404, no token made at start) when ADMIN_EMAIL/ADMIN_PASSWORD created the admin', async () => {
    const h = await startHarness();
    try {
      expect(await h.db.prisma.adminUser.count()).toBe(1);
      expect(await h.db.prisma.setting.count({ where: { key: { startsWith: 'setup_token:' } } })).toBe(0);
      const { token } = await issueSetupToken(h.db.prisma);
      expect((await h.app.request(`/admin/setup?token=${token}`)).status).toBe(404);
    } finally {
      await h.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Server processes: the printed URL, two servers, a restart, and `pnpm cli setup-url`
// ---------------------------------------------------------------------------------------------

interface ServerProcess {
  child: ChildProcess;
  base: string;
  out: string[];
  /** SETUP_URL_FILE of this process. */
  setupFile: string;
  listening(): Promise<void>;
  /** Waits until the output holds `text`. */
  said(text: string): Promise<void>;
  stop(): Promise<void>;
}

const setupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-url-'));

function startServer(db: TestDb, prefix: string, port: number): ServerProcess {
  const root = repoPaths().root;
  const base = `http://127.0.0.1:${port}`;
  // A folder that does not exist yet: the server makes it (0700).
  const setupFile = path.join(setupDir, `s${port}-${Date.now()}`, 'setup-url.txt');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'apps/server/src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: base,
      ADMIN_EMAIL: '',
      ADMIN_PASSWORD: '',
      LOG_LEVEL: 'info',
      SETUP_URL_FILE: setupFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b.toString()));
  child.stderr?.on('data', (b: Buffer) => out.push(b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    base,
    out,
    setupFile,
    async listening() {
      const deadline = Date.now() + 60_000;
      while (!out.join('').includes('server listening')) {
        if (child.exitCode !== null) throw new Error(`server exited:\n${out.join('')}`);
        if (Date.now() > deadline) throw new Error(`server did not start:\n${out.join('')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async said(text: string) {
      const deadline = Date.now() + 30_000;
      while (!out.join('').includes(text)) {
        if (Date.now() > deadline) throw new Error(`server did not say "${text}":\n${out.join('')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The setup URL a server printed, and its token. */
function printedUrl(out: string[], base: string): { url: string; token: string } | null {
  const m = new RegExp(`${base.replace(/[.:/]/g, '\\$&')}/admin/setup\\?token=([A-Za-z0-9_-]{43})`).exec(out.join(''));
  return m ? { url: m[0], token: m[1] as string } : null;
}

/** Completes the setup form on `base` with `token`, as a browser would. */
async function setUpOver(base: string, token: string, email: string): Promise<number> {
  const page = await fetch(`${base}/admin/setup?token=${token}`);
  if (page.status !== 200) return page.status;
  const cookie = cookieFrom(page, 'signals_login_csrf');
  const csrf = captured(/name="_csrf" value="([^"]+)"/, await page.text(), 'setup form _csrf');
  const res = await fetch(`${base}/admin/setup`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: form({ token, email, password: PASSWORD, confirm: PASSWORD, _csrf: csrf }),
  });
  return res.status;
}

/** The setup URL in a server's SETUP_URL_FILE, or null when it wrote none. */
function fileUrl(s: ServerProcess): { url: string; token: string } | null {
  return fs.existsSync(s.setupFile) ? printedUrl([fs.readFileSync(s.setupFile, 'utf8')], s.base) : null;
}

// The two process tests share nothing (the CLI's runs have a database of their own) and mostly wait
// on processes starting: they run at once.
describe.concurrent('server processes hand out the setup URL', () => {
  let db: TestDb;
  const prefix = testPrefix('setup');
  const servers: ServerProcess[] = [];
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.drop();
    fs.rmSync(setupDir, { recursive: true, force: true });
  });

  it('prints the URL on the console only when it is a terminal; an unwritable file is logged, without the URL', () => {
    const url = 'https://signals.example.org/admin/setup?token=T0KEN';
    const expiresAt = new Date('2026-12-09T00:00:00Z');
    const logged: string[] = [];
    const logger = {
      warn: (o: object, m: string) => logged.push(JSON.stringify({ ...o, m })),
      error: (o: object, m: string) => logged.push(JSON.stringify({ ...o, m })),
    };
    const printed: string[] = [];
    const file = path.join(setupDir, 'tty', 'setup-url.txt');
    const tty = publishSetupUrl({
      url,
      expiresAt,
      file,
      logger,
      console: { isTTY: true, write: (t) => printed.push(t) },
    });
    expect(tty).toEqual({ file, console: true });
    expect(printed.join('')).toContain(url);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${url}\n`);
    expect(logged.join('\n')).toContain('also printed above');
    expect(logged.join('\n')).not.toContain('T0KEN');

    printed.length = 0;
    logged.length = 0;
    // A path under a regular file cannot be made: said in the log, the URL still not in it.
    const blocked = path.join(file, 'below', 'setup-url.txt');
    const pipe = publishSetupUrl({ url, expiresAt, file: blocked, logger, console: { write: (t) => printed.push(t) } });
    expect(pipe).toEqual({ file: null, console: false });
    expect(printed).toEqual([]);
    expect(logged.join('\n')).toMatch(/setup URL file could not be written: set SETUP_URL_FILE/);
    expect(logged.join('\n')).not.toContain('T0KEN');
  });

  it('each server writes its own URL to a 0600 file (never to the log), neither invalidates the other, one use closes setup for all', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const a = startServer(db, prefix, pa);
    const b = startServer(db, prefix, pb);
    servers.push(a, b);
    await Promise.all([a.listening(), b.listening()]);
    // The log says where the URL is, not what it is.
    await Promise.all([a.said(a.setupFile), b.said(b.setupFile)]);
    const ua = fileUrl(a);
    const ub = fileUrl(b);
    expect(ua, a.out.join('')).not.toBeNull();
    expect(ub, b.out.join('')).not.toBeNull();
    expect(ua?.token).not.toBe(ub?.token);
    // Only the operator (the user the server runs as) can read the file, or list its new folder.
    expect(fs.statSync(a.setupFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(a.setupFile)).mode & 0o777).toBe(0o700);
    // stdout is a pipe here, as under compose and systemd: it is the log stream, so no URL and no
    // banner at all, in a JSON line or otherwise.
    expect(a.out.join('')).not.toContain(ua?.token);
    expect(b.out.join('')).not.toContain(ub?.token);
    expect(a.out.join('')).not.toContain('No admin account exists yet. Create it');
    expect(a.out.join('')).toMatch(/the one-time setup URL is in \S+setup-url\.txt \(readable by this user only\)/);
    // Both printed URLs work: the second server did not silently invalidate the first's.
    expect((await fetch(ua?.url as string)).status).toBe(200);
    expect((await fetch(ub?.url as string)).status).toBe(200);

    // B's token on server A (one database): the admin is created; every URL is dead after.
    expect(await setUpOver(a.base, ub?.token as string, 'owner@example.org')).toBe(303);
    expect((await fetch(ua?.url as string)).status).toBe(404);
    expect((await fetch(ub?.url as string)).status).toBe(404);
    expect((await fetch(`${b.base}/admin/setup?token=${ua?.token}`)).status).toBe(404);

    // A restart with an admin in place prints no URL.
    await a.stop();
    const again = startServer(db, prefix, pa);
    servers.push(again);
    await again.listening();
    // A round trip to the server: whatever it printed while starting has reached us by now.
    expect((await fetch(`${again.base}/healthz`)).status).toBe(200);
    expect(fileUrl(again)).toBeNull();
    expect(again.out.join('')).not.toContain('No admin account exists yet');
  }, 180_000);

  it('`pnpm cli setup-url` prints a new working URL and leaves earlier ones valid; refuses once an admin exists', async () => {
    const fresh = await createTestDb();
    try {
      const root = repoPaths().root;
      const run = (args: string[]) =>
        promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(root, 'apps/cli/src/main.ts'), ...args], {
          cwd: root,
          env: { ...process.env, DATABASE_URL: fresh.url, PUBLIC_BASE_URL: 'http://127.0.0.1:3999' },
        });
      const first = await run(['setup-url']);
      const second = await run(['setup-url']);
      const t1 = printedUrl([first.stdout], 'http://127.0.0.1:3999');
      const t2 = printedUrl([second.stdout], 'http://127.0.0.1:3999');
      expect(t1, first.stdout + first.stderr).not.toBeNull();
      expect(t2).not.toBeNull();
      expect(t1?.token).not.toBe(t2?.token);
      expect(await isSetupTokenValid(fresh.prisma, t1?.token as string)).toBe(true);
      expect(await isSetupTokenValid(fresh.prisma, t2?.token as string)).toBe(true);

      await fresh.prisma.adminUser.create({ data: { email: 'a@example.org', passwordHash: 'x' } });
      const closed = await run(['setup-url']).then(
        () => null,
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
      expect(closed?.code).toBe(1);
      expect(closed?.stderr).toContain('An admin account exists');
      expect(closed?.stdout).not.toContain('token=');
    } finally {
      await fresh.drop();
    }
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// Host check (DNS rebinding), over a real socket
// ---------------------------------------------------------------------------------------------

/** A raw HTTP/1.1 request, so the Host header (and an absolute target) can be anything. */
function rawGet(
  port: number,
  target: string,
  headers: Record<string, string>,
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'GET', path: target, headers, setHost: false },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('Host check on /admin and /api', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await startHarness({ env: { ALLOWED_HOSTS: 'signals.internal,10.1.2.3:8080' } });
    port = Number(new URL(await h.listen()).port);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses a foreign Host (a rebinding page) with 421, even with a valid API key', async () => {
    const key = { authorization: `Bearer ${h.apiKey}` };
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`, `signals.internal:${port}`]) {
      const adminPage = await rawGet(port, '/admin/login', { host });
      expect(adminPage.status, host).toBe(421);
      expect(adminPage.type, host).toBe('application/problem+json');
      expect(adminPage.body, host).toContain('ALLOWED_HOSTS');
      expect((await rawGet(port, '/api/watchlists', { host, ...key })).status, host).toBe(421);
      expect((await rawGet(port, '/admin/setup', { host })).status, host).toBe(421);
    }
    // An absolute request target naming another host is refused too.
    expect((await rawGet(port, 'http://evil.example/admin/login', { host: `127.0.0.1:${port}` })).status).toBe(421);
  });

  it('answers PUBLIC_BASE_URL’s host, its loopback aliases on the same port and ALLOWED_HOSTS', async () => {
    const key = { authorization: `Bearer ${h.apiKey}` };
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      'signals.internal',
      '10.1.2.3:8080',
    ]) {
      expect((await rawGet(port, '/admin/login', { host })).status, host).toBe(200);
      expect((await rawGet(port, '/api/watchlists', { host, ...key })).status, host).toBe(200);
    }
  });

  it('leaves the public pages, /healthz and /metrics to any host', async () => {
    for (const target of ['/subscribe', '/healthz', '/metrics']) {
      expect((await rawGet(port, target, { host: 'evil.example' })).status, target).toBe(200);
    }
  });
});
