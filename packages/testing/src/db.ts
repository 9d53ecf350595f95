import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createPrisma, dropDatabase, repoPaths, type PrismaClient } from '@signals/db';

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

/**
 * A unique BullMQ prefix (and Redis key space) for one test. It is a hash tag, as QUEUE_PREFIX must
 * be on a Redis Cluster, so the same tests run on one Redis and on a cluster.
 */
export function testPrefix(label = 't'): string {
  return `{test:${label}:${process.pid}:${randomBytes(4).toString('hex')}}`;
}

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
