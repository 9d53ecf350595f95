/**
 * Admin sessions. The cookie holds 32 random bytes; the Session row is keyed by their sha256, so a
 * leaked table cannot be replayed as cookies. Idle timeout 2 h, absolute 12 h; a new id at every
 * login (fixation); logout deletes the row. Each session has its own CSRF token, checked on every
 * state-changing request (form field `_csrf` or header `X-CSRF-Token`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { PrismaClient } from '@signals/db';
import type { AppEnv, Runtime } from '../context.ts';

export const IDLE_MS = 2 * 3600_000;
export const ABSOLUTE_MS = 12 * 3600_000;
/** lastSeenAt is written at most this often. */
const TOUCH_MS = 60_000;

export function cookieName(secure: boolean): string {
  // __Host- pins the cookie to this origin, path / and Secure.
  return secure ? '__Host-signals_session' : 'signals_session';
}

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function createSession(rt: Runtime, c: Context<AppEnv>, userId: string): Promise<{ csrfToken: string }> {
  const value = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const now = rt.clock.now();
  await rt.prisma.session.create({
    data: {
      id: sha256(value),
      userId,
      csrfToken,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + ABSOLUTE_MS),
      ip: c.get('clientIp').slice(0, 64),
      userAgent: (c.req.header('user-agent') ?? '').slice(0, 300),
    },
  });
  setCookie(c, cookieName(rt.cookieSecure), value, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: rt.cookieSecure,
    path: '/',
    maxAge: ABSOLUTE_MS / 1000,
  });
  return { csrfToken };
}

export interface LoadedSession {
  id: string;
  userId: string;
  email: string;
  csrfToken: string;
}

export async function loadSession(rt: Runtime, c: Context<AppEnv>): Promise<LoadedSession | null> {
  const value = getCookie(c, cookieName(rt.cookieSecure));
  if (!value || value.length > 100) return null;
  const id = sha256(value);
  const s = await rt.prisma.session.findUnique({ where: { id }, include: { user: { select: { email: true } } } });
  if (!s) return null;
  const now = rt.clock.now().getTime();
  if (s.expiresAt.getTime() <= now || s.lastSeenAt.getTime() + IDLE_MS <= now) {
    await rt.prisma.session.deleteMany({ where: { id } });
    return null;
  }
  if (now - s.lastSeenAt.getTime() > TOUCH_MS) {
    await rt.prisma.session.updateMany({ where: { id }, data: { lastSeenAt: new Date(now) } });
  }
  return { id, userId: s.userId, email: s.user.email, csrfToken: s.csrfToken };
}

/** Deletes the session the browser presents; `keepCookie` when a new session cookie replaces it. */
export async function destroySession(
  rt: Runtime,
  c: Context<AppEnv>,
  opts: { keepCookie?: boolean } = {},
): Promise<void> {
  const value = getCookie(c, cookieName(rt.cookieSecure));
  if (value) await rt.prisma.session.deleteMany({ where: { id: sha256(value) } });
  if (!opts.keepCookie) deleteCookie(c, cookieName(rt.cookieSecure), { path: '/', secure: rt.cookieSecure });
}

/** Removes expired sessions of a user (called at login, so the table does not grow forever). */
export async function pruneSessions(prisma: PrismaClient, userId: string, now: Date): Promise<void> {
  await prisma.session.deleteMany({
    where: {
      userId,
      OR: [{ expiresAt: { lte: now } }, { lastSeenAt: { lte: new Date(now.getTime() - IDLE_MS) } }],
    },
  });
}
