/**
 * The admin alert page draws intraday candles (Chromium through playwright-core, the real server,
 * real Postgres): an alert on the synthetic AMZN capex evening shows the 5m bars around it, pre-
 * and post-market included, with the marker on the bar in which the rule fired; an alert without
 * stored intraday bars shows the daily chart only.
 */
import { dailyFromIntraday } from '@signals/core';
import { createIntradayStore, createPriceStore } from '@signals/db';
import { intradayFromRawChart } from '@signals/market-data';
import { intradayFixture } from '@signals/testing';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, type Harness, startHarness } from './harness.ts';

let h: Harness;
let browser: Browser;
let page: Page;
let base: string;

beforeAll(async () => {
  h = await startHarness();
  base = await h.listen();
  browser = await launchChromium();
  page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/admin/login`);
  await page.fill('#f-email', ADMIN_EMAIL);
  await page.fill('#f-password', ADMIN_PASSWORD);
  await Promise.all([page.waitForURL(/\/admin\//), page.press('#f-password', 'Enter')]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('admin alert page: intraday candles', () => {
  it('draws the 5m candles around an intraday alert, extended hours included, the marker on the firing bar', async () => {
    const bars = intradayFromRawChart(intradayFixture('AMZN-5m-2025-02-14-capex-postmarket.json'));
    await createIntradayStore(h.db.prisma).saveIntradayBars({
      symbol: 'AMZN',
      interval: '5m',
      bars: bars.bars,
      fetchedAt: new Date('2025-02-15T02:00:00Z'),
    });
    await createPriceStore(h.db.prisma).saveBars({
      symbol: 'AMZN',
      bars: dailyFromIntraday(bars),
      fetchedAt: new Date('2025-02-15T02:00:00Z'),
      source: 'yahoo',
    });
    const inst = await h.db.prisma.instrument.findUniqueOrThrow({ where: { symbol: 'AMZN' } });
    const rule = await h.db.prisma.rule.create({
      data: { name: 'Amazon -10 % (extended hours)', kind: 'pct_move', params: {} },
    });
    const alert = await h.db.prisma.alert.create({
      data: {
        dedupKey: 'intraday-1',
        ruleId: rule.id,
        instrumentId: inst.id,
        subject: 'AMZN',
        severity: 'critical',
        title: 'AMZN -10.3 % after hours',
        value: -0.103,
        threshold: -0.1,
        details: {},
        firedAt: new Date('2025-02-14T21:47:30Z'),
      },
    });
    await page.goto(`${base}/admin/alerts/${alert.id}`);
    await page.waitForSelector('#chart-intraday[data-ready="true"] canvas');
    await page.waitForSelector('#chart[data-ready="true"] canvas');
    // The bar containing 21:47:30 starts at 21:45.
    await expect(page.getAttribute('#chart-intraday', 'data-marker')).resolves.toBe(
      String(Date.parse('2025-02-14T21:45:00Z') / 1000),
    );
    const desc = await page.textContent('#chart-intraday-desc');
    expect(desc).toMatch(/^5m candles of AMZN from 2025-02-13 /);
    expect(desc).toMatch(/pre- and post-market bars paler/);
    const drawn = JSON.parse((await page.getAttribute('#chart-intraday', 'data-bars')) ?? '[]') as Array<{
      time: number;
      session: string;
    }>;
    // 30 hours before to 12 hours after the firing: Thursday's post-market through Friday's evening.
    expect(drawn.some((b) => b.session === 'post' && b.time > Date.parse('2025-02-14T21:00:00Z') / 1000)).toBe(true);
    expect(drawn.some((b) => b.session === 'pre')).toBe(true);
    expect(drawn.every((b) => b.time >= Date.parse('2025-02-13T15:47:30Z') / 1000)).toBe(true);
  });

  it('an alert without stored intraday bars shows no intraday chart', async () => {
    // Its own rule: the file's database is shared and the tests run shuffled.
    const rule = await h.db.prisma.rule.create({
      data: { name: 'ZZZZ daily -10 %', kind: 'pct_move', params: {} },
    });
    const alert = await h.db.prisma.alert.create({
      data: {
        dedupKey: 'daily-1',
        ruleId: rule.id,
        subject: 'ZZZZ',
        severity: 'info',
        title: 'ZZZZ daily',
        value: -0.1,
        threshold: -0.1,
        details: {},
        firedAt: new Date('2025-02-14T21:00:00Z'),
      },
    });
    await page.goto(`${base}/admin/alerts/${alert.id}`);
    await page.waitForSelector('h2#chart-title');
    expect(await page.$('#chart-intraday')).toBeNull();
  });
});
