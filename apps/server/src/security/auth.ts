/**
 * Who is calling. The API takes an API key (`Authorization: Bearer sk_...`, sha256 at rest; what it
 * may do is its scopes, checked per route by api/scopes.ts) or the admin session (every scope;
 * state-changing requests need the session's CSRF token in `X-CSRF-Token`).
 * Admin pages take the session only, with the token as the `_csrf` form field or the header.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv, Runtime } from '../context.ts';
import { HttpProblem } from '../problem.ts';
import type { VerifiedKey } from './apikey-cache.ts';
import { loadSession, safeEqual, sha256 } from './session.ts';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const KEY_RE = /^sk_[A-Za-z0-9_-]{20,100}$/;

export function apiAuth(rt: Runtime): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const authz = c.req.header('authorization');
    if (authz !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(authz);
      const key = m?.[1];
      if (!key || !KEY_RE.test(key)) throw unauthorized('malformed Authorization header (expected "Bearer sk_...")');
      const keyHash = sha256(key);
      const now = rt.clock.now();
      const row = rt.apiKeys.get(keyHash, now.getTime()) ?? (await verifiedKey(rt, keyHash, now));
      // An expired key is refused exactly like a revoked or unknown one.
      if (!row || (row.expiresAt && row.expiresAt.getTime() <= now.getTime()))
        throw unauthorized('unknown, revoked or expired API key');
      if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) {
        row.lastUsedAt = now;
        await rt.prisma.apiKey.updateMany({ where: { id: row.id }, data: { lastUsedAt: now } });
      }
      c.set('auth', {
        kind: 'apikey',
        keyId: row.id,
        userId: row.userId,
        scopes: row.scopes,
        expiresAt: row.expiresAt,
      });
      return next();
    }
    const s = await loadSession(rt, c);
    if (!s) throw unauthorized('log in to the admin page or send an API key (Authorization: Bearer sk_...)');
    c.set('auth', { kind: 'session', userId: s.userId, email: s.email, sessionId: s.id, csrfToken: s.csrfToken });
    if (!SAFE.has(c.req.method)) {
      const given = c.req.header('x-csrf-token') ?? '';
      if (!safeEqual(given, s.csrfToken))
        throw new HttpProblem(403, 'CSRF token missing or invalid', {
          detail: 'session-authenticated requests that change data need the X-CSRF-Token header',
        });
    }
    return next();
  };
}

/** The key with this hash from the database when it is not revoked (then remembered: security/apikey-cache.ts). */
async function verifiedKey(rt: Runtime, keyHash: string, now: Date): Promise<VerifiedKey | null> {
  const generation = rt.apiKeys.generation();
  const row = await rt.prisma.apiKey.findUnique({
    where: { keyHash },
    select: { id: true, userId: true, scopes: true, expiresAt: true, lastUsedAt: true, revokedAt: true },
  });
  if (!row || row.revokedAt) return null;
  const key: VerifiedKey = {
    id: row.id,
    userId: row.userId,
    scopes: row.scopes,
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
  };
  rt.apiKeys.set(keyHash, key, now.getTime(), generation);
  return key;
}

function unauthorized(detail: string) {
  return new HttpProblem(401, 'Unauthorized', { detail }, { 'www-authenticate': 'Bearer realm="signals"' });
}

/** Admin pages: a session or a redirect to the login page; CSRF checked on every POST. */
export function adminAuth(rt: Runtime): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const s = await loadSession(rt, c);
    if (!s) {
      if (SAFE.has(c.req.method)) {
        const nextPath = c.req.path + (new URL(c.req.url).search || '');
        return c.redirect(`/admin/login?next=${encodeURIComponent(nextPath)}`, 303);
      }
      return c.redirect('/admin/login', 303);
    }
    c.set('auth', { kind: 'session', userId: s.userId, email: s.email, sessionId: s.id, csrfToken: s.csrfToken });
    if (!SAFE.has(c.req.method)) {
      const given = c.req.header('x-csrf-token') ?? (await formField(c, '_csrf'));
      if (!safeEqual(given, s.csrfToken)) {
        return c.html(
          '<!doctype html><title>Forbidden</title><p>CSRF token missing or invalid. Reload the page and try again.</p>',
          403,
        );
      }
    }
    return next();
  };
}

async function formField(c: Context, name: string): Promise<string> {
  const ct = c.req.header('content-type') ?? '';
  if (!/application\/x-www-form-urlencoded|multipart\/form-data/i.test(ct)) return '';
  const body = await c.req.parseBody({ all: true });
  const v = body[name];
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  return typeof s === 'string' ? s : '';
}

export function sessionOf(c: Context<AppEnv>) {
  const a = c.get('auth');
  if (a?.kind !== 'session') throw new HttpProblem(401, 'Unauthorized');
  return a;
}
