/** Admin users: the first one from ADMIN_EMAIL/ADMIN_PASSWORD at start, or from the setup page. */
import type { Env } from '@signals/config';
import type { PrismaClient } from '@signals/db';
import { hashPassword } from '../security/password.ts';

/**
 * Creates the first admin when none exists. Serialized with an advisory lock so two processes (or
 * the env and the setup page) cannot both create one. Returns whether it created one.
 */
export async function createFirstAdmin(prisma: PrismaClient, email: string, password: string): Promise<boolean> {
  const passwordHash = await hashPassword(password);
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('signals:first-admin'))`;
    if ((await tx.adminUser.count()) > 0) return false;
    await tx.adminUser.create({ data: { email: email.trim().toLowerCase(), passwordHash } });
    return true;
  });
}

export async function ensureAdminFromEnv(prisma: PrismaClient, env: Env): Promise<'created' | 'exists' | 'unset'> {
  if (!env.ADMIN_EMAIL || !env.ADMIN_PASSWORD) return (await prisma.adminUser.count()) > 0 ? 'exists' : 'unset';
  if ((await prisma.adminUser.count()) > 0) return 'exists';
  return (await createFirstAdmin(prisma, env.ADMIN_EMAIL, env.ADMIN_PASSWORD)) ? 'created' : 'exists';
}

export async function adminExists(prisma: PrismaClient): Promise<boolean> {
  return (await prisma.adminUser.count()) > 0;
}
