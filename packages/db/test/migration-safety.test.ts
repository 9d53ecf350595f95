/**
 * Expand/contract: migrations after v0.15.0 must not lock a large table for long or break the
 * previous release, unless a `-- safe: <why>` line says why that statement is safe. And the facts
 * about the runner that the README states (no transaction around a migration, CREATE INDEX
 * CONCURRENTLY works, a ";" in a comment breaks the statement), checked on a real database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSchemaEngine, readMigrations } from '../src/migrate/engine.ts';
import { paths } from '../src/migrate/index.ts';
import { BASELINE_MIGRATION, checkMigrationSafety } from '../src/migrate/safety.ts';
import { createTestDb, type TestDb } from '../src/test-db.ts';

const problems = (sql: string) => checkMigrationSafety('x', sql).map((f) => f.problem);

describe('migration safety check (expand/contract)', () => {
  it('passes every migration newer than v0.15.0', () => {
    const all = readMigrations(paths().migrationsDir);
    expect(all.map((m) => m.name)).toContain(BASELINE_MIGRATION);
    const newer = all.filter((m) => m.name > BASELINE_MIGRATION);
    const findings = newer.flatMap((m) => checkMigrationSafety(m.name, m.sql));
    expect(
      findings,
      findings.map((f) => `${f.migration}: ${f.statement}\n  ${f.problem}`).join('\n') +
        '\nRewrite it expand/contract, or put a line `-- safe: <why>` just above the statement.',
    ).toEqual([]);
  });

  it('refuses each risky statement on a large table', () => {
    expect(problems('ALTER TABLE "QuoteSnapshot" ALTER COLUMN "price" SET DATA TYPE DECIMAL(24,6);')[0]).toMatch(
      /ALTER COLUMN \.\.\. TYPE rewrites QuoteSnapshot/,
    );
    expect(problems('ALTER TABLE "Delivery" ALTER COLUMN "lastError" SET NOT NULL;')[0]).toMatch(/SET NOT NULL scans/);
    expect(problems('ALTER TABLE "Alert" ADD COLUMN "note" TEXT NOT NULL;')[0]).toMatch(/NOT NULL without a DEFAULT/);
    expect(problems('CREATE INDEX "Delivery_x_idx" ON "Delivery"("createdAt");')[0]).toMatch(
      /CREATE INDEX without CONCURRENTLY blocks writes to Delivery/,
    );
    expect(
      problems(
        'ALTER TABLE "DeliveryAttempt" ADD CONSTRAINT "f" FOREIGN KEY ("deliveryId") REFERENCES "Delivery"("id");',
      )[0],
    ).toMatch(/without NOT VALID/);
    // Renames and drops break the previous release on any table, large or not.
    expect(problems('ALTER TABLE "Rule" RENAME COLUMN "name" TO "title";')[0]).toMatch(/RENAME breaks the previous/);
    expect(problems('ALTER TABLE "Setting" DROP COLUMN "createdAt";')[0]).toMatch(/DROP COLUMN/);
    expect(problems('DROP TABLE "Silence";')[0]).toMatch(/DROP TABLE/);
  });

  it('accepts the expand/contract forms, small tables, and a statement that says why it is safe', () => {
    expect(problems('CREATE INDEX CONCURRENTLY "Delivery_x_idx" ON "Delivery"("createdAt");')).toEqual([]);
    expect(problems('CREATE INDEX "Rule_x_idx" ON "Rule"("name");')).toEqual([]);
    expect(problems('ALTER TABLE "Alert" ADD COLUMN "note" TEXT NOT NULL DEFAULT \'\';')).toEqual([]);
    expect(problems('ALTER TABLE "Alert" ADD COLUMN "note" TEXT;')).toEqual([]);
    expect(problems('ALTER TABLE "Delivery" ADD CONSTRAINT "c" CHECK ("attempts" >= 0) NOT VALID;')).toEqual([]);
    expect(
      problems(
        '-- Adds the index.\n-- safe: the table is new in this release, empty on every install\nCREATE INDEX "LoopIncident_x" ON "LoopIncident"("loop");',
      ),
    ).toEqual([]);
    // A marker covers its own statement only.
    expect(
      problems(
        '-- safe: the table is new in this release, empty on every install\nCREATE INDEX "a" ON "Alert"("id");\nCREATE INDEX "b" ON "Alert"("subject");',
      ),
    ).toHaveLength(1);
    // A marker needs a reason.
    expect(problems('-- safe: ok\nCREATE INDEX "a" ON "Alert"("id");')).toHaveLength(1);
  });

  it('refuses a ";" in a comment or a string, which the runner would cut in two, marker or not', () => {
    expect(problems('-- safe: first; then second\nCREATE INDEX "a" ON "Rule"("id");')[0]).toMatch(/a ";" in a comment/);
    expect(problems(`UPDATE "Setting" SET value = 'a;b';`)[0]).toMatch(/inside a string/);
  });
});

describe('the migration runner (WASM schema engine through @prisma/adapter-pg)', () => {
  let db: TestDb;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-migrations-'));
  beforeAll(async () => {
    db = await createTestDb(); // already at the current migrations
    await db.prisma.$disconnect();
    const src = paths().migrationsDir;
    fs.cpSync(src, dir, { recursive: true });
  });
  afterAll(async () => {
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Applies the folder once; the error message, or undefined. */
  async function applyOnce(): Promise<string | undefined> {
    const engine = await openSchemaEngine({ databaseUrl: db.url, schemaPath: paths().schemaPath, migrationsDir: dir });
    try {
      await engine.apply(readMigrations(dir));
      return undefined;
    } catch (err) {
      return (err as Error).message;
    } finally {
      await engine.close();
    }
  }
  /** Applies the current migrations plus one more (`times` runs); the error messages. */
  async function applyExtra(name: string, sql: string, times = 1): Promise<(string | undefined)[]> {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'migration.sql'), sql);
    try {
      const errors = [];
      for (let i = 0; i < times; i++) errors.push(await applyOnce());
      return errors;
    } finally {
      // The next case starts from the folder without this one (and without its failed record).
      fs.rmSync(path.join(dir, name), { recursive: true });
      await query(`DELETE FROM _prisma_migrations WHERE migration_name = $1`, [name]);
    }
  }
  async function query(sql: string, params: unknown[] = []) {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query(sql, params)).rows;
    } finally {
      await c.end();
    }
  }

  it('runs CREATE INDEX CONCURRENTLY, also beside other statements (no transaction around a migration)', async () => {
    const [err] = await applyExtra(
      '29990101000001_cic',
      'ALTER TABLE "Setting" ADD COLUMN "drill1" TEXT;\nCREATE INDEX CONCURRENTLY "QuoteSnapshot_drill_idx" ON "QuoteSnapshot"("fetchedAt");\n',
    );
    expect(err).toBeUndefined();
    const idx = await query(`
      SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'QuoteSnapshot_drill_idx'`);
    expect(idx).toEqual([{ indisvalid: true }]);
  });

  it('is not atomic: when a statement fails, the ones before it stay applied, and the next run refuses', async () => {
    const [err, again] = await applyExtra(
      '29990101000002_fails',
      'ALTER TABLE "Setting" ADD COLUMN "drill2" TEXT;\nSELECT 1/0;\n',
      2,
    );
    expect(err).toMatch(/division by zero/);
    expect(again).toMatch(/found failed migrations in the target database/);
    const cols = await query(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'Setting' AND column_name = 'drill2'`,
    );
    expect(cols).toHaveLength(1);
  });

  it('cuts a statement at a ";" inside a comment', async () => {
    const [err] = await applyExtra(
      '29990101000003_comment',
      '-- first; then the column\nALTER TABLE "Setting" ADD COLUMN "drill3" TEXT;\n',
    );
    expect(err).toMatch(/syntax error/);
  });
});
