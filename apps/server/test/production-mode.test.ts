/**
 * Issue 18, item 2: NODE_ENV=production means something. Each case starts the real server
 * process (`node --import tsx apps/server/src/main.ts`) as compose does, in production mode:
 * settings that would leak passwords or send dead links stop it with exit 78 and a message naming
 * the setting and the fix; a LAN install that opts out of https starts with a loud warning;
 * /metrics is closed without METRICS_TOKEN; the session cookie is Secure behind an https
 * PUBLIC_BASE_URL; requests that come through a proxy while TRUST_PROXY is unset are warned about
 * in the log and on the System page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, freePort, type ServiceProcess, startServiceProcess, type TestDb } from '@signals/testing';
import { TEST_REDIS_URL, testPrefix } from '@signals/testing';
import { ADMIN_EMAIL, ADMIN_PASSWORD, loginSession } from './harness.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

/** A production server process on a free port; `env` on top. Not waited for. */
async function production(
  name: string,
  databaseUrl: string,
  envOf: Record<string, string> | ((port: number) => Record<string, string>),
) {
  const port = await freePort();
  const env = typeof envOf === 'function' ? envOf(port) : envOf;
  const proc = startServiceProcess('server', name, {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: testPrefix(`prod-${name.toLowerCase()}`),
    PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    METRICS_TOKEN: '',
    TRUST_PROXY: '',
    ALLOW_INSECURE_HTTP: '',
    ...env,
  });
  return { proc, port, base: `http://127.0.0.1:${port}` };
}

/** Waits for the process to exit on its own; its exit code and everything it wrote. */
async function exitOf(proc: ServiceProcess): Promise<{ code: number | null; output: string }> {
  const code = await new Promise<number | null>((resolve) => {
    if (proc.child.exitCode !== null) resolve(proc.child.exitCode);
    else proc.child.once('exit', (c) => resolve(c));
  });
  return { code, output: proc.logs.join('\n') };
}

let db: TestDb;
const running: ServiceProcess[] = [];
beforeAll(async () => {
  db = await createTestDb();
}, 60_000);
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await db?.drop();
});

describe('production mode refuses to start', () => {
  it.each([
    ['an http:// PUBLIC_BASE_URL', { PUBLIC_BASE_URL: 'http://signals.example.org' }, /PUBLIC_BASE_URL: is http:\/\//],
    [
      'no PUBLIC_BASE_URL (links to localhost)',
      { PUBLIC_BASE_URL: '' },
      /PUBLIC_BASE_URL: is required with NODE_ENV=production/,
    ],
    [
      'a localhost PUBLIC_BASE_URL',
      { PUBLIC_BASE_URL: 'https://localhost:8443' },
      /PUBLIC_BASE_URL: points to localhost/,
    ],
    ['a loopback PUBLIC_BASE_URL', { PUBLIC_BASE_URL: 'https://127.0.0.1' }, /PUBLIC_BASE_URL: points to 127\.0\.0\.1/],
  ])(
    'on %s: exit 78, naming the setting and the fix',
    async (_what, env, named) => {
      const { proc } = await production('R', db.url, env);
      const { code, output } = await exitOf(proc);
      expect(code).toBe(78);
      expect(output).toMatch(/Refusing to start in production mode/);
      expect(output).toMatch(named);
      // The fix is in the message.
      expect(output).toMatch(/Set it to the https:\/\/ address|set PUBLIC_BASE_URL=https:\/\//);
      expect(output).not.toContain('server listening');
    },
    60_000,
  );

  it('names the opt-out for a LAN install in the http refusal', async () => {
    const { proc } = await production('H', db.url, { PUBLIC_BASE_URL: 'http://signals.lan:3000' });
    const { code, output } = await exitOf(proc);
    expect(code).toBe(78);
    expect(output).toContain('ALLOW_INSECURE_HTTP=true');
  }, 60_000);

  it('the worker refuses the same settings (its emails carry the links), exit 78', async () => {
    const proc = startServiceProcess('worker', 'W', {
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: testPrefix('prod-w'),
      PUBLIC_BASE_URL: 'http://signals.example.org',
      ALLOW_INSECURE_HTTP: '',
    });
    const { code, output } = await exitOf(proc);
    expect(code).toBe(78);
    expect(output).toMatch(/Refusing to start in production mode:\n\s+PUBLIC_BASE_URL: is http:\/\//);
    // The worker has no /metrics of the server's: no METRICS_TOKEN finding.
    expect(output).not.toContain('METRICS_TOKEN');
  }, 60_000);

  it('outside production the same settings start (development keeps its localhost default)', async () => {
    const { proc, base } = await production('D', db.url, { NODE_ENV: 'development', PUBLIC_BASE_URL: '' });
    running.push(proc);
    await proc.started(90_000);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    await proc.stop();
  }, 120_000);
});

describe('production mode that starts', () => {
  it('ALLOW_INSECURE_HTTP=true starts an http LAN install and warns loudly; the cookie is then not Secure', async () => {
    const { proc, base } = await production('L', db.url, (port) => ({
      PUBLIC_BASE_URL: 'http://signals.lan:3000',
      ALLOW_INSECURE_HTTP: 'true',
      ALLOWED_HOSTS: `127.0.0.1:${port}`,
      METRICS_TOKEN,
    }));
    running.push(proc);
    await proc.started(90_000);
    const warning = proc.logs.find((l) => l.includes('ALLOW_INSECURE_HTTP=true'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning?.replace(/^L /, '') as string)).toMatchObject({ level: 40 });
    const app = { request: (p: string, init?: RequestInit) => fetch(`${base}${p}`, { ...init, redirect: 'manual' }) };
    const { res, setCookie } = await loginSession(app);
    expect(res.status).toBe(303);
    expect(setCookie).toMatch(/^signals_session=/);
    expect(setCookie).not.toMatch(/;\s*Secure/i);
    await proc.stop();
  }, 120_000);

  it('https: Secure session cookie, /metrics closed without a token, proxy headers warned about', async () => {
    const { proc, base } = await production('P', db.url, (port) => ({
      PUBLIC_BASE_URL: 'https://signals.example.org',
      ALLOWED_HOSTS: `127.0.0.1:${port}`,
    }));
    running.push(proc);
    await proc.started(90_000);
    const logs = () => proc.logs.join('\n');
    // METRICS_TOKEN unset: a warning at start, and /metrics answers nobody.
    expect(logs()).toMatch(/METRICS_TOKEN is unset: \/metrics is closed \(403\)/);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(403);
    expect(await metrics.text()).toContain('METRICS_TOKEN');
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer anything-at-all-0000' } })).status).toBe(
      403,
    );
    expect(logs()).toMatch(/TRUST_PROXY is unset/);

    // The session (and login-CSRF) cookies are Secure, pinned with __Host-.
    const app = { request: (p: string, init?: RequestInit) => fetch(`${base}${p}`, { ...init, redirect: 'manual' }) };
    const { res, setCookie, cookie } = await loginSession(app);
    expect(res.status).toBe(303);
    expect(setCookie).toMatch(/^__Host-signals_session=/);
    expect(setCookie).toMatch(/;\s*Secure/i);
    expect(setCookie).toMatch(/;\s*HttpOnly/i);

    // No forwarded request yet: no warning, no banner.
    expect(logs()).not.toMatch(/but TRUST_PROXY is unset/);
    const before = await (await app.request('/admin/system', { headers: { cookie } })).text();
    expect(before).not.toContain('id="proxy-warning"');

    // A request as a proxy forwards it: one warning line, and the System page says so.
    await app.request('/subscribe', { headers: { 'x-forwarded-for': '203.0.113.7' } });
    await app.request('/subscribe', { headers: { forwarded: 'for=203.0.113.8' } });
    const deadline = Date.now() + 10_000;
    while (!/but TRUST_PROXY is unset/.test(logs()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const lines = proc.logs.filter((l) => l.includes('but TRUST_PROXY is unset'));
    expect(lines).toHaveLength(1); // at most hourly, not per request
    expect(JSON.parse((lines[0] as string).replace(/^P /, ''))).toMatchObject({ level: 40, header: 'X-Forwarded-For' });
    const after = await (await app.request('/admin/system', { headers: { cookie } })).text();
    expect(after).toMatch(/id="proxy-warning"[^>]*>Requests arrive with X-Forwarded-For \(2 since/);
    expect(after).toContain('<code>TRUST_PROXY</code> is unset');
    await proc.stop();
  }, 120_000);

  it('with METRICS_TOKEN and TRUST_PROXY set: /metrics for the token only, no proxy warning', async () => {
    const { proc, base } = await production('M', db.url, (port) => ({
      PUBLIC_BASE_URL: 'https://signals.example.org',
      ALLOWED_HOSTS: `127.0.0.1:${port}`,
      METRICS_TOKEN,
      TRUST_PROXY: '127.0.0.1/32',
    }));
    running.push(proc);
    await proc.started(90_000);
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const ok = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('# HELP');
    await fetch(`${base}/subscribe`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    // A round trip later, nothing was said about the proxy.
    expect((await fetch(`${base}/healthz`)).status).toBeLessThan(600);
    const logs = proc.logs.join('\n');
    expect(logs).not.toMatch(/METRICS_TOKEN is unset/);
    expect(logs).not.toMatch(/TRUST_PROXY is unset/);
    await proc.stop();
  }, 120_000);
});
