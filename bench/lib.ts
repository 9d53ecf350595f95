/**
 * Benchmark contract. Each `bench/<area>.bench.ts` default-exports an async function returning
 * BenchResult[]; `pnpm bench` (bench/run.ts) runs them all (or those named on the command line),
 * writes bench/results.json and bench/RESULTS.md. Figures come from here, never from timed
 * assertions in tests.
 */
export interface BenchResult {
  /** Dotted name as the issues ask for it, e.g. "engine.evals_per_s". */
  name: string;
  value: number;
  unit: string;
  /** The target figure (null when the issue only asks to report it). */
  target: number | null;
  better: 'lower' | 'higher';
  /** One line of context for RESULTS.md (inputs, sizes). */
  note?: string;
}

export type Bench = () => Promise<BenchResult[]>;

/** Runs fn `runs` times after `warmup` runs and returns the median wall time in ms. */
export async function medianMs(fn: () => unknown | Promise<unknown>, runs = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/**
 * The alert the fan-out benches write: NVDA's one-session crash on the DeepSeek news, firing now,
 * under `ruleId`, deduplicated by `key` (one per bench).
 */
export function nvdaCrashAlert(ruleId: string, key: string) {
  return {
    dedupKey: `${ruleId}:NVDA:${key}`,
    ruleId,
    subject: 'NVDA',
    symbol: 'NVDA',
    status: 'firing' as const,
    severity: 'critical' as const,
    title: 'NVDA fell 16.9% in one session',
    value: -0.169,
    threshold: -0.1,
    windowStart: new Date(Date.now() - 86_400_000),
    windowEnd: new Date(),
    firedAt: new Date(),
    details: { headlines: [{ title: 'DeepSeek rattles chip stocks', link: 'https://example.com/a' }] },
  };
}
