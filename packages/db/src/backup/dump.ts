/**
 * Writes a backup of a running database: every table of the app's schema in one consistent
 * snapshot (a REPEATABLE READ, READ ONLY transaction, as pg_dump takes), while the server and
 * the workers go on writing. Needs no client tools: rows leave through COPY ... TO STDOUT.
 */
import type { Writable } from 'node:stream';
import pg from 'pg';
import { pgConfigFromUrl } from '../migrate/engine.ts';
import { ArchiveWriter, type BackupHeader, type BackupTrailer } from './archive.ts';

export interface BackupOptions {
  databaseUrl: string;
  out: Writable;
  app: { name: string; version: string };
  /** Called after each table, for progress lines. */
  onTable?: (name: string, rows: number) => void;
}

export interface BackupSummary {
  header: BackupHeader;
  trailer: BackupTrailer;
}

export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The tables of the schema the app uses (Prisma's default: the connection's current schema). */
export async function appTables(client: pg.Client): Promise<{ name: string; columns: string[] }[]> {
  const r = await client.query<{ name: string; columns: string[] }>(`
    SELECT c.relname AS name,
           array_agg(a.attname::text ORDER BY a.attnum) AS columns
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> '_prisma_migrations'
    GROUP BY c.relname
    ORDER BY c.relname`);
  return r.rows;
}

/** Applied migrations, in the order the runner applies them (by name). */
export async function appliedMigrations(client: pg.Client): Promise<{ name: string; checksum: string }[]> {
  const exists = await client.query(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return [];
  const unfinished = await client.query<{ name: string }>(
    `SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NULL AND rolled_back_at IS NULL`,
  );
  if (unfinished.rows.length)
    throw new Error(
      `migration ${unfinished.rows.map((r) => r.name).join(', ')} failed or is still running in this database: ` +
        'a backup now would not restore. Let the migration finish (or resolve the failed one), then back up.',
    );
  const r = await client.query<{ name: string; checksum: string }>(`
    SELECT migration_name AS name, checksum FROM _prisma_migrations
    WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`);
  return r.rows;
}

export async function writeBackup(o: BackupOptions): Promise<BackupSummary> {
  const client = new pg.Client({ ...pgConfigFromUrl(o.databaseUrl), application_name: 'market-signals backup' });
  await client.connect();
  try {
    // One snapshot for every table: the outbox rows, their alerts and the rule states agree.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const migrations = await appliedMigrations(client);
    if (migrations.length === 0)
      throw new Error('this database has no applied migrations: it is not a market-signals database (or is empty)');
    const tables = await appTables(client);
    const version = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    // Read after the snapshot is taken: each is at least the largest id the snapshot holds.
    const seqNames = await client.query<{ name: string }>(`
      SELECT c.relname AS name FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
      WHERE c.relkind = 'S' ORDER BY c.relname`);
    const sequences: BackupHeader['sequences'] = [];
    for (const { name } of seqNames.rows) {
      const s = await client.query<{ last_value: string; is_called: boolean }>(
        `SELECT last_value::text, is_called FROM ${quoteIdent(name)}`,
      );
      const row = s.rows[0];
      if (row) sequences.push({ name, lastValue: row.last_value, isCalled: row.is_called });
    }
    const header: BackupHeader = {
      app: o.app,
      createdAt: new Date().toISOString(),
      postgres: version.rows[0]?.v ?? 'unknown',
      migrations,
      sequences,
    };
    // Loaded by the backup itself: the server and the worker never hold it.
    const { to: copyTo } = await import('pg-copy-streams');
    const w = new ArchiveWriter(o.out);
    await w.header(header);
    for (const t of tables) {
      const cols = t.columns.map(quoteIdent).join(', ');
      const stream = client.query(copyTo(`COPY (SELECT ${cols} FROM ${quoteIdent(t.name)}) TO STDOUT`));
      const n = await w.table(t, stream);
      o.onTable?.(t.name, n);
    }
    const trailer = await w.end();
    await client.query('COMMIT');
    return { header, trailer };
  } finally {
    await client.end().catch(() => {});
  }
}
