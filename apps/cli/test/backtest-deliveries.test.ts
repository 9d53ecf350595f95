/**
 * `pnpm cli backtest --deliveries`, run as the real command against a database of its own: who the
 * alerts found would have told (the same plan as POST /api/backtest and the preview), as text and
 * as the last --json line; refused with --history (no stored rules to plan against); nothing written.
 */
import { spawn } from 'node:child_process';
import type { DailyBar } from '@signals/core';
import { createPriceStore } from '@signals/db';
import { createTestDb, fixturePath, repoRoot, type TestDb } from '@signals/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function backtest(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/cli/src/main.ts', 'backtest', ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const RULE = '{"kind":"pct_move","params":{"sessions":1,"thresholdPct":10,"direction":"down"},"symbols":["NVDA"]}';
let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
  // 60 sessions, a 20 % fall on 2024-03-04.
  const bars: DailyBar[] = [];
  let price = 100;
  for (let d = new Date('2024-01-02T00:00:00Z'); bars.length < 60; d = new Date(d.getTime() + 86_400_000)) {
    if (d.getUTCDay() === 0 || d.getUTCDay() === 6) continue;
    const date = d.toISOString().slice(0, 10);
    const prev = price;
    price = date === '2024-03-04' ? prev * 0.8 : prev * 1.001;
    bars.push({
      symbol: 'NVDA',
      date,
      open: prev,
      high: Math.max(prev, price),
      low: Math.min(prev, price),
      close: price,
      volume: 1000,
      sourceAt: new Date(`${date}T21:00:00Z`),
    });
  }
  await createPriceStore(db.prisma).saveBars({ symbol: 'NVDA', bars, fetchedAt: new Date(), source: 'test' });
  const inst = await db.prisma.instrument.findUniqueOrThrow({ where: { symbol: 'NVDA' } });
  const wl = await db.prisma.watchlist.create({ data: { slug: 'cli-deliveries', name: 'CLI' } });
  await db.prisma.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: inst.id } });
  await db.prisma.subscriber.create({
    data: { email: 'a@example.org', status: 'confirmed', subscriptions: { create: [{ watchlistId: wl.id }] } },
  });
  // The default rule, stored by the seeds: its own subscriber counts when the CLI names it by seed id.
  const seed = await db.prisma.rule.create({
    data: {
      seedId: 'deepseek-nvda-drop-historic',
      name: 'Nvidia DeepSeek-size fall',
      kind: 'pct_move',
      params: { thresholdPct: 16, direction: 'down', intraday: true },
      symbols: ['NVDA'],
      severity: 'critical',
    },
  });
  await db.prisma.subscriber.create({
    data: { email: 'b@example.org', status: 'confirmed', subscriptions: { create: [{ ruleId: seed.id }] } },
  });
  await db.prisma.webhookEndpoint.create({
    data: { url: 'https://hooks.example.org/in', secret: 'whsec_dGVzdHRlc3R0ZXN0dGVzdA==' },
  });
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

describe('pnpm cli backtest --deliveries', () => {
  it('says who would have been told, per alert; a default rule counts its stored subscribers; nothing written', async () => {
    const env = { DATABASE_URL: db.url };
    // A JSON rule (a draft: its symbol's watchlist subscriber and the endpoint) and the default rule
    // matched to its stored row by seed id (its own subscriber too). Both fire on 2024-03-04: the
    // watchlist subscriber's two alerts leave as one email.
    const r = await backtest(['--rule', RULE, '--rule', 'deepseek-nvda-drop-historic', '--deliveries'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'who would have been told (nothing written or sent): would have sent 2 emails, 2 webhooks, 0 Telegram messages; 0 held',
    );
    expect(r.stdout).toMatch(/2024-03-04T21:00:00\.000Z\s+cli-1\s+NVDA\s+1\s+1\s+0\s+0\s+-/);
    expect(r.stdout).toMatch(/2024-03-04T21:00:00\.000Z\s+c\w+\s+NVDA\s+2\s+1\s+0\s+0\s+-/);

    const j = await backtest(['--rule', RULE, '--deliveries', '--json'], env);
    expect(j.code, j.stderr).toBe(0);
    const lines = j.stdout.trim().split('\n');
    expect(JSON.parse(lines[0] as string)).toMatchObject({ rule: 'cli-1', symbol: 'NVDA', at: '2024-03-04' });
    const last = JSON.parse(lines.at(-1) as string);
    expect(last.deliveries.sent).toEqual({ email: 1, webhook: 1, ntfy: 0, telegram: 0 });
    expect(await db.prisma.delivery.count()).toBe(0);
    expect(await db.prisma.alert.count()).toBe(0);
  });

  it('refuses --history: recorded files have no stored rules and subscribers to plan against', async () => {
    const r = await backtest(
      [
        '--rule',
        RULE,
        '--deliveries',
        '--history',
        fixturePath('yahoo', 'historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json'),
      ],
      { DATABASE_URL: db.url },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--deliveries plans against stored rules and subscribers/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
