/**
 * Admin accounts: passwords and sessions, for the server (login, setup, the account page and API)
 * and the CLI (a lost password), so both go through the same hashing and the same rule: a new
 * password ends every other session of the account.
 *
 * Passwords: scrypt at the strength OWASP recommends (N=2^17, r=8, p=1), a 16-byte salt, a 32-byte
 * key, stored with its parameters (`scrypt$N$r$p$salt$hash`, base64url) so they can be raised later
 * without breaking stored hashes. Each scrypt takes 128 MiB while it runs, and anyone can ask for
 * one (a wrong login). So at most PASSWORD_CHECKS_AT_ONCE run per process, PASSWORD_CHECKS_WAITING
 * more wait, and beyond that the caller is refused at once (PasswordBusyError) before anything is
 * computed: 20 parallel wrong logins cost 128 MiB, not 512 (libuv runs four at once) or more.
 */
import { randomBytes, type ScryptOptions, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { DomainError } from '@signals/core';
import type { PrismaClient } from '../generated/client.ts';

export const PASSWORD_CHECKS_AT_ONCE = 1;
export const PASSWORD_CHECKS_WAITING = 5;
export const PASSWORD_BUSY_RETRY_SEC = 2;
/** Admin passwords: at least this long (and at most 1,024 characters). */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;

/** Too many password checks at once in this process: try again in a moment (nothing was checked). */
export class PasswordBusyError extends DomainError {
  readonly retryAfterSec = PASSWORD_BUSY_RETRY_SEC;
  constructor() {
    super(
      'https://signals.dev/problems/password-checks-busy',
      `too many password checks at once (this server checks ${PASSWORD_CHECKS_AT_ONCE} at a time); try again in a few seconds`,
      { retryable: true },
    );
  }
}

let running = 0;
const waiting: (() => void)[] = [];

/** Runs `fn` in a password-check slot: waits for one, or throws PasswordBusyError when the queue is full. */
async function inSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= PASSWORD_CHECKS_AT_ONCE) {
    if (waiting.length >= PASSWORD_CHECKS_WAITING) throw new PasswordBusyError();
    // The slot is handed over by the finishing check: `running` stays counted for the waiter.
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else running++;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

const N = 2 ** 17;
const R = 8;
const P = 1;
const KEY_LEN = 32;

function scrypt(password: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return inSlot(
    () =>
      new Promise((resolve, reject) => {
        scryptCb(password.normalize('NFC'), salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key)));
      }),
  );
}

/** scrypt needs 128 * N * r bytes; Node's default cap (32 MiB) is below that at N=2^17. */
const maxmem = (n: number, r: number) => 128 * n * r * 2;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LEN, { N, r: R, p: P, maxmem: maxmem(N, R) });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltB64, hashB64] = parts as [string, string, string, string, string, string];
  const cost = Number(n);
  const block = Number(r);
  const par = Number(p);
  if (![cost, block, par].every((x) => Number.isInteger(x) && x > 0) || cost > 2 ** 20) return false;
  const expected = Buffer.from(hashB64, 'base64url');
  const key = await scrypt(password, Buffer.from(saltB64, 'base64url'), expected.length, {
    N: cost,
    r: block,
    p: par,
    maxmem: maxmem(cost, block),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of a random password: verified against when the email is unknown, so timing tells nothing. */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  if (!dummy) {
    const made = hashPassword(randomBytes(16).toString('hex'));
    // Not kept when refused (all slots busy): the next login makes it.
    made.catch(() => {
      if (dummy === made) dummy = undefined;
    });
    dummy = made;
  }
  return dummy;
}

/** Why a new password is not acceptable, or null. */
export function newPasswordProblem(password: string): string | null {
  if (password.length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  return null;
}

/**
 * Sets an admin's password and ends every session of the account but `keepSessionId` (the one that
 * changed it, if any), in one transaction: whoever held another session (a stolen cookie, a
 * forgotten browser) is out. The number of sessions ended.
 */
export async function setAdminPassword(
  prisma: PrismaClient,
  userId: string,
  password: string,
  opts: { keepSessionId?: string | undefined } = {},
): Promise<number> {
  const passwordHash = await hashPassword(password);
  const [, ended] = await prisma.$transaction([
    prisma.adminUser.update({ where: { id: userId }, data: { passwordHash } }),
    prisma.session.deleteMany({
      where: { userId, ...(opts.keepSessionId ? { id: { not: opts.keepSessionId } } : {}) },
    }),
  ]);
  return ended.count;
}

/** Ends every session of an admin but `keepSessionId`; the number ended. */
export async function endAdminSessions(
  prisma: PrismaClient,
  userId: string,
  opts: { keepSessionId?: string | undefined } = {},
): Promise<number> {
  const r = await prisma.session.deleteMany({
    where: { userId, ...(opts.keepSessionId ? { id: { not: opts.keepSessionId } } : {}) },
  });
  return r.count;
}
