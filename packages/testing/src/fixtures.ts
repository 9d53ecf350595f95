import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** ../shared beside the checkout (as in CI), or SHARED_DIR. */
export function sharedDir(): string {
  return process.env.SHARED_DIR ?? path.resolve(repoRoot, '../shared');
}

export function fixturePath(...parts: string[]): string {
  return path.join(sharedDir(), 'fixtures', ...parts);
}

export interface YahooExchange {
  request: { url: string; method: string; headers?: Record<string, string> };
  response: {
    ok: boolean;
    status: number;
    statusText?: string;
    headers?: Record<string, string | string[]>;
    bodyJson?: unknown;
    bodyText?: string;
  };
}

/** One recorded Yahoo exchange from ../shared/fixtures/yahoo. */
export function yahooFixture(file: string): YahooExchange {
  return JSON.parse(fs.readFileSync(fixturePath('yahoo', file), 'utf8')) as YahooExchange;
}

export { repoRoot };

/** A synthetic intraday recording (or its .news.json) in the repo's fixtures/yahoo-intraday. */
export function intradayFixturePath(file: string): string {
  return path.join(repoRoot, 'fixtures', 'yahoo-intraday', file);
}

/** The parsed JSON of fixtures/yahoo-intraday/<file>. */
export function intradayFixture(file: string): unknown {
  return JSON.parse(fs.readFileSync(intradayFixturePath(file), 'utf8'));
}
