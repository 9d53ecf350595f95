/**
 * `pnpm cli backtest` on intraday bars, run as the real command: intraday chart recordings with
 * --history (switching to intraday by themselves), --news, --interval against the IntradayBar
 * rows of a database of its own, and clear errors for bad input.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dailyFromIntraday } from '@signals/core';
import { createIntradayStore, createPriceStore } from '@signals/db';
import { intradayFromRawChart } from '@signals/market-data';
import { createTestDb, intradayFixture, intradayFixturePath, repoRoot, type TestDb } from '@signals/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const AMZN = intradayFixturePath('AMZN-5m-2025-02-14-capex-postmarket.json');
const AMZN_NEWS = intradayFixturePath('AMZN-5m-2025-02-14-capex-postmarket.news.json');
const TSLA_1H = intradayFixturePath('TSLA-1h-2023-01-26-gap.json');
const NVDA = 'NVDA-5m-2025-01-27-deepseek';

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

function alertsOf(r: Run): Array<{ rule: string; symbol: string; at: string; value: number; threshold: number }> {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

describe('pnpm cli backtest on intraday bars', () => {
  it('--history with an intraday recording and --news: the capex rules fire that evening, "at" is the ISO bar start', async () => {
    const r = await backtest(['--all-seeds', '--json', '--history', AMZN, '--news', AMZN_NEWS]);
    const alerts = alertsOf(r);
    expect(alerts.map((a) => a.rule).sort()).toEqual([
      'amzn-capex-drop-early',
      'amzn-capex-drop-historic',
      'capex-news-punished',
    ]);
    for (const a of alerts) {
      expect(a.at).toMatch(/^2025-02-14T2\d:\d{2}:00\.000Z$/);
      expect(a.symbol).toBe('AMZN');
    }
    expect(r.stderr).toMatch(/intraday backtest on 5m bars/);
    expect(r.stderr).toMatch(/resolution: 5m bars, 576 bar steps/);
    // The same headline as a raw archive gives it (no symbols, no topics): tagged by the live
    // tagger against the default watchlists and the replayed symbols, the same alerts.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raw-news-'));
    const rawFile = path.join(dir, 'raw.json');
    const recorded = JSON.parse(fs.readFileSync(AMZN_NEWS, 'utf8')) as Record<string, unknown>[];
    fs.writeFileSync(rawFile, JSON.stringify(recorded.map(({ symbols: _s, topics: _t, ...rest }) => rest)));
    const raw = await backtest(['--all-seeds', '--json', '--history', AMZN, '--news', rawFile]);
    expect(alertsOf(raw)).toEqual(alerts);
    expect(raw.stderr).toMatch(/1 recorded news item tagged by the live tagger/);
    fs.rmSync(dir, { recursive: true });
    // Without the news file the news+price rule cannot fire, and says so.
    const noNews = await backtest(['--rule', 'capex-news-punished', '--json', '--history', AMZN]);
    expect(alertsOf(noNews)).toEqual([]);
    expect(noNews.stderr).toMatch(/no news to replay; these rules cannot fire: capex-news-punished/);
  });

  it('bad input: wrong interval, unknown interval, a bad news file, --news without --history (exit 2, one line)', async () => {
    const wrong = await backtest(['--all-seeds', '--interval', '5m', '--history', TSLA_1H]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/1h bars, but --interval 5m/);
    const unknown = await backtest(['--all-seeds', '--interval', '2m', '--history', TSLA_1H]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--interval: "2m" is not an intraday interval/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'news-'));
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify([{ title: 'Amazon capex', publishedAt: 'yesterday' }]));
    const badNews = await backtest(['--all-seeds', '--history', AMZN, '--news', bad]);
    expect(badNews.code).toBe(2);
    // The file and the item (its place and title) are named.
    expect(badNews.stderr).toMatch(
      /news .*bad\.json: item 1 \("Amazon capex"\): publishedAt: must be an ISO timestamp/,
    );
    expect(badNews.stderr).not.toMatch(/\n\s+at /);
    const alone = await backtest(['--all-seeds', '--news', AMZN_NEWS]);
    expect(alone.code).toBe(2);
    fs.rmSync(dir, { recursive: true });
  });

  it('--interval 5m without --history replays the IntradayBar rows of the database', async () => {
    const h = intradayFromRawChart(intradayFixture(`${NVDA}.json`));
    await createIntradayStore(db.prisma).saveIntradayBars({
      symbol: 'NVDA',
      interval: '5m',
      bars: h.bars,
      fetchedAt: new Date('2025-01-28T00:00:00Z'),
    });
    await createPriceStore(db.prisma).saveBars({
      symbol: 'NVDA',
      bars: dailyFromIntraday(h),
      fetchedAt: new Date('2025-01-28T00:00:00Z'),
      source: 'yahoo',
    });
    const env = { DATABASE_URL: db.url };
    const r = await backtest(['--rule', 'deepseek-nvda-drop-historic', '--interval', '5m', '--json'], env);
    const alerts = alertsOf(r);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.at).toMatch(/^2025-01-27T1\d:\d{2}:00\.000Z$/);
    expect(alerts[0]?.value).toBeLessThanOrEqual(-0.16);
    // Without --interval the CLI chooses as the API and the preview do: the rule reacts within the
    // session and 5m bars are stored, so the same alert at the same bar.
    const auto = await backtest(['--rule', 'deepseek-nvda-drop-historic', '--json'], env);
    expect(alertsOf(auto)).toEqual(alerts);
    expect(auto.stderr).toMatch(/resolution: 5m bars/);
    // --interval 1d: daily bars, one alert dated by session.
    const daily = alertsOf(
      await backtest(['--rule', 'deepseek-nvda-drop-historic', '--interval', '1d', '--json'], env),
    );
    expect(daily.map((a) => a.at)).toEqual(['2025-01-27']);
    // No 1m bars stored: a clear error.
    const none = await backtest(['--rule', 'deepseek-nvda-drop-historic', '--interval', '1m'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no 1m bars stored for NVDA/);
  });
});
