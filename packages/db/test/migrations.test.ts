import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, pendingSchemaChange } from '@signals/db';
import { createTestDb, type TestDb } from '../src/test-db.ts';

describe('migrations', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('schema.prisma and prisma/migrations agree (run `pnpm db:diff <name>` after a schema change)', async () => {
    const pending = await pendingSchemaChange(db.url);
    expect(pending, `schema.prisma has changes no migration holds:\n${pending}`).toBe('');
  });

  it('applying the migrations again is a no-op, and they are recorded in _prisma_migrations', async () => {
    expect(await migrate(db.url)).toEqual([]);
    const rows = await db.prisma.$queryRaw<{ migration_name: string; finished_at: Date | null }[]>`
      SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name`;
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.finished_at).not.toBeNull();
  });

  it('the client reads and writes through the driver adapter', async () => {
    const i = await db.prisma.instrument.create({ data: { symbol: 'NVDA', aliases: ['Nvidia'] } });
    const back = await db.prisma.instrument.findUniqueOrThrow({ where: { id: i.id } });
    expect(back.aliases).toEqual(['Nvidia']);
    expect(back.freshness).toBe('unknown');
  });
});
