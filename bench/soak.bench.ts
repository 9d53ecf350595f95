/**
 * A year in an hour (issue 17 item 3): `pnpm bench soak` replays a year of recorded prices and news
 * through a real worker PROCESS and a real server PROCESS (the deployment shape) at a high
 * REPLAY_SPEED, with a few hundred subscribers (email through an in-process SMTP server) and webhook
 * endpoints (an HTTP receiver that verifies every Standard Webhooks signature), every retention
 * setting at its default. While it runs it samples, every few seconds, each table's rows and bytes
 * (@signals/db tableStats, what /metrics shows; /metrics is scraped too, as Prometheus would) and
 * the worker's and server's RSS.
 *
 * Inputs: the daily recordings of NVDA and MSFT 2021-02-01..2022-01-31 (../shared/fixtures/yahoo)
 * and a news recording made for the run: the item titles of the RSS fixtures (../shared/fixtures/rss)
 * re-dated over the year (NEWS_PER_DAY a day), a share of them naming NVDA or MSFT. The intraday
 * recordings (fixtures/yahoo-intraday) are single days of other years, so the year is replayed on
 * daily bars; intraday storage comes from `storage.intraday_5m.bytes_per_symbol_day` (intraday bench).
 *
 * Figures:
 * - storage.bytes_per_day.<n>_instruments: bytes the database gains per calendar day in live
 *   operation with the default settings, for 14 and 500 instruments: measured bytes per row of each
 *   table (pg_total_relation_size / rows at the end of the soak, indexes included) times the rows a
 *   day adds at the defaults (see ROWS_PER_DAY below: quotes ~960 per instrument and trading day
 *   with extended hours, 5m bars 192, one daily bar; news, alerts and deliveries at the rate the
 *   soak measured per replayed day, which do not scale with instruments here).
 * - storage.steady_state_bytes.<n>_instruments: the same rows times each table's retention days
 *   (what the database levels off at; alerts are kept: they still grow, shown per year).
 * - ops.soak_rss_growth_mb.worker / .server: median RSS of the last quarter of the samples minus that
 *   of the first quarter (after a warm-up). Goal <= 20.
 * - ops.soak_alerts_match_backtest: 1 when the alerts the replay raised equal (rule, subject,
 *   session, value) a backtest of the same prices and news (the one backtest input loader).
 *
 * Length: SOAK_DAYS (default 365) replayed days at SOAK_SPEED (default 14400, a day in 6 s: ~37 min
 * for the year); `--short` (or SOAK_SHORT=1) replays 75 days at the same speed (~8 min). The note records
 * which ran and the load average at its start.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dailyResolution, parseNewsRecording, runBacktestJob } from '@signals/core';
import { tagRecordedNews } from '@signals/news';
import {
  DEFAULT_RETENTION,
  inclusiveRange,
  loadBacktestInput,
  loadRuleDefinitions,
  type TableStat,
  tableStats,
} from '@signals/db';
import {
  createTestDb,
  fixturePath,
  startServerProcess,
  startSmtpSink,
  startWebhookReceiver,
  startWorkerProcess,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
} from '@signals/testing';
import ensureTemplate from '../packages/testing/src/global-setup.ts';
import type { BenchResult } from './lib.ts';

const short = process.argv.includes('--short') || process.env.SOAK_SHORT === '1';
const DAYS = Number(process.env.SOAK_DAYS ?? (short ? 75 : 365));
const SPEED = Number(process.env.SOAK_SPEED ?? 14_400);
const SUBSCRIBERS = Number(process.env.SOAK_SUBSCRIBERS ?? 200);
const ENDPOINTS = Number(process.env.SOAK_ENDPOINTS ?? 50);
const NEWS_PER_DAY = 30;
const SAMPLE_MS = 5000;
const START = '2021-02-01';
const FILES = [
  'historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json',
  'historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json',
];
const SECRET = `whsec_${Buffer.from('soak-bench-secret-0123456789abcdef').toString('base64')}`;
const DAY_MS = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor(s.length / 2)] as number) : Number.NaN;
};

/** Titles of the RSS fixtures (plain regex: the bench needs titles, not a feed parser). */
function fixtureTitles(): string[] {
  const dir = fixturePath('rss');
  const out: string[] = [];
  for (const f of fs.readdirSync(dir).filter((x) => /\.(rss|atom)$/.test(x))) {
    const xml = fs.readFileSync(path.join(dir, f), 'latin1');
    for (const m of xml.matchAll(/<title[^>]*>(?:<!\[CDATA\[)?([^<\]]{8,200})/g)) out.push((m[1] as string).trim());
  }
  return out.length ? out : ['Markets move'];
}

/** The news recording of the run: NEWS_PER_DAY items a day over the replay, a third naming a symbol. */
function writeNews(file: string, from: string, days: number): void {
  const titles = fixtureTitles();
  const items: object[] = [];
  let k = 0;
  for (let d = 0; d < days + 2; d++) {
    const day = Date.parse(`${from}T00:00:00Z`) + d * DAY_MS;
    for (let i = 0; i < NEWS_PER_DAY; i++) {
      const title = titles[k % titles.length] as string;
      const symbol = k % 3 === 0 ? 'NVDA' : k % 3 === 1 ? 'MSFT' : null;
      // Every 40th NVDA item is about chips: the news rule fires now and then, not on every item.
      const chips = symbol === 'NVDA' && k % 120 === 0;
      items.push({
        id: `soak-${k}`,
        title: chips ? `Nvidia chip demand: ${title}` : title,
        summary: `${title} (recorded RSS title, re-dated for the soak)`,
        link: `https://news.example.com/soak/${k}`,
        publishedAt: new Date(day + Math.floor(((i + 0.5) / NEWS_PER_DAY) * DAY_MS)).toISOString(),
        symbols: symbol ? [symbol] : [],
        topics: chips ? ['chips'] : [],
      });
      k++;
    }
  }
  fs.writeFileSync(file, JSON.stringify(items));
}

interface Sample {
  wallMs: number;
  replayed: number | null;
  workerMb: number | null;
  serverMb: number | null;
  stats: TableStat[];
}

export default async function run(): Promise<BenchResult[]> {
  const load = os.loadavg()[0]?.toFixed(2);
  await ensureTemplate();
  const db = await createTestDb();
  try {
    return await soak(db, load);
  } finally {
    // Also when the run fails; SOAK_KEEP_DB=1 keeps it to look at.
    if (process.env.SOAK_KEEP_DB === '1') process.stderr.write(`soak: kept database ${db.name}\n`);
    else await db.drop();
  }
}

async function soak(db: TestDb, load: string | undefined): Promise<BenchResult[]> {
  const p = db.prisma;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-'));
  for (const f of FILES) fs.copyFileSync(fixturePath(`yahoo/${f}`), path.join(dir, f));
  const newsFile = path.join(dir, 'soak.news.json');
  writeNews(newsFile, START, DAYS);

  // What is watched and who is told: one watchlist, the rules on it, subscribers and endpoints.
  const wl = await p.watchlist.create({ data: { slug: 'soak', name: 'Soak' } });
  for (const symbol of ['NVDA', 'MSFT']) {
    const i = await p.instrument.upsert({ where: { symbol }, create: { symbol }, update: {} });
    await p.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: i.id } });
  }
  const rules: { name: string; kind: string; params: object; symbols: string[]; cooldownSec?: number }[] = [
    {
      name: 'daily move 4%',
      kind: 'pct_move',
      params: { sessions: 1, thresholdPct: 4, direction: 'either' },
      symbols: ['NVDA', 'MSFT'],
    },
    { name: 'drawdown 10%', kind: 'drawdown', params: { sessions: 20, thresholdPct: 10 }, symbols: ['NVDA', 'MSFT'] },
    { name: 'volume x2', kind: 'volume_spike', params: { sessions: 20, multiple: 2 }, symbols: ['NVDA', 'MSFT'] },
    {
      name: 'chip news',
      kind: 'news_match',
      params: { keywords: ['chip*'] },
      symbols: ['NVDA'],
      cooldownSec: 7 * 86_400,
    },
  ];
  for (const r of rules)
    await p.rule.create({
      data: {
        name: r.name,
        kind: r.kind,
        params: r.params,
        symbols: r.symbols,
        watchlistId: wl.id,
        cooldownSec: r.cooldownSec ?? 86_400,
      },
    });
  await p.subscriber.createMany({
    data: Array.from({ length: SUBSCRIBERS }, (_, i) => ({
      email: `soak${i}@example.com`,
      status: 'confirmed' as const,
      confirmedAt: new Date(),
    })),
  });
  const subs = await p.subscriber.findMany({ select: { id: true } });
  await p.subscription.createMany({ data: subs.map((s) => ({ subscriberId: s.id, watchlistId: wl.id })) });
  const smtp = await startSmtpSink();
  const receiver = await startWebhookReceiver({ secret: SECRET });
  await p.webhookEndpoint.createMany({
    data: Array.from({ length: ENDPOINTS }, (_, i) => ({ url: `${receiver.url}/${i}`, secret: SECRET })),
  });

  const prefix = testPrefix('soak');
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    PRICE_SOURCE: `replay:${dir}`,
    REPLAY_START: START,
    REPLAY_SPEED: String(SPEED),
    SMTP_URL: smtp.url,
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    EVALUATE_INTERVAL_SEC: '5',
    LOG_LEVEL: 'info',
    ADMIN_EMAIL: 'soak@example.com',
    ADMIN_PASSWORD: 'soak-bench-password-1',
  };
  const workerLogs: string[] = [];
  const worker = startWorkerProcess('SOAK', env, { logs: workerLogs });
  // Stopped on every way out, also when the server fails to start.
  const started_ = await startServerProcess('SOAK', db.url, { ...env, QUEUE_PREFIX: prefix }).catch(async (err) => {
    await worker.stop();
    throw err;
  });
  const { server, base } = started_;
  const samples: Sample[] = [];
  // The replay ends at START + DAYS or at the recordings' last bar (2022-01-28), whichever is first.
  const lastBar = 1643403600_000; // 2022-01-28 21:00 UTC, the session close of the last recorded bar
  const endAt = Math.min(Date.parse(`${START}T00:00:00Z`) + DAYS * DAY_MS, lastBar + 2 * DAY_MS);
  const started = Date.now();
  const budgetMs = ((DAYS * DAY_MS) / SPEED) * 1.5 + 120_000;
  let retentionRuns = 0;
  try {
    await worker.started(180_000);
    for (;;) {
      await sleep(SAMPLE_MS);
      // Scraped as Prometheus would (the table gauges included); the figures come from tableStats.
      await fetch(`${base}/metrics`)
        .then((r) => r.text())
        .catch(() => '');
      const [stats, newest] = await Promise.all([
        tableStats(p),
        p.quoteSnapshot.aggregate({ _max: { sourceAt: true } }),
      ]);
      // Drop the log lines as they are read: the bench's own memory stays flat too.
      retentionRuns += workerLogs.filter((l) => l.includes('"msg":"retention"')).length;
      if (process.env.SOAK_KEEP_DB === '1')
        for (const l of workerLogs) if (/"level":(40|50)/.test(l)) process.stderr.write(`${l.slice(0, 400)}\n`);
      workerLogs.length = 0;
      const replayed = newest._max.sourceAt?.getTime() ?? null;
      samples.push({
        wallMs: Date.now() - started,
        replayed,
        workerMb: worker.rssMb(),
        serverMb: server.rssMb(),
        stats,
      });
      if (replayed !== null && replayed >= endAt - 2 * DAY_MS) break;
      if (Date.now() - started > budgetMs)
        throw new Error(`the replay did not reach ${new Date(endAt).toISOString()} in time`);
      if (worker.child.exitCode !== null || server.child.exitCode !== null) throw new Error('a process stopped');
    }
  } finally {
    await worker.stop();
    await server.stop();
  }
  const replayedDays = DAYS;

  // RSS: first quarter (after a 60 s warm-up) against the last quarter.
  const warm = samples.filter((s) => s.wallMs > 60_000);
  const q = Math.max(1, Math.floor(warm.length / 4));
  const growth = (pick: (s: Sample) => number | null) =>
    median(
      warm
        .slice(-q)
        .map(pick)
        .filter((v): v is number => v !== null),
    ) -
    median(
      warm
        .slice(0, q)
        .map(pick)
        .filter((v): v is number => v !== null),
    );
  const workerGrowth = growth((s) => s.workerMb);
  const serverGrowth = growth((s) => s.serverMb);

  // Storage: bytes per row, measured by adding copies of the soak's own rows (a random mix of
  // them, unique columns varied) and reading pg_total_relation_size before and after: indexes and
  // TOAST included, and not skewed by the 8 KiB pages of a table that retention keeps small.
  const last = samples[samples.length - 1]?.stats ?? (await tableStats(p));
  const byTable = new Map(last.map((s) => [s.table, s]));
  const measured = new Map<string, number>();
  const size = async (t: string) =>
    Number((await p.$queryRawUnsafe<{ b: bigint }[]>(`SELECT pg_total_relation_size('"${t}"') AS b`))[0]?.b ?? 0);
  const calibrate = async (t: string, insert: string, cleanup: string) => {
    const before = await size(t);
    const n = await p.$executeRawUnsafe(insert);
    if (n > 0) measured.set(t, ((await size(t)) - before) / n);
    await p.$executeRawUnsafe(cleanup);
  };
  const mix = (t: string) => `(SELECT * FROM "${t}" ORDER BY random() LIMIT 500) x, generate_series(1, 10) g`;
  await calibrate(
    'QuoteSnapshot',
    `INSERT INTO "QuoteSnapshot" ("instrumentId", price, "prevClose", "dayHigh", "dayLow", volume, "marketCap", "marketState",
       "preMarketPrice", "preMarketTime", "postMarketPrice", "postMarketTime", "sourceAt", "fetchedAt", source)
     SELECT "instrumentId", price, "prevClose", "dayHigh", "dayLow", volume, "marketCap", "marketState", "preMarketPrice",
       "preMarketTime", "postMarketPrice", "postMarketTime", "sourceAt" - g * interval '1 minute', "fetchedAt", 'calibration' FROM ${mix('QuoteSnapshot')}`,
    `DELETE FROM "QuoteSnapshot" WHERE source = 'calibration'`,
  );
  await calibrate(
    'NewsItem',
    `INSERT INTO "NewsItem" (id, "feedId", "dedupKey", guid, link, title, summary, "publishedAt", "firstSeenAt", "updatedAt", "contentHash", topics)
     SELECT 'cal-' || g || '-' || x.id, "feedId", "dedupKey" || '-cal-' || g, guid, link, title, summary, "publishedAt", "firstSeenAt",
       "updatedAt", "contentHash", topics FROM ${mix('NewsItem')}`,
    `SELECT 1`,
  );
  await calibrate(
    'NewsItemInstrument',
    `INSERT INTO "NewsItemInstrument" ("newsItemId", "instrumentId", matched)
     SELECT 'cal-' || g || '-' || x."newsItemId", "instrumentId", matched FROM ${mix('NewsItemInstrument')}
     WHERE EXISTS (SELECT 1 FROM "NewsItem" n WHERE n.id = 'cal-' || g || '-' || x."newsItemId")`,
    `DELETE FROM "NewsItem" WHERE id LIKE 'cal-%'`,
  );
  await calibrate(
    'Alert',
    `INSERT INTO "Alert" (id, "dedupKey", "ruleId", "instrumentId", subject, status, severity, title, value, threshold,
       "windowStart", "windowEnd", details, "firedAt", "resolvedAt", "createdAt")
     SELECT 'cal-' || g || '-' || x.id, "dedupKey" || '-cal-' || g, "ruleId", "instrumentId", subject, status, severity, title, value,
       threshold, "windowStart", "windowEnd", details, "firedAt", "resolvedAt", "createdAt" FROM ${mix('Alert')}`,
    `SELECT 1`,
  );
  await calibrate(
    'Delivery',
    `INSERT INTO "Delivery" (id, "alertId", channel, "subscriberId", "endpointId", "channelId", "eventType", target, "messageId",
       payload, status, attempts, "nextAttemptAt", "lastError", "deliveredAt", "createdAt", "updatedAt")
     SELECT 'cal-' || g || '-' || x.id, "alertId", channel, "subscriberId", "endpointId", "channelId", "eventType", target || '-cal-' || g,
       "messageId" || '-cal-' || g, payload, status, attempts, "nextAttemptAt", "lastError", "deliveredAt", "createdAt", "updatedAt"
     FROM ${mix('Delivery')}`,
    `SELECT 1`,
  );
  await calibrate(
    'DeliveryAttempt',
    `INSERT INTO "DeliveryAttempt" ("deliveryId", "startedAt", "durationMs", outcome, "statusCode", response, error, worker)
     SELECT 'cal-' || g || '-' || x."deliveryId", "startedAt", "durationMs", outcome, "statusCode", response, error, 'calibration'
     FROM ${mix('DeliveryAttempt')} WHERE EXISTS (SELECT 1 FROM "Delivery" d WHERE d.id = 'cal-' || g || '-' || x."deliveryId")`,
    `DELETE FROM "Alert" WHERE id LIKE 'cal-%'`,
  );
  await p.$executeRawUnsafe(`DELETE FROM "Delivery" WHERE id LIKE 'cal-%'`);
  const perRow = (table: string) => {
    const m = measured.get(table);
    if (m !== undefined) return m;
    const s = byTable.get(table);
    return s && s.rows > 0 ? s.bytes / s.rows : 0;
  };
  const counts = {
    alerts: await p.alert.count(),
    deliveries: await p.delivery.count(),
    attempts: await p.deliveryAttempt.count(),
    news: Number((await p.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM "NewsItem"`))[0]?.n ?? 0),
  };
  const intradayPerSymbolDay =
    (
      JSON.parse(
        fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), 'results.json'), 'utf8'),
      ) as BenchResult[]
    ).find((r) => r.name === 'storage.intraday_5m.bytes_per_symbol_day')?.value ?? 0;
  const TRADING = 252 / 365; // trading days per calendar day
  /** Rows a calendar day adds per table at the defaults, for n instruments (see the module comment). */
  const ROWS_PER_DAY = (n: number) => ({
    QuoteSnapshot: 960 * TRADING * n,
    PriceBar: TRADING * n,
    NewsItem: NEWS_PER_DAY,
    NewsItemInstrument: NEWS_PER_DAY * (2 / 3),
    Alert: counts.alerts / replayedDays,
    Delivery: counts.deliveries / replayedDays,
    DeliveryAttempt: counts.attempts / replayedDays,
  });
  const keepDays: Record<string, number> = {
    QuoteSnapshot: DEFAULT_RETENTION.quotes,
    PriceBar: Number.POSITIVE_INFINITY,
    NewsItem: DEFAULT_RETENTION.news,
    NewsItemInstrument: DEFAULT_RETENTION.news,
    Alert: Number.POSITIVE_INFINITY,
    Delivery: DEFAULT_RETENTION.deliveries,
    DeliveryAttempt: DEFAULT_RETENTION.attempts,
  };
  const perDay = (n: number) => {
    let bytes = intradayPerSymbolDay * TRADING * n;
    let steady = intradayPerSymbolDay * TRADING * n * 90; // 5m bars: 90 days
    let yearly = 0;
    for (const [t, rows] of Object.entries(ROWS_PER_DAY(n))) {
      const b = rows * perRow(t === 'NewsItemInstrument' ? 'NewsItemInstrument' : t);
      bytes += b;
      const keep = keepDays[t] ?? 0;
      if (Number.isFinite(keep)) steady += b * keep;
      else yearly += b * 365;
    }
    return { bytes, steady, yearly };
  };

  // Level-off: rows of the pruned tables in the middle of the run and at its end.
  const at = (frac: number) => samples[Math.min(samples.length - 1, Math.floor(samples.length * frac))]?.stats ?? [];
  const rowsOf = (stats: TableStat[], t: string) => stats.find((s) => s.table === t)?.rows ?? 0;
  const levels = ['QuoteSnapshot', 'NewsItem', 'PriceBar', 'Alert', 'Delivery']
    .map((t) => `${t} ${[0.25, 0.5, 0.75, 1].map((f) => rowsOf(at(f), t)).join('/')}`)
    .join('; ');

  // The alerts the replay raised against a backtest of the same prices and news.
  const lastDay = new Date(Math.min(endAt, samples[samples.length - 1]?.replayed ?? endAt) - 2 * DAY_MS)
    .toISOString()
    .slice(0, 10);
  const defs = (await loadRuleDefinitions(p)).map((r) => r.def);
  const input = await loadBacktestInput(p, {
    rules: defs,
    symbols: ['MSFT', 'NVDA'],
    ...inclusiveRange(START, lastDay),
  });
  // The recording as the backtest of a recording reads it (`pnpm cli backtest --news`): items
  // without symbols or topics tagged by the live tagger, against the instruments the replay's own
  // tagger used (the database's), so both sides see the same tags.
  const known = await p.instrument.findMany({
    where: { status: { not: 'unknown' } },
    select: { symbol: true, name: true, aliases: true },
  });
  const news = tagRecordedNews(parseNewsRecording(JSON.parse(fs.readFileSync(newsFile, 'utf8')), 'soak'), known).items;
  const bt = runBacktestJob({
    rules: defs,
    daily: input.histories,
    intraday: null,
    news,
    resolution: dailyResolution(defs, 'the soak replays daily recordings'),
  }).result;
  // Compared as multisets of (rule, subject, measured value): the replay raises an alert at the
  // evaluation after the bar or item became known (its tick), the backtest at the instant itself,
  // so the UTC day can differ by one; the value of the same event is the same.
  const key = (rule: string, subject: string, value: number) => `${rule}|${subject}|${value.toFixed(4)}`;
  const backtestedList = bt.alerts
    .filter((a) => a.at.slice(0, 10) <= lastDay)
    .map((a) => key(a.rule, a.symbol, a.value))
    .sort();
  const liveList = (await p.alert.findMany({ where: { NOT: { dedupKey: { endsWith: ':resolved' } } } }))
    .filter((a) => a.firedAt.toISOString().slice(0, 10) <= lastDay)
    .map((a) => key(a.ruleId, a.subject, a.value))
    .sort();
  const minus = (a: string[], b: string[]) => {
    const left = [...b];
    return a.filter((k) => {
      const i = left.indexOf(k);
      if (i < 0) return true;
      left.splice(i, 1);
      return false;
    });
  };
  const onlyLive = minus(liveList, backtestedList);
  const onlyBacktest = minus(backtestedList, liveList);
  // The whole difference, both sides with their times, for whoever has to explain it.
  if (process.env.SOAK_DIFF) {
    const liveRows = (await p.alert.findMany({ where: { NOT: { dedupKey: { endsWith: ':resolved' } } } })).map((a) => ({
      side: 'replay',
      rule: a.ruleId,
      subject: a.subject,
      at: a.firedAt.toISOString(),
      windowEnd: a.windowEnd?.toISOString() ?? null,
      value: a.value,
      details: a.details,
    }));
    const btRows = bt.alerts.map((a) => ({
      side: 'backtest',
      rule: a.rule,
      subject: a.symbol,
      at: a.at,
      value: a.value,
      a,
    }));
    fs.writeFileSync(
      process.env.SOAK_DIFF,
      JSON.stringify({ lastDay, onlyLive, onlyBacktest, replay: liveRows, backtest: btRows }, null, 1),
    );
  }
  const live = { size: liveList.length };
  const backtested = { size: backtestedList.length };
  const match = onlyLive.length === 0 && onlyBacktest.length === 0 ? 1 : 0;

  const mails = smtp.messages.length;
  const hooks = receiver.requests.length;
  const unverified = receiver.requests.filter((r) => !r.verified).length;
  await smtp.close();
  await receiver.close();
  fs.rmSync(dir, { recursive: true, force: true });

  const wallMin = ((samples[samples.length - 1]?.wallMs ?? 0) / 60_000).toFixed(1);
  const mode = `${short ? '--short' : 'full'}: ${DAYS} replayed days (from ${START}) at REPLAY_SPEED ${SPEED} in ${wallMin} min, ${SUBSCRIBERS} subscribers, ${ENDPOINTS} endpoints, load average ${load} at start`;
  const round = (x: number) => Math.round(x * 10) / 10;
  const d14 = perDay(14);
  const d500 = perDay(500);
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const rowNote = `bytes per row measured at the end (QuoteSnapshot ${Math.round(perRow('QuoteSnapshot'))}, NewsItem ${Math.round(perRow('NewsItem'))}, Delivery ${Math.round(perRow('Delivery'))}, DeliveryAttempt ${Math.round(perRow('DeliveryAttempt'))}, Alert ${Math.round(perRow('Alert'))}) x rows a day at the defaults (quotes 960 per instrument and trading day, 5m bars from storage.intraday_5m.bytes_per_symbol_day, news ${NEWS_PER_DAY}/day, alerts ${(counts.alerts / replayedDays).toFixed(2)}/day and deliveries ${(counts.deliveries / replayedDays).toFixed(0)}/day as this soak raised them for ${SUBSCRIBERS} subscribers + ${ENDPOINTS} endpoints)`;
  return [
    {
      name: 'storage.bytes_per_day.14_instruments',
      value: Math.round(d14.bytes),
      unit: 'bytes/day',
      target: null,
      better: 'lower',
      note: `${rowNote}; ${mode}`,
    },
    {
      name: 'storage.bytes_per_day.500_instruments',
      value: Math.round(d500.bytes),
      unit: 'bytes/day',
      target: null,
      better: 'lower',
      note: `as for 14 instruments with the per-instrument rows x 500 (${mib(d500.bytes)}/day)`,
    },
    {
      name: 'storage.steady_state_bytes.14_instruments',
      value: Math.round(d14.steady),
      unit: 'bytes',
      target: null,
      better: 'lower',
      note: `what the pruned tables level off at (rows a day x retention days: quotes ${DEFAULT_RETENTION.quotes}, news ${DEFAULT_RETENTION.news}, deliveries ${DEFAULT_RETENTION.deliveries}, attempts ${DEFAULT_RETENTION.attempts}, 5m bars 90); kept for good and still growing: daily bars and alerts, ${mib(d14.yearly)} a year`,
    },
    {
      name: 'storage.steady_state_bytes.500_instruments',
      value: Math.round(d500.steady),
      unit: 'bytes',
      target: null,
      better: 'lower',
      note: `${mib(d500.steady)}; daily bars and alerts add ${mib(d500.yearly)} a year`,
    },
    {
      name: 'ops.soak_rss_growth_mb.worker',
      value: round(workerGrowth),
      unit: 'MiB',
      target: 20,
      better: 'lower',
      note: `median RSS of the last quarter of ${warm.length} samples minus the first quarter's (every ${SAMPLE_MS / 1000} s after a 60 s warm-up); retention ran ${retentionRuns} times; rows at 1/4, 1/2, 3/4 and the end: ${levels}; ${mails} emails and ${hooks} webhooks received (${unverified} unverified); ${mode}`,
    },
    {
      name: 'ops.soak_rss_growth_mb.server',
      value: round(serverGrowth),
      unit: 'MiB',
      target: 20,
      better: 'lower',
      note: `as for the worker; /metrics (table gauges included) scraped every ${SAMPLE_MS / 1000} s`,
    },
    {
      name: 'ops.soak_alerts_match_backtest',
      value: match,
      unit: 'bool',
      target: 1,
      better: 'higher',
      note: `${live.size} alerts replayed, ${backtested.size} backtested up to ${lastDay}; only replayed: ${onlyLive.slice(0, 3).join(', ') || 'none'}; only backtested: ${onlyBacktest.slice(0, 3).join(', ') || 'none'}`,
    },
  ];
}
