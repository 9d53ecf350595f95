import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSetupToken, resolveSigningKeys, signSubscriberToken } from '@signals/db';
import { keyOf } from '../src/security/ratelimit.ts';
import { ADMIN_EMAIL, ADMIN_PASSWORD, type Harness, preSessionForm, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const form = (o: Record<string, string | string[]>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  return p.toString();
};

async function post(path: string, body: Record<string, string | string[]>, cookie?: string) {
  return h.app.request(path, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(cookie ? { cookie } : {}),
    },
    body: form(body),
  });
}

/** Logs in like a browser: GET the form (login-CSRF cookie and field), then POST it. */
async function login(password = ADMIN_PASSWORD, cookie?: string) {
  const f = await preSessionForm(h.app);
  const cookies = [cookie, f.cookie].filter(Boolean).join('; ');
  const res = await post('/admin/login', { email: ADMIN_EMAIL, password, _csrf: f.token }, cookies);
  const set = res.headers.getSetCookie().find((x) => x.startsWith('signals_session=')) ?? '';
  return { res, setCookie: set, cookie: set.split(';')[0] as string };
}

async function csrfOf(cookie: string): Promise<string> {
  const page = await (await h.app.request('/admin/watchlists', { headers: { cookie } })).text();
  const m = /name="csrf-token" content="([^"]+)"/.exec(page);
  expect(m).not.toBeNull();
  return m?.[1] as string;
}

describe('admin login and sessions', () => {
  it('stores the password as scrypt N=2^17, r=8, p=1 with salt', async () => {
    const u = await h.db.prisma.adminUser.findUniqueOrThrow({ where: { email: ADMIN_EMAIL } });
    expect(u.passwordHash).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(u.passwordHash).not.toContain(ADMIN_PASSWORD);
  });

  it('redirects to the login page and refuses a wrong password', async () => {
    const r = await h.app.request('/admin/rules');
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/admin/login?next=%2Fadmin%2Frules');
    const bad = await login('wrong password!!');
    expect(bad.res.status).toBe(401);
    expect(await bad.res.text()).toContain('Email or password is wrong.');
    expect(bad.setCookie).toBe('');
  });

  it('sets a short-lived HttpOnly login-CSRF cookie with the same value in the form', async () => {
    const f = await preSessionForm(h.app);
    expect(f.status).toBe(200);
    expect(f.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(f.cookie).toBe(`signals_login_csrf=${f.token}`);
    expect(f.setCookie).toMatch(/; HttpOnly/);
    expect(f.setCookie).toMatch(/; SameSite=Lax/);
    expect(f.setCookie).toMatch(/; Path=\//);
    expect(f.setCookie).toMatch(/; Max-Age=3600/);
    expect(f.setCookie).not.toMatch(/Secure/);
    // A second GET by the same browser keeps its token (a second tab does not break the first).
    const again = await h.app.request('/admin/login', { headers: { cookie: f.cookie } });
    expect(await again.text()).toContain(`name="_csrf" value="${f.token}"`);
    expect(again.headers.get('cache-control')).toBe('no-store');
    // Another browser gets another token.
    expect((await preSessionForm(h.app)).token).not.toBe(f.token);
  });

  it('refuses a login post without a matching login-CSRF token (403), even with the right password', async () => {
    const f = await preSessionForm(h.app);
    const other = await preSessionForm(h.app);
    const forged = 'forged@example.org';
    // Other tests of this file log in too (in any order): count this test's sessions only.
    const sessionsBefore = await h.db.prisma.session.count();
    const attempts: [string, Record<string, string>, string | undefined][] = [
      ['neither cookie nor field', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }, undefined],
      ['field without cookie', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, _csrf: f.token }, undefined],
      ['cookie without field', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }, f.cookie],
      ['another browser’s token', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, _csrf: other.token }, f.cookie],
      ['a wrong token', { email: forged, password: ADMIN_PASSWORD, _csrf: 'A'.repeat(43) }, f.cookie],
    ];
    for (const [what, body, cookie] of attempts) {
      const res = await post('/admin/login', body, cookie);
      expect(res.status, what).toBe(403);
      const text = await res.text();
      expect(text, what).toContain('security token is missing or wrong');
      expect(
        res.headers.getSetCookie().some((c) => c.startsWith('signals_session=')),
        what,
      ).toBe(false);
      // The refusal comes with a fresh form: its new token works.
      const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1] ?? '';
      expect(token, what).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(res.headers.getSetCookie().find((c) => c.startsWith('signals_login_csrf='))).toContain(token);
    }
    expect(await h.db.prisma.session.count()).toBe(sessionsBefore);
    // A forged post neither checks the password nor counts against a rate limit.
    expect(await h.redis.keys(`${h.prefix}:rl:login:*${keyOf(forged)}*`)).toEqual([]);

    const ok = await post('/admin/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, _csrf: f.token }, f.cookie);
    expect(ok.status).toBe(303);
    const set = ok.headers.getSetCookie();
    expect(set.some((c) => c.startsWith('signals_session='))).toBe(true);
    // The token is spent: its cookie is deleted at login.
    expect(set.find((c) => c.startsWith('signals_login_csrf='))).toMatch(/Max-Age=0/);
  });

  it('sets an HttpOnly SameSite=Lax cookie keyed by sha256, rotates it at login and deletes it at logout', async () => {
    const first = await login();
    expect(first.res.status).toBe(303);
    expect(first.setCookie).toMatch(/HttpOnly/);
    expect(first.setCookie).toMatch(/SameSite=Lax/);
    expect(first.setCookie).not.toMatch(/Secure/);
    const value = first.cookie.split('=')[1] as string;
    const id = createHash('sha256').update(value).digest('hex');
    expect(await h.db.prisma.session.findUnique({ where: { id } })).not.toBeNull();

    const second = await login(ADMIN_PASSWORD, first.cookie);
    expect(second.cookie).not.toBe(first.cookie);
    expect(await h.db.prisma.session.findUnique({ where: { id } })).toBeNull();

    const csrf = await csrfOf(second.cookie);
    const out = await post('/admin/logout', { _csrf: csrf }, second.cookie);
    expect(out.status).toBe(303);
    const after = await h.app.request('/admin/watchlists', { headers: { cookie: second.cookie } });
    expect(after.status).toBe(303);
  });

  it('ends a session after 2 h idle', async () => {
    const s = await login();
    const value = s.cookie.split('=')[1] as string;
    const id = createHash('sha256').update(value).digest('hex');
    await h.db.prisma.session.update({
      where: { id },
      data: { lastSeenAt: new Date(Date.now() - 2 * 3600_000 - 1000) },
    });
    const r = await h.app.request('/admin/watchlists', { headers: { cookie: s.cookie } });
    expect(r.status).toBe(303);
    expect(await h.db.prisma.session.findUnique({ where: { id } })).toBeNull();
  });

  it('checks the CSRF token on admin forms and on session-authenticated API writes', async () => {
    const { cookie } = await login();
    const csrf = await csrfOf(cookie);
    const noToken = await post('/admin/watchlists', { name: 'No token' }, cookie);
    expect(noToken.status).toBe(403);
    const wrong = await post('/admin/watchlists', { name: 'Wrong', _csrf: 'x'.repeat(32) }, cookie);
    expect(wrong.status).toBe(403);
    const ok = await post('/admin/watchlists', { name: 'With token', _csrf: csrf }, cookie);
    expect(ok.status).toBe(303);
    expect(await h.db.prisma.watchlist.count({ where: { name: { in: ['No token', 'Wrong'] } } })).toBe(0);

    const apiGet = await h.app.request('/api/watchlists', { headers: { cookie } });
    expect(apiGet.status).toBe(200);
    const apiPost = (headers: Record<string, string>) =>
      h.app.request('/api/watchlists', {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ name: 'Via session', slug: 'via-session' }),
      });
    expect((await apiPost({})).status).toBe(403);
    expect((await apiPost({ 'x-csrf-token': csrf })).status).toBe(201);
  });

  it('closes the setup page once an admin exists', async () => {
    const r = await h.app.request('/admin/setup');
    expect(r.status).toBe(404);
    const p = await post('/admin/setup', {
      email: 'evil@example.org',
      password: 'x'.repeat(20),
      confirm: 'x'.repeat(20),
    });
    expect(p.status).toBe(404);
    expect(await h.db.prisma.adminUser.count()).toBe(1);
  });
});

describe('public subscribe, confirm, preferences, unsubscribe', () => {
  let wl: string;
  beforeAll(async () => {
    wl = (await h.db.prisma.watchlist.create({ data: { slug: 'ai-core', name: 'AI core' } })).id;
  });

  /**
   * A subscriber of this test's own (each test makes what it uses, so tests run in any order or
   * alone): on the watchlist, with its signed manage link.
   */
  async function subscriberOf(label: string, status: 'pending' | 'confirmed' = 'confirmed') {
    const sub = await h.db.prisma.subscriber.create({
      data: {
        email: `${label}-${Math.random().toString(36).slice(2, 8)}@example.org`,
        status,
        subscriptions: { create: [{ watchlistId: wl }] },
      },
    });
    const token = signSubscriberToken((await resolveSigningKeys(h.db.prisma)).current, sub.id, sub.tokenVersion);
    return { sub, token };
  }

  it('creates a pending subscriber and one confirmation delivery, enqueued', async () => {
    const page = await (await h.app.request('/subscribe')).text();
    expect(page).toContain('AI core');
    const r = await post('/subscribe', { email: 'Reader@Example.org', watchlistIds: [wl], mode: 'digest' });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).toContain('If the address can receive our alerts');
    const sub = await h.db.prisma.subscriber.findUniqueOrThrow({
      where: { email: 'reader@example.org' },
      include: { subscriptions: true },
    });
    expect(sub.status).toBe('pending');
    expect(sub.mode).toBe('digest');
    expect(sub.subscriptions.map((s) => s.watchlistId)).toEqual([wl]);
    const deliveries = await h.db.prisma.delivery.findMany({ where: { subscriberId: sub.id } });
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({
      channel: 'email',
      eventType: 'subscriber.confirm',
      status: 'pending',
      target: `email:${sub.id}`,
    });
    const jobs = await h.queues.get('deliveries').getJobs(['waiting', 'delayed', 'prioritized']);
    expect(jobs.map((j) => j.data.deliveryId)).toContain(deliveries[0]?.id);
  });

  it('answers the same for a confirmed address and sends it nothing', async () => {
    const known = await h.db.prisma.subscriber.create({
      data: { email: 'known-wl@example.org', status: 'confirmed' },
    });
    const r = await post('/subscribe', { email: known.email, watchlistIds: [wl] });
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('If the address can receive our alerts');
    expect(await h.db.prisma.delivery.count({ where: { subscriberId: known.id } })).toBe(0);
  });

  it('refuses bad input with messages next to the fields', async () => {
    const r = await post('/subscribe', { email: 'not-an-email', watchlistIds: ['nope'] });
    expect(r.status).toBe(400);
    const text = await r.text();
    expect(text).toContain('must be an email address');
    const nul = await post('/subscribe', { email: 'a\u0000@example.org', watchlistIds: [wl] });
    expect(nul.status).toBe(400);
    expect(await h.db.prisma.subscriber.count({ where: { email: { contains: 'not-an-email' } } })).toBe(0);
  });

  it('confirms with the emailed token (sha256 at rest), refuses an expired one', async () => {
    const { sub } = await subscriberOf('confirming', 'pending');
    const token = 'expired-token-0123456789abcdef';
    const hash = (t: string) => createHash('sha256').update(t).digest('hex');
    await h.db.prisma.subscriber.update({
      where: { id: sub.id },
      data: { confirmTokenHash: hash(token), confirmExpiresAt: new Date(Date.now() - 1000) },
    });
    expect((await h.app.request(`/confirm?token=${token}`)).status).toBe(400);
    const good = 'fresh-token-0123456789abcdefghij';
    await h.db.prisma.subscriber.update({
      where: { id: sub.id },
      data: { confirmTokenHash: hash(good), confirmExpiresAt: new Date(Date.now() + 3600_000) },
    });
    // Opening the link (as a mail scanner would) only shows the button: still pending.
    const shown = await h.app.request(`/confirm?token=${good}`);
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain('Confirm my subscription');
    expect((await h.db.prisma.subscriber.findUniqueOrThrow({ where: { id: sub.id } })).status).not.toBe('confirmed');
    const confirmPost = () =>
      h.app.request('/confirm', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${good}`,
      });
    const r = await confirmPost();
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('your address is confirmed');
    const after = await h.db.prisma.subscriber.findUniqueOrThrow({ where: { id: sub.id } });
    expect(after.status).toBe('confirmed');
    expect(after.confirmTokenHash).toBeNull();
    expect((await confirmPost()).status).toBe(400);
    expect((await h.app.request(`/confirm?token=${good}`)).status).toBe(400);
  });

  it('changes preferences and unsubscribes in one click (RFC 8058)', async () => {
    const { sub, token } = await subscriberOf('leaving');
    await h.db.prisma.subscriber.update({ where: { id: sub.id }, data: { mode: 'digest' } });
    const prefs = await h.app.request(`/preferences?token=${token}`);
    expect(prefs.status).toBe(200);
    const saved = await post(`/preferences?token=${token}`, { watchlistIds: [wl], mode: 'immediate' });
    expect(saved.status).toBe(200);
    expect((await h.db.prisma.subscriber.findUniqueOrThrow({ where: { id: sub.id } })).mode).toBe('immediate');

    const page = await h.app.request(`/unsubscribe?token=${token}`);
    expect(await page.text()).toContain('<button type="submit">Unsubscribe</button>');
    const forged = await h.app.request(`/unsubscribe?token=${sub.id}.0.${'A'.repeat(32)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(forged.status).toBe(400);
    const one = await h.app.request(`/unsubscribe?token=${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(one.status).toBe(200);
    const after = await h.db.prisma.subscriber.findUniqueOrThrow({ where: { id: sub.id } });
    expect(after.status).toBe('unsubscribed');
    expect(after.unsubscribedAt).not.toBeNull();
  });

  /** Everything an unsubscribe could change: the subscriber, its subscriptions, its waiting mail. */
  async function stateOf(subscriberId: string) {
    const [sub, subs, deliveries] = await Promise.all([
      h.db.prisma.subscriber.findUniqueOrThrow({ where: { id: subscriberId } }),
      h.db.prisma.subscription.findMany({ where: { subscriberId }, orderBy: { id: 'asc' } }),
      h.db.prisma.delivery.findMany({ where: { subscriberId }, orderBy: { id: 'asc' } }),
    ]);
    return { sub, subs, deliveries };
  }

  /** A confirmed subscriber with one alert email waiting for it (a pending delivery row). */
  async function subscriberWithMail(label: string) {
    const s = await subscriberOf(label);
    await h.db.prisma.delivery.create({
      data: {
        channel: 'email',
        eventType: 'subscriber.confirm',
        target: `email:${s.sub.id}`,
        subscriberId: s.sub.id,
        messageId: `msg_${s.sub.id}`,
        payload: {},
      },
    });
    const before = await stateOf(s.sub.id);
    expect(before.sub.status).toBe('confirmed');
    expect(before.subs).toHaveLength(1);
    expect(before.deliveries.map((d) => d.status)).toEqual(['pending']);
    return { ...s, before };
  }

  it('GET /unsubscribe only shows the button: a mail scanner following the link changes nothing', async () => {
    const { sub, token, before } = await subscriberWithMail('scanned');
    for (let i = 0; i < 2; i++) {
      const page = await h.app.request(`/unsubscribe?token=${token}`);
      expect(page.status).toBe(200);
      const text = await page.text();
      expect(text).toContain(`<form method="post" action="/unsubscribe?token=${token}"`);
      expect(text).not.toContain('data-testid="unsubscribed"');
    }
    // HEAD as well (some scanners only probe).
    expect((await h.app.request(`/unsubscribe?token=${token}`, { method: 'HEAD' })).status).toBeLessThan(500);
    expect(await stateOf(sub.id)).toEqual(before);
  });

  it('a forged unsubscribe POST changes nothing: bad signature, another subscriber’s id, tampered or revoked token', async () => {
    const victim = await subscriberWithMail('victim');
    const attacker = await subscriberOf('attacker');
    const [vid, vver, vsig] = victim.token.split('.') as [string, string, string];
    const asig = attacker.token.split('.')[2] as string;
    const flip = (c: string) => (c === 'A' ? 'B' : 'A');
    // The victim's token signed for an earlier version (before a re-subscribe bumped it).
    await h.db.prisma.subscriber.update({ where: { id: victim.sub.id }, data: { tokenVersion: { increment: 1 } } });
    const before = await stateOf(victim.sub.id);
    const current = signSubscriberToken(
      (await resolveSigningKeys(h.db.prisma)).current,
      victim.sub.id,
      before.sub.tokenVersion,
    );
    const [, cver, csig] = current.split('.') as [string, string, string];
    const forged: [string, string][] = [
      ['bad signature', `${vid}.${cver}.${'A'.repeat(32)}`],
      ['another subscriber’s id under the attacker’s own signature', `${vid}.${cver}.${asig}`],
      ['one character of the signature changed', `${vid}.${cver}.${csig.slice(0, -1)}${flip(csig.slice(-1))}`],
      ['the version changed', `${vid}.${Number(cver) + 1}.${csig}`],
      ['a token of an earlier version', `${vid}.${vver}.${vsig}`],
      ['the signature alone', csig],
      ['empty', ''],
    ];
    for (const [what, token] of forged) {
      const res = await h.app.request(`/unsubscribe?token=${encodeURIComponent(token)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(res.status, what).toBe(400);
      expect(await res.text(), what).toContain('Unsubscribe link not valid');
      expect(await stateOf(victim.sub.id), what).toEqual(before);
    }
    // The attacker's own valid token unsubscribes the attacker only.
    const own = await h.app.request(`/unsubscribe?token=${attacker.token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(own.status).toBe(200);
    expect((await stateOf(attacker.sub.id)).sub.status).toBe('unsubscribed');
    expect(await stateOf(victim.sub.id)).toEqual(before);
    // And the genuine current link still works: the refusals were about the tokens, not the route.
    const genuine = await h.app.request(`/unsubscribe?token=${current}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(genuine.status).toBe(200);
    const after = await stateOf(victim.sub.id);
    expect(after.sub.status).toBe('unsubscribed');
    expect(after.deliveries.map((d) => [d.status, d.lastError])).toEqual([['dead', 'subscriber unsubscribed']]);
  });

  describe('per-rule subscriptions', () => {
    let onList: string;
    let loose: string;
    let paused: string;
    const checked = (page: string, id: string) =>
      new RegExp(`<input type="checkbox" id="rule-${id}" name="ruleIds" value="${id}" checked`).test(page);
    beforeAll(async () => {
      const mk = (name: string, o: { watchlistId?: string; description?: string; enabled?: boolean }) =>
        h.db.prisma.rule.create({
          data: { name, kind: 'pct_move', params: { thresholdPct: -10, window: '1d' }, ...o },
        });
      onList = (await mk('NVDA falls 10 %', { watchlistId: wl, description: 'A one-day fall\nsecond line' })).id;
      loose = (await mk('Basket <b>slides</b>', { description: 'Anything watched' })).id;
      paused = (await mk('Paused rule', { enabled: false })).id;
    });

    it('offers enabled rules grouped by watchlist, labelled and described', async () => {
      const page = await (await h.app.request('/subscribe')).text();
      expect(page).toContain(`<label for="rule-${onList}">NVDA falls 10 %</label>`);
      expect(page).toContain(`aria-describedby="rule-${onList}-desc"`);
      expect(page).toContain(`<span class="hint" id="rule-${onList}-desc">A one-day fall</span>`);
      expect(page).not.toContain('second line');
      expect(page).toContain('Basket &lt;b&gt;slides&lt;/b&gt;');
      expect(page).not.toContain('Paused rule');
      // The watchlist's group comes first, then the rules without one.
      expect(page.indexOf('<legend>AI core</legend>')).toBeGreaterThan(-1);
      expect(page.indexOf('<legend>AI core</legend>')).toBeLessThan(page.indexOf('<legend>Other rules</legend>'));
      expect(checked(page, onList)).toBe(false);
    });

    it('shows every change to watchlists and rules on the next GET /subscribe (the page is kept between changes)', async () => {
      const get = async () => (await h.app.request('/subscribe')).text();
      const first = await get();
      expect(await get()).toBe(first); // kept: the same bytes while nothing changed
      const extraWl = await h.db.prisma.watchlist.create({ data: { slug: 'cache-wl', name: 'Cache list' } });
      const added = await get();
      expect(added).toContain(`id="wl-${extraWl.id}" name="watchlistIds" value="${extraWl.id}" checked`);
      expect(added).toContain('Cache list');
      const extraRule = (
        await h.db.prisma.rule.create({ data: { name: 'Cache rule', kind: 'pct_move', params: { thresholdPct: -10 } } })
      ).id;
      expect(await get()).toContain(`<label for="rule-${extraRule}">Cache rule</label>`);
      await h.db.prisma.rule.update({ where: { id: extraRule }, data: { name: 'Cache rule renamed' } });
      expect(await get()).toContain(`<label for="rule-${extraRule}">Cache rule renamed</label>`);
      await h.db.prisma.rule.update({ where: { id: extraRule }, data: { enabled: false } });
      expect(await get()).not.toContain(`rule-${extraRule}`);
      await h.db.prisma.rule.delete({ where: { id: extraRule } });
      await h.db.prisma.watchlist.delete({ where: { id: extraWl.id } });
      const after = await get();
      expect(after).not.toContain('Cache list');
      expect(after).toBe(first);
    });

    it('subscribes to one rule only: a Subscription row with ruleId', async () => {
      const r = await post('/subscribe', { email: 'rules@example.org', ruleIds: [onList] });
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('If the address can receive our alerts');
      const sub = await h.db.prisma.subscriber.findUniqueOrThrow({
        where: { email: 'rules@example.org' },
        include: { subscriptions: true },
      });
      expect(sub.subscriptions.map((x) => ({ watchlistId: x.watchlistId, ruleId: x.ruleId }))).toEqual([
        { watchlistId: null, ruleId: onList },
      ]);
      // A confirmed address gets the same answer and nothing changes for it.
      await h.db.prisma.subscriber.create({ data: { email: 'known-rule@example.org', status: 'confirmed' } });
      const r2 = await post('/subscribe', { email: 'known-rule@example.org', ruleIds: [loose] });
      expect(r2.status).toBe(200);
      expect(await r2.text()).toContain('If the address can receive our alerts');
      const known = await h.db.prisma.subscriber.findUniqueOrThrow({
        where: { email: 'known-rule@example.org' },
        include: { subscriptions: true },
      });
      expect(known.subscriptions).toEqual([]);
    });

    it('requires a watchlist or a rule, and refuses unknown or disabled rules, inline', async () => {
      const none = await post('/subscribe', { email: 'nothing@example.org', mode: 'digest' });
      expect(none.status).toBe(400);
      const text = await none.text();
      expect(text).toContain('<ul class="errors" id="choice-err"><li>choose at least one watchlist or rule</li></ul>');
      expect(text).toContain('aria-describedby="choice-err"');
      // Nothing re-ticked by default after an error; the email is kept.
      expect(text).not.toMatch(/name="watchlistIds" value="[^"]+" checked/);
      expect(text).toContain('value="nothing@example.org"');
      const both = await post('/subscribe', { email: 'nope', ruleIds: [] });
      const bothText = await both.text();
      expect(bothText).toContain('must be an email address');
      expect(bothText).toContain('choose at least one watchlist or rule');
      for (const id of [paused, 'no-such-rule']) {
        const bad = await post('/subscribe', { email: 'nothing@example.org', ruleIds: [id] });
        expect(bad.status).toBe(400);
        const t = await bad.text();
        expect(t).toContain('<ul class="errors" id="rule-err"><li>unknown or disabled rule</li></ul>');
        expect(t).toContain(`id="rule-${onList}"`);
      }
      expect(await h.db.prisma.subscriber.count({ where: { email: 'nothing@example.org' } })).toBe(0);
    });

    it('shows the rule checked on the preferences page and changes it', async () => {
      const sub = await h.db.prisma.subscriber.create({
        data: {
          email: 'rules-prefs@example.org',
          status: 'confirmed',
          subscriptions: { create: [{ ruleId: onList }] },
        },
      });
      const token = signSubscriberToken((await resolveSigningKeys(h.db.prisma)).current, sub.id, sub.tokenVersion);
      const subs = async () =>
        (await h.db.prisma.subscription.findMany({ where: { subscriberId: sub.id } }))
          .map((x) => x.ruleId ?? `wl:${x.watchlistId}`)
          .sort();
      const page = await (await h.app.request(`/preferences?token=${token}`)).text();
      expect(checked(page, onList)).toBe(true);
      expect(checked(page, loose)).toBe(false);
      expect(page).not.toMatch(/name="watchlistIds" value="[^"]+" checked/);

      const saved = await post(`/preferences?token=${token}`, { ruleIds: [loose], watchlistIds: [wl], mode: 'digest' });
      expect(saved.status).toBe(200);
      const after = await saved.text();
      expect(after).toContain('Preferences saved.');
      expect(checked(after, loose)).toBe(true);
      expect(checked(after, onList)).toBe(false);
      expect(await subs()).toEqual([loose, `wl:${wl}`].sort());

      const empty = await post(`/preferences?token=${token}`, { mode: 'immediate' });
      expect(empty.status).toBe(400);
      expect(await empty.text()).toContain('choose at least one watchlist or rule');
      expect(await subs()).toEqual([loose, `wl:${wl}`].sort());

      const disabledRule = await post(`/preferences?token=${token}`, { ruleIds: [paused], mode: 'immediate' });
      expect(disabledRule.status).toBe(400);
      expect(await subs()).toEqual([loose, `wl:${wl}`].sort());

      // A rule that is paused after subscribing stays listed (marked) and is kept on save.
      await h.db.prisma.rule.update({ where: { id: loose }, data: { enabled: false } });
      const pausedPage = await (await h.app.request(`/preferences?token=${token}`)).text();
      expect(pausedPage).toContain('Basket &lt;b&gt;slides&lt;/b&gt; (paused)');
      expect(checked(pausedPage, loose)).toBe(true);
      const kept = await post(`/preferences?token=${token}`, { ruleIds: [loose, onList], mode: 'immediate' });
      expect(kept.status).toBe(200);
      expect(await subs()).toEqual([loose, onList].sort());
      await h.db.prisma.rule.update({ where: { id: loose }, data: { enabled: true } });
    });
  });

  it('rate-limits the subscribe form', async () => {
    let last = 0;
    for (let i = 0; i < 25 && last !== 429; i++) {
      last = (await post('/subscribe', { email: `r${i}@example.org`, watchlistIds: [wl] })).status;
    }
    expect(last).toBe(429);
    // The limit is per client address and every request here comes from the same one: clear it
    // so tests that run after this one (shuffled) can still subscribe.
    const keys = await h.redis.keys(`${h.prefix}*public:subscribe:*`);
    expect(keys.length).toBeGreaterThan(0);
    await h.redis.del(...keys);
  });
});

describe('first admin without ADMIN_EMAIL', () => {
  let bare: Harness;
  beforeAll(async () => {
    bare = await startHarness({ env: { ADMIN_EMAIL: '', ADMIN_PASSWORD: '', COOKIE_SECURE: 'true' } });
  });
  afterAll(async () => {
    await bare?.close();
  });

  it('offers the setup page once (one-time token, login-CSRF protected), then closes it', async () => {
    const login = await bare.app.request('/admin/login');
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('pnpm cli setup-url');
    // No token, no page.
    expect((await bare.app.request('/admin/setup')).status).toBe(404);
    const { token } = await issueSetupToken(bare.db.prisma);
    const f = await preSessionForm(bare.app, `/admin/setup?token=${token}`);
    expect(f.status).toBe(200);
    // COOKIE_SECURE: the pre-session cookie is __Host- and Secure, like the session cookie.
    expect(f.cookie).toBe(`__Host-signals_login_csrf=${f.token}`);
    expect(f.setCookie).toMatch(/; Secure/);
    expect(f.setCookie).toMatch(/; HttpOnly/);
    expect(f.setCookie).toMatch(/; SameSite=Lax/);
    expect(f.setCookie).toMatch(/; Path=\//);
    const setup = (body: Record<string, string>, cookie?: string) =>
      bare.app.request('/admin/setup', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
        body: form({ token, ...body }),
      });
    const good = { email: 'first@example.org', password: 'a long enough password', confirm: 'a long enough password' };
    // No login-CSRF token, or one without its cookie: refused, nothing created.
    const noToken = await setup(good);
    expect(noToken.status).toBe(403);
    expect(await noToken.text()).toContain('security token is missing or wrong');
    expect((await setup({ ...good, _csrf: f.token })).status).toBe(403);
    expect((await setup({ ...good, _csrf: 'B'.repeat(43) }, f.cookie)).status).toBe(403);
    expect(await bare.db.prisma.adminUser.count()).toBe(0);

    const short = await setup(
      { email: 'first@example.org', password: 'short', confirm: 'short', _csrf: f.token },
      f.cookie,
    );
    expect(short.status).toBe(400);
    expect(await short.text()).toContain('at least 12 characters');
    const ok = await setup({ ...good, _csrf: f.token }, f.cookie);
    expect(ok.status).toBe(303);
    expect(await bare.db.prisma.adminUser.count()).toBe(1);
    expect((await bare.app.request(`/admin/setup?token=${token}`)).status).toBe(404);

    // COOKIE_SECURE (or an https PUBLIC_BASE_URL): a Secure, __Host- cookie.
    const lf = await preSessionForm(bare.app);
    const res = await bare.app.request('/admin/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: lf.cookie },
      body: form({ email: 'first@example.org', password: 'a long enough password', _csrf: lf.token }),
    });
    expect(res.status).toBe(303);
    const set = res.headers.getSetCookie().find((c) => c.startsWith('__Host-signals_session=')) ?? '';
    expect(set).toMatch(/; Secure/);
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; Path=\//);
  });
});
