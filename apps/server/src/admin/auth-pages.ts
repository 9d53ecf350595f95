/** Login, logout and the one-time setup page. */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import type { AppEnv, Runtime } from '../context.ts';
import { FormError, readForm, text } from '../input.ts';
import { type FieldError, HttpProblem, fieldErrors } from '../problem.ts';

import {
  LOGIN_CSRF_FIELD,
  LOGIN_CSRF_MESSAGE,
  checkLoginCsrf,
  clearLoginCsrf,
  issueLoginCsrf,
} from '../security/login-csrf.ts';
import { enforce, keyOf } from '../security/ratelimit.ts';
import { accountSlowdown, loginLimits, recordFailure, recordSuccess } from '../security/login-limits.ts';
import { createSession, destroySession, pruneSessions } from '../security/session.ts';
import { dummyHash, isSetupTokenValid, PasswordBusyError, verifyPassword } from '@signals/db';
import { adminExists, createFirstAdmin } from '../services/admins.ts';
import { field, noticeOf, page } from '../views/layout.ts';

/**
 * Only local admin paths are followed after login (no open redirect). Control characters (CR/LF
 * would split the Location header) are refused with a 400: no browser sends them unencoded.
 */
function safeNext(next: string | undefined): string {
  if (next && /[\u0000-\u001f\u007f]/.test(next)) {
    throw new HttpProblem(400, 'The "next" address after login must not contain control characters');
  }
  return next && /^\/admin(\/|$|\?)/.test(next) && !next.startsWith('//') ? next : '/admin';
}

const setupSchema = z
  .strictObject({
    email: text({ min: 3, max: 254 }).pipe(z.email('must be an email address')),
    password: z.string().min(12, 'must be at least 12 characters').max(1024),
    confirm: z.string(),
  })
  .refine((v) => v.password === v.confirm, { path: ['confirm'], message: 'the passwords differ' });

export function registerAuthPages(admin: Hono<AppEnv>, rt: Runtime) {
  /** How the operator gets in while no admin exists (the login page and a wrong setup link). */
  const howToSetUp = html`<p>No admin account exists yet. Open the one-time setup URL the server printed on its
console when it started (<code>/admin/setup?token=...</code>), or run <code>pnpm cli setup-url</code> on the
server for a new one. Setting <code>ADMIN_EMAIL</code> and <code>ADMIN_PASSWORD</code> before starting
creates the admin instead.</p>`;
  const loginPage = (o: {
    csrf: string;
    next?: string;
    email?: string;
    error?: string | null;
    notice?: string | null;
  }) =>
    page({
      title: 'Log in',
      notice: o.notice ?? null,
      error: o.error ?? null,
      body: html`<form method="post" action="/admin/login" class="stack card" aria-label="Log in">
  <input type="hidden" name="${LOGIN_CSRF_FIELD}" value="${o.csrf}">
  <input type="hidden" name="next" value="${o.next ?? '/admin'}">
  ${field({ name: 'email', label: 'Email', type: 'email', required: true, value: o.email, autocomplete: 'username' })}
  ${field({ name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'current-password' })}
  <button type="submit">Log in</button>
</form>`,
    });

  admin.get('/login', async (c) => {
    if (!(await adminExists(rt.prisma))) return c.html(page({ title: 'Set up the first admin', body: howToSetUp }));
    const csrf = issueLoginCsrf(rt, c);
    return c.html(loginPage({ csrf, next: safeNext(c.req.query('next')), notice: noticeOf(c.req.query('done')) }));
  });

  admin.post('/login', async (c) => {
    let values: Record<string, string>;
    try {
      values = (await readForm(c)).values;
    } catch (err) {
      if (err instanceof FormError) {
        return c.html(loginPage({ csrf: issueLoginCsrf(rt, c), error: 'Email or password is wrong.' }), 400);
      }
      throw err;
    }
    const email = (values.email ?? '').trim().toLowerCase().slice(0, 254);
    const password = (values.password ?? '').slice(0, 1024);
    const next = safeNext(values.next);
    const ip = c.get('clientIp');
    // Login CSRF: checked before anything else (no password check, no rate-limit hit for a forged post).
    if (!checkLoginCsrf(rt, c, values[LOGIN_CSRF_FIELD])) {
      rt.logger.info({ reqId: c.get('requestId') }, 'admin login refused: login CSRF token missing or invalid');
      return c.html(loginPage({ csrf: issueLoginCsrf(rt, c, { fresh: true }), next, error: LOGIN_CSRF_MESSAGE }), 403);
    }
    // For a page shown again (wrong password, rate limit): the same token, its cookie's lifetime renewed.
    const again = () => issueLoginCsrf(rt, c);
    try {
      await enforce(rt.rateLimiter, loginLimits(email, ip), 'Too many login attempts');
    } catch (err) {
      if (err instanceof HttpProblem && err.status === 429) {
        for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
        return c.html(
          loginPage({ csrf: again(), email, next, error: `Too many login attempts. ${err.extra.detail ?? ''}.` }),
          429,
        );
      }
      throw err;
    }
    // An account under attack slows down (never refuses), whoever is at the keyboard.
    const wait = await accountSlowdown(rt.rateLimiter, email);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const user = email ? await rt.prisma.adminUser.findUnique({ where: { email } }) : null;
    // Same work whether the email exists or not; refused before any of it when too many checks
    // run or wait in this process (each takes 128 MiB).
    let ok: boolean;
    try {
      ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash()));
    } catch (err) {
      if (!(err instanceof PasswordBusyError)) throw err;
      rt.logger.warn({ reqId: c.get('requestId') }, 'admin login refused: too many password checks at once');
      c.header('retry-after', String(err.retryAfterSec));
      return c.html(
        loginPage({
          csrf: again(),
          email,
          next,
          error: 'The server is busy checking other logins. Try again in a few seconds.',
        }),
        503,
      );
    }
    if (!user || !ok) {
      await recordFailure(rt.rateLimiter, email);
      rt.logger.info({ reqId: c.get('requestId'), slowedMs: wait }, 'admin login failed');
      return c.html(loginPage({ csrf: again(), email, next, error: 'Email or password is wrong.' }), 401);
    }
    // A new session id at every login: whatever session the browser had is ended.
    await destroySession(rt, c, { keepCookie: true });
    const now = rt.clock.now();
    await pruneSessions(rt.prisma, user.id, now);
    await createSession(rt, c, user.id);
    clearLoginCsrf(rt, c);
    await rt.prisma.adminUser.update({ where: { id: user.id }, data: { lastLoginAt: now } });
    await recordSuccess(rt.rateLimiter, email, ip);
    // slowedMs: what the account's slow-down cost this login (0 normally), for operators and tests.
    rt.logger.info({ reqId: c.get('requestId'), userId: user.id, slowedMs: wait }, 'admin logged in');
    return c.redirect(next, 303);
  });

  admin.post('/logout', async (c) => {
    // CSRF-checked by the admin middleware like every other POST.
    await destroySession(rt, c);
    return c.redirect('/admin/login?done=loggedout', 303);
  });

  const setupPage = (o: {
    csrf: string;
    token: string;
    errors?: FieldError[];
    email?: string;
    error?: string | null;
  }) =>
    page({
      title: 'Set up the first admin',
      error: o.error ?? null,
      body: html`<p>No admin account exists yet. Create the first one; this page closes once it exists.</p>
<form method="post" action="/admin/setup" class="stack card" aria-label="Create the first admin">
  <input type="hidden" name="${LOGIN_CSRF_FIELD}" value="${o.csrf}">
  <input type="hidden" name="token" value="${o.token}">
  ${field({ name: 'email', label: 'Email', type: 'email', required: true, value: o.email ?? '', errors: o.errors ?? [], autocomplete: 'username' })}
  ${field({ name: 'password', label: 'Password', type: 'password', required: true, errors: o.errors ?? [], hint: 'At least 12 characters.', autocomplete: 'new-password' })}
  ${field({ name: 'confirm', label: 'Repeat the password', type: 'password', required: true, errors: o.errors ?? [], autocomplete: 'new-password' })}
  <button type="submit">Create admin</button>
</form>`,
    });

  const closed = () =>
    page({ title: 'Setup is closed', body: html`<p>An admin account exists. <a href="/admin/login">Log in</a>.</p>` });

  const badLink = () =>
    page({
      title: 'Not found',
      body: html`<p>This setup link is not valid: it is mistyped, expired (links last 24 h) or already used.</p>${howToSetUp}`,
    });

  // Without a valid one-time token the setup page does not exist (404): whoever reaches a fresh
  // instance first cannot make themselves its admin.
  admin.get('/setup', async (c) => {
    if (await adminExists(rt.prisma)) return c.html(closed(), 404);
    const token = c.req.query('token') ?? '';
    if (!(await isSetupTokenValid(rt.prisma, token, rt.clock.now()))) return c.html(badLink(), 404);
    return c.html(setupPage({ csrf: issueLoginCsrf(rt, c), token }));
  });

  admin.post('/setup', async (c) => {
    if (await adminExists(rt.prisma)) return c.html(closed(), 404);
    let values: Record<string, string>;
    try {
      values = (await readForm(c)).values;
    } catch (err) {
      if (err instanceof FormError) return c.html(badLink(), 404);
      throw err;
    }
    const token = values.token ?? '';
    if (!(await isSetupTokenValid(rt.prisma, token, rt.clock.now()))) return c.html(badLink(), 404);
    // Same pre-session double-submit check as the login form.
    if (!checkLoginCsrf(rt, c, values[LOGIN_CSRF_FIELD])) {
      rt.logger.info({ reqId: c.get('requestId') }, 'setup refused: login CSRF token missing or invalid');
      const csrf = issueLoginCsrf(rt, c, { fresh: true });
      return c.html(setupPage({ csrf, token, email: values.email ?? '', error: LOGIN_CSRF_MESSAGE }), 403);
    }
    await enforce(rt.rateLimiter, [{ key: `setup:ip:${keyOf(c.get('clientIp'))}`, max: 20, windowSec: 900 }]);
    const r = setupSchema.safeParse({
      email: values.email ?? '',
      password: values.password ?? '',
      confirm: values.confirm ?? '',
    });
    if (!r.success)
      return c.html(
        setupPage({ csrf: issueLoginCsrf(rt, c), token, errors: fieldErrors(r.error), email: values.email ?? '' }),
        400,
      );
    const created = await createFirstAdmin(rt.prisma, r.data.email, r.data.password, {
      setupToken: token,
      now: rt.clock.now(),
    });
    if (created === 'exists') return c.html(closed(), 404);
    if (created === 'bad-token') return c.html(badLink(), 404);
    clearLoginCsrf(rt, c);
    rt.logger.info('first admin created from the setup page');
    return c.redirect('/admin/login?done=setup', 303);
  });
}
