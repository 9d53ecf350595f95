/**
 * Admin passwords: scrypt at the strength OWASP recommends (N=2^17, r=8, p=1), a 16-byte salt, a
 * 32-byte key, stored with its parameters (`scrypt$N$r$p$salt$hash`, base64url) so they can be
 * raised later without breaking stored hashes.
 *
 * Each scrypt takes 128 MiB while it runs, and anyone can ask for one (a wrong login). So at most
 * PASSWORD_CHECKS_AT_ONCE run per process, PASSWORD_CHECKS_WAITING more wait, and beyond that the
 * caller is refused at once (PasswordBusyError: 503 with Retry-After) before anything is computed:
 * 20 parallel wrong logins cost 128 MiB, not 512 (libuv runs four at once) or more.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { HttpProblem } from '../problem.ts';

export const PASSWORD_CHECKS_AT_ONCE = 1;
export const PASSWORD_CHECKS_WAITING = 5;
export const PASSWORD_BUSY_RETRY_SEC = 2;

/** Too many password checks at once in this process: try again in a moment (nothing was checked). */
export class PasswordBusyError extends HttpProblem {
  constructor() {
    super(
      503,
      'Too many password checks at once',
      { detail: `the server checks ${PASSWORD_CHECKS_AT_ONCE} password at a time; try again in a few seconds` },
      { 'retry-after': String(PASSWORD_BUSY_RETRY_SEC) },
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
