/**
 * The admin page and the public pages in a real browser (Debian's Chromium through playwright-core)
 * against the real server on 127.0.0.1, real Postgres and Redis, the local Yahoo server behind the
 * real YahooPriceSource, a local webhook receiver and an SMTP sink.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { Webhook } from 'standardwebhooks';
import { createAlertWithDeliveries, resolveSigningKeys, signSubscriberToken } from '@signals/db';
import {
  type SmtpSink,
  startSmtpSink,
  startWebhookReceiver,
  startWorkerProcess,
  TEST_REDIS_URL,
  type WebhookReceiver,
  type WorkerProcess,
} from '@signals/testing';
import { ADMIN_EMAIL, ADMIN_PASSWORD, type Harness, startHarness, syntheticBars } from './harness.ts';

const RESULTS = path.resolve(import.meta.dirname, '../../../test-results');

let h: Harness;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
let base: string;
let receiver: WebhookReceiver | undefined;
let smtp: SmtpSink | undefined;
/** The delivery worker the subscribe test needs, started at once: a process takes long to start. */
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  h = await startHarness();
  base = await h.listen();
  // The real delivery worker, as operators run it: its own process on the same Postgres and Redis.
  // It starts while the browser launches and the other tests run (nothing else enqueues deliveries
  // but subscriptions' confirmation emails, which it sends to the sink); the subscribe test waits
  // for it to be up and stops it.
  smtp = await startSmtpSink();
  worker = startWorkerProcess('W', {
    DATABASE_URL: h.db.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: h.prefix,
    SMTP_URL: smtp.url,
    PUBLIC_BASE_URL: base,
    WORKER_QUEUES: 'deliveries',
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    YAHOO_BASE_URL: h.yahoo.url,
  });
  browser = await launchChromium();
  // The admin tests share one logged-in page; each starts by opening the page it needs, so they
  // run in any order or alone (the keyboard login test uses a fresh context of its own).
  ctx = await browser.newContext();
  page = await ctx.newPage();
  await page.goto(`${base}/admin/login`);
  await page.locator('#f-email').fill(ADMIN_EMAIL);
  await page.locator('#f-password').fill(ADMIN_PASSWORD);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/admin/login')),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
  expect((await ctx.cookies()).some((c) => c.name === 'signals_session')).toBe(true);
  // A year of AAPL bars with one 15 % fall, for the backtest preview and the alert chart.
  const inst = await h.db.prisma.instrument.upsert({
    where: { symbol: 'AAPL' },
    create: { symbol: 'AAPL' },
    update: {},
  });
  const start = new Date(Date.now() - 340 * 86_400_000).toISOString().slice(0, 10);
  const bars = syntheticBars({ start, days: 230, dropDate: '', dropPct: 0, base: 150 });
  const dropAt = 120;
  const now = new Date();
  await h.db.prisma.priceBar.createMany({
    data: bars.map((b, i) => {
      const close = i >= dropAt ? b.close * 0.85 : b.close;
      return {
        instrumentId: inst.id,
        date: new Date(`${b.date}T00:00:00Z`),
        open: i === dropAt ? (bars[i - 1]?.close ?? close) : close,
        high: i === dropAt ? (bars[i - 1]?.close ?? close) : close * 1.005,
        low: close * 0.995,
        close,
        volume: BigInt(b.volume),
        sourceAt: new Date(`${b.date}T21:00:00Z`),
        fetchedAt: now,
      };
    }),
  });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await browser?.close();
  await receiver?.close();
  await smtp?.close();
  await h?.close();
});

beforeEach(({ task, onTestFailed }) => {
  onTestFailed(async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    const name = task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80);
    await page?.screenshot({ path: path.join(RESULTS, `server-${name}.png`), fullPage: true }).catch(() => {});
  });
});

/** Every visible form control has a label (label[for], a wrapping label, or aria-label(ledby)). */
async function unlabelledControls(p: Page): Promise<string[]> {
  return p.evaluate(() => {
    const out: string[] = [];
    for (const el of Array.from(document.querySelectorAll('input, select, textarea'))) {
      const input = el as HTMLInputElement;
      if (['hidden', 'submit', 'button', 'reset'].includes(input.type)) continue;
      const ok =
        (input.labels && input.labels.length > 0 && Array.from(input.labels).some((l) => l.textContent?.trim())) ||
        input.getAttribute('aria-label') ||
        input.getAttribute('aria-labelledby');
      if (!ok) out.push(`${input.tagName.toLowerCase()}[name=${input.name}]`);
    }
    return out;
  });
}

/** WCAG contrast of text against its effective background, for every text-bearing element kind. */
async function lowContrast(p: Page): Promise<string[]> {
  return p.evaluate(() => {
    const parse = (c: string): [number, number, number, number] => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return [0, 0, 0, 0];
      const parts = (m[1] as string).split(',').map((x) => Number.parseFloat(x));
      return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0, parts[3] ?? 1];
    };
    const lum = ([r, g, b]: number[]) => {
      const f = (v: number) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r ?? 0) + 0.7152 * f(g ?? 0) + 0.0722 * f(b ?? 0);
    };
    const bgOf = (el: Element | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c[3] > 0.5) return c;
      }
      return [255, 255, 255, 1];
    };
    const bad: string[] = [];
    for (const el of Array.from(document.querySelectorAll('body *'))) {
      const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent?.trim());
      if (!own) continue;
      const st = getComputedStyle(el);
      if (st.visibility === 'hidden' || st.display === 'none' || (el as HTMLElement).offsetParent === null) continue;
      const fg = lum(parse(st.color));
      const bg = lum(bgOf(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      if (ratio < 4.5)
        bad.push(
          `${el.tagName.toLowerCase()}.${el.className}: ${ratio.toFixed(2)} "${el.textContent?.trim().slice(0, 30)}"`,
        );
    }
    return bad;
  });
}

/** Clicks a submit button and waits for the page it leads to. */
async function press(p: Page, name: string) {
  await Promise.all([p.waitForEvent('framenavigated'), p.getByRole('button', { name, exact: true }).click()]);
  await p.waitForLoadState('load');
}

async function checkPage(p: Page) {
  expect(await unlabelledControls(p)).toEqual([]);
  expect(await lowContrast(p)).toEqual([]);
}

describe('admin page in the browser', () => {
  it('logs in with the keyboard alone', async () => {
    const fresh = await browser.newContext();
    const page = await fresh.newPage();
    const ctx = fresh;
    await page.goto(`${base}/admin/watchlists`);
    expect(page.url()).toContain('/admin/login');
    await checkPage(page);
    let focused = '';
    for (let i = 0; i < 8 && focused !== 'f-email'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.id ?? '');
    }
    expect(focused).toBe('f-email');
    await page.keyboard.type(ADMIN_EMAIL);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('f-password');
    await page.keyboard.type(ADMIN_PASSWORD);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (document.activeElement as HTMLButtonElement | null)?.textContent)).toBe('Log in');
    await Promise.all([page.waitForURL(`${base}/admin/watchlists`), page.keyboard.press('Enter')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Watchlists');
    const cookies = await ctx.cookies();
    const session = cookies.find((c) => c.name === 'signals_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Lax');
    // The login form's CSRF cookie is spent at login.
    expect(cookies.find((c) => c.name === 'signals_login_csrf')).toBeUndefined();
    await fresh.close();
  });

  it('creates a watchlist and adds a symbol checked against the (local) Yahoo source', async () => {
    await page.goto(`${base}/admin/watchlists`);
    await page.getByLabel('Name').fill('Browser list');
    await Promise.all([
      page.waitForURL(/\/admin\/watchlists\/[^/?]+\?done=created/),
      page.getByRole('button', { name: 'Create watchlist' }).click(),
    ]);
    await checkPage(page);
    await page.getByRole('textbox', { name: 'Add a symbol' }).fill('ZZZZQ');
    await page.getByRole('button', { name: 'Add symbol' }).click();
    await expect(page.locator('#f-symbol-err').textContent()).resolves.toMatch(/unknown symbol/);
    expect(await page.getAttribute('#f-symbol', 'aria-invalid')).toBe('true');
    await page.getByRole('textbox', { name: 'Add a symbol' }).fill('aapl');
    await Promise.all([page.waitForURL(/done=added/), page.getByRole('button', { name: 'Add symbol' }).click()]);
    const row = page.locator('tbody tr', { hasText: 'AAPL' });
    await expect(row.count()).resolves.toBe(1);
    await expect(row.locator('td').nth(2).textContent()).resolves.toMatch(/\d+\.\d{2}/);
    await expect(row.locator('.badge').first().textContent()).resolves.toBe('unknown');
    await expect(row.locator('td').nth(5).textContent()).resolves.toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
  });

  it('creates a rule from a template with inline errors and a backtest preview', async () => {
    await page.goto(`${base}/admin/rules`);
    await checkPage(page);
    await page.getByLabel('Start from').selectOption('kind:pct_move');
    await Promise.all([
      page.waitForURL(/\/admin\/rules\/new\?template=/),
      page.getByRole('button', { name: 'Start' }).click(),
    ]);
    await checkPage(page);
    // The template fills the pct_move fields.
    const threshold = page.getByRole('textbox', { name: 'Threshold (%)', exact: true });
    await expect(threshold.inputValue()).resolves.toBe('10');
    await expect(page.getByRole('textbox', { name: 'Sessions', exact: true }).inputValue()).resolves.toBe('1');
    await expect(page.getByRole('combobox', { name: 'Direction', exact: true }).inputValue()).resolves.toBe('down');
    await page.getByLabel('Symbols', { exact: true }).fill('AAPL');
    // Other tests make rules too (in any order): this test's rule is the one that is new.
    const before = new Set((await h.db.prisma.rule.findMany({ select: { id: true } })).map((r) => r.id));

    // A decimal comma is refused with a message under the field (not guessed at).
    await threshold.fill('1,5');
    await press(page, 'Preview backtest');
    const err = page.locator('#f-p-pct_move-thresholdPct-err');
    await expect(err.textContent()).resolves.toContain('use a dot as the decimal separator');
    await expect(threshold.inputValue()).resolves.toBe('1,5');
    await checkPage(page);

    // A negative threshold: the schema's message, under the threshold input, tied to it.
    await threshold.fill('-5');
    await press(page, 'Preview backtest');
    await expect(err.textContent()).resolves.toContain('must be greater than 0');
    expect(await threshold.getAttribute('aria-invalid')).toBe('true');
    expect((await threshold.getAttribute('aria-describedby'))?.split(' ')).toContain('f-p-pct_move-thresholdPct-err');
    await expect(page.getByRole('alert').textContent()).resolves.toBe('Please correct the marked fields.');
    await checkPage(page);

    await threshold.fill('10');
    await press(page, 'Preview backtest');
    await expect(page.getByTestId('fired-count').textContent()).resolves.toBe(
      'Would have fired 1 time in the last year.',
    );
    expect(await threshold.getAttribute('aria-invalid')).toBeNull();
    await Promise.all([
      page.waitForURL(/\/admin\/rules\/[^/?]+\?done=saved/),
      page.getByRole('button', { name: 'Save rule' }).click(),
    ]);
    const rules = (await h.db.prisma.rule.findMany()).filter((r) => !before.has(r.id));
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({
      kind: 'pct_move',
      symbols: ['AAPL'],
      enabled: true,
      params: { sessions: 1, thresholdPct: 10, direction: 'down' },
    });
  });

  it('switches kind in place and saves a drawdown rule from scratch', async () => {
    await page.goto(`${base}/admin/rules/new`);
    await checkPage(page);
    // With JavaScript the kind switches in place: no "Change kind" submit, no reload.
    await expect(page.getByRole('button', { name: 'Change kind' }).count()).resolves.toBe(0);
    await page.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    await page.getByRole('combobox', { name: 'Kind', exact: true }).selectOption('drawdown');
    expect(await page.isVisible('#params-drawdown')).toBe(true);
    expect(await page.isHidden('#params-pct_move')).toBe(true);
    expect(await page.$eval('#params-pct_move', (fs) => (fs as HTMLFieldSetElement).disabled)).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await checkPage(page);

    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('AAPL drawdown');
    await page.getByLabel('Symbols', { exact: true }).fill('AAPL');
    const sessions = page.getByRole('textbox', { name: 'Sessions', exact: true });
    const threshold = page.getByRole('textbox', { name: 'Threshold (%)', exact: true });
    await expect(sessions.getAttribute('id')).resolves.toBe('f-p-drawdown-sessions');
    await sessions.fill('1');
    await threshold.fill('12.5');
    await press(page, 'Preview backtest');
    await expect(page.locator('#f-p-drawdown-sessions-err').textContent()).resolves.toContain('must be at least 2');
    expect(await sessions.getAttribute('aria-invalid')).toBe('true');
    await expect(page.getByRole('combobox', { name: 'Kind', exact: true }).inputValue()).resolves.toBe('drawdown');
    await checkPage(page);

    await sessions.fill('60');
    await press(page, 'Preview backtest');
    await expect(page.getByTestId('fired-count').textContent()).resolves.toMatch(
      /^Would have fired [1-9]\d* times? in the last year\.$/,
    );
    await Promise.all([
      page.waitForURL(/\/admin\/rules\/[^/?]+\?done=saved/),
      page.getByRole('button', { name: 'Save rule' }).click(),
    ]);
    const rule = await h.db.prisma.rule.findFirstOrThrow({ where: { name: 'AAPL drawdown' } });
    expect(rule).toMatchObject({ kind: 'drawdown', symbols: ['AAPL'], params: { sessions: 60, thresholdPct: 12.5 } });
    // The edit page shows the saved rule in its fields.
    await expect(page.getByRole('textbox', { name: 'Threshold (%)', exact: true }).inputValue()).resolves.toBe('12.5');
  });

  it('switches kind with a "Change kind" submit when JavaScript is off', async () => {
    const noJs = await browser.newContext({ javaScriptEnabled: false, storageState: await ctx.storageState() });
    const p = await noJs.newPage();
    try {
      await p.goto(`${base}/admin/rules/new`);
      expect(await p.isVisible('#params-pct_move')).toBe(true);
      expect(await p.isHidden('#params-volume_spike')).toBe(true);
      await p.getByRole('textbox', { name: 'Name', exact: true }).fill('Kept across the switch');
      await p.getByRole('combobox', { name: 'Kind', exact: true }).selectOption('volume_spike');
      // Without the script nothing switches until the form is sent.
      expect(await p.isHidden('#params-volume_spike')).toBe(true);
      await press(p, 'Change kind');
      expect(await p.isVisible('#params-volume_spike')).toBe(true);
      expect(await p.isHidden('#params-pct_move')).toBe(true);
      await expect(p.getByRole('textbox', { name: 'Multiple (x)', exact: true }).inputValue()).resolves.toBe('3');
      await expect(p.getByRole('textbox', { name: 'Name', exact: true }).inputValue()).resolves.toBe(
        'Kept across the switch',
      );
      await checkPage(p);
      // Confirmation: its mode switches the same way.
      await p.getByRole('combobox', { name: 'Kind', exact: true }).selectOption('confirmation');
      await press(p, 'Change kind');
      await p.getByRole('combobox', { name: 'Mode', exact: true }).selectOption('news_price');
      await press(p, 'Change mode');
      await expect(p.getByRole('textbox', { name: 'Within (minutes)', exact: true }).inputValue()).resolves.toBe('120');
      await checkPage(p);
      expect(await h.db.prisma.rule.count({ where: { name: 'Kept across the switch' } })).toBe(0);
    } finally {
      await noJs.close();
    }
  });

  it('adds a webhook endpoint, shows the secret once and the receiver’s answer to a test event', async () => {
    receiver = await startWebhookReceiver({
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      rejectUnverified: false,
      script: [{ status: 202, body: 'accepted by the test receiver' }],
    });
    await page.goto(`${base}/admin/endpoints`);
    await checkPage(page);
    await page.getByLabel('URL').fill(`${receiver.url}/hooks/signals`);
    await page.getByLabel('Description').fill('local receiver');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = (await page.getByTestId('secret').textContent())?.trim() ?? '';
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect(page.getByTestId('test-status').textContent()).resolves.toMatch(/Delivered: HTTP 202/);
    await expect(page.getByTestId('test-snippet').textContent()).resolves.toBe('accepted by the test receiver');
    expect(await page.content()).not.toContain(secret);
    const [got] = await receiver.waitFor(1);
    const event = new Webhook(secret).verify(got?.rawBody ?? '', {
      'webhook-id': String(got?.id),
      'webhook-timestamp': String(got?.timestamp),
      'webhook-signature': String(got?.signature),
    }) as { type: string };
    expect(event.type).toBe('endpoint.test');
    const attempts = await h.db.prisma.deliveryAttempt.findMany({
      where: { delivery: { endpoint: { url: `${receiver.url}/hooks/signals` } } },
      include: { delivery: true },
    });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ outcome: 'ok', statusCode: 202, response: 'accepted by the test receiver' });
    expect(attempts[0]?.delivery.status).toBe('succeeded');

    // The same endpoint as a Slack channel: the test event arrives as a chat message, still signed.
    await page.getByRole('combobox', { name: 'Format' }).selectOption('slack');
    await press(page, 'Change format');
    await expect(page.getByRole('status').first().textContent()).resolves.toMatch(/Saved/);
    await expect(page.locator('dl.panel').textContent()).resolves.toContain('Slack message (incoming-webhook URL)');
    await checkPage(page);
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect(page.getByTestId('test-status').textContent()).resolves.toMatch(/Delivered: HTTP 200/);
    const [, chat] = await receiver.waitFor(2);
    const message = new Webhook(secret).verify(chat?.rawBody ?? '', {
      'webhook-id': String(chat?.id),
      'webhook-timestamp': String(chat?.timestamp),
      'webhook-signature': String(chat?.signature),
    }) as { text: string; blocks: unknown[] };
    expect(message.text).toMatch(/^Test event from Market Signals/);
    expect(message.blocks).toHaveLength(1);
  });

  it('shows an alert with its chart (lightweight-charts served locally) and headlines', async () => {
    const inst = await h.db.prisma.instrument.findUniqueOrThrow({ where: { symbol: 'AAPL' } });
    const rule = await h.db.prisma.rule.create({
      data: { name: 'Chart rule', kind: 'pct_move', params: { sessions: 1, thresholdPct: 10, direction: 'down' } },
    });
    const bar = await h.db.prisma.priceBar.findFirstOrThrow({
      where: { instrumentId: inst.id },
      orderBy: { date: 'desc' },
      skip: 60,
    });
    const feed = await h.db.prisma.feed.create({ data: { url: 'https://example.org/feed', name: 'Example feed' } });
    const item = await h.db.prisma.newsItem.create({
      data: {
        feedId: feed.id,
        dedupKey: 'n1',
        title: 'Apple <b>slides</b> on AI doubts',
        contentHash: 'h',
        publishedAt: bar.sourceAt,
      },
    });
    await h.db.prisma.newsItemInstrument.create({
      data: { newsItemId: item.id, instrumentId: inst.id, matched: 'AAPL' },
    });
    const alert = await h.db.prisma.alert.create({
      data: {
        dedupKey: 'browser-1',
        ruleId: rule.id,
        instrumentId: inst.id,
        subject: 'AAPL',
        severity: 'critical',
        title: 'AAPL fell 15 %',
        value: -0.15,
        threshold: -0.1,
        // The headlines the engine chose and the worker stored with the alert ("why it moved").
        details: {
          unit: 'fraction',
          headlines: [{ title: item.title, link: null, publishedAt: bar.sourceAt.toISOString() }],
        },
        firedAt: bar.sourceAt,
      },
    });
    await page.goto(`${base}/admin/alerts?symbol=AAPL`);
    await checkPage(page);
    await Promise.all([
      page.waitForURL(`${base}/admin/alerts/${alert.id}`),
      page.getByRole('link', { name: 'AAPL fell 15 %' }).click(),
    ]);
    await page.waitForSelector('#chart[data-ready="true"] canvas');
    await expect(
      page.getByRole('listitem').filter({ hasText: 'Apple <b>slides</b> on AI doubts' }).count(),
    ).resolves.toBe(1);
    await checkPage(page);

    // From the alert, silence its rule on AAPL for a day, then end the silence early.
    await Promise.all([
      page.waitForURL(/\/admin\/silences\?/),
      page.getByRole('link', { name: 'Silence alerts like this' }).click(),
    ]);
    await checkPage(page);
    await expect(page.getByRole('combobox', { name: 'Rule' }).inputValue()).resolves.toBe(rule.id);
    await expect(page.getByRole('textbox', { name: 'Symbol' }).inputValue()).resolves.toBe('AAPL');
    await page.getByRole('combobox', { name: 'For' }).selectOption('1440');
    await expect(page.getByRole('textbox', { name: 'Why' }).getAttribute('required')).resolves.not.toBeNull();
    await page.getByRole('textbox', { name: 'Why' }).fill('Apple event <today>');
    await press(page, 'Add silence');
    await expect(page.getByRole('status').first().textContent()).resolves.toMatch(/Created/);
    const row = page.getByRole('row').filter({ hasText: 'Apple event <today>' });
    await expect(row.getByText('active').count()).resolves.toBe(1);
    await expect(row.textContent()).resolves.toContain(ADMIN_EMAIL);
    const silence = await h.db.prisma.silence.findFirstOrThrow({ where: { comment: 'Apple event <today>' } });
    expect(silence.ruleId).toBe(rule.id);
    expect(silence.endsAt.getTime() - silence.startsAt.getTime()).toBe(86_400_000);
    await checkPage(page);
    await press(page, 'Expire now');
    await expect(
      page.getByRole('row').filter({ hasText: 'Apple event <today>' }).getByText('expired').count(),
    ).resolves.toBe(1);
    expect(
      (await h.db.prisma.silence.findUniqueOrThrow({ where: { id: silence.id } })).endsAt.getTime(),
    ).toBeLessThanOrEqual(Date.now());
  });

  it('deletes a feed and its news items after a confirmation page', async () => {
    const feed = await h.db.prisma.feed.create({ data: { url: 'https://example.org/old.xml', name: 'Old feed' } });
    for (const k of ['1', '2', '3']) {
      await h.db.prisma.newsItem.create({ data: { feedId: feed.id, dedupKey: k, title: `Old ${k}`, contentHash: k } });
    }
    await page.goto(`${base}/admin/feeds`);
    await page.getByRole('link', { name: 'Delete Old feed' }).click();
    await page.waitForURL(`${base}/admin/feeds/${feed.id}/delete`);
    await checkPage(page);
    await expect(page.getByTestId('feed-item-count').textContent()).resolves.toBe('3');
    // Cancel keeps everything.
    await page.getByRole('link', { name: 'Cancel' }).click();
    await page.waitForURL(`${base}/admin/feeds`);
    expect(await h.db.prisma.feed.count({ where: { id: feed.id } })).toBe(1);
    await page.goto(`${base}/admin/feeds/${feed.id}`);
    await page.getByRole('link', { name: 'Delete this feed' }).click();
    await press(page, 'Delete feed and its news');
    expect(page.url()).toBe(`${base}/admin/feeds?done=deleted`);
    await expect(page.getByRole('status').textContent()).resolves.toBe('Deleted.');
    expect(await h.db.prisma.feed.count({ where: { id: feed.id } })).toBe(0);
    expect(await h.db.prisma.newsItem.count({ where: { feedId: feed.id } })).toBe(0);
    await expect(page.getByRole('link', { name: 'Delete Old feed' }).count()).resolves.toBe(0);
    const gone = await page.goto(`${base}/admin/feeds/${feed.id}/delete`);
    expect(gone?.status()).toBe(404);
  });

  it('opens the queue dashboard behind the login, under its CSP (no framing), and it works', async () => {
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text()) && !/fonts\.googleapis/.test(m.text())) violations.push(m.text());
    });
    const res = await page.goto(`${base}/admin/queues`);
    expect(res?.status()).toBe(200);
    const csp = (await res?.allHeaders())?.['content-security-policy'] ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect((await res?.allHeaders())?.['x-frame-options']).toBe('DENY');
    // The React app rendered its queue list through its own API under that policy.
    await page.getByText('deliveries', { exact: false }).first().waitFor({ timeout: 20_000 });
    expect(violations).toEqual([]);
    page.removeAllListeners('console');
    const anon = await browser.newContext();
    const p2 = await anon.newPage();
    await p2.goto(`${base}/admin/queues`);
    expect(p2.url()).toContain('/admin/login');
    await anon.close();
  });
});

describe('public pages in the browser', () => {
  it('subscribes, gets no alert while pending, confirms through the emailed link, then gets alerts and unsubscribes in one click', async () => {
    // What the reader will subscribe to: a watchlist with AAPL and an article rule on it.
    const wl = await h.db.prisma.watchlist.create({ data: { slug: 'readers', name: 'Readers list' } });
    // A confirmed reader of the same list: the witness that an alert's mail has gone out.
    const witness = await h.db.prisma.subscriber.create({
      data: { email: 'witness@example.org', status: 'confirmed', subscriptions: { create: [{ watchlistId: wl.id }] } },
    });
    const aapl = await h.db.prisma.instrument.findUniqueOrThrow({ where: { symbol: 'AAPL' } });
    await h.db.prisma.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: aapl.id } });
    const rule = await h.db.prisma.rule.create({
      data: {
        name: 'Capex shock: 10 % down in one session',
        kind: 'pct_move',
        params: { thresholdPct: 10, direction: 'down' },
        watchlistId: wl.id,
        severity: 'critical',
        sourceArticle: '000_a25ee043e84446bd.txt',
        sourcePassage: 'Am Tag der Ankündigung stürzte der Aktienkurs des Unternehmens um 10% ab.',
      },
    });
    if (!worker || !smtp) throw new Error('the worker and the SMTP sink start in beforeAll');
    const anon = await browser.newContext();
    const p = await anon.newPage();
    try {
      // Started in beforeAll; a process takes a while to start on a loaded machine.
      await worker.started(60_000);
      await p.goto(`${base}/subscribe`);
      await checkPage(p);
      await p.getByRole('textbox', { name: 'Email' }).fill('reader@example.org');
      await p.getByLabel('Readers list').check();
      await p.getByLabel('Right away, one email per alert').check();
      await p.getByRole('button', { name: 'Subscribe' }).click();
      await expect(p.getByTestId('subscribe-done').textContent()).resolves.toMatch(/confirmation email is on its way/);
      const sub = await h.db.prisma.subscriber.findUniqueOrThrow({ where: { email: 'reader@example.org' } });
      expect(sub).toMatchObject({ status: 'pending', mode: 'immediate' });

      // The worker sends the confirmation email.
      const confirmation = await smtp.waitFor((m) => m.to.includes('reader@example.org'), 15_000);
      const sink = smtp;
      const mailTo = (who: string) => sink.messages.filter((m) => m.to.includes(who));

      /** The subscribers an alert's email deliveries go to (webhook endpoints other tests added aside). */
      const emailsOf = async (alertId: string | null) =>
        (await h.db.prisma.delivery.findMany({ where: { alertId: alertId ?? '', channel: 'email' } }))
          .map((d) => d.subscriberId)
          .sort();
      // An alert on AAPL, written and enqueued as the evaluation cycle does (outbox, then the queue).
      let seq = 0;
      const raise = async (title: string) => {
        const firedAt = new Date();
        const fired = await createAlertWithDeliveries(
          h.db.prisma,
          {
            dedupKey: `${rule.id}:AAPL:e2e:${seq++}`,
            ruleId: rule.id,
            subject: 'AAPL',
            symbol: 'AAPL',
            status: 'firing',
            severity: 'critical',
            title,
            value: -0.15,
            threshold: -0.1,
            windowStart: new Date(firedAt.getTime() - 86_400_000),
            windowEnd: firedAt,
            firedAt,
            details: { headlines: [] },
          },
          { now: firedAt, emailGroupWaitMs: 0 },
        );
        await h.queues.enqueueDeliveries(fired.deliveryIds.map((id) => ({ id })));
        // The fan-out of this alert is over: the witness's copy has arrived and no row of the alert
        // is still waiting or being sent (so a mail to the reader would have arrived too).
        await sink.waitFor((m) => m.to.includes('witness@example.org') && m.subject.includes(title), 15_000);
        await expect
          .poll(
            () =>
              h.db.prisma.delivery.count({
                where: { alertId: fired.alertId ?? '', channel: 'email', status: { in: ['pending', 'sending'] } },
              }),
            { timeout: 15_000 },
          )
          .toBe(0);
        return fired;
      };

      // A real alert while the address is still pending: the witness gets it, the reader does not.
      const early = await raise('AAPL fell 11.0% in one session');
      expect(await emailsOf(early.alertId)).toEqual([witness.id]);
      expect(mailTo('reader@example.org').map((m) => m.subject)).toEqual([confirmation.subject]);
      expect(await h.db.prisma.delivery.count({ where: { subscriberId: sub.id, alertId: early.alertId } })).toBe(0);

      // The reader follows the confirmation link.
      const link = /https?:\/\/\S+\/confirm\?token=[A-Za-z0-9_%-]+/.exec(confirmation.text)?.[0];
      expect(link?.startsWith(`${base}/confirm?token=`)).toBe(true);
      await p.goto(link as string);
      // Opening the link is not enough (mail scanners open links): the owner presses the button.
      expect((await h.db.prisma.subscriber.findUniqueOrThrow({ where: { id: sub.id } })).status).toBe('pending');
      await p.getByTestId('confirm-button').click();
      await expect(p.getByTestId('confirmed').textContent()).resolves.toMatch(/confirmed/);
      expect((await h.db.prisma.subscriber.findUniqueOrThrow({ where: { id: sub.id } })).status).toBe('confirmed');

      // Confirmed: the next alert reaches the reader (and the earlier one never does).
      const fired = await raise('AAPL fell 15.0% in one session');
      expect(await emailsOf(fired.alertId)).toEqual([witness.id, sub.id].sort());
      const alertMail = await smtp.waitFor(
        (m) => m.to.includes('reader@example.org') && m.subject.includes('AAPL fell 15.0%'),
        15_000,
      );
      expect(alertMail.text).toContain('Capex shock: 10 % down in one session');
      expect(alertMail.text).toContain(`${base}/admin/alerts/${fired.alertId}`);
      expect(alertMail.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
      // The reader's mail: the confirmation and the alert raised after confirming, nothing else.
      expect(mailTo('reader@example.org').map((m) => m.subject)).toEqual([confirmation.subject, alertMail.subject]);

      // One click from the alert email: its visible link opens a page with one button.
      const unsubscribe = /https?:\/\/\S+\/unsubscribe\?token=[A-Za-z0-9_%.-]+/.exec(alertMail.text)?.[0];
      expect(unsubscribe?.startsWith(`${base}/unsubscribe?token=`)).toBe(true);
      await p.goto(unsubscribe as string);
      await checkPage(p);
      await p.getByRole('button', { name: 'Unsubscribe' }).click();
      await expect(p.getByTestId('unsubscribed').textContent()).resolves.toMatch(/You are unsubscribed/);
      expect((await h.db.prisma.subscriber.findUniqueOrThrow({ where: { id: sub.id } })).status).toBe('unsubscribed');
      expect(await worker.stop()).toBe(0);
    } finally {
      await worker.stop();
      await anon.close();
    }
  }, 90_000);

  it('subscribes to a single rule, then changes it on the preferences page', async () => {
    const wl = await h.db.prisma.watchlist.create({ data: { slug: 'rule-picks', name: 'Rule picks' } });
    const mk = (name: string, description: string) =>
      h.db.prisma.rule.create({
        data: { name, description, kind: 'pct_move', params: { thresholdPct: -10, window: '1d' }, watchlistId: wl.id },
      });
    const first = await mk('Picked fall rule', 'Fires on a 10 % one-day fall');
    const second = await mk('Second pick rule', 'Another one-day fall');
    const anon = await browser.newContext();
    const p = await anon.newPage();
    try {
      await p.goto(`${base}/subscribe`);
      await checkPage(p);
      await p.getByRole('textbox', { name: 'Email' }).fill('rule-reader@example.org');
      for (const box of await p.locator('input[name="watchlistIds"]').all()) await box.uncheck();
      // Nothing ticked: the inline error, and nothing stored.
      await press(p, 'Subscribe');
      await expect(p.locator('#choice-err').textContent()).resolves.toContain('choose at least one watchlist or rule');
      await checkPage(p);
      expect(await h.db.prisma.subscriber.count({ where: { email: 'rule-reader@example.org' } })).toBe(0);

      const box = p.getByRole('checkbox', { name: 'Picked fall rule' });
      expect(await box.getAttribute('aria-describedby')).toBe(`rule-${first.id}-desc`);
      await expect(p.locator(`#rule-${first.id}-desc`).textContent()).resolves.toBe('Fires on a 10 % one-day fall');
      await box.check();
      await press(p, 'Subscribe');
      await expect(p.getByTestId('subscribe-done').textContent()).resolves.toMatch(/confirmation email is on its way/);
      const sub = await h.db.prisma.subscriber.findUniqueOrThrow({
        where: { email: 'rule-reader@example.org' },
        include: { subscriptions: true },
      });
      expect(sub.subscriptions.map((x) => [x.watchlistId, x.ruleId])).toEqual([[null, first.id]]);

      const token = signSubscriberToken((await resolveSigningKeys(h.db.prisma)).current, sub.id, sub.tokenVersion);
      await p.goto(`${base}/preferences?token=${token}`);
      await checkPage(p);
      expect(await p.getByRole('checkbox', { name: 'Picked fall rule' }).isChecked()).toBe(true);
      expect(await p.getByRole('checkbox', { name: 'Second pick rule' }).isChecked()).toBe(false);
      await p.getByRole('checkbox', { name: 'Picked fall rule' }).uncheck();
      await p.getByRole('checkbox', { name: 'Second pick rule' }).check();
      await press(p, 'Save preferences');
      await expect(p.getByRole('status').textContent()).resolves.toBe('Preferences saved.');
      expect(await p.getByRole('checkbox', { name: 'Second pick rule' }).isChecked()).toBe(true);
      const subs = await h.db.prisma.subscription.findMany({ where: { subscriberId: sub.id } });
      expect(subs.map((x) => [x.watchlistId, x.ruleId])).toEqual([[null, second.id]]);
    } finally {
      await anon.close();
    }
  });
});
