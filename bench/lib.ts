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

/** The Prisma client the benches seed through (a type only: lib.ts loads no database code). */
type BenchPrisma = import('@signals/db').PrismaClient;

/**
 * The fan-out benches' audience: watchlist "AI core" with NVDA, the one-session drop rule on it
 * (`thresholdPct` 10, the source article's figure; 99 where a worker replays prices and the rule
 * must never fire by itself) and `subscribers` immediate email subscribers of the watchlist
 * (sub000000@bench.example ...), written by two INSERT ... SELECT statements whatever their number.
 * Statistics are refreshed after, as a long-running install's autovacuum would have.
 */
export async function seedNvdaAudience(
  p: BenchPrisma,
  o: { subscribers: number; status?: 'confirmed' | 'unsubscribed'; thresholdPct?: number },
): Promise<{ watchlistId: string; ruleId: string; ruleName: string }> {
  const wl = await p.watchlist.create({ data: { slug: 'bench-ai', name: 'AI core' } });
  const inst = await p.instrument.create({ data: { symbol: 'NVDA', name: 'NVIDIA' } });
  await p.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: inst.id } });
  const rule = await p.rule.create({
    data: {
      name: 'One-session drop of 10 %',
      kind: 'pct_move',
      params: { sessions: 1, thresholdPct: o.thresholdPct ?? 10, direction: 'down' },
      watchlistId: wl.id,
      severity: 'critical',
      sourceArticle: '002_f83b04b47871ab2e.txt',
      sourcePassage: 'Nvidia fiel um 17 %',
    },
  });
  const status = o.status ?? 'confirmed';
  await p.$executeRaw`
    INSERT INTO "Subscriber" (id, email, status, mode, "confirmedAt", "updatedAt")
    SELECT 'bsub' || lpad(i::text, 6, '0'), 'sub' || lpad(i::text, 6, '0') || '@bench.example',
           ${status}::"SubscriberStatus", 'immediate', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
    FROM generate_series(0, ${o.subscribers - 1}::int) AS i`;
  await p.$executeRaw`
    INSERT INTO "Subscription" (id, "subscriberId", "watchlistId")
    SELECT 'bsubn' || lpad(i::text, 6, '0'), 'bsub' || lpad(i::text, 6, '0'), ${wl.id}
    FROM generate_series(0, ${o.subscribers - 1}::int) AS i`;
  await p.$executeRawUnsafe('ANALYZE');
  return { watchlistId: wl.id, ruleId: rule.id, ruleName: rule.name };
}
