/**
 * One-time tokens that open the first-admin setup page (`/admin/setup?token=...`), printed on the
 * console when a server starts without an admin (as Jenkins prints its initial admin password) or
 * by `pnpm cli setup-url`. Only the sha256 is kept, as a Setting row `setup_token:<sha256>` whose
 * value is the expiry. Each server start and each CLI call adds a token and leaves the others
 * valid, so a second server process (or a restart) never silently breaks the URL another printed.
 * Creating the admin consumes the token presented and deletes every other one in the same
 * transaction (see `consumeSetupToken`).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/client.ts';
import type { Tx } from './outbox.ts';

const KEY_PREFIX = 'setup_token:';
/** A setup URL works for a day: long enough to reach a console, short enough that an old log is harmless. */
export const SETUP_TOKEN_TTL_MS = 24 * 3600_000;
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

const keyOf = (token: string) => `${KEY_PREFIX}${createHash('sha256').update(token).digest('hex')}`;

/** Makes a new token (and drops expired ones). The token itself is returned once and never stored. */
export async function issueSetupToken(
  prisma: PrismaClient,
  now = new Date(),
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SETUP_TOKEN_TTL_MS);
  const expired = (await prisma.setting.findMany({ where: { key: { startsWith: KEY_PREFIX } } })).filter(
    (r) => !(Date.parse(r.value) > now.getTime()),
  );
  if (expired.length) await prisma.setting.deleteMany({ where: { key: { in: expired.map((r) => r.key) } } });
  await prisma.setting.create({ data: { key: keyOf(token), value: expiresAt.toISOString(), createdAt: now } });
  return { token, expiresAt };
}

/** True when the token was issued, is unused and has not expired. */
export async function isSetupTokenValid(prisma: Tx, token: string, now = new Date()): Promise<boolean> {
  if (!TOKEN_RE.test(token)) return false;
  const row = await prisma.setting.findUnique({ where: { key: keyOf(token) } });
  return !!row && Date.parse(row.value) > now.getTime();
}

/**
 * Inside the transaction that creates the first admin: true when the token is valid, and then
 * every setup token is deleted, so a token works once and a second request racing the first
 * (serialized by the caller's lock) finds none.
 */
export async function consumeSetupToken(tx: Tx, token: string, now = new Date()): Promise<boolean> {
  if (!(await isSetupTokenValid(tx, token, now))) return false;
  await discardSetupTokens(tx);
  return true;
}

/** Deletes every setup token (an admin exists: setup is closed for good). */
export async function discardSetupTokens(prisma: Tx): Promise<void> {
  await prisma.setting.deleteMany({ where: { key: { startsWith: KEY_PREFIX } } });
}

/** The URL of the setup page for a token. */
export function setupUrl(baseUrl: string, token: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/admin/setup?token=${token}`;
}
