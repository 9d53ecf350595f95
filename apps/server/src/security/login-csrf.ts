/**
 * Login CSRF: before a session exists, the login and setup forms are protected by a double-submit
 * token. GET of the form sets a short-lived random cookie (HttpOnly, SameSite=Lax, Path=/, Secure
 * and `__Host-` under https, like the session cookie) and puts the same value in the hidden `_csrf`
 * field; the POST must present both, equal (compared in constant time). A cross-site page can make
 * the browser POST the form but can neither read nor set that cookie, so it cannot log the victim
 * into the attacker's account (or create the first admin) behind their back.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppEnv, Runtime } from '../context.ts';
import { safeEqual } from './session.ts';

/** Long enough to type a password, short enough that a leaked value is soon useless. */
export const LOGIN_CSRF_MAX_AGE_SEC = 3600;
export const LOGIN_CSRF_FIELD = '_csrf';

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export function loginCsrfCookieName(secure: boolean): string {
  // __Host- pins the cookie to this origin, path / and Secure: a sibling subdomain cannot plant one.
  return secure ? '__Host-signals_login_csrf' : 'signals_login_csrf';
}

/** The token the browser presents, when it is well-formed. */
function presented(rt: Runtime, c: Context<AppEnv>): string | undefined {
  const v = getCookie(c, loginCsrfCookieName(rt.cookieSecure));
  return v && TOKEN_RE.test(v) ? v : undefined;
}

/**
 * The token for a form being rendered: the browser's current one (so a second tab does not break
 * the first) or a new one; the cookie is (re)set with a fresh lifetime either way.
 */
export function issueLoginCsrf(rt: Runtime, c: Context<AppEnv>, opts: { fresh?: boolean } = {}): string {
  const token = (!opts.fresh && presented(rt, c)) || randomBytes(32).toString('base64url');
  setCookie(c, loginCsrfCookieName(rt.cookieSecure), token, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: rt.cookieSecure,
    path: '/',
    maxAge: LOGIN_CSRF_MAX_AGE_SEC,
  });
  // The page holds a token: keep it out of shared caches and the back/forward cache.
  c.header('cache-control', 'no-store');
  return token;
}

/** True when the form field equals the cookie (both present and well-formed). */
export function checkLoginCsrf(rt: Runtime, c: Context<AppEnv>, field: string | undefined): boolean {
  const cookie = presented(rt, c);
  return !!cookie && typeof field === 'string' && safeEqual(field, cookie);
}

/** Drops the token once it served its purpose (after a login or the setup). */
export function clearLoginCsrf(rt: Runtime, c: Context<AppEnv>): void {
  deleteCookie(c, loginCsrfCookieName(rt.cookieSecure), { path: '/', secure: rt.cookieSecure });
}

export const LOGIN_CSRF_MESSAGE =
  'This form expired or did not come from this site (its security token is missing or wrong). ' +
  'It has been reloaded: enter your details again. If this keeps happening, allow cookies for this site.';
