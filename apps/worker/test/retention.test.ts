/**
 * Retention as operators meet it: the settings (README "Retention" and "Configuration" tables, the
 * schema's defaults and bounds: out of range stops the worker at start, exit 78, naming the
 * variable) and the hourly maintenance job in a real worker PROCESS on a replay, where it prunes by
 * replayed time and logs one line per run with the rows deleted per table.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { envSchema, parseEnv } from '@signals/config';
import { RETENTION_POLICIES, repoPaths } from '@signals/db';
import {
  createTestDb,
  fixturePath,
  startWorkerProcess,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
  type WorkerProcess,
} from '@signals/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { retentionEveryMs, retentionSettings } from '../src/jobs/index.ts';

const root = repoPaths().root;
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

/** The rows of the markdown table that follows `heading` (first cell -> the other cells; a first cell may repeat). */
function tableAfter(heading: string): Map<string, string[]> & { rows: string[][] } {
  const at = readme.indexOf(`\n${heading}\n`);
  expect(at, heading).toBeGreaterThan(-1);
  const lines = readme.slice(at).split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  const rows = Object.assign(new Map<string, string[]>(), { rows: [] as string[][] });
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line
      .slice(1, -1)
      .split(' | ')
      .map((c) => c.trim());
    rows.set(cells[0] ?? '', cells.slice(1));
    rows.rows.push(cells.slice(1));
  }
  return rows;
}

describe('retention settings', () => {
  it('each policy has its setting in the schema with the same default, and a row in the README tables', () => {
    const env = parseEnv({});
    const settings = retentionSettings(env);
    const retention = tableAfter('### Retention');
    const config = tableAfter('## Configuration');
    for (const p of RETENTION_POLICIES) {
      expect(Object.keys(envSchema.shape), p.setting).toContain(p.setting);
      expect(settings[p.id], p.setting).toBe(p.defaultDays);
      expect(env[p.setting as keyof typeof env], p.setting).toBe(p.defaultDays);
      // Retention table: | table | deleted | kept | default | setting | why |
      const row = retention.rows.find((cells) => cells.includes(`\`${p.setting}\``));
      expect(row, `README Retention row for ${p.setting}`).toBeDefined();
      expect(row?.[2], p.setting).toMatch(new RegExp(`^${p.defaultDays === 0 ? '0 \\(forever\\)' : p.defaultDays} d`));
      expect(config.get(`\`${p.setting}\``)?.[0], `README Configuration row for ${p.setting}`).toBe(
        `\`${p.defaultDays}\``,
      );
    }
    expect(config.get('`RETENTION_BATCH_SIZE`')?.[0]).toBe('`5000`');
    // .env.example names them too (commented out, at their defaults).
    const example = fs.readFileSync(path.join(root, '.env.example'), 'utf8');
    for (const p of RETENTION_POLICIES) expect(example).toMatch(new RegExp(`^# ?${p.setting}=${p.defaultDays}$`, 'm'));
  });

  it('the job runs hourly, and hourly in replayed time in a replay (at least 5 s apart)', () => {
    expect(retentionEveryMs(parseEnv({}))).toBe(3_600_000);
    expect(retentionEveryMs(parseEnv({ PRICE_SOURCE: 'replay:x', REPLAY_SPEED: '360' }))).toBe(10_000);
    expect(retentionEveryMs(parseEnv({ PRICE_SOURCE: 'replay:x', REPLAY_SPEED: '21600' }))).toBe(5000);
  });

  it('a setting out of range stops the worker at start naming it (exit 78), no stack trace', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/worker/src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        RETENTION_QUOTES_DAYS: '0',
        RETENTION_ALERTS_DAYS: '7',
        RETENTION_NEWS_DAYS: 'ninety',
        RETENTION_DEAD_LETTERS_DAYS: '30',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(78);
    expect(stderr).toMatch(/RETENTION_QUOTES_DAYS: must be 1 to 3650 days/);
    expect(stderr).toMatch(/RETENTION_ALERTS_DAYS: must be 0 \(keep forever\) or 30 to 36500 days/);
    expect(stderr).toMatch(/RETENTION_NEWS_DAYS: /);
    expect(stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('dead letters are kept at least as long as deliveries that arrived (named)', () => {
    expect(() => parseEnv({ RETENTION_DELIVERIES_DAYS: '120', RETENTION_DEAD_LETTERS_DAYS: '100' })).toThrow(
      /RETENTION_DEAD_LETTERS_DAYS: must be at least RETENTION_DELIVERIES_DAYS \(120\)/,
    );
    expect(
      parseEnv({ RETENTION_DELIVERIES_DAYS: '120', RETENTION_DEAD_LETTERS_DAYS: '120' }).RETENTION_DEAD_LETTERS_DAYS,
    ).toBe(120);
  });
});

describe('the maintenance job in a worker process', () => {
  let db: TestDb | undefined;
  let w: WorkerProcess | undefined;
  afterAll(async () => {
    await w?.stop();
    await db?.drop();
  });

  it('prunes market data by replayed time and the rest by the wall clock, one log line per run', async () => {
    db = await createTestDb();
    const p = db.prisma;
    const nv = await p.instrument.create({ data: { symbol: 'ZZOLD' } });
    // Replayed time starts 2021-09-20: a quote from July 2021 is past 14 days of it; one from
    // 2021-09-15 is not (and it is the newest of its instrument anyway).
    const old = await p.quoteSnapshot.create({
      data: { instrumentId: nv.id, price: 1, sourceAt: new Date('2021-07-01T15:00:00Z'), fetchedAt: new Date() },
    });
    const recent = await p.quoteSnapshot.create({
      data: { instrumentId: nv.id, price: 1, sourceAt: new Date('2021-09-15T15:00:00Z'), fetchedAt: new Date() },
    });
    // Wall clock: a source event 100 days old goes (not the newest of its source), yesterday's stays.
    const wallOld = await p.sourceEvent.create({
      data: { source: 'feed:x', kind: 'degraded', message: 'm', createdAt: new Date(Date.now() - 100 * 86_400_000) },
    });
    await p.sourceEvent.create({
      data: { source: 'feed:x', kind: 'recovered', message: 'm', createdAt: new Date(Date.now() - 86_400_000) },
    });
    const logs: string[] = [];
    w = startWorkerProcess(
      'RET',
      {
        DATABASE_URL: db.url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: testPrefix('ret'),
        PRICE_SOURCE: `replay:${fixturePath('yahoo')}`,
        REPLAY_START: '2021-09-20',
        REPLAY_SPEED: '3600', // an hour a second: the job runs every 5 s, every ~5 replayed hours
        SMTP_URL: 'smtp://127.0.0.1:1',
        WORKER_QUEUES: 'maintenance',
      },
      { logs },
    );
    await w.started(120_000);
    const deadline = Date.now() + 90_000;
    let line: { deleted: Record<string, number>; marketNow: string } | undefined;
    while (!line && Date.now() < deadline) {
      const raw = logs.find((l) => l.includes('"msg":"retention"'));
      if (raw) line = JSON.parse(raw.slice(raw.indexOf('{')));
      else await new Promise((r) => setTimeout(r, 250));
    }
    expect(line, logs.slice(-10).join('\n')).toBeDefined();
    expect(line?.marketNow.slice(0, 7)).toBe('2021-09');
    expect(Object.keys(line?.deleted ?? {})).toEqual(
      expect.arrayContaining(['QuoteSnapshot', 'Delivery', 'NewsItem', 'SourceEvent', 'IntradayBar']),
    );
    expect(line?.deleted.QuoteSnapshot).toBe(1);
    expect(line?.deleted.SourceEvent).toBe(1);
    expect(await p.quoteSnapshot.findUnique({ where: { id: old.id } })).toBeNull();
    expect(await p.quoteSnapshot.findUnique({ where: { id: recent.id } })).not.toBeNull();
    expect(await p.sourceEvent.findUnique({ where: { id: wallOld.id } })).toBeNull();
    expect(await p.sourceEvent.count()).toBe(1);
  }, 240_000);
});
