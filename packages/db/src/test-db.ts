/**
 * Test databases: a fresh, migrated database per test (a clone of the template database that the
 * test run's global setup migrates). In @signals/db (subpath `@signals/db/testing`, never imported
 * by the product) so the database package's own tests need no @signals/testing, which depends on it.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createPrisma, type PrismaClient } from './client.ts';
import { dropDatabase, paths as repoPaths } from './migrate/index.ts';

/** The Postgres server tests use: TEST_DATABASE_URL's server, else the machine's default. */
const BASE = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/signals_test';

/** Name of the template database for the current migrations (changes when a migration does). */
export function templateDbName(): string {
  const dir = repoPaths().migrationsDir;
  const h = createHash('sha256');
  for (const name of fs.readdirSync(dir).sort()) {
    const f = path.join(dir, name, 'migration.sql');
    if (fs.existsSync(f)) h.update(name).update(fs.readFileSync(f));
  }
  return `signals_tpl_${h.digest('hex').slice(0, 12)}`;
}

export function serverUrl(db: string): string {
  const u = new URL(BASE);
  u.pathname = `/${db}`;
  return u.toString();
}

export interface TestDb {
  url: string;
  name: string;
  prisma: PrismaClient;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own for one test file (clone of the template). */
export async function createTestDb(): Promise<TestDb> {
  const name = `signals_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl('postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${templateDbName()}"`);
  } finally {
    await admin.end();
  }
  const url = serverUrl(name);
  const prisma = createPrisma({ databaseUrl: url, poolSize: 5 });
  return {
    url,
    name,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await dropDatabase(url);
    },
  };
}
