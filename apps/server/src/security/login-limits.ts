/**
 * Login attempts: limits that stop guessing without locking the real admin out.
 *
 * - per address: 30 attempts per 15 min from one client address, whatever the account;
 * - per account and address: 10 attempts per 15 min at one account from one address;
 * - per account, only a slow-down: after 5 failed passwords in 15 min, each attempt at that
 *   account waits 250 ms, doubling per further failure up to 4 s. It never refuses, so a
 *   stranger's wrong passwords make the admin wait a few seconds, not stay out.
 *
 * The client address is the one TRUST_PROXY yields (security/client-ip.ts). Emails and addresses
 * are hashed before they become Redis keys.
 */
import { type Limit, type RateLimiter, keyOf } from './ratelimit.ts';

export const LOGIN_WINDOW_SEC = 900;
export const LOGIN_PER_ADDRESS = 30;
export const LOGIN_PER_ACCOUNT_ADDRESS = 10;
/** Failed passwords at one account (from anywhere) before its attempts slow down. */
export const LOGIN_SLOWDOWN_FREE_FAILURES = 5;
const SLOWDOWN_FIRST_MS = 250;
export const LOGIN_SLOWDOWN_MAX_MS = 4000;

const accountFailuresKey = (email: string) => `login:account-failures:${keyOf(email)}`;
const accountAddressKey = (email: string, ip: string) => `login:account-ip:${keyOf(email)}:${keyOf(ip)}`;

/** The limits one attempt counts against (refused with 429 past them). */
export function loginLimits(email: string, ip: string): Limit[] {
  return [
    { key: `login:ip:${keyOf(ip)}`, max: LOGIN_PER_ADDRESS, windowSec: LOGIN_WINDOW_SEC },
    { key: accountAddressKey(email, ip), max: LOGIN_PER_ACCOUNT_ADDRESS, windowSec: LOGIN_WINDOW_SEC },
  ];
}

/** The wait before checking a password for an account with `failures` recent failed attempts. */
export function slowdownMs(failures: number): number {
  const over = failures - LOGIN_SLOWDOWN_FREE_FAILURES;
  if (over < 0) return 0;
  return Math.min(LOGIN_SLOWDOWN_MAX_MS, SLOWDOWN_FIRST_MS * 2 ** over);
}

/** The account's current slow-down in ms (0 for an account nobody is guessing at). */
export async function accountSlowdown(rl: RateLimiter, email: string): Promise<number> {
  return slowdownMs(await rl.count(accountFailuresKey(email)));
}

/** Counts a failed password against the account (for the slow-down only: never a refusal). */
export async function recordFailure(rl: RateLimiter, email: string): Promise<void> {
  await rl.hit([{ key: accountFailuresKey(email), max: Number.MAX_SAFE_INTEGER, windowSec: LOGIN_WINDOW_SEC }]);
}

/** After a successful login: this address starts afresh at this account. */
export async function recordSuccess(rl: RateLimiter, email: string, ip: string): Promise<void> {
  await rl.reset([accountAddressKey(email, ip)]);
}
