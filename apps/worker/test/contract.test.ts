/**
 * The contract between paths (issue 11): for every seed rule and one rule of every kind, a replay
 * through the real evaluation cycle (price tick over the recorded series, the worker's cycle, Postgres,
 * the outbox) and a backtest over the same stored series and news (the one backtest input loader)
 * raise the same alerts: rule, subject, session, value, unit and headlines. And one value renders
 * one way on every surface: the email, the webhook event and its chat formats, the admin page and
 * the API (storedMeasure), the backtest.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  backtest,
  FixedClock,
  formatValue,
  isTradingDay,
  KINDS,
  RULE_KINDS,
  sessionCloseMs,
  storedMeasure,
  type Unit,
} from '@signals/core';
import {
  createPriceStore,
  inclusiveRange,
  loadAlertSnapshots,
  loadBacktestInput,
  loadRuleDefinitions,
} from '@signals/db';
import { createPriceIngestor, ReplayPriceSource } from '@signals/market-data';
import {
  buildAlertEvent,
  renderAlertEmail,
  renderAlertMessage,
  renderWebhookBody,
  WEBHOOK_FORMATS,
} from '@signals/notify';
import { createQueues, createRedis, type QueueSet } from '@signals/queue';
import { loadSeeds, seedRules } from '@signals/seeds';
import { createTestDb, fixturePath, TEST_REDIS_URL, type TestDb, testPrefix } from '@signals/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvaluationCycle } from '../src/jobs/evaluate.ts';
import { priceTick } from '../src/jobs/ingest.ts';
import { silent } from './helpers.ts';

const FILES = [
  'historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json',
  'historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json',
];

/** One rule of every kind, on the recorded symbols, with thresholds the 2021 series cross. */
const KIND_RULES: Record<string, { params: object; symbols: string[] }> = {
  price_cross: { params: { level: 20, direction: 'up' }, symbols: ['NVDA'] },
  pct_move: { params: { sessions: 1, thresholdPct: 5, direction: 'either' }, symbols: ['NVDA', 'MSFT'] },
  drawdown: { params: { sessions: 20, thresholdPct: 10 }, symbols: ['NVDA', 'MSFT'] },
  basket_move: {
    params: { sessions: 1, thresholdPct: 3, direction: 'either', weighting: 'equal' },
    symbols: ['NVDA', 'MSFT'],
  },
  vol_scaled_move: { params: { lookback: 20, k: 3, direction: 'either' }, symbols: ['NVDA', 'MSFT'] },
  volume_spike: { params: { sessions: 20, multiple: 2 }, symbols: ['NVDA', 'MSFT'] },
  news_match: { params: { keywords: ['chip*'] }, symbols: ['NVDA'] },
  confirmation: {
    params: {
      mode: 'price_news',
      price: { kind: 'pct_move', params: { thresholdPct: 4, direction: 'either' } },
      beforeMin: 1440,
    },
    symbols: ['NVDA'],
  },
};
const NEWS_PRICE = {
  params: { mode: 'news_price', news: { keywords: ['nvidia'] }, minMovePct: 1, withinMin: 1440, direction: 'either' },
  symbols: ['NVDA'],
};

/** News about the recorded symbols, published during the sessions of the big moves (and some quiet ones). */
const NEWS: { day: string; symbol: string; title: string; topics?: string[] }[] = [
  { day: '2021-02-25', symbol: 'NVDA', title: 'Nvidia chip stocks slide', topics: ['selloff'] },
  { day: '2021-02-25', symbol: 'MSFT', title: 'Tech selloff deepens' },
  { day: '2021-03-09', symbol: 'NVDA', title: 'Chipmakers rebound, Nvidia leads' },
  { day: '2021-05-12', symbol: 'MSFT', title: 'Microsoft falls with the market', topics: ['selloff'] },
  { day: '2021-08-19', symbol: 'NVDA', title: 'Nvidia earnings beat', topics: ['earnings'] },
  { day: '2021-09-28', symbol: 'MSFT', title: 'Microsoft slides as yields rise' },
  { day: '2021-10-27', symbol: 'MSFT', title: 'Microsoft cloud lifts shares', topics: ['earnings'] },
  { day: '2021-11-04', symbol: 'NVDA', title: 'Nvidia soars on metaverse chip hopes' },
  { day: '2021-11-04', symbol: 'NVDA', title: 'Analysts raise targets' },
  { day: '2021-11-18', symbol: 'NVDA', title: 'Nvidia jumps after results', topics: ['earnings'] },
  { day: '2021-12-07', symbol: 'NVDA', title: 'Chip stocks rally' },
  { day: '2022-01-13', symbol: 'MSFT', title: 'Microsoft drops in tech rout', topics: ['selloff'] },
];

let db: TestDb;
let redis: Redis;
let queues: QueueSet;
let dir: string;

interface Seen {
  rule: string;
  subject: string;
  at: string;
  value: number;
  unit: Unit;
  headlines: string[];
}
let live: Seen[] = [];
let replayed: Seen[] = [];
let kindOf = new Map<string, string>();
let alertIds: string[] = [];

beforeAll(async () => {
  db = await createTestDb();
  const prefix = testPrefix('contract');
  redis = createRedis(TEST_REDIS_URL, 'worker');
  queues = createQueues(redis, prefix);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'contract-'));
  for (const f of FILES) fs.copyFileSync(fixturePath('yahoo', f), path.join(dir, f));

  // The default watchlists, feeds and rules, plus one rule of every kind.
  await loadSeeds(db.prisma, { feeds: [] });
  for (const [kind, r] of [...Object.entries(KIND_RULES), ['confirmation', NEWS_PRICE] as const]) {
    await db.prisma.rule.create({
      data: {
        name: `contract ${kind}`,
        kind,
        params: r.params,
        symbols: r.symbols,
        severity: 'warning',
        cooldownSec: 0,
      },
    });
  }
  const feed = await db.prisma.feed.create({
    data: { url: 'https://news.example.org/contract.xml', name: 'Contract' },
  });
  const inst = new Map((await db.prisma.instrument.findMany()).map((i) => [i.symbol, i.id]));
  for (const [k, n] of NEWS.entries()) {
    // Published an hour before the close, and seen then (as a live poller would).
    const at = new Date(sessionCloseMs(n.day) - 3600_000);
    const item = await db.prisma.newsItem.create({
      data: {
        feedId: feed.id,
        dedupKey: `c${k}`,
        contentHash: `c${k}`,
        title: n.title,
        topics: n.topics ?? [],
        publishedAt: at,
        firstSeenAt: at,
      },
    });
    const matched = n.symbol === 'NVDA' ? 'Nvidia' : 'Microsoft';
    await db.prisma.newsItemInstrument.create({
      data: { newsItemId: item.id, instrumentId: inst.get(n.symbol) as string, matched },
    });
  }

  // The replay: every session of the recording, the price tick then the evaluation cycle at the close.
  const clock = new FixedClock(new Date(0));
  const source = await ReplayPriceSource.fromPath(dir, { clock });
  const ingestor = createPriceIngestor({ source, store: createPriceStore(db.prisma), clock, logger: silent });
  const days: string[] = [];
  for (let d = '2021-02-01'; d <= '2022-01-28'; d = new Date(Date.parse(d) + 86_400_000).toISOString().slice(0, 10))
    if (isTradingDay(d)) days.push(d);
  for (const d of days) {
    clock.set(new Date(sessionCloseMs(d)));
    await priceTick({ prisma: db.prisma, redis, queues, clock, logger: silent, prefix }, ingestor, {
      openMs: 60_000,
      closedMs: 60_000,
      force: true,
    });
    await runEvaluationCycle({
      prisma: db.prisma,
      queues,
      clock,
      logger: silent,
      emailGroupWaitMs: 0,
      staleAfterMs: Number.MAX_SAFE_INTEGER,
    });
  }
  const rows = await db.prisma.alert.findMany({ where: { NOT: { dedupKey: { endsWith: ':resolved' } } } });
  alertIds = rows.map((a) => a.id);
  live = rows.map((a) => {
    const d = a.details as { unit: Unit; headlines: { title: string }[] };
    return {
      rule: a.ruleId,
      subject: a.subject,
      at: a.firedAt.toISOString().slice(0, 10),
      value: a.value,
      unit: d.unit,
      headlines: d.headlines.map((h) => h.title),
    };
  });

  // The backtest: the same rules over the stored series and news, through the one input loader.
  const rules = (await loadRuleDefinitions(db.prisma)).map((r) => r.def);
  kindOf = new Map(rules.map((r) => [r.id, r.kind]));
  const input = await loadBacktestInput(db.prisma, {
    rules,
    symbols: ['MSFT', 'NVDA'],
    ...inclusiveRange(days[0], days[days.length - 1]),
  });
  const r = backtest(rules, input.histories, { news: input.news });
  replayed = r.alerts.map((a) => ({
    rule: a.rule,
    subject: a.symbol,
    at: a.at,
    value: a.value,
    unit: a.unit,
    headlines: a.headlines.map((h) => h.title),
  }));
}, 600_000);

afterAll(async () => {
  await queues?.close();
  await redis?.quit();
  await db?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const order = (xs: Seen[]) =>
  [...xs].sort(
    (a, b) => a.rule.localeCompare(b.rule) || a.subject.localeCompare(b.subject) || a.at.localeCompare(b.at),
  );

describe('live evaluation == backtest on the same series', () => {
  it('every kind fires, and the seed rules are evaluated too', () => {
    const kinds = new Set(live.map((a) => kindOf.get(a.rule)));
    for (const k of RULE_KINDS) expect(kinds, `no live alert of kind ${k}`).toContain(k);
    expect(Object.keys(KINDS)).toEqual(RULE_KINDS);
    const seeds = seedRules.map((s) => s.seedId);
    expect(seeds.length).toBeGreaterThan(0);
    // At least one seed rule fires on the 2021 series (the -8 % DeepSeek early warning does).
    expect(live.some((a) => kindOf.has(a.rule) && !a.rule.startsWith('contract'))).toBe(true);
    expect(live.some((a) => a.headlines.length > 0)).toBe(true);
  });

  it('the same alerts: rule, subject, session, value, unit and headlines', () => {
    expect(live.length).toBeGreaterThan(20);
    const a = order(live);
    const b = order(replayed);
    // Values agree to 1e-9 relative, and render the same: the live cycle reads a window of the
    // stored bars and the backtest all of them, so prefix sums (sd) differ in the last bits.
    const exact = (xs: Seen[]) => xs.map(({ value, ...rest }) => ({ ...rest, text: formatValue(value, rest.unit) }));
    expect(exact(b)).toEqual(exact(a));
    a.forEach((x, i) => {
      const y = b[i] as Seen;
      expect(Math.abs(y.value - x.value), `${x.rule} ${x.subject} ${x.at}`).toBeLessThanOrEqual(
        Math.abs(x.value) * 1e-9,
      );
    });
  });

  it('one value renders one way on every surface', async () => {
    // What every channel renders from: the delivery worker's one loader.
    const views = await loadAlertSnapshots(db.prisma, alertIds);
    const rows = await db.prisma.alert.findMany({ where: { id: { in: alertIds } } });
    for (const row of rows) {
      const view = views.get(row.id);
      if (!view) throw new Error(`no view of ${row.id}`);
      const text = formatValue(row.value, (row.details as { unit: Unit }).unit);
      // Admin page and API.
      expect(storedMeasure(row).valueText).toBe(text);
      // Email (text and HTML).
      const email = renderAlertEmail({
        alert: view,
        publicBaseUrl: 'https://signals.example.org',
        unsubscribeToken: 't',
      });
      expect(email.text).toContain(text);
      // Webhook event and every chat format.
      const event = buildAlertEvent(view, { type: 'alert.firing', timestamp: row.firedAt });
      expect(event.data.alert.unit).toBe((row.details as { unit: Unit }).unit);
      expect(event.data.alert.headlines.map((h) => h.title)).toEqual(view.headlines.map((h) => h.title));
      for (const f of WEBHOOK_FORMATS.filter((x) => x !== 'standard'))
        expect(renderWebhookBody(event, f)).toContain(text);
      // The chat channels (ntfy, Telegram): the value, and the same headlines first.
      const chat = renderAlertMessage(view);
      expect(chat.body).toContain(text);
      for (const h of view.headlines.slice(0, 3)) expect(chat.body).toContain(h.title.slice(0, 100));
    }
    // The backtest's hit for each live alert renders to the very same text.
    const liveText = new Map(live.map((a) => [`${a.rule}|${a.subject}|${a.at}`, formatValue(a.value, a.unit)]));
    for (const a of replayed) expect(formatValue(a.value, a.unit)).toBe(liveText.get(`${a.rule}|${a.subject}|${a.at}`));
  });
});
