/**
 * Runs once per test run: makes sure a migrated template database exists for the current set of
 * migrations; each test file clones it (CREATE DATABASE ... TEMPLATE is a file copy: ~100 ms), so
 * tests isolate themselves and can run in any order, twice in a row, or from two runs at once.
 */
import pg from 'pg';
import { createDatabaseIfMissing, dropDatabase, migrate } from '@signals/db';
import { serverUrl, templateDbName } from './db.ts';

const KEEP_TEMPLATES = 10;

export default async function setup(): Promise<void> {
  const name = templateDbName();
  const admin = new pg.Client({ connectionString: serverUrl('postgres') });
  await admin.connect();
  try {
    // One builder at a time across concurrent test runs.
    await admin.query('SELECT pg_advisory_lock(hashtext($1))', ['signals_test_template']);
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!exists.rowCount) {
      const building = serverUrl(`${name}_building`);
      await dropDatabase(building);
      await createDatabaseIfMissing(building);
      await migrate(building);
      await admin.query(`ALTER DATABASE "${name}_building" RENAME TO "${name}"`);
      // Templates of older migration sets are no longer needed, but a run on another checkout
      // (another branch) may still clone its own: keep the newest few (OIDs grow with creation).
      const old = await admin.query(
        `SELECT datname FROM pg_database WHERE datname LIKE 'signals_tpl_%' AND datname NOT LIKE '%_building'
         ORDER BY oid DESC OFFSET ${KEEP_TEMPLATES}`,
      );
      for (const r of old.rows) await dropDatabase(serverUrl(r.datname));
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock(hashtext($1))', ['signals_test_template']).catch(() => {});
    await admin.end();
  }
}
