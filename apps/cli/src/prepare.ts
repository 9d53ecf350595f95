/**
 * `pnpm cli prepare`: what the run command does to the database before it starts the server and
 * the worker: create it when missing, apply pending migrations, load the seeds (idempotent). The
 * run command runs it as a child process, so the WebAssembly schema engine and the Prisma client it
 * loads leave with it instead of staying in the long-lived supervisor.
 */
import type { Env } from '@signals/config';
import { redactUrl } from '@signals/config';
import { createDatabaseIfMissing, createPrisma, migrate } from '@signals/db';

export async function prepare(env: Env, say: (line: string) => void): Promise<void> {
  if (await createDatabaseIfMissing(env.DATABASE_URL)) say(`Created database ${redactUrl(env.DATABASE_URL)}`);
  const applied = await migrate(env.DATABASE_URL);
  say(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database schema is up to date');
  const prisma = createPrisma({ databaseUrl: env.DATABASE_URL, poolSize: 2 });
  try {
    const { loadSeeds } = await import('@signals/seeds');
    const r = await loadSeeds(prisma);
    say(`Seeds loaded: ${r.watchlists} watchlists, ${r.instruments} instruments, ${r.feeds} feeds, ${r.rules} rules`);
  } finally {
    await prisma.$disconnect();
  }
}
