/**
 * Operator commands: `pnpm cli <command>` from the repository root.
 *   start      check services, create + migrate + seed the database, run server and worker
 *   migrate    create the database if missing and apply pending migrations
 *   seed       load the default watchlists, feeds and rules (idempotent)
 *   prepare    migrate + seed, as the run command does before it starts the processes (prepare.ts)
 *   backtest   run rules over stored or recorded history (see --help)
 *   setup-url, reset-password, end-sessions   the admin account (see usage below)
 *   backup     write the database to a file; restore: the other way (backup.ts)
 */
// Each command loads what it needs when it runs (the Prisma client, the schema engine, the backtest
// engine...): a one-shot command starts faster and the run command's process stays small.
import { loadEnvOrExit, redactUrl } from '@signals/config';
import { checkServices } from './preflight.ts';

const [command, ...rest] = process.argv.slice(2);

const usage = `usage: pnpm cli <command>

commands:
  start      check Postgres and Redis, create/migrate/seed the database, run server + worker
  migrate    create the database if it does not exist and apply pending migrations
  seed       load default watchlists, feeds and rules (safe to run again)
  prepare    create the database if missing, migrate and seed (what start does first)
  backtest   run rules over history: pnpm cli backtest --help
  setup-url  print a new one-time URL to create the first admin (none exists yet)
  reset-password <email>
             set a new admin password (asked on the terminal, or the first line of stdin);
             logs every session of the account out
  end-sessions <email>
             log every session of the admin account out
  backup     write the whole database to a file: pnpm cli backup <file>
  restore    restore a backup into DATABASE_URL: pnpm cli restore <file> [--force]
`;

/** migrate and seed need Postgres only. */
async function needPostgres(env: { DATABASE_URL: string }) {
  const problem = await checkServices({ databaseUrl: env.DATABASE_URL });
  if (problem) {
    process.stderr.write(`\n${problem}\n\n`);
    process.exit(1);
  }
}

async function main() {
  switch (command) {
    case 'start': {
      const env = loadEnvOrExit();
      const { start } = await import('./start.ts');
      await start(env);
      return;
    }
    case 'migrate': {
      const env = loadEnvOrExit();
      await needPostgres(env);
      const { createDatabaseIfMissing, migrate } = await import('@signals/db');
      if (await createDatabaseIfMissing(env.DATABASE_URL))
        console.log(`created database ${redactUrl(env.DATABASE_URL)}`);
      const applied = await migrate(env.DATABASE_URL);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      return;
    }
    case 'seed': {
      const env = loadEnvOrExit();
      await needPostgres(env);
      const { createPrisma } = await import('@signals/db');
      const prisma = createPrisma({ databaseUrl: env.DATABASE_URL, poolSize: 2 });
      try {
        const { loadSeeds } = await import('@signals/seeds');
        const r = await loadSeeds(prisma);
        console.log(
          `seeds loaded: ${r.watchlists} watchlists, ${r.instruments} instruments, ${r.feeds} feeds, ${r.rules} rules`,
        );
      } finally {
        await prisma.$disconnect();
      }
      return;
    }
    case 'prepare': {
      const env = loadEnvOrExit();
      await needPostgres(env);
      const { prepare } = await import('./prepare.ts');
      await prepare(env, (line) => process.stdout.write(`${line}\n`));
      return;
    }
    case 'setup-url':
      process.exitCode = await (await import('./setup-url.ts')).setupUrlCommand();
      return;
    case 'reset-password':
      process.exitCode = await (await import('./account.ts')).resetPasswordCommand(rest);
      return;
    case 'end-sessions':
      process.exitCode = await (await import('./account.ts')).endSessionsCommand(rest);
      return;
    case 'backup':
    case 'restore': {
      const env = loadEnvOrExit();
      const { backupCommand, restoreCommand } = await import('./backup.ts');
      process.exitCode = await (command === 'backup' ? backupCommand : restoreCommand)(rest, env);
      return;
    }
    case 'backtest': {
      const { backtestCommand } = await import('./backtest.ts');
      process.exitCode = await backtestCommand(rest);
      return;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return;
    default:
      process.stderr.write(`unknown command: ${command}\n\n${usage}`);
      process.exitCode = 2;
  }
}

main()
  .then(() => {
    // One-shot commands exit now (an idle pg socket of the migration engine would hold them ~10 s).
    if (command !== 'start') process.exit(process.exitCode ?? 0);
  })
  .catch((err) => {
    process.stderr.write(`${command} failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
