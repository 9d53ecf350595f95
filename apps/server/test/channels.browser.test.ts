/**
 * The new pages of issue 13 in a real browser (Chromium through playwright-core) against the real
 * server: inhibit rules and message templates on the admin page, chat channels and "When" on the
 * public preferences page. Every form control labelled; errors shown at the field.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { resolveSigningKeys, signSubscriberToken } from '@signals/db';
import { ADMIN_EMAIL, ADMIN_PASSWORD, type Harness, startHarness } from './harness.ts';

let h: Harness;
let browser: Browser;
// Each test its own browser context (cookies: the admin session) and page: a test never rides on
// a login an earlier test made.
let context: BrowserContext;
let page: Page;
let base: string;

beforeAll(async () => {
  h = await startHarness({
    env: {
      TELEGRAM_BOT_TOKEN: '123456:TEST-token-abcdefghijklmnopqrstuvwx',
      TELEGRAM_BOT_USERNAME: 'SignalsTestBot',
    },
  });
  base = await h.listen();
  browser = await launchChromium();
  const wl = await h.db.prisma.watchlist.create({ data: { slug: 'br', name: 'Browser list' } });
  const mk = (name: string) =>
    h.db.prisma.rule.create({ data: { name, kind: 'pct_move', params: {}, watchlistId: wl.id } });
  const early = await mk('MSFT 3 sigma');
  await mk('MSFT 5 sigma');
  await h.db.prisma.alert.create({
    data: {
      dedupKey: 'br-1',
      ruleId: early.id,
      subject: 'MSFT',
      severity: 'warning',
      title: 'MSFT fell 4 sigma',
      value: -4,
      threshold: -3,
      details: { unit: 'ratio' },
      firedAt: new Date('2026-01-29T15:00:00Z'),
    },
  });
}, 120_000);

beforeEach(async () => {
  context = await browser.newContext();
  page = await context.newPage();
});
afterEach(async () => {
  await context?.close();
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function unlabelledControls(p: Page): Promise<string[]> {
  return p.evaluate(() =>
    Array.from(document.querySelectorAll('input, select, textarea'))
      .map((el) => el as HTMLInputElement)
      .filter((i) => !['hidden', 'submit', 'button', 'reset'].includes(i.type))
      .filter(
        (i) =>
          !(i.labels && Array.from(i.labels).some((l) => l.textContent?.trim())) &&
          !i.getAttribute('aria-label') &&
          !i.getAttribute('aria-labelledby'),
      )
      .map((i) => `${i.tagName.toLowerCase()}[name=${i.name}]`),
  );
}

async function press(p: Page, name: string) {
  await Promise.all([p.waitForEvent('framenavigated'), p.getByRole('button', { name, exact: true }).first().click()]);
  await p.waitForLoadState('load');
}

async function logIn(p: Page) {
  await p.goto(`${base}/admin/login`);
  await p.getByLabel('Email').fill(ADMIN_EMAIL);
  await p.getByLabel('Password').fill(ADMIN_PASSWORD);
  await press(p, 'Log in');
}

describe('issue 13 pages in the browser', () => {
  it('adds an inhibit rule on the admin page', async () => {
    await logIn(page);
    await page.goto(`${base}/admin/inhibit-rules`);
    expect(await unlabelledControls(page)).toEqual([]);
    // Nothing chosen for the source: the error is at its rule field.
    await page.locator('#f-target\\.ruleId').selectOption({ label: 'MSFT 3 sigma' });
    await press(page, 'Add inhibit rule');
    await expect(page.locator('#f-source\\.ruleId').getAttribute('aria-invalid')).resolves.toBe('true');
    await page.locator('#f-source\\.ruleId').selectOption({ label: 'MSFT 5 sigma' });
    await page.locator('#f-target\\.ruleId').selectOption({ label: 'MSFT 3 sigma' });
    await page.getByLabel('Why').fill('one event, one message');
    await press(page, 'Add inhibit rule');
    expect(page.url()).toContain('/admin/inhibit-rules?done=created');
    await expect(page.locator('table tbody tr').first().textContent()).resolves.toContain('one event, one message');
  });

  it('previews a Telegram template against the recent alert', async () => {
    await logIn(page);
    await page.goto(`${base}/admin/templates`);
    expect(await unlabelledControls(page)).toEqual([]);
    await page
      .locator('#f-template-telegram')
      .fill('{{ alert.symbol }} {{ alert.severity | upcase }}: {{ alert.title }}');
    await Promise.all([
      page.waitForEvent('framenavigated'),
      page.locator('form[action="/admin/templates/telegram"] button[value="preview"]').click(),
    ]);
    await expect(page.getByTestId('preview-telegram').textContent()).resolves.toBe('MSFT WARNING: MSFT fell 4 sigma');
    await page.locator('#f-template-ntfy').fill('{{ alert.title | nope }}');
    await Promise.all([
      page.waitForEvent('framenavigated'),
      page.locator('form[action="/admin/templates/ntfy"] button[value="save"]').click(),
    ]);
    await expect(page.locator('#f-template-ntfy').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.locator('#f-template-ntfy-err').textContent()).resolves.toContain('undefined filter');
  });

  it('offers ntfy, Telegram and quiet hours on the preferences page', async () => {
    const wl = await h.db.prisma.watchlist.findUniqueOrThrow({ where: { slug: 'br' } });
    const sub = await h.db.prisma.subscriber.create({
      data: { email: 'browser@example.org', status: 'confirmed', subscriptions: { create: [{ watchlistId: wl.id }] } },
    });
    const token = signSubscriberToken((await resolveSigningKeys(h.db.prisma)).current, sub.id, sub.tokenVersion);
    await page.goto(`${base}/preferences?token=${token}`);
    expect(await unlabelledControls(page)).toEqual([]);
    await page.getByLabel('ntfy topic').fill('http://10.0.0.7/secret-topic');
    await press(page, 'Send alerts to this topic');
    await expect(page.locator('#f-topic').getAttribute('aria-invalid')).resolves.toBe('true');
    await press(page, 'Get alerts on Telegram');
    await expect(page.getByTestId('telegram-link').getAttribute('href')).resolves.toMatch(
      /^https:\/\/t\.me\/SignalsTestBot\?start=[A-Za-z0-9_-]{43}$/,
    );
    await page.getByLabel('Your time zone').fill('Europe/Berlin');
    await page.locator('#f-quiet\\.telegram\\.start').fill('22:00');
    await page.locator('#f-quiet\\.telegram\\.end').fill('07:00');
    await page.getByLabel('Only during the regular US session (09:30-16:00 New York)').check();
    await press(page, 'Save when');
    expect(await page.getByText('Saved: when alerts are sent.').isVisible()).toBe(true);
    const saved = await h.db.prisma.subscriber.findUniqueOrThrow({ where: { id: sub.id } });
    expect(saved).toMatchObject({
      timeZone: 'Europe/Berlin',
      quietHours: { telegram: { start: '22:00', end: '07:00' } },
    });
  });
});
