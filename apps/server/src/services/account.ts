/**
 * The admin's own account: change the password (the current one first) and end other sessions. A
 * new password ends every other session of the account; the one that changed it stays. For an API
 * key the account is the admin who made it; keys themselves are not touched (revoke them on the
 * API keys page). The CLI's `reset-password` and `end-sessions` use the same repository functions
 * (@signals/db repos/admin-accounts.ts).
 */
import { ConflictError, ValidationError } from '@signals/core';
import {
  endAdminSessions,
  newPasswordProblem,
  PasswordBusyError,
  PASSWORD_MAX_LENGTH,
  setAdminPassword,
  verifyPassword,
} from '@signals/db';
import { z } from 'zod';
import type { Auth, Runtime } from '../context.ts';
import { text } from '../input.ts';
import { HttpProblem } from '../problem.ts';
import { enforce, keyOf } from '../security/ratelimit.ts';
import { IDLE_MS } from '../security/session.ts';

/** Wrong current passwords per account and 15 minutes before 429: a stolen session cannot guess on. */
export const PASSWORD_CHANGE_ATTEMPTS = 10;

// Passwords are not trimmed (a space is a character); NUL and lone surrogates are refused.
export const passwordChangeSchema = z.strictObject({
  currentPassword: text({ min: 1, max: PASSWORD_MAX_LENGTH, trim: false }),
  newPassword: text({ max: PASSWORD_MAX_LENGTH, trim: false })
    .superRefine((v, ctx) => {
      const problem = newPasswordProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .describe('at least 12 characters'),
});
export type PasswordChange = z.infer<typeof passwordChangeSchema>;

/** The admin account a caller acts for: the session's, or the admin who made the key. */
function accountOf(auth: Auth | undefined): { userId: string; keepSessionId?: string } {
  if (auth?.kind === 'session') return { userId: auth.userId, keepSessionId: auth.sessionId };
  if (auth?.userId) return { userId: auth.userId };
  throw new ConflictError('this API key belongs to no admin account: use a key an admin made, or the admin page');
}

/** A busy password check as the API answers it: 503 with Retry-After. */
function busy(err: PasswordBusyError) {
  return new HttpProblem(
    503,
    'Too many password checks at once',
    { type: err.code, detail: err.message },
    { 'retry-after': String(err.retryAfterSec) },
  );
}

/** Changes the caller's password after checking the current one; ends the account's other sessions. */
export async function changePassword(rt: Runtime, auth: Auth | undefined, input: PasswordChange) {
  const { userId, keepSessionId } = accountOf(auth);
  await enforce(
    rt.rateLimiter,
    [{ key: `account:password:${keyOf(userId)}`, max: PASSWORD_CHANGE_ATTEMPTS, windowSec: 900 }],
    'Too many password changes',
  );
  const user = await rt.prisma.adminUser.findUniqueOrThrow({ where: { id: userId } });
  try {
    if (!(await verifyPassword(input.currentPassword, user.passwordHash)))
      throw new ValidationError('Password not changed', [
        { path: 'currentPassword', message: 'is not your current password' },
      ]);
    if (input.newPassword === input.currentPassword)
      throw new ValidationError('Password not changed', [
        { path: 'newPassword', message: 'must differ from the current password' },
      ]);
    const endedSessions = await setAdminPassword(rt.prisma, userId, input.newPassword, { keepSessionId });
    rt.logger.info({ userId, endedSessions }, 'admin password changed; other sessions ended');
    return { endedSessions };
  } catch (err) {
    if (err instanceof PasswordBusyError) throw busy(err);
    throw err;
  }
}

/** The account's sessions, newest first; `current` marks the caller's own. */
export async function listSessions(rt: Runtime, auth: Auth | undefined) {
  const { userId, keepSessionId } = accountOf(auth);
  const now = rt.clock.now();
  const rows = await rt.prisma.session.findMany({
    where: { userId, expiresAt: { gt: now }, lastSeenAt: { gt: new Date(now.getTime() - IDLE_MS) } },
    orderBy: [{ lastSeenAt: 'desc' }, { id: 'asc' }],
  });
  return rows.map((s) => ({
    // The row id is the sha256 of the cookie: a prefix of it tells sessions apart without being one.
    id: s.id.slice(0, 12),
    current: s.id === keepSessionId,
    createdAt: s.createdAt.toISOString(),
    lastSeenAt: s.lastSeenAt.toISOString(),
    expiresAt: s.expiresAt.toISOString(),
    ip: s.ip,
    userAgent: s.userAgent,
  }));
}

/** Ends every session of the account but the caller's own; the number ended. */
export async function endOtherSessions(rt: Runtime, auth: Auth | undefined) {
  const { userId, keepSessionId } = accountOf(auth);
  const endedSessions = await endAdminSessions(rt.prisma, userId, { keepSessionId });
  rt.logger.info({ userId, endedSessions }, 'other admin sessions ended');
  return { endedSessions };
}
