/**
 * Rule engine benchmarks (issue 4): throughput of rule x bar evaluations, a 50-rule backtest over
 * TSLA's 3,303 recorded bars, one live poll cycle of 500 instruments x 20 rules, and a scaling table.
 * All inputs are built before timing; only engine calls are timed (median of several runs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  backtest,
  createSeries,
  type DailyBar,
  evaluate,
  FixedClock,
  type History,
  nextOpen,
  type RuleDefinition,
  type RuleStateSnapshot,
  sessionCloseMs,
  type SymbolSeries,
  withQuote,
} from '@signals/core';
import { parseYahooChart } from '@signals/market-data';
import { type BenchResult, medianMs } from './lib.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const sharedDir = process.env.SHARED_DIR ?? path.resolve(here, '../../shared');

function loadTsla(): History {
  const file = path.join(sharedDir, 'fixtures', 'yahoo', 'historical-via-chart-dividends-TSLA-no-dividends.json');
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as { response: { bodyJson: unknown } };
  return parseYahooChart(raw.response.bodyJson);
}

/** A realistic mix of price rules (ids r0..r{n-1}); `symbols` left open so they apply to every series. */
function makeRules(n: number): RuleDefinition[] {
  const out: RuleDefinition[] = [];
  const base = { severity: 'warning' as const, cooldownSec: 86_400 };
  for (let i = 0; i < n; i++) {
    const id = `r${i}`;
    const name = `rule ${i}`;
    switch (i % 6) {
      case 0:
        out.push({
          ...base,
          id,
          name,
          kind: 'pct_move',
          params: { sessions: 1 + (i % 5), thresholdPct: 6 + (i % 7), direction: 'either' },
        });
        break;
      case 1:
        out.push({
          ...base,
          id,
          name,
          kind: 'drawdown',
          params: { sessions: 20 + (i % 40), thresholdPct: 15 + (i % 10) },
        });
        break;
      case 2:
        out.push({
          ...base,
          id,
          name,
          kind: 'vol_scaled_move',
          params: { lookback: 40 + (i % 40), k: 3 + (i % 3), direction: 'either' },
        });
        break;
      case 3:
        out.push({ ...base, id, name, kind: 'volume_spike', params: { sessions: 20, multiple: 2.5 + (i % 3) } });
        break;
      case 4:
        out.push({
          ...base,
          id,
          name,
          kind: 'pct_move',
          params: { thresholdPct: 8, direction: 'down', intraday: true },
        });
        break;
      default:
        out.push({
          ...base,
          id,
          name,
          kind: 'price_cross',
          params: { level: 50 + 10 * i, direction: i % 2 ? 'up' : 'down' },
        });
    }
  }
  return out;
}

/**
 * `count` instruments of `bars` sessions on the same dates (TSLA's first `bars` dates), each with a
 * different price path (TSLA's closes from a different offset), so multi-instrument replays align.
 */
function makeHistories(tsla: History, count: number, bars: number): History[] {
  const src = tsla.bars;
  const span = src.length - bars;
  return Array.from({ length: count }, (_, k) => {
    const off = span > 0 ? (k * 37) % span : 0;
    const symbol = `S${k}`;
    const out: DailyBar[] = new Array(bars);
    for (let i = 0; i < bars; i++) {
      const p = src[off + i] as DailyBar;
      out[i] = { ...p, symbol, date: (src[i] as DailyBar).date };
    }
    return { symbol, bars: out, splits: [] };
  });
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Live series: history plus a quote at `at` moved by up to +-15 % against the last close (a stress
 * case: many rules fire, so state changes and alert building are part of the figure).
 */
function withQuotes(series: SymbolSeries[], at: Date, seed: number): Map<string, SymbolSeries> {
  const r = rng(seed);
  const map = new Map<string, SymbolSeries>();
  for (const s of series) {
    const last = s.close[s.length - 1] as number;
    const move = (r() - 0.5) * 0.3;
    const price = last * (1 + move);
    map.set(
      s.symbol,
      withQuote(s, {
        symbol: s.symbol,
        price,
        prevClose: last,
        dayHigh: price * 1.01,
        dayLow: price * 0.99,
        volume: (s.volume[s.length - 1] as number) * (0.5 + r() * 3),
        marketCap: 1e9 * (1 + r() * 100),
        sourceAt: at,
      }),
    );
  }
  return map;
}

export default async function run(): Promise<BenchResult[]> {
  const tsla = loadTsla();
  const results: BenchResult[] = [];

  // 1. Backtest: TSLA 3,303 bars x 50 rules (also the throughput figure).
  const rules50 = makeRules(50);
  const bt = backtest(rules50, [tsla]);
  const btMs = await medianMs(() => backtest(rules50, [tsla]), 7, 2);
  results.push({
    name: 'engine.backtest_tsla_50.ms',
    value: Math.round(btMs * 10) / 10,
    unit: 'ms',
    target: 1000,
    better: 'lower',
    note: `TSLA 2010-2023, ${tsla.bars.length} bars x 50 rules (${bt.alerts.length} alerts), full replay incl. series build`,
  });
  results.push({
    name: 'engine.evals_per_s',
    value: Math.round(bt.evaluations / (btMs / 1000)),
    unit: 'evals/s',
    target: 1_000_000,
    better: 'higher',
    note: `${bt.evaluations.toLocaleString('en-US')} rule x bar evaluations through evaluate() in the TSLA backtest, one core`,
  });

  // 2. One poll cycle: 500 instruments x 20 rules, live quotes, states in and out.
  const rules20 = makeRules(20);
  const live = makeHistories(tsla, 500, 300).map((h) => createSeries(h));
  // Mid-morning of the session after the histories' last bar.
  const lastDate = tsla.bars[299]?.date ?? '2011-09-01';
  const t0 = new Date(nextOpen(new Date(sessionCloseMs(lastDate))).getTime() + 30 * 60_000);
  const warm = evaluate({
    rules: rules20,
    series: withQuotes(live, t0, 1),
    states: new Map(),
    clock: new FixedClock(t0),
  });
  const statesIn = new Map<string, RuleStateSnapshot>(warm.states);
  const t1 = new Date(t0.getTime() + 60_000);
  const seriesNow = withQuotes(live, t1, 2);
  const clock = new FixedClock(t1);
  let last = warm;
  const cycleMs = await medianMs(
    () => {
      last = evaluate({ rules: rules20, series: seriesNow, states: statesIn, clock });
    },
    15,
    3,
  );
  results.push({
    name: 'engine.cycle_500x20.ms',
    value: Math.round(cycleMs * 100) / 100,
    unit: 'ms',
    target: 50,
    better: 'lower',
    note: `500 instruments (300 bars + live quote) x 20 rules = 10,000 evaluations; ${statesIn.size} states in, ${last.states.size} changed out, ${last.alerts.length} alerts`,
  });

  // 3. Scaling table: backtests of instruments x rules x bars.
  const sizes: [number, number, number][] = [
    [1, 10, 3303],
    [1, 50, 3303],
    [1, 200, 3303],
    [10, 20, 1000],
    [50, 20, 1000],
    [100, 50, 250],
    [500, 20, 250],
  ];
  for (const [n, r, b] of sizes) {
    const hs = makeHistories(tsla, n, b);
    const rs = makeRules(r);
    const ms = await medianMs(() => backtest(rs, hs), 3, 1);
    const evals = n * r * b;
    results.push({
      name: `engine.scale.${n}x${r}x${b}.ms`,
      value: Math.round(ms * 10) / 10,
      unit: 'ms',
      target: null,
      better: 'lower',
      note: `${evals.toLocaleString('en-US')} evaluations, ${Math.round(evals / (ms / 1000)).toLocaleString('en-US')} evals/s`,
    });
  }
  return results;
}
