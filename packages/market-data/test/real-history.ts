/**
 * Recorded Yahoo histories parsed by the one chart parser, for the tests that run the core's calendar
 * and engine on real data (they live here, beside the parser, so the pure core depends on no adapter).
 */
import fs from 'node:fs';
import { fixturePath } from '@signals/fixtures';
import { type BuiltHistory, parseYahooChart } from '../src/index.ts';

export function loadChart(file: string): BuiltHistory {
  return parseYahooChart(loadChartBody(file));
}

export function loadChartBody(file: string): unknown {
  return (JSON.parse(fs.readFileSync(fixturePath('yahoo', file), 'utf8')) as { response: { bodyJson: unknown } })
    .response.bodyJson;
}

export const NVDA_FILE = 'historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json';
export const TSLA_FILE = 'historical-via-chart-dividends-TSLA-no-dividends.json';
export const MSFT_FILE = 'historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json';
