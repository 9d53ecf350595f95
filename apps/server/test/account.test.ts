/**
 * Issue 18, item 6: account care. The admin changes the password (the current one first) and ends
 * other sessions, on the admin page and through the API (admin scope, in the OpenAPI document);
 * each ends every other session of the account, and the one that did it stays logged in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captured, fastPasswordHash } from '@signals/testing';
import { createApiKey } from '../src/services/apikeys.ts';
import { SCOPES } from '../src/api/scopes.ts';
import { api, asKey, type Harness, loginSession, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

let seq = 0;
/**
 * An admin account of this test's own (tests run shuffled: none changes another's password). Its
 * first password has a cheap hash (fastPasswordHash in @signals/testing): the logins before a change cost no full scrypt;
 * the password the tests change to is hashed by the product at full strength.
 */
async function newAdmin(password = 'the old password 123') {
  const email = `care${++seq}-${Date.now()}@example.org`;
  const user = await h.db.prisma.adminUser.create({ data: { email, passwordHash: fastPasswordHash(password) } });
  return { ...user, password };
}

/** A logged-in browser of `admin`: cookie, page CSRF token, and calls with both. */
async function sessionOf(admin: { email: string; password: string }) {
  const { cookie } = await loginSession(h.app, admin.email, admin.password);
  expect(cookie).not.toBe('');
  const page = await h.app.request('/admin', { headers: { cookie } });
  const csrf = captured(/name="csrf-token" content="([^"]+)"/, await page.text(), 'csrf-token meta');
  return {
    cookie,
    csrf,
    /** Still logged in? (/admin answers the page, not a redirect to the login). */
    alive: async () => (await h.app.request('/admin', { headers: { cookie } })).status === 200,
    api: (method: string, path: string, body?: unknown) =>
      h.app.request(`/api${path}`, {
        method,
        headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    form: (path: string, body: Record<string, string>) =>
      h.app.request(path, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf, ...body }).toString(),
      }),
  };
}

describe('the account API', () => {
  it('changes the password after checking the current one, and ends the other sessions only', async () => {
    const admin = await newAdmin();
    const me = await sessionOf(admin);
    const other = await sessionOf(admin);
    const third = await sessionOf(admin);

    const sessions = await me.api('GET', '/account/sessions');
    expect(sessions.status).toBe(200);
    const items = ((await sessions.json()) as { items: { current: boolean }[] }).items;
    expect(items).toHaveLength(3);
    expect(items.filter((s) => s.current)).toHaveLength(1);

    const wrong = await me.api('POST', '/account/password', {
      currentPassword: 'not it at all',
      newPassword: 'a brand new password',
    });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { errors: unknown[] }).errors).toEqual([
      { path: 'currentPassword', message: 'is not your current password' },
    ]);
    const short = await me.api('POST', '/account/password', { currentPassword: admin.password, newPassword: 'short' });
    expect(short.status).toBe(400);
    expect(await other.alive()).toBe(true); // refused changes end nothing

    const ok = await me.api('POST', '/account/password', {
      currentPassword: admin.password,
      newPassword: 'a brand new password',
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ endedSessions: 2 });
    expect(await me.alive()).toBe(true);
    expect(await other.alive()).toBe(false);
    expect(await third.alive()).toBe(false);
    expect((await loginSession(h.app, admin.email, admin.password)).res.status).toBe(401);
    expect((await loginSession(h.app, admin.email, 'a brand new password')).res.status).toBe(303);
  }, 120_000);

  it('ends the other sessions on request, for a session or a key an admin made', async () => {
    const admin = await newAdmin();
    const me = await sessionOf(admin);
    const other = await sessionOf(admin);
    const r = await me.api('DELETE', '/account/sessions');
    expect(await r.json()).toEqual({ endedSessions: 1 });
    expect(await me.alive()).toBe(true);
    expect(await other.alive()).toBe(false);

    // A key acts for the admin who made it: every session ends (a key has none of its own).
    const again = await sessionOf(admin);
    const { key } = await createApiKey(h.rt, { name: 'ops', scopes: ['admin'] }, { userId: admin.id, granted: SCOPES });
    const byKey = await api(h)('DELETE', '/account/sessions', undefined, {
      auth: false,
      headers: { authorization: `Bearer ${key}` },
    });
    expect(byKey.json).toEqual({ endedSessions: 2 });
    expect(await me.alive()).toBe(false);
    expect(await again.alive()).toBe(false);
  }, 120_000);

  it('needs the admin scope, an account behind the key, and is described in the OpenAPI document', async () => {
    const admin = await newAdmin();
    const read = await createApiKey(
      h.rt,
      { name: 'r', scopes: ['read', 'write'] },
      { userId: admin.id, granted: SCOPES },
    );
    expect((await api(h)('GET', '/account/sessions', undefined, asKey(read.key))).status).toBe(403);
    // The harness key was made by no admin (userId null): no account to act for.
    const orphan = await api(h)('DELETE', '/account/sessions');
    expect(orphan.status).toBe(409);
    expect(orphan.json.title).toMatch(/belongs to no admin account/);

    const doc = (await api(h)('GET', '/openapi.json', undefined, { auth: false })).json;
    const ops = [
      ['get', '/account/sessions', 'listAccountSessions'],
      ['delete', '/account/sessions', 'endOtherAccountSessions'],
      ['post', '/account/password', 'changeAccountPassword'],
    ] as const;
    for (const [method, path, operationId] of ops) {
      const op = doc.paths[path][method];
      expect(op.operationId).toBe(operationId);
      expect(op.summary).toEqual(expect.any(String));
      expect(op['x-scope']).toBe('admin');
    }
  }, 120_000);
});

describe('the account page', () => {
  it('lists the sessions, changes the password (confirmed twice) and logs the others out', async () => {
    const admin = await newAdmin();
    const me = await sessionOf(admin);
    const other = await sessionOf(admin);
    const page = await (await h.app.request('/admin/account', { headers: { cookie: me.cookie } })).text();
    expect(page).toContain(admin.email);
    expect(page).toContain('this one');
    expect(page).toContain('Log out the other 1 session');

    const differ = await me.form('/admin/account/password', {
      currentPassword: admin.password,
      newPassword: 'another long password',
      confirm: 'another long passwore',
    });
    expect(differ.status).toBe(400);
    expect(await differ.text()).toMatch(/id="f-confirm"[^>]*aria-invalid="true"/);
    const wrong = await me.form('/admin/account/password', {
      currentPassword: 'nope nope nope',
      newPassword: 'another long password',
      confirm: 'another long password',
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('is not your current password');
    expect(await other.alive()).toBe(true);

    const done = await me.form('/admin/account/password', {
      currentPassword: admin.password,
      newPassword: 'another long password',
      confirm: 'another long password',
    });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/admin/account?done=password-changed');
    expect(await me.alive()).toBe(true);
    expect(await other.alive()).toBe(false);

    const third = await sessionOf({ email: admin.email, password: 'another long password' });
    const ended = await me.form('/admin/account/sessions/end-others', {});
    expect(ended.status).toBe(303);
    expect(await third.alive()).toBe(false);
    const after = await (
      await h.app.request('/admin/account?done=sessions-ended', { headers: { cookie: me.cookie } })
    ).text();
    expect(after).toContain('Every other session of your account is logged out.');
    expect(after).toContain('No other session is logged in.');
  }, 120_000);
});
