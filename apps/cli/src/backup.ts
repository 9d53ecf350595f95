/**
 * `pnpm cli backup <file>` and `pnpm cli restore <file> [--force]`: a logical backup of the
 * service's PostgreSQL database through the database connection (COPY), so it works the same with
 * the machine's PostgreSQL, the embedded one of a bare machine and inside the Docker image, none of
 * which needs pg_dump of the server's major version. Redis is not backed up: it holds only work
 * that the outbox in Postgres re-creates (deliveries) and schedules the worker re-creates.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { APP_NAME, appVersion, type Env, isSet, redactUrl } from '@signals/config';
import { BackupRefusedError, repoPaths, restoreBackup, writeBackup } from '@signals/db';
import { type EmbeddedService, startKept } from './embedded.ts';
import { checkServices, hostPort, probeServices } from './preflight.ts';

const say = (line: string) => process.stderr.write(`${line}\n`);

const backupUsage = `usage: pnpm cli backup <file>     (- writes to standard output)

Writes every table of DATABASE_URL's database, in one consistent snapshot, to <file>
(gzip, mode 0600: it holds password hashes and webhook secrets). Safe while the service runs.`;

const restoreUsage = `usage: pnpm cli restore <file> [--force]     (- reads standard input)

Restores a backup into DATABASE_URL's database: created when it does not exist; a database that
holds tables is refused unless --force (which drops everything in it first). Stop the server and
the workers first. The next start (or \`pnpm cli migrate\`) applies newer migrations.`;

/**
 * Runs `fn` with Postgres: the configured one, or on a bare machine (DATABASE_URL unset, nothing
 * at the default address) the embedded one of the run command, on its data, for this command only.
 */
async function withPostgres<T>(env: Env, fn: () => Promise<T>): Promise<T> {
  const up = await probeServices({ databaseUrl: env.DATABASE_URL });
  let embedded: EmbeddedService | undefined;
  if (!up.postgres) {
    if (isSet('DATABASE_URL')) {
      say(`\n${await checkServices({ databaseUrl: env.DATABASE_URL })}\n`);
      process.exit(1);
    }
    const root = repoPaths().root;
    const dataDir = path.resolve(env.DATA_DIR ?? path.join(root, '.data'));
    say('No PostgreSQL answers and DATABASE_URL is unset: starting the embedded one for this command.');
    embedded = await startKept(
      { kind: 'postgres', dir: path.join(dataDir, 'postgres'), port: hostPort(env.DATABASE_URL, 5432).port },
      { cwd: root },
    );
  }
  try {
    return await fn();
  } finally {
    await embedded?.stop();
  }
}

export async function backupCommand(args: string[], env: Env): Promise<number> {
  const [file, ...extra] = args;
  if (!file || file === '--help' || file === '-h' || extra.length) {
    say(backupUsage);
    return file === '--help' || file === '-h' ? 0 : 2;
  }
  const toStdout = file === '-';
  const partial = `${file}.partial`;
  return withPostgres(env, async () => {
    const out = toStdout ? process.stdout : fs.createWriteStream(partial, { mode: 0o600 });
    try {
      const { header, trailer } = await writeBackup({
        databaseUrl: env.DATABASE_URL,
        out,
        app: { name: APP_NAME, version: appVersion() },
      });
      // Only a complete file gets the name: a cron job killed midway leaves no truncated backup there.
      if (!toStdout) fs.renameSync(partial, file);
      const rows = Object.values(trailer.tables).reduce((a, b) => a + b, 0);
      say(
        `backup of ${redactUrl(env.DATABASE_URL)} written${toStdout ? ' to standard output' : ` to ${file}`}: ` +
          `${Object.keys(trailer.tables).length} tables, ${rows} rows, schema ${header.migrations.at(-1)?.name}, market-signals ${header.app.version}`,
      );
      return 0;
    } catch (err) {
      if (!toStdout) fs.rmSync(partial, { force: true });
      say(`backup failed: ${(err as Error).message}`);
      return 1;
    }
  });
}

/** A backup on standard input is kept in a private temp file: restore reads it twice (check, then load). */
async function spoolStdin(): Promise<{ file: string; cleanup(): void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-restore-'));
  const file = path.join(dir, 'stdin.backup');
  await pipeline(process.stdin, fs.createWriteStream(file, { mode: 0o600 }));
  return { file, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export async function restoreCommand(args: string[], env: Env): Promise<number> {
  const force = args.includes('--force');
  const rest = args.filter((a) => a !== '--force');
  const [file, ...extra] = rest;
  if (!file || file === '--help' || file === '-h' || extra.length) {
    say(restoreUsage);
    return file === '--help' || file === '-h' ? 0 : 2;
  }
  if (file !== '-' && !fs.existsSync(file)) {
    say(`restore refused: ${file} does not exist. Nothing was changed.`);
    return 1;
  }
  const spooled = file === '-' ? await spoolStdin() : undefined;
  try {
    return await withPostgres(env, async () => {
      try {
        const r = await restoreBackup({
          databaseUrl: env.DATABASE_URL,
          file: spooled?.file ?? file,
          force,
          ...repoPaths(),
          log: say,
        });
        say(
          `restored into ${redactUrl(env.DATABASE_URL)}${r.created ? ' (created)' : ''}: ` +
            `${Object.values(r.tables).reduce((a, b) => a + b, 0)} rows at schema ${r.header.migrations.at(-1)?.name}.`,
        );
        if (r.pendingMigrations.length)
          say(
            `${r.pendingMigrations.length} newer migration(s) of this release are not applied yet; the next start ` +
              '(or `pnpm cli migrate`) applies them.',
          );
        return 0;
      } catch (err) {
        if (err instanceof BackupRefusedError) {
          say(`restore refused: ${err.message} Nothing was changed.`);
          return 1;
        }
        say(`restore failed: ${(err as Error).message}`);
        return 1;
      }
    });
  } finally {
    spooled?.cleanup();
  }
}
