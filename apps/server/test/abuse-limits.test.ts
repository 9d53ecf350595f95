/**
 * Issue 10, item 6: abuse limits that never turn on users. TRUST_PROXY decides whose address
 * X-Forwarded-For names; a valid signed unsubscribe link is never refused by a rate limit; failed
 * logins slow down per account and stop per address, so a stranger's wrong passwords never lock
 * the admin out. Each limit is proven at its configured number: it passes at N, refuses at N+1.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientAddress, trustedProxies } from '../src/security/client-ip.ts';
import {
  LOGIN_PER_ACCOUNT_ADDRESS,
  LOGIN_PER_ADDRESS,
  LOGIN_SLOWDOWN_FREE_FAILURES,
  LOGIN_SLOWDOWN_MAX_MS,
  slowdownMs,
} from '../src/security/login-limits.ts';
import { keyOf } from '../src/security/ratelimit.ts';
import { captured, cookieFrom, fastPasswordHash } from '@signals/testing';
import { MANAGE_LINK_LIMIT } from '../src/public/pages.ts';
import { manageToken } from '../src/services/subscribers.ts';
import { ADMIN_EMAIL, ADMIN_PASSWORD, type Harness, startHarness } from './harness.ts';

describe('client address (TRUST_PROXY)', () => {
  const trusted = trustedProxies(['10.0.0.0/8', '127.0.0.1/32', '::1/128']);

  it('ignores X-Forwarded-For without TRUST_PROXY or from an untrusted peer', () => {
    expect(clientAddress('203.0.113.5', '198.51.100.1', null)).toBe('203.0.113.5');
    expect(clientAddress('203.0.113.5', '198.51.100.1', trusted)).toBe('203.0.113.5');
    expect(clientAddress('::ffff:203.0.113.5', undefined, null)).toBe('203.0.113.5');
    expect(clientAddress(undefined, '198.51.100.1', trusted)).toBe('unknown');
  });

  it('takes the right-most address that is not a trusted proxy', () => {
    // The client wrote "1.1.1.1" itself; the trusted proxy appended the address it saw.
    expect(clientAddress('10.0.0.2', '1.1.1.1, 198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(clientAddress('::ffff:127.0.0.1', '1.1.1.1, 198.51.100.7, 10.0.0.9', trusted)).toBe('198.51.100.7');
    expect(clientAddress('::1', '198.51.100.7:4711, 10.0.0.9', trusted)).toBe('198.51.100.7');
    expect(clientAddress('10.0.0.2', '[2001:db8::7]:443', trusted)).toBe('2001:db8::7');
    // Every hop trusted: the left-most is the client.
    expect(clientAddress('10.0.0.2', '10.0.0.3, 10.0.0.4', trusted)).toBe('10.0.0.3');
    // Garbage stops the walk at the last trusted hop: it cannot choose the counted address.
    expect(clientAddress('10.0.0.2', '198.51.100.7, not-an-ip, 10.0.0.9', trusted)).toBe('10.0.0.9');
    expect(clientAddress('10.0.0.2', 'not-an-ip', trusted)).toBe('10.0.0.2');
  });
});

/**
 * One server without TRUST_PROXY for the two groups that want one: their counters never meet (the
 * links count under manage-link keys, the logins under login keys), so neither needs a fresh one.
 */
let plain: Promise<Harness> | undefined;
const plainHarness = () => {
  plain ??= startHarness();
  return plain;
};
afterAll(async () => {
  await (await plain?.catch(() => undefined))?.close();
});

describe('signed unsubscribe and preferences links are never rate-limited', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await plainHarness();
  });

  it(`counts only links that are not valid: ${MANAGE_LINK_LIMIT} pass, one more is refused, a valid link still works`, async () => {
    const sub = await h.db.prisma.subscriber.create({ data: { email: 'reader@example.org', status: 'confirmed' } });
    // A link sent before the subscriber's links were revoked (tokenVersion bumped): signed, not valid.
    const stale = await manageToken(h.rt, sub.id);
    await h.db.prisma.subscriber.update({ where: { id: sub.id }, data: { tokenVersion: { increment: 1 } } });
    const token = await manageToken(h.rt, sub.id);
    expect(token).not.toBe(stale);
    // Valid links first: many of them, from the same address, count nothing.
    for (let i = 0; i < 5; i++) expect((await h.app.request(`/preferences?token=${token}`)).status).toBe(200);
    const junk = (i: number) =>
      i % 3 === 2
        ? `/unsubscribe?token=${stale}` // genuine signature, revoked version: not valid either
        : `/unsubscribe?token=${sub.id}.0.${String(i).padStart(32, 'A')}`;
    for (let i = 0; i < MANAGE_LINK_LIMIT; i++) {
      const r = await h.app.request(junk(i), { method: i % 2 ? 'POST' : 'GET' });
      expect(r.status, `junk ${i + 1}`).toBe(400);
    }
    const over = await h.app.request(junk(0));
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toMatch(/^\d+$/);
    // The same address, with a valid link: the page, the preferences and the one-click POST.
    expect((await h.app.request(`/unsubscribe?token=${token}`)).status).toBe(200);
    expect((await h.app.request(`/preferences?token=${token}`)).status).toBe(200);
    const one = await h.app.request(`/unsubscribe?token=${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(one.status).toBe(200);
    expect((await h.db.prisma.subscriber.findUniqueOrThrow({ where: { id: sub.id } })).status).toBe('unsubscribed');
  });
});

// ---------------------------------------------------------------------------------------------
// Logins over a real socket, behind a trusted proxy (127.0.0.1) that sets X-Forwarded-For
// ---------------------------------------------------------------------------------------------

// The tests share the server but not its counters (other client addresses, other accounts), and the
// first spends most of its time in the account's slow-down: they run at once (password checks queue
// one at a time in the server, at most one waiting here).
describe.concurrent('failed logins', () => {
  let h: Harness;
  let base: string;
  /** The server's log lines (JSON), to read the slow-down it applied rather than time the request. */
  const logLines: { msg: string; slowedMs?: number; userId?: string }[] = [];
  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) });
    h = await startHarness({ env: { TRUST_PROXY: '127.0.0.1/32' }, logger });
    base = await h.listen();
    // What is under test is counting and slowing down, not the hash: the accounts' hashes are
    // cheap ones in the stored format (verifyPassword reads the cost from the hash), so ~40
    // logins do not spend a second of scrypt each. Unknown emails still cost a full dummy check.
    await h.db.prisma.adminUser.update({
      where: { email: ADMIN_EMAIL },
      data: { passwordHash: fastPasswordHash(ADMIN_PASSWORD) },
    });
    await h.db.prisma.adminUser.createMany({
      data: Array.from({ length: LOGIN_PER_ADDRESS }, (_, i) => ({
        email: `someone${i + 1}@example.org`,
        passwordHash: fastPasswordHash(`their own password ${i + 1}`),
      })),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** One login through the form, as a browser behind the proxy at `client`. */
  async function login(client: string, email: string, password: string) {
    const headers = { 'x-forwarded-for': client };
    const page = await fetch(`${base}/admin/login`, { headers });
    const cookie = cookieFrom(page, 'signals_login_csrf');
    const csrf = captured(/name="_csrf" value="([^"]+)"/, await page.text(), 'login form _csrf');
    const res = await fetch(`${base}/admin/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...headers, cookie: cookie as string, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email, password, _csrf: csrf }).toString(),
    });
    await res.arrayBuffer();
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  }

  it(`a stranger's wrong passwords stop at ${LOGIN_PER_ACCOUNT_ADDRESS}; the admin still logs in from elsewhere, only slowed`, async () => {
    const stranger = '203.0.113.66';
    for (let i = 1; i <= LOGIN_PER_ACCOUNT_ADDRESS; i++) {
      expect((await login(stranger, ADMIN_EMAIL, `wrong password ${i}`)).status, `attempt ${i}`).toBe(401);
    }
    const refused = await login(stranger, ADMIN_EMAIL, 'wrong password again');
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toMatch(/^\d+$/);
    // Even the right password from the stranger's address waits out the window.
    expect((await login(stranger, ADMIN_EMAIL, ADMIN_PASSWORD)).status).toBe(429);
    // The counters are the stranger's (X-Forwarded-For was believed), not the proxy's.
    expect(await h.redis.exists(`${h.prefix}:rl:login:ip:${keyOf(stranger)}`)).toBe(1);
    expect(await h.redis.exists(`${h.prefix}:rl:login:ip:${keyOf('127.0.0.1')}`)).toBe(0);

    // The admin, from another address: in, after the account's slow-down (never a refusal).
    const admin = await login('198.51.100.20', ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(admin.status).toBe(303);
    const expectedWait = slowdownMs(LOGIN_PER_ACCOUNT_ADDRESS);
    expect(expectedWait).toBeGreaterThan(0);
    // The slow-down the server applied, as it logged it (not a wall-clock measurement).
    const loggedIn = logLines.filter((l) => l.msg === 'admin logged in');
    expect(loggedIn.map((l) => l.slowedMs)).toEqual([expectedWait]);
  }, 300_000);

  it(`stops one address after ${LOGIN_PER_ADDRESS} attempts at any accounts`, async () => {
    const client = '203.0.113.99';
    for (let i = 1; i <= LOGIN_PER_ADDRESS; i++) {
      // Existing accounts, and every tenth an email nobody has: both count against the address.
      const email = i % 10 === 0 ? `nobody${i}@example.org` : `someone${i}@example.org`;
      const r = await login(client, email, 'wrong password here');
      expect(r.status, `attempt ${i}`).toBe(401);
    }
    expect((await login(client, 'someone-new@example.org', 'wrong password here')).status).toBe(429);
    // Another address is not affected.
    expect((await login('203.0.113.100', 'nobody1@example.org', 'wrong password here')).status).toBe(401);
  }, 300_000);

  it('slows an account down gradually, and never beyond the cap', () => {
    for (let n = 0; n < LOGIN_SLOWDOWN_FREE_FAILURES; n++) expect(slowdownMs(n)).toBe(0);
    let last = 0;
    for (let n = LOGIN_SLOWDOWN_FREE_FAILURES; n < 40; n++) {
      const ms = slowdownMs(n);
      expect(ms).toBeGreaterThanOrEqual(last);
      expect(ms).toBeLessThanOrEqual(LOGIN_SLOWDOWN_MAX_MS);
      last = ms;
    }
    expect(last).toBe(LOGIN_SLOWDOWN_MAX_MS);
  });
});

describe('without TRUST_PROXY', () => {
  let h: Harness;
  let base: string;
  beforeAll(async () => {
    h = await plainHarness();
    base = h.url || (await h.listen());
  });

  it('ignores X-Forwarded-For: every attempt counts against the peer address', async () => {
    for (const spoofed of ['203.0.113.1', '203.0.113.2']) {
      const page = await fetch(`${base}/admin/login`);
      const cookie = cookieFrom(page, 'signals_login_csrf');
      const csrf = captured(/name="_csrf" value="([^"]+)"/, await page.text(), 'login form _csrf');
      const r = await fetch(`${base}/admin/login`, {
        method: 'POST',
        headers: { 'x-forwarded-for': spoofed, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: 'x@example.org', password: 'wrong password', _csrf: csrf }).toString(),
      });
      expect(r.status).toBe(401);
      expect(await h.redis.exists(`${h.prefix}:rl:login:ip:${keyOf(spoofed)}`)).toBe(0);
    }
    expect(await h.redis.get(`${h.prefix}:rl:login:ip:${keyOf('127.0.0.1')}`)).toBe('2');
  });
});
