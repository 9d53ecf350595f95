/**
 * `pnpm cli backup` / `pnpm cli restore` on the machine's PostgreSQL: a round trip keeps every
 * row exactly (awkward text, JSON, arrays, decimals, a self-reference, sequences), and restore
 * refuses, changing nothing, a file that is not a backup, a truncated or damaged one, one from a
 * newer schema, a non-empty target (unless --force) and a target in use.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '@signals/db';
import { createTestDb, serverUrl, type TestDb } from '@signals/testing';
import { cli, databaseExists, digest } from './ops-helpers.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-backup-test-'));
const targets: string[] = [];
/** A database name on the test server that does not exist yet (dropped after the file). */
function newTarget(label: string): string {
  const url = serverUrl(`signals_restore_${process.pid}_${label}_${randomBytes(3).toString('hex')}`);
  targets.push(url);
  return url;
}

async function fill(db: TestDb) {
  const p = db.prisma;
  const inst = await p.instrument.create({
    data: {
      symbol: 'NVDA',
      name: 'NVIDIA "Corp"\tTab\\Backslash\nNewline — ünïcödé 🚀',
      aliases: ['Nvidia', 'a,b', 'q"uote', ''],
    },
  });
  const wl = await p.watchlist.create({ data: { slug: `wl-${randomBytes(3).toString('hex')}`, name: 'AI' } });
  await p.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: inst.id } });
  const rule = await p.rule.create({
    data: {
      name: 'Fall',
      kind: 'pct_move',
      params: { sessions: 1, thresholdPct: 7.5, direction: 'down', nested: { list: [1, null, 'x\\y'] } },
      watchlistId: wl.id,
      symbols: ['NVDA', 'with space', 'NULL'],
    },
  });
  for (let i = 0; i < 50; i++)
    await p.quoteSnapshot.create({
      data: {
        instrumentId: inst.id,
        price: `123.${String(i).padStart(6, '0')}`,
        volume: 9_007_199_254_740_993n + BigInt(i),
        sourceAt: new Date(Date.UTC(2025, 0, 27, 14, i)),
        fetchedAt: new Date(Date.UTC(2025, 0, 27, 14, i, 1)),
      },
    });
  const first = await p.alert.create({
    data: {
      dedupKey: `${rule.id}:NVDA:1`,
      ruleId: rule.id,
      subject: 'NVDA',
      severity: 'critical',
      title: 'fell',
      value: -0.169,
      threshold: -0.075,
      details: { headlines: [{ title: 'x\ny' }] },
      firedAt: new Date(),
    },
  });
  // A self-reference (Alert.inhibitedById), loaded with its foreign key checked at the end.
  await p.alert.create({
    data: {
      dedupKey: `${rule.id}:NVDA:2`,
      ruleId: rule.id,
      subject: 'NVDA',
      severity: 'warning',
      title: 'held',
      value: -0.1,
      threshold: -0.075,
      details: {},
      firedAt: new Date(),
      inhibitedById: first.id,
    },
  });
  await p.setting.create({ data: { key: 'k', value: '\\.' } }); // the end-of-rows marker as data
}

// Each test restores into databases of its own and only reads the source and its backup (made
// once in beforeAll), so they run at once: most of their time is spent waiting on CLI processes.
describe.concurrent('pnpm cli backup / restore', () => {
  let src: TestDb;
  let file: string;
  beforeAll(async () => {
    src = await createTestDb();
    await fill(src);
    file = path.join(dir, 'good.backup');
    const r = await cli(['backup', file], { DATABASE_URL: src.url });
    expect(r.code, r.stderr).toBe(0);
  }, 240_000);
  afterAll(async () => {
    await src?.drop();
    for (const url of targets) await dropDatabase(url).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }, 240_000);

  it('writes a private file and restores every row exactly into a new database, sequences continuing', async () => {
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(`${file}.partial`)).toBe(false);
    const target = newTarget('roundtrip');
    const r = await cli(['restore', file], { DATABASE_URL: target });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('(created)');
    const [a, b] = [await digest(src.url), await digest(target)];
    expect(b).toEqual(a);
    expect(a.QuoteSnapshot?.startsWith('50:')).toBe(true);
    // The same migrations are recorded, so `migrate` finds nothing to do.
    const m = await cli(['migrate'], { DATABASE_URL: target });
    expect(m.stdout).toContain('database is up to date');
    // A new snapshot gets an id after the restored ones (the sequence came along).
    const c = new pg.Client({ connectionString: target });
    await c.connect();
    try {
      const ids = await c.query<{ max: string; next: string }>(`
        SELECT (SELECT max(id) FROM "QuoteSnapshot")::text AS max,
               nextval(pg_get_serial_sequence('"QuoteSnapshot"', 'id'))::text AS next`);
      expect(BigInt(ids.rows[0]?.next ?? 0)).toBeGreaterThan(BigInt(ids.rows[0]?.max ?? 0));
    } finally {
      await c.end();
    }
  }, 240_000);

  it('writes to standard output with "-", and restores from standard input with "-"', async () => {
    // Through a shell, as in the README's examples (binary data on the pipes).
    const piped = path.join(dir, 'piped.backup');
    const r = spawnSync('bash', ['-c', `pnpm -s cli backup - > '${piped}'`], {
      env: { ...process.env, DATABASE_URL: src.url },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(zlib.gunzipSync(fs.readFileSync(piped)).toString('utf8')).toMatch(/^MARKET-SIGNALS-BACKUP 1\n/);
    const target = newTarget('stdin');
    const back = spawnSync('bash', ['-c', `pnpm -s cli restore - < '${piped}'`], {
      env: { ...process.env, DATABASE_URL: target },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(back.status, back.stderr).toBe(0);
    expect(await digest(target)).toEqual(await digest(src.url));
  }, 240_000);

  /** Restore of `bad` must fail naming `why`, and the target must not have been created. */
  async function refused(bad: string, why: RegExp) {
    const target = newTarget('refused');
    const r = await cli(['restore', bad], { DATABASE_URL: target });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).toContain('Nothing was changed.');
    expect(await databaseExists(target)).toBe(false);
    return r.stderr;
  }

  it('refuses files that are not backups: text, empty, a pg_dump archive, gzip of something else', async () => {
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'hello\n');
    const empty = path.join(dir, 'empty.backup');
    fs.writeFileSync(empty, '');
    const pgdump = path.join(dir, 'signals.dump');
    fs.writeFileSync(pgdump, Buffer.concat([Buffer.from('PGDMP'), randomBytes(64)]));
    const other = path.join(dir, 'other.gz');
    fs.writeFileSync(other, zlib.gzipSync('id,name\n1,x\n'.repeat(100)));
    const missing = path.join(dir, 'nope.backup');
    // Independent processes: at once, the machine is shared.
    const [, , , , r] = await Promise.all([
      refused(text, /is not a market-signals backup \(it is not gzip-compressed\)/),
      refused(empty, /is not a market-signals backup \(it is empty\)/),
      refused(pgdump, /pg_dump custom-format archive: restore that one with pg_restore/),
      refused(other, /is not a market-signals backup/),
      cli(['restore', missing], { DATABASE_URL: newTarget('missing') }),
    ]);
    expect(r.stderr).toContain('does not exist. Nothing was changed.');
  }, 240_000);

  it('refuses a truncated file and a damaged one (compressed bytes, or content under a valid gzip)', async () => {
    const bytes = fs.readFileSync(file);
    const cut = path.join(dir, 'cut.backup');
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));

    const flipped = Buffer.from(bytes);
    const at = Math.floor(bytes.length / 2);
    flipped[at] = (flipped[at] ?? 0) ^ 0xff;
    const damaged = path.join(dir, 'damaged.backup');
    fs.writeFileSync(damaged, flipped);

    // A row changed and the file recompressed: gzip is valid, the checksum is not.
    const content = zlib.gunzipSync(bytes).toString('utf8');
    expect(content).toContain('ünïcödé');
    const edited = path.join(dir, 'edited.backup');
    fs.writeFileSync(edited, zlib.gzipSync(content.replace('ünïcödé', 'unicode')));
    // A row removed: the counts say so.
    const lines = content.split('\n');
    const row = lines.findIndex((l) => l.includes('123.000007'));
    const fewer = path.join(dir, 'fewer.backup');
    fs.writeFileSync(fewer, zlib.gzipSync([...lines.slice(0, row), ...lines.slice(row + 1)].join('\n')));
    await Promise.all([
      refused(cut, /ends early \(truncated\)/),
      refused(damaged, /is damaged|ends early/),
      refused(edited, /is damaged \(its checksum does not match its content\)/),
      refused(fewer, /table QuoteSnapshot has 49 rows where 50 were written/),
    ]);
  }, 240_000);

  it('refuses a backup from a newer schema (a migration this release does not know), naming it and the release', async () => {
    const future = await createTestDb();
    try {
      await future.prisma.$executeRawUnsafe(`
        INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
        VALUES ('${randomBytes(8).toString('hex')}', '${'0'.repeat(64)}', now(), '29990101000000_from_the_future', 1)`);
      const newer = path.join(dir, 'newer.backup');
      const b = await cli(['backup', newer], { DATABASE_URL: future.url });
      expect(b.code, b.stderr).toBe(0);
      const msg = await refused(newer, /from a newer schema than this release knows/);
      expect(msg).toContain('29990101000000_from_the_future');
      expect(msg).toMatch(/written by market-signals \d+\.\d+\.\d+/);
    } finally {
      await future.drop();
    }
  }, 240_000);

  it('refuses a non-empty database unless --force, and one that others are connected to', async () => {
    const other = await createTestDb();
    try {
      await other.prisma.watchlist.create({ data: { slug: 'keep-me', name: 'Keep me' } });
      await other.prisma.$disconnect();
      const before = await digest(other.url);
      const r = await cli(['restore', file], { DATABASE_URL: other.url });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/is not empty .* pass --force/);
      expect(await digest(other.url)).toEqual(before);

      // Someone is connected (a server left running): refused even with --force.
      const c = new pg.Client({ connectionString: other.url });
      await c.connect();
      try {
        const busy = await cli(['restore', '--force', file], { DATABASE_URL: other.url });
        expect(busy.code).toBe(1);
        expect(busy.stderr).toMatch(/1 other connection\(s\) are open to database .*stop the server and the workers/);
      } finally {
        await c.end();
      }
      expect(await digest(other.url)).toEqual(before);

      const forced = await cli(['restore', '--force', file], { DATABASE_URL: other.url });
      expect(forced.code, forced.stderr).toBe(0);
      expect(await digest(other.url)).toEqual(await digest(src.url));
    } finally {
      await other.drop();
    }
  }, 240_000);

  it("refuses a backup with a table its migrations do not build (an operator's own), dropping the database it made", async () => {
    const extra = await createTestDb();
    try {
      await extra.prisma.$executeRawUnsafe(`CREATE TABLE "OperatorNotes" (id int PRIMARY KEY, note text)`);
      await extra.prisma.$executeRawUnsafe(`INSERT INTO "OperatorNotes" VALUES (1, 'x')`);
      const out = path.join(dir, 'extra.backup');
      const b = await cli(['backup', out], { DATABASE_URL: extra.url });
      expect(b.code, b.stderr).toBe(0);
      await refused(out, /the backup's table OperatorNotes does not fit the schema its migrations build/);
    } finally {
      await extra.drop();
    }
  }, 240_000);

  it('refuses to back up a database with a failed migration (the file would not restore)', async () => {
    const broken = await createTestDb();
    try {
      await broken.prisma.$executeRawUnsafe(`
        INSERT INTO _prisma_migrations (id, checksum, migration_name, applied_steps_count)
        VALUES ('${randomBytes(8).toString('hex')}', '${'0'.repeat(64)}', '29990101000000_half_done', 0)`);
      const out = path.join(dir, 'broken.backup');
      const r = await cli(['backup', out], { DATABASE_URL: broken.url });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('migration 29990101000000_half_done failed or is still running');
      expect(fs.existsSync(out)).toBe(false);
      expect(fs.existsSync(`${out}.partial`)).toBe(false);
    } finally {
      await broken.drop();
    }
  }, 240_000);
});
