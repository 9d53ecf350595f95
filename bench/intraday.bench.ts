/**
 * Intraday benchmarks (issue 12): a backtest over 60 trading days of 5m bars (pre- and
 * post-market included: 192 bars a day) x 50 symbols x 20 rules, and the bytes one symbol-day of
 * 5m bars takes in Postgres (IntradayBar heap + indexes, measured on stored rows). Inputs are built
 * before timing; only backtestIntraday is timed (median of several runs).
 */
import {
  backtestIntraday,
  extendedSessionFor,
  type IntradayBar,
  type IntradayHistory,
  isTradingDay,
  type NewsItem,
  previousTradingDay,
  type RuleDefinition,
} from '@signals/core';
import os from 'node:os';
import { createIntradayStore } from '@signals/db';
import { createTestDb } from '@signals/testing';
import ensureTemplate from '../packages/testing/src/global-setup.ts';
import { type BenchResult, medianMs } from './lib.ts';

const SYMBOLS = 50;
const DAYS = 60;
const RULES = 20;
const STEP = 300_000;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The last `n` trading days up to `last`, ascending. */
function tradingDays(last: string, n: number): string[] {
  const out: string[] = [];
  let d = isTradingDay(last) ? last : previousTradingDay(last);
  while (out.length < n) {
    out.push(d);
    d = previousTradingDay(d);
  }
  return out.reverse();
}

/** A seeded random walk of 5m bars over each day's pre-market, session and post-market. */
function makeHistory(symbol: string, days: string[], seed: number): IntradayHistory {
  const rand = rng(seed);
  let p = 50 + rand() * 400;
  const bars: IntradayBar[] = [];
  for (const d of days) {
    const s = extendedSessionFor(d);
    if (!s) continue;
    for (let t = s.preOpen.getTime(); t < s.postClose.getTime(); t += STEP) {
      const session = t < s.open.getTime() ? 'pre' : t < s.close.getTime() ? 'regular' : 'post';
      const vol = session === 'regular' ? 0.002 : 0.0008;
      const open = p;
      p *= 1 + (rand() - 0.5) * 2 * vol * Math.sqrt(3);
      const close = p;
      bars.push({
        symbol,
        interval: '5m',
        at: new Date(t),
        open,
        high: Math.max(open, close) * (1 + rand() * vol),
        low: Math.min(open, close) * (1 - rand() * vol),
        close,
        volume: Math.round((session === 'regular' ? 50_000 : 3_000) * (0.5 + rand())),
        session,
      });
    }
  }
  return { symbol, interval: '5m', bars };
}

/**
 * 20 rules of the kinds that run on intraday data, half of them on extended hours, with thresholds
 * of the size the seed rules and the daily engine benchmark use (moves of 6-9 %, 3-5 sd).
 */
function makeRules(): RuleDefinition[] {
  const base = { severity: 'warning' as const, cooldownSec: 86_400 };
  const out: RuleDefinition[] = [];
  for (let i = 0; i < RULES; i++) {
    const id = `r${i}`;
    const name = `rule ${i}`;
    const session = i % 2 === 0 ? ('extended' as const) : ('regular' as const);
    switch (i % 5) {
      case 0:
        out.push({
          ...base,
          id,
          name,
          kind: 'pct_move',
          params: { thresholdPct: 6 + (i % 4), direction: 'either', intraday: true, session },
        });
        break;
      case 1:
        out.push({
          ...base,
          id,
          name,
          kind: 'pct_move',
          params: { thresholdPct: 6, direction: 'up', intraday: true, extremes: true },
        });
        break;
      case 2:
        out.push({
          ...base,
          id,
          name,
          kind: 'vol_scaled_move',
          params: { lookback: 20, k: 3 + (i % 3), direction: 'either', session },
        });
        break;
      case 3:
        out.push({ ...base, id, name, kind: 'drawdown', params: { sessions: 10, thresholdPct: 15 } });
        break;
      default:
        out.push({
          ...base,
          id,
          name,
          kind: 'confirmation',
          params: {
            mode: 'news_price',
            news: { keywords: ['capex', 'guidance'], requireSymbol: true },
            minMovePct: 3,
            withinMin: 120,
            direction: 'either',
            session,
          },
        });
    }
  }
  return out;
}

/** The benchmark's inputs (also for profiling: `node --cpu-prof`). */
export function inputs() {
  const days = tradingDays('2025-11-26', DAYS);
  const histories = Array.from({ length: SYMBOLS }, (_, i) =>
    makeHistory(`SYM${String(i).padStart(4, '0')}`, days, i + 1),
  );
  const rules = makeRules();
  // One capex headline per symbol every ten days, in the post-market.
  const news: NewsItem[] = [];
  for (let i = 0; i < SYMBOLS; i++) {
    for (let k = i % 10; k < days.length; k += 10) {
      const at = new Date((extendedSessionFor(days[k] as string)?.close.getTime() ?? 0) + 300_000);
      news.push({
        id: `n${i}-${k}`,
        feedId: 'bench',
        title: `SYM${String(i).padStart(4, '0')} raises capex guidance`,
        publishedAt: at,
        firstSeenAt: at,
        symbols: [`SYM${String(i).padStart(4, '0')}`],
        topics: ['capex'],
      });
    }
  }
  return { days, histories, rules, news };
}

export default async function run(): Promise<BenchResult[]> {
  const { histories, rules, news } = inputs();
  let alerts = 0;
  let steps = 0;
  const cpu: number[] = [];
  const load = os.loadavg()[0] ?? 0;
  const ms = await medianMs(
    () => {
      const c0 = process.cpuUsage();
      const r = backtestIntraday(rules, histories, { news });
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      alerts = r.alerts.length;
      steps = r.steps;
    },
    3,
    1,
  );
  cpu.sort((a, b) => a - b);
  const cpuMs = cpu[Math.floor(cpu.length / 2)] ?? Number.NaN;
  const barsPerDay = (histories[0]?.bars.length ?? 0) / DAYS;

  // Storage: 10 symbols' 60 days written through the repository, then the table's size on disk.
  await ensureTemplate();
  const db = await createTestDb();
  let bytesPerSymbolDay = 0;
  const stored = 10;
  try {
    const store = createIntradayStore(db.prisma);
    for (const h of histories.slice(0, stored)) {
      await store.saveIntradayBars({ symbol: h.symbol, interval: '5m', bars: h.bars, fetchedAt: new Date() });
    }
    await db.prisma.$executeRawUnsafe('VACUUM ANALYZE "IntradayBar"');
    const [row] = await db.prisma.$queryRawUnsafe<{ bytes: bigint }[]>(
      `SELECT pg_total_relation_size('"IntradayBar"') AS bytes`,
    );
    bytesPerSymbolDay = Math.round(Number(row?.bytes ?? 0) / (stored * DAYS));
  } finally {
    await db.drop();
  }
  return [
    {
      name: 'engine.backtest_intraday_5m.ms',
      value: Math.round(ms * 10) / 10,
      unit: 'ms',
      target: 2000,
      better: 'lower',
      note: `${SYMBOLS} symbols x ${DAYS} days x ${barsPerDay} 5m bars (pre/post included) = ${steps} steps, ${RULES} rules (pct_move, vol_scaled, drawdown, news_price; half extended), ${news.length} news; ${alerts} alerts; wall time, load average ${load.toFixed(1)} at start`,
    },
    {
      name: 'engine.backtest_intraday_5m.cpu_ms',
      value: Math.round(cpuMs * 10) / 10,
      unit: 'ms',
      target: null,
      better: 'lower',
      note: 'the same backtest in process CPU time (user + system, GC threads included): the figure to compare runs by on a loaded host',
    },
    {
      name: 'storage.intraday_5m.bytes_per_symbol_day',
      value: bytesPerSymbolDay,
      unit: 'bytes',
      target: null,
      better: 'lower',
      note: `IntradayBar heap + primary key + (interval, ts) index after VACUUM, ${stored} symbols x ${DAYS} days x ${barsPerDay} bars`,
    },
  ];
}
