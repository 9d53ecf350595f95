/**
 * Debian's Chromium through playwright-core, as the browser tests run it (platform facts: the
 * flags below; `npx playwright install` cannot download browsers here), and a screenshot of the
 * page a failed test left, under test-results/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

const RESULTS = path.resolve(import.meta.dirname, '../../../test-results');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Saves `page` as test-results/<prefix>-<test name>.png (for a beforeEach's onTestFailed). */
export async function screenshotOnFailure(page: Page | undefined, prefix: string, testName: string) {
  fs.mkdirSync(RESULTS, { recursive: true });
  const name = testName.replace(/[^a-z0-9]+/gi, '-').slice(0, 80);
  await page?.screenshot({ path: path.join(RESULTS, `${prefix}-${name}.png`), fullPage: true }).catch(() => {});
}
