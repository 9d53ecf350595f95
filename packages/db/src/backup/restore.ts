/**
 * Restores a backup into the database named by a URL:
 * 1. reads the whole file and checks it (header, every row, counts, SHA-256): a file that is not a
 *    backup, is truncated or damaged is refused before anything changes;
 * 2. checks its schema version against this code's migrations: a backup from a newer schema (a
 *    migration this code does not know) or one whose migration differs from ours is refused;
 * 3. checks the target: a database that does not exist is created; one that holds tables is
 *    refused unless `force` (then everything in its schema is dropped); one that other clients are
 *    connected to is refused (stop the server and the workers first);
 * 4. builds the schema exactly as it was (the backup's migrations, from this code's files), then
 *    loads every row in ONE transaction, foreign keys checked once at the end, sequences set;
 * 5. leaves the schema at the backup's version: the next `migrate` (and every start) applies the
 *    newer migrations, as after any upgrade.
 * When a step after 3 fails, a database this created is dropped again.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { openSchemaEngine, pgConfigFromUrl, readMigrations } from '../migrate/engine.ts';
import { createDatabaseIfMissing, dropDatabase } from '../migrate/index.ts';
import { type ArchiveEvent, type BackupHeader, BackupRefusedError, readArchive } from './archive.ts';
import { appTables, quoteIdent } from './dump.ts';

export interface InspectResult {
  header: BackupHeader;
  tables: Record<string, number>;
}

/** Reads and checks the whole file without touching a database. */
export async function inspectBackup(file: string): Promise<InspectResult> {
  let header: BackupHeader | undefined;
  for await (const e of readArchive(file)) {
    if (e.kind === 'header') header = e.header;
    if (e.kind === 'end' && header) return { header, tables: e.trailer.tables };
  }
  throw new BackupRefusedError('truncated', `${file} ends early (truncated)`);
}

export interface RestoreOptions {
  databaseUrl: string;
  file: string;
  /** Replace what the target holds (everything in its schema is dropped first). */
  force?: boolean;
  schemaPath: string;
  migrationsDir: string;
  log?: (line: string) => void;
}

export interface RestoreSummary {
  header: BackupHeader;
  tables: Record<string, number>;
  created: boolean;
  /** This code's migrations newer than the backup's schema: the next migrate applies them. */
  pendingMigrations: string[];
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function adminUrl(url: string): string {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

function dbName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** Step 2: which of this code's migrations to replay, and which are newer than the backup. */
export function planMigrations(header: BackupHeader, migrationsDir: string) {
  const ours = readMigrations(migrationsDir);
  const byName = new Map(ours.map((m) => [m.name, m]));
  const unknown = header.migrations.filter((m) => !byName.has(m.name));
  if (unknown.length)
    throw new BackupRefusedError(
      'newer-schema',
      `this backup is from a newer schema than this release knows: it has ${unknown.length} migration(s) this code does not (${unknown
        .map((m) => m.name)
        .join(
          ', ',
        )}). It was written by market-signals ${header.app.version}: restore it with that release or a newer one.`,
    );
  const changed = header.migrations.filter((m) => sha256(byName.get(m.name)?.sql ?? '') !== m.checksum);
  if (changed.length)
    throw new BackupRefusedError(
      'changed-migration',
      `migration ${changed.map((m) => m.name).join(', ')} in this backup differs from the file of the same name in prisma/migrations: ` +
        `restore it with the release that wrote it (market-signals ${header.app.version}).`,
    );
  const inBackup = new Set(header.migrations.map((m) => m.name));
  return {
    replay: ours.filter((m) => inBackup.has(m.name)),
    pending: ours.filter((m) => !inBackup.has(m.name)).map((m) => m.name),
  };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ ...pgConfigFromUrl(url), application_name: 'market-signals restore' });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/** Step 3: does the target exist, what does it hold, who else is connected. */
async function examineTarget(url: string) {
  const exists = await withClient(adminUrl(url), async (c) => {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName(url)]);
    return (r.rowCount ?? 0) > 0;
  });
  if (!exists) return { exists, relations: [] as string[], others: 0, schema: 'public' };
  return withClient(url, async (c) => {
    const schema = (await c.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s ?? 'public';
    const rel = await c.query<{ name: string }>(`
      SELECT c.relname AS name FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') ORDER BY c.relname`);
    const others = await c.query<{ n: number }>(`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`);
    return { exists, relations: rel.rows.map((r) => r.name), others: others.rows[0]?.n ?? 0, schema };
  });
}

export async function restoreBackup(o: RestoreOptions): Promise<RestoreSummary> {
  const log = o.log ?? (() => {});
  const target = dbName(o.databaseUrl);

  // 1 and 2: nothing changes before the file and its schema version are known to be good.
  const { header, tables } = await inspectBackup(o.file);
  log(
    `backup of market-signals ${header.app.version}, ${header.createdAt}, schema ${header.migrations.at(-1)?.name ?? '(none)'}: ` +
      `${Object.keys(tables).length} tables, ${Object.values(tables).reduce((a, b) => a + b, 0)} rows; checksum ok`,
  );
  const plan = planMigrations(header, o.migrationsDir);

  // 3.
  const t = await examineTarget(o.databaseUrl);
  if (t.others > 0)
    throw new BackupRefusedError(
      'in-use',
      `${t.others} other connection(s) are open to database ${target}: stop the server and the workers (and any other client) before restoring into it.`,
    );
  if (t.relations.length > 0 && !o.force)
    throw new BackupRefusedError(
      'not-empty',
      `database ${target} is not empty (${t.relations.length} tables and sequences, e.g. ${t.relations.slice(0, 3).join(', ')}). ` +
        'Restore into a new database (set DATABASE_URL to a name that does not exist yet: it is created), ' +
        'or pass --force to drop everything in it and replace it with the backup.',
    );

  // 4. From here on the target changes.
  let created = false;
  try {
    if (!t.exists) created = await createDatabaseIfMissing(o.databaseUrl);
    if (t.relations.length > 0) {
      log(`--force: dropping everything in database ${target}`);
      await withClient(o.databaseUrl, (c) =>
        c.query(`DROP SCHEMA ${quoteIdent(t.schema)} CASCADE; CREATE SCHEMA ${quoteIdent(t.schema)}`),
      );
    }
    const engine = await openSchemaEngine({
      databaseUrl: o.databaseUrl,
      schemaPath: o.schemaPath,
      migrationsDir: o.migrationsDir,
    });
    try {
      await engine.apply(plan.replay);
    } finally {
      await engine.close();
    }
    log(`schema built at ${header.migrations.at(-1)?.name} (${plan.replay.length} migrations)`);
    await withClient(o.databaseUrl, (c) => loadRows(c, o.file, header, log));
    await withClient(o.databaseUrl, (c) => c.query('ANALYZE'));
  } catch (err) {
    // A database this created goes again: then nothing was changed, and a refusal stays one.
    if (created) {
      await dropDatabase(o.databaseUrl).catch(() => {});
      throw err;
    }
    const state = t.relations.length
      ? `database ${target} was emptied by --force and is left without the backup's data: restore again`
      : `database ${target} may hold part of the schema now: restore again with --force`;
    throw new Error(`${(err as Error).message} (${state})`);
  }
  return { header, tables, created, pendingMigrations: plan.pending };
}

/** Every row in one transaction: foreign keys are dropped, the rows copied, the keys added back (checked). */
async function loadRows(c: pg.Client, file: string, header: BackupHeader, log: (line: string) => void) {
  await c.query('BEGIN');
  try {
    const present = new Map((await appTables(c)).map((t) => [t.name, new Set(t.columns)]));
    const fks = await c.query<{ tbl: string; name: string; def: string }>(`
      SELECT cl.relname AS tbl, co.conname AS name, pg_get_constraintdef(co.oid) AS def
      FROM pg_constraint co
      JOIN pg_class cl ON cl.oid = co.conrelid
      JOIN pg_namespace n ON n.oid = cl.relnamespace AND n.nspname = current_schema()
      WHERE co.contype = 'f'`);
    for (const fk of fks.rows)
      await c.query(`ALTER TABLE ${quoteIdent(fk.tbl)} DROP CONSTRAINT ${quoteIdent(fk.name)}`);

    // Loaded by the restore itself: the server and the worker never hold it.
    const { from: copyFrom } = await import('pg-copy-streams');
    let copy: { stream: Writable; done: Promise<void> } | undefined;
    for await (const e of readArchive(file) as AsyncIterable<ArchiveEvent>) {
      if (e.kind === 'table') {
        const have = present.get(e.table.name);
        const missing = have ? e.table.columns.filter((col) => !have.has(col)) : ['(the table)'];
        if (missing.length)
          throw new BackupRefusedError(
            'schema-mismatch',
            `the backup's table ${e.table.name} does not fit the schema its migrations build (missing: ${missing.join(', ')})`,
          );
        const cols = e.table.columns.map(quoteIdent).join(', ');
        const stream = c.query(copyFrom(`COPY ${quoteIdent(e.table.name)} (${cols}) FROM STDIN`));
        const done = finished(stream);
        done.catch(() => {}); // awaited at the table's end, or by the race below
        copy = { stream, done };
      } else if (e.kind === 'rows' && copy) {
        if (!copy.stream.write(e.data)) await Promise.race([once(copy.stream, 'drain'), copy.done]);
      } else if (e.kind === 'tableEnd' && copy) {
        copy.stream.end();
        await copy.done;
        copy = undefined;
        if (e.rows) log(`  ${e.table}: ${e.rows} rows`);
      } else if (e.kind === 'end') {
        for (const s of header.sequences) {
          const exists = await c.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [quoteIdent(s.name)]);
          if (exists.rows[0]?.ok)
            await c.query('SELECT setval($1::regclass, $2::bigint, $3)', [quoteIdent(s.name), s.lastValue, s.isCalled]);
        }
        for (const fk of fks.rows)
          await c.query(`ALTER TABLE ${quoteIdent(fk.tbl)} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.def}`);
        await c.query('COMMIT');
        return;
      }
    }
    throw new BackupRefusedError('truncated', `${file} ends early (truncated)`);
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
