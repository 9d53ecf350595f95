/**
 * `pnpm cli setup-url`: a new one-time URL for the first-admin setup page, for an operator who
 * lost the one the server printed at start. URLs printed earlier stay valid until they expire or
 * the admin is created (then every one of them dies). Nothing is printed once an admin exists.
 */
import { loadEnvOrExit, publicBaseUrl, redactUrl } from '@signals/config';
import { createPrisma, issueSetupToken, setupUrl } from '@signals/db';

/** Prints the URL on stdout; the exit code: 0 printed, 1 an admin exists or the database failed. */
export async function setupUrlCommand(): Promise<number> {
  const env = loadEnvOrExit();
  const prisma = createPrisma({ databaseUrl: env.DATABASE_URL, poolSize: 1 });
  try {
    if ((await prisma.adminUser.count()) > 0) {
      process.stderr.write(`An admin account exists: setup is closed. Log in at ${publicBaseUrl(env)}/admin/login.\n`);
      return 1;
    }
    const { token, expiresAt } = await issueSetupToken(prisma);
    process.stdout.write(
      `One-time setup URL (works once, until ${expiresAt.toISOString()}):\n\n  ${setupUrl(publicBaseUrl(env), token)}\n\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(
      `Could not reach the database at ${redactUrl(env.DATABASE_URL)} (is it migrated?): ${(err as Error).message}\n`,
    );
    return 1;
  } finally {
    await prisma.$disconnect();
  }
}
