import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { isEmptyDiff, openSchemaEngine, readMigrations } from './engine.ts';

export { isEmptyDiff, openSchemaEngine, readMigrations } from './engine.ts';

/** Repository paths, found from this file (packages/db/src/migrate). */
export function paths() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
  return {
    root,
    schemaPath: path.join(root, 'prisma/schema.prisma'),
    migrationsDir: path.join(root, 'prisma/migrations'),
  };
}

/** Creates the database named in `url` when it does not exist. Returns true if it created it. */
export async function createDatabaseIfMissing(url: string): Promise<boolean> {
  const u = new URL(url);
  const dbName = decodeURIComponent(u.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  admin.search = '';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (r.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE "${dbName.replaceAll('"', '""')}"`);
    } catch (err) {
      // Two processes racing to create it: the other one won, which is fine.
      if ((err as { code?: string }).code !== '42P04') throw err;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

/** Applies every migration not yet applied. Running it twice is a no-op. */
export async function migrate(url: string): Promise<string[]> {
  const p = paths();
  // Every start of the run command lands here: when the database already has exactly these
  // migrations, applied and unchanged, the schema engine (WebAssembly, ~1-3 s to load) is not needed.
  if (await allApplied(url, readMigrations(p.migrationsDir))) return [];
  const engine = await openSchemaEngine({ databaseUrl: url, ...p });
  try {
    return await engine.apply(readMigrations(p.migrationsDir));
  } finally {
    await engine.close();
  }
}

/**
 * True when `_prisma_migrations` holds exactly the migrations of the folder, each finished, not
 * rolled back, with the checksum (sha256 of migration.sql) Prisma recorded, and no failed one.
 * Anything else (a new database, a pending, failed, edited or unknown migration) is the engine's
 * to apply or to refuse with its own message.
 */
async function allApplied(url: string, migrations: { name: string; sql: string }[]): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const r = await client.query<{ migration_name: string; checksum: string; done: boolean }>(
      `SELECT migration_name, checksum, finished_at IS NOT NULL AND rolled_back_at IS NULL AS done
       FROM _prisma_migrations WHERE rolled_back_at IS NULL`,
    );
    if (r.rows.length !== migrations.length || r.rows.some((row) => !row.done)) return false;
    const recorded = new Map(r.rows.map((row) => [row.migration_name, row.checksum]));
    return migrations.every((m) => recorded.get(m.name) === createHash('sha256').update(m.sql).digest('hex'));
  } catch {
    return false; // no table yet, or anything unexpected: the engine decides
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * SQL that schema.prisma needs beyond prisma/migrations ('' when they agree).
 * The engine replays the migrations into the database it is connected to (its "shadow"), so this
 * always runs against a throw-away database on the same server, never the one in `url`.
 */
export async function pendingSchemaChange(url: string): Promise<string> {
  const p = paths();
  const shadow = new URL(url);
  const shadowName = `${decodeURIComponent(shadow.pathname.slice(1))}_shadow_${process.pid}_${Date.now().toString(36)}`;
  shadow.pathname = `/${shadowName}`;
  await createDatabaseIfMissing(shadow.toString());
  try {
    const engine = await openSchemaEngine({ databaseUrl: shadow.toString(), ...p, shadowIsSelf: true });
    try {
      const migrations = readMigrations(p.migrationsDir);
      const sql = migrations.length ? await engine.diffFromMigrations(migrations) : await engine.diffFromEmpty();
      return isEmptyDiff(sql) ? '' : sql;
    } finally {
      await engine.close();
    }
  } finally {
    await dropDatabase(shadow.toString());
  }
}

/** Drops the database named in `url` (closing other connections to it). */
export async function dropDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const dbName = decodeURIComponent(u.pathname.slice(1));
  u.pathname = '/postgres';
  u.search = '';
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${dbName.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Writes prisma/migrations/<timestamp>_<name>/migration.sql from the schema change; null if none. */
export async function writeNextMigration(url: string, name: string, now = new Date()): Promise<string | null> {
  const sql = await pendingSchemaChange(url);
  if (!sql) return null;
  const p = paths();
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const dir = path.join(p.migrationsDir, `${stamp}_${name}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'migration.sql'), `${sql}\n`);
  const lock = path.join(p.migrationsDir, 'migration_lock.toml');
  if (!fs.existsSync(lock)) {
    fs.writeFileSync(
      lock,
      '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
    );
  }
  return dir;
}
