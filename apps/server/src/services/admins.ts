/**
 * Admin users: the first one from ADMIN_EMAIL/ADMIN_PASSWORD at start, or from the setup page
 * opened with a one-time setup token (packages/db repos/setup-tokens.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Env } from '@signals/config';
import { consumeSetupToken, discardSetupTokens, hashPassword, type PrismaClient } from '@signals/db';

export type FirstAdminResult = 'created' | 'exists' | 'bad-token';

/**
 * Creates the first admin when none exists. Serialized with an advisory lock so two processes (or
 * the env and the setup page) cannot both create one. With `setupToken`, the token is checked and
 * consumed in the same transaction: of two requests racing with one token, only one can win.
 * Every setup token is deleted once an admin exists.
 */
export async function createFirstAdmin(
  prisma: PrismaClient,
  email: string,
  password: string,
  opts: { setupToken?: string; now?: Date } = {},
): Promise<FirstAdminResult> {
  const passwordHash = await hashPassword(password);
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('signals:first-admin'))`;
    if ((await tx.adminUser.count()) > 0) return 'exists';
    if (opts.setupToken !== undefined && !(await consumeSetupToken(tx, opts.setupToken, opts.now))) return 'bad-token';
    await tx.adminUser.create({ data: { email: email.trim().toLowerCase(), passwordHash } });
    await discardSetupTokens(tx);
    return 'created';
  });
}

export async function ensureAdminFromEnv(prisma: PrismaClient, env: Env): Promise<'created' | 'exists' | 'unset'> {
  if (!env.ADMIN_EMAIL || !env.ADMIN_PASSWORD) return (await adminExists(prisma)) ? 'exists' : 'unset';
  if (await adminExists(prisma)) return 'exists';
  return (await createFirstAdmin(prisma, env.ADMIN_EMAIL, env.ADMIN_PASSWORD)) === 'created' ? 'created' : 'exists';
}

export async function adminExists(prisma: PrismaClient): Promise<boolean> {
  return (await prisma.adminUser.count()) > 0;
}

/**
 * The block the server prints on an interactive console when no admin exists: plain text, not a
 * log line, so it stands out in `npm start` output like Jenkins' initial password.
 */
export function setupBanner(url: string, expiresAt: Date): string {
  const rule = '='.repeat(78);
  return [
    '',
    rule,
    '  No admin account exists yet. Create it in your browser at this one-time URL:',
    '',
    `    ${url}`,
    '',
    `  It works once and until ${expiresAt.toISOString()} (24 h). Lost it? Run`,
    '  `pnpm cli setup-url` for a new one, or set ADMIN_EMAIL and ADMIN_PASSWORD and restart.',
    rule,
    '',
    '',
  ].join('\n');
}

/**
 * Hands the one-time setup URL to the operator, never to the log: written to `file` with mode
 * 0600 (its folder made 0700 when missing), the file's path logged; printed on `console` only
 * when it is a terminal (under compose or systemd stdout is the log stream). Returns where it went.
 */
export function publishSetupUrl(opts: {
  url: string;
  expiresAt: Date;
  file: string;
  console: { isTTY?: boolean; write(s: string): unknown };
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}): { file: string | null; console: boolean } {
  let written: string | null = null;
  try {
    fs.mkdirSync(path.dirname(opts.file), { recursive: true, mode: 0o700 });
    // A file left by another user or with wider rights is replaced, not reused.
    fs.rmSync(opts.file, { force: true });
    fs.writeFileSync(opts.file, `${opts.url}\n`, { mode: 0o600, flag: 'wx' });
    fs.chmodSync(opts.file, 0o600);
    written = opts.file;
  } catch (err) {
    opts.logger.error(
      { file: opts.file, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message },
      'no admin account yet, and the setup URL file could not be written: set SETUP_URL_FILE to a writable path, or run `pnpm cli setup-url` on the server',
    );
  }
  const tty = opts.console.isTTY === true;
  if (tty) opts.console.write(setupBanner(opts.url, opts.expiresAt));
  if (written) {
    opts.logger.warn(
      { file: written },
      `no admin account yet: the one-time setup URL is in ${written} (readable by this user only${tty ? '; also printed above' : ''}); \`pnpm cli setup-url\` makes a new one`,
    );
  }
  return { file: written, console: tty };
}
