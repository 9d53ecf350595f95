/**
 * Issue 18, item 6, in a real browser (Debian's Chromium through playwright-core): from the header
 * to the account page, log the other session out, change the password; the other browser is
 * logged out, and the new password is the one that works.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, screenshotOnFailure } from './browser.ts';
import { ADMIN_EMAIL, ADMIN_PASSWORD, type Harness, startHarness } from './harness.ts';

const NEW_PASSWORD = 'a new password for the browser';

let h: Harness;
let browser: Browser;
let base: string;
let page: Page | undefined;

beforeAll(async () => {
  h = await startHarness();
  base = await h.listen();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

beforeEach(({ task, onTestFailed }) => {
  onTestFailed(() => screenshotOnFailure(page, 'account', task.name));
});

async function loggedIn(password: string): Promise<{ ctx: BrowserContext; p: Page }> {
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  await p.goto(`${base}/admin/login`);
  await p.locator('#f-email').fill(ADMIN_EMAIL);
  await p.locator('#f-password').fill(password);
  await Promise.all([
    p.waitForURL((u) => !u.pathname.startsWith('/admin/login')),
    p.getByRole('button', { name: 'Log in' }).click(),
  ]);
  return { ctx, p };
}

describe('the account page in a browser', () => {
  it('logs the other session out and changes the password', async () => {
    const a = await loggedIn(ADMIN_PASSWORD);
    const b = await loggedIn(ADMIN_PASSWORD);
    page = a.p;
    // From any admin page: the address in the header leads to the account.
    await Promise.all([a.p.waitForURL(`${base}/admin/account`), a.p.getByRole('link', { name: ADMIN_EMAIL }).click()]);
    await expect(a.p.getByRole('heading', { name: 'Your account' }).isVisible()).resolves.toBe(true);
    expect(await a.p.locator('tbody tr').count()).toBe(2);

    a.p.once('dialog', (d) => void d.accept());
    await Promise.all([
      a.p.waitForURL(/done=sessions-ended/),
      a.p.getByRole('button', { name: 'Log out the other 1 session' }).click(),
    ]);
    expect(await a.p.getByRole('status').textContent()).toBe('Every other session of your account is logged out.');
    await b.p.goto(`${base}/admin/rules`);
    expect(new URL(b.p.url()).pathname).toBe('/admin/login');

    await a.p.locator('#f-currentPassword').fill(ADMIN_PASSWORD);
    await a.p.locator('#f-newPassword').fill(NEW_PASSWORD);
    await a.p.locator('#f-confirm').fill(NEW_PASSWORD);
    await Promise.all([
      a.p.waitForURL(/done=password-changed/),
      a.p.getByRole('button', { name: 'Change password' }).click(),
    ]);
    expect(await a.p.getByRole('status').textContent()).toBe(
      'Password changed. Every other session of your account is logged out.',
    );

    // The old password no longer opens the admin; the new one does.
    const c = await browser.newContext();
    const p = await c.newPage();
    await p.goto(`${base}/admin/login`);
    await p.locator('#f-email').fill(ADMIN_EMAIL);
    await p.locator('#f-password').fill(ADMIN_PASSWORD);
    await p.getByRole('button', { name: 'Log in' }).click();
    await expect(p.getByRole('alert').textContent()).resolves.toBe('Email or password is wrong.');
    const d = await loggedIn(NEW_PASSWORD);
    expect(new URL(d.p.url()).pathname).toBe('/admin');
    for (const x of [a.ctx, b.ctx, c, d.ctx]) await x.close();
  }, 120_000);
});
