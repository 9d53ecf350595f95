/**
 * Issue 10, item 8 (second half): rule previews and API backtests run off the request thread with
 * a time budget. A rule too heavy for the budget answers 422 and its thread is terminated; /healthz
 * keeps answering while the heaviest allowed preview runs (no answer waits a quarter of the preview;
 * on the request thread one would wait for all of it).
 */
import fs from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NewsItem, ValidationError, validateRuleDefinition } from '@signals/core';
import { createTestDb } from '@signals/testing';
import { HttpProblem } from '../src/problem.ts';
import { type BacktestPlan, executePlan } from '../src/services/backtest.ts';
import {
  createBacktestRunner,
  MAX_THREADS,
  MAX_WAITING,
  THREAD_NICE,
  TooHeavyError,
} from '../src/services/backtest-runner.ts';
import { adminSession, api, type Harness, startHarness } from './harness.ts';

const DAY = 86_400_000;
/** The rule schema's maximum: 100 keywords, each with a wildcard. */
const KEYWORDS = Array.from({ length: 100 }, (_, i) => `mark* zzkeyword${i} ${'x'.repeat(60)}`);
const WORDS = ['market', 'nvidia', 'chips', 'capex', 'bubble', 'selloff', 'revenue', 'guidance', 'datacenter'];
const text = (seed: number, n: number) =>
  Array.from({ length: n }, (_, j) => WORDS[(seed * 7 + j * 3) % WORDS.length]).join(' ');
/** As many news items as a preview loads (services/backtest.ts: take 20,000). */
const NEWS_ITEMS = 20_000;

const heavyRule = {
  name: 'Every keyword the schema allows',
  kind: 'news_match' as const,
  params: { keywords: KEYWORDS, topics: [] },
  symbols: ['NVDA'],
};

/** A year of daily bars for one symbol (the engine walks sessions). */
function bars(symbol: string, now: number) {
  const out = [];
  for (let t = now - 400 * DAY; t < now; t += DAY) {
    const d = new Date(t);
    if (d.getUTCDay() === 0 || d.getUTCDay() === 6) continue;
    const date = d.toISOString().slice(0, 10);
    out.push({
      symbol,
      date,
      open: 100,
      high: 101,
      low: 99,
      close: 100,
      volume: 1,
      sourceAt: new Date(`${date}T21:00:00Z`),
    });
  }
  return out;
}

/** The heaviest allowed news rule over as much news as a preview reads, data included (no database). */
function heavyPlan(now = Date.now()): BacktestPlan {
  const v = validateRuleDefinition({ id: 'heavy', ...heavyRule, severity: 'warning', cooldownSec: 0 });
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  const news: NewsItem[] = Array.from({ length: NEWS_ITEMS }, (_, i) => ({
    id: `n${i}`,
    feedId: 'f',
    title: text(i, 12),
    summary: text(i + 1, 60),
    firstSeenAt: new Date(now - (i % 360) * DAY - 1000),
    symbols: ['NVDA'],
    topics: [],
  }));
  return {
    rules: [{ def: v.rule, name: heavyRule.name }],
    symbols: ['NVDA'],
    histories: [{ symbol: 'NVDA', bars: bars('NVDA', now), splits: [] }],
    from: new Date(now - 365 * DAY),
    to: new Date(now),
    news,
  };
}

async function until(cond: () => boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the backtest runner', () => {
  const logger = pino({ level: 'silent' });
  // Plans below bring their data: the threads never open this.
  const runnerWith = (timeoutMs: number) =>
    createBacktestRunner({ timeoutMs, logger, databaseUrl: 'postgresql://nobody@127.0.0.1:1/none' });

  it('gives the same outcome off the thread as the engine in-process', async () => {
    const now = Date.now();
    const v = validateRuleDefinition({
      id: 'drop',
      name: 'Drop',
      kind: 'pct_move',
      params: { sessions: 1, thresholdPct: 0.5, direction: 'either' },
      severity: 'warning',
      cooldownSec: 0,
    });
    if (!v.ok) throw new Error('rule');
    const series = bars('MSFT', now).map((b, i) => ({ ...b, close: 100 + (i % 7) - (i % 3) }));
    const histories = [{ symbol: 'MSFT', bars: series, splits: [] }];
    const range = { from: new Date(now - 200 * DAY), to: new Date(now) };
    const runner = runnerWith(30_000);
    try {
      const plan: BacktestPlan = { rules: [{ def: v.rule, name: 'Drop' }], symbols: ['MSFT'], histories, ...range };
      const off = await runner.run(plan, 'preview');
      expect(off.outcome.summary.total).toBeGreaterThan(0);
      expect(off.anyBars).toBe(true);
      // Posted bars and a price rule: the plan reads no database, in the thread or here.
      const noDb = {
        get prisma(): never {
          throw new Error('no database');
        },
      };
      expect(off).toEqual(await executePlan(noDb, plan));
      // The thread stays for the next plan, and closing ends it.
      expect(runner.liveThreads).toBe(1);
      // On Linux it runs below the request thread's priority: some thread of this process is
      // THREAD_NICE steps nicer than the process (which CI may itself run under `nice`), capped at 19.
      if (fs.existsSync('/proc/thread-self')) {
        const nice = (tid: string) =>
          Number(fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]);
        const base = os.getPriority(process.pid);
        const tids = fs.readdirSync('/proc/self/task');
        expect(tids.map(nice)).toContain(Math.min(19, base + THREAD_NICE));
        expect(nice(String(process.pid))).toBe(base);
      }
      expect(runner.running).toBe(0);
    } finally {
      await runner.close();
    }
    expect(runner.liveThreads).toBe(0);
  });

  it('a domain error thrown inside the thread keeps its class and HTTP meaning (422 stays 422)', async () => {
    const db = await createTestDb();
    const runner = createBacktestRunner({ timeoutMs: 30_000, logger, databaseUrl: db.url });
    try {
      const v = validateRuleDefinition({ id: 'r', ...heavyRule, severity: 'warning', cooldownSec: 0 });
      if (!v.ok) throw new Error('rule');
      const now = Date.now();
      // No 1m bars stored: the loader's resolution choice, made in the thread, refuses with a 422.
      const plan: BacktestPlan = {
        rules: [{ def: v.rule, name: 'r' }],
        symbols: ['NVDA'],
        from: new Date(now - 10 * DAY),
        to: new Date(now),
        interval: '1m',
      };
      const err = await runner.run(plan, 'backtest').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).status).toBe(422);
      expect((err as ValidationError).issues).toEqual([
        { path: 'interval', message: 'no 1m bars stored for these symbols over the range' },
      ]);
      // Posted daily bars with an interval: the same choice's 400, also from inside the thread.
      const posted = await runner
        .run(
          { ...plan, histories: [{ symbol: 'NVDA', bars: bars('NVDA', now), splits: [] }], interval: '5m' },
          'backtest',
        )
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(posted).toBeInstanceOf(ValidationError);
      expect((posted as ValidationError).status).toBe(400);
      // The thread answered: it stays for the next plan.
      expect(runner.liveThreads).toBe(1);
    } finally {
      await runner.close();
      await db.drop();
    }
  });

  it('terminates a plan over its budget (TooHeavyError), and the thread is gone', async () => {
    const runner = runnerWith(100);
    const err = await runner.run(heavyPlan(), 'preview').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TooHeavyError);
    expect((err as Error).message).toMatch(
      /^This rule is too heavy to preview: its backtest did not finish within 0\.1 s/,
    );
    expect(runner.running).toBe(0);
    // The job alone needs over a second (and far more on a loaded machine): an exit this soon is the termination.
    await until(() => runner.liveThreads === 0, 5_000, 'the terminated thread exits');
  });

  it(`runs ${MAX_THREADS} at a time, lets ${MAX_WAITING} wait, refuses more with 503`, async () => {
    const runner = runnerWith(100);
    const plan = heavyPlan();
    const all = Array.from({ length: MAX_THREADS + MAX_WAITING + 1 }, () =>
      runner.run(plan, 'backtest').then(
        () => 'done',
        (e: unknown) => e,
      ),
    );
    expect(runner.running).toBeLessThanOrEqual(MAX_THREADS);
    const results = await Promise.all(all);
    const refused = results.filter((r) => r instanceof HttpProblem);
    expect(refused).toHaveLength(1);
    expect((refused[0] as HttpProblem).status).toBe(503);
    expect((refused[0] as HttpProblem).headers['retry-after']).toBe('5');
    const heavy = results.filter((r) => r instanceof TooHeavyError) as TooHeavyError[];
    expect(heavy).toHaveLength(MAX_THREADS + MAX_WAITING);
    expect(heavy[0]?.message).toMatch(/^This backtest is too heavy/);
    expect(runner.running).toBe(0);
    await until(() => runner.liveThreads === 0, 10_000, 'every thread exits');
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// Over HTTP, on a database holding as much news as a preview reads
// ---------------------------------------------------------------------------------------------

/**
 * As many news items as a preview reads, tagged NVDA, over the last year. Written by Postgres
 * itself (generate_series): building 20,000 rows in this process would leave garbage whose
 * collection pauses the very event loop the test measures.
 */
async function seedNews(h: Harness) {
  const feed = await h.db.prisma.feed.create({ data: { url: 'https://example.org/heavy.xml', name: 'Heavy' } });
  const nvda = await h.db.prisma.instrument.create({ data: { symbol: 'NVDA' } });
  const words = `ARRAY[${WORDS.map((w) => `'${w}'`).join(',')}]`;
  await h.db.prisma.$executeRawUnsafe(
    `INSERT INTO "NewsItem" (id, "feedId", "dedupKey", "contentHash", title, summary, "firstSeenAt", "updatedAt")
     SELECT 'heavy' || g, $1, 'heavy' || g, 'heavy' || g,
       (SELECT string_agg((${words})[1 + (g * 7 + k * 3) % ${WORDS.length}], ' ') FROM generate_series(0, 11) k),
       (SELECT string_agg((${words})[1 + ((g + 1) * 7 + k * 3) % ${WORDS.length}], ' ') FROM generate_series(0, 59) k),
       now() - (g % 360) * interval '1 day' - interval '1 minute', now()
     FROM generate_series(0, ${NEWS_ITEMS - 1}) g`,
    feed.id,
  );
  await h.db.prisma.$executeRawUnsafe(
    `INSERT INTO "NewsItemInstrument" ("newsItemId", "instrumentId", matched)
     SELECT 'heavy' || g, $1, 'NVDA' FROM generate_series(0, ${NEWS_ITEMS - 1}) g`,
    nvda.id,
  );
  expect(await h.db.prisma.newsItem.count()).toBe(NEWS_ITEMS);
}

describe('previews over HTTP', () => {
  let h: Harness;
  let base: string;
  beforeAll(async () => {
    h = await startHarness();
    await seedNews(h);
    base = await h.listen();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it('keeps /healthz answering during the heaviest allowed preview', async () => {
    const key = { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' };
    // Warm up as a running server is: connections open, code compiled, a backtest thread started
    // (a light preview), so the figures below are the heavy preview's effect on the request thread.
    for (let i = 0; i < 3; i++) expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const light = { name: 'Light', kind: 'pct_move', params: { sessions: 1, thresholdPct: 10, direction: 'down' } };
    const warm = await fetch(`${base}/api/rules/preview`, {
      method: 'POST',
      headers: key,
      body: JSON.stringify(light),
    });
    expect(warm.status).toBe(200);

    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    let done = false;
    const started = performance.now();
    let previewMs = 0;
    const preview = fetch(`${base}/api/rules/preview`, {
      method: 'POST',
      headers: key,
      body: JSON.stringify(heavyRule),
    })
      .then(async (r) => ({ status: r.status, body: await r.json() }))
      .finally(() => {
        previewMs = performance.now() - started;
        done = true;
      });
    const timings: number[] = [];
    while (!done) {
      const t0 = performance.now();
      const r = await fetch(`${base}/healthz`);
      await r.arrayBuffer();
      timings.push(performance.now() - t0);
      expect(r.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const res = await preview;
    loop.disable();
    // Finished within the budget (200) or cut at it (422): either way the server kept answering.
    expect([200, 422], JSON.stringify(res.body)).toContain(res.status);
    expect(timings.length).toBeGreaterThanOrEqual(5);
    const sorted = [...timings].sort((a, b) => a - b);
    const p50 = sorted[Math.floor(sorted.length / 2)] ?? 0;
    const max = sorted[sorted.length - 1] ?? 0;
    console.info(
      `/healthz during the heaviest preview (${res.status}, ${previewMs.toFixed(0)} ms): ${timings.length} calls, p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms; event-loop delay max ${(loop.max / 1e6).toFixed(1)} ms`,
    );
    // Relative, not a wall-clock budget (a loaded CI machine stretches both): a preview on the
    // server's own thread would hold one /healthz for about the whole preview. Off the thread, no
    // answer waits a quarter of it. (The figure itself is bench work: `pnpm bench http`.)
    expect(max).toBeLessThan(previewMs / 4);
  }, 120_000);
});

describe('a rule too heavy for the budget', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { PREVIEW_TIMEOUT_SEC: '0.1' } });
    await seedNews(h);
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it('answers 422 problem+json on the API preview and backtest, and a message on the admin form', async () => {
    const call = api(h);
    const preview = await call('POST', '/rules/preview', heavyRule);
    expect(preview.status).toBe(422);
    expect(preview.headers.get('content-type')).toBe('application/problem+json');
    expect(preview.json.type).toBe('https://signals.dev/problems/rule-too-heavy');
    expect(preview.json.title).toMatch(/^This rule is too heavy to preview: its backtest did not finish within 0\.1 s/);

    const backtest = await call('POST', '/backtest', { rules: [heavyRule] });
    expect(backtest.status).toBe(422);
    expect(backtest.json.title).toMatch(/^This backtest is too heavy/);

    const s = await adminSession(h);
    const form = await s.post('/admin/rules/new', {
      action: 'preview',
      name: heavyRule.name,
      kind: 'news_match',
      symbols: 'NVDA',
      'p.news_match.keywords': KEYWORDS.join('\n'),
    });
    const page = await form.text();
    expect(form.status, page.slice(0, 500)).toBe(422);
    expect(page).toContain('This rule is too heavy to preview');
  }, 120_000);
});
