/**
 * Runs once per test run: makes sure a migrated template database exists for the current set of
 * migrations; each test file clones it (CREATE DATABASE ... TEMPLATE is a file copy: ~100 ms), so
 * tests isolate themselves and can run in any order, twice in a row, or from two runs at once.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDatabaseIfMissing, dropDatabase, migrate } from '@signals/db';
import { serverUrl, templateDbName } from './db.ts';

const KEEP_TEMPLATES = 10;

/**
 * Whether this run includes the upgrade drill: the whole suite (no file filter) or a filter that
 * names it. `filenamePattern` is vitest's own record of the command line's filters.
 */
function runsUpgradeDrill(project: TestProject | undefined): boolean {
  const filters = (project?.vitest as { filenamePattern?: string[] } | undefined)?.filenamePattern;
  return !filters?.length || filters.some((f) => 'apps/cli/test/upgrade-drill.test.ts'.includes(f));
}

export default async function setup(project?: TestProject): Promise<() => Promise<void>> {
  // A head start for the upgrade drill: the previous release installs (a minute or two on a fresh
  // clone; cached in the OS temp dir after that) in this process while the other files run. The
  // drill waits for it, or installs it itself (and reports why) if this attempt failed. A run
  // that ends first (the drill filtered out by -t) stops it at teardown rather than wait for it.
  const headStart = new AbortController();
  const installing = runsUpgradeDrill(project)
    ? import('../../../apps/cli/test/previous-release.ts')
        .then((m) => m.installPreviousRelease(undefined, headStart.signal))
        .then(() => {})
        .catch(() => {})
    : Promise.resolve();
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
  return async () => {
    headStart.abort();
    await installing;
  };
}
