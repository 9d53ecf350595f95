/**
 * What the rule engine reads and writes, in a bounded number of round trips per cycle (rules,
 * bars, quotes, news, states: one query each; states written back in one statement), never one
 * per rule or per symbol.
 */
import {
  createSeries,
  type DailyBar,
  type Freshness,
  type Logger,
  type NewsItem,
  observedFreshness,
  type Quote,
  type RuleDefinition,
  type RuleStateSnapshot,
  type SymbolSeries,
  stateKey,
  validateRuleDefinition,
} from '@signals/core';
import type { PrismaClient } from '../generated/client.ts';
import type { Tx } from './outbox.ts';

export interface LoadedRule {
  def: RuleDefinition;
  watchlistId: string | null;
}

/**
 * Enabled rules as engine definitions. A rule without explicit symbols is scoped to its
 * watchlist's members; rows that no longer validate are skipped with a log line, never evaluated.
 */
export async function loadRuleDefinitions(prisma: PrismaClient | Tx, logger?: Logger): Promise<LoadedRule[]> {
  const rows = await prisma.rule.findMany({
    where: { enabled: true },
    include: { watchlist: { include: { members: { include: { instrument: { select: { symbol: true } } } } } } },
    orderBy: { createdAt: 'asc' },
  });
  const out: LoadedRule[] = [];
  for (const r of rows) {
    const scoped = r.symbols.length
      ? r.symbols
      : r.watchlist
        ? r.watchlist.members.map((m) => m.instrument.symbol).sort()
        : undefined;
    const candidate = {
      id: r.id,
      name: r.name,
      ...(r.description ? { description: r.description } : {}),
      kind: r.kind,
      params: r.params,
      ...(scoped?.length ? { symbols: scoped } : {}),
      severity: r.severity,
      cooldownSec: r.cooldownSec,
      ...(r.pendingSec !== null ? { pendingSec: r.pendingSec } : {}),
      ...(r.confirmAtClose ? { confirmAtClose: true } : {}),
      ...(r.rearmFraction !== null ? { rearmFraction: r.rearmFraction } : {}),
      ...(r.notifyResolved ? { notifyResolved: true } : {}),
    };
    const v = validateRuleDefinition(candidate);
    if (v.ok) out.push({ def: v.rule, watchlistId: r.watchlistId });
    else logger?.warn({ ruleId: r.id, issues: v.issues }, 'rule skipped: its stored definition does not validate');
  }
  return out;
}

const num = (d: { toNumber(): number } | null | undefined): number | undefined =>
  d == null ? undefined : d.toNumber();

function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * Stored daily bars (split-adjusted, ascending) per symbol, in one query: the one place PriceBar
 * rows become engine bars (evaluation, backtests in the API and the CLI).
 */
export async function loadBars(
  prisma: PrismaClient | Tx,
  symbols: readonly string[],
  range: { from?: Date; to?: Date } = {},
): Promise<Map<string, DailyBar[]>> {
  const out = new Map<string, DailyBar[]>();
  if (symbols.length === 0) return out;
  // One row per symbol with its columns as arrays: a cycle over 500 symbols x a year of bars reads
  // 500 rows instead of 130,000 (the per-row cost of the driver dominated the whole cycle).
  const rows = await prisma.$queryRaw<
    {
      symbol: string;
      dates: string[];
      open: number[];
      high: number[];
      low: number[];
      close: number[];
      adj: (number | null)[];
      volume: number[];
      source_ms: number[];
    }[]
  >`SELECT i.symbol,
           array_agg(to_char(b.date, 'YYYY-MM-DD') ORDER BY b.date) AS dates,
           array_agg(b.open::float8 ORDER BY b.date) AS open,
           array_agg(b.high::float8 ORDER BY b.date) AS high,
           array_agg(b.low::float8 ORDER BY b.date) AS low,
           array_agg(b.close::float8 ORDER BY b.date) AS close,
           array_agg(b."adjClose"::float8 ORDER BY b.date) AS adj,
           array_agg(b.volume::float8 ORDER BY b.date) AS volume,
           array_agg((extract(epoch FROM b."sourceAt") * 1000)::float8 ORDER BY b.date) AS source_ms
    FROM "PriceBar" b JOIN "Instrument" i ON i.id = b."instrumentId"
    WHERE i.symbol = ANY(${[...symbols]}::text[])
      AND b.date >= ${range.from ? isoDate(range.from) : '0001-01-01'}::date
      AND b.date <= ${range.to ? isoDate(range.to) : '9999-12-31'}::date
    GROUP BY i.symbol`;
  for (const r of rows) {
    const n = r.dates.length;
    const list: DailyBar[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const bar: DailyBar = {
        symbol: r.symbol,
        date: r.dates[k] as string,
        open: r.open[k] as number,
        high: r.high[k] as number,
        low: r.low[k] as number,
        close: r.close[k] as number,
        volume: r.volume[k] as number,
        sourceAt: new Date(r.source_ms[k] as number),
      };
      const adj = r.adj[k];
      if (adj !== null && adj !== undefined) bar.adjClose = adj;
      list[k] = bar;
    }
    out.set(r.symbol, list);
  }
  return out;
}

/**
 * Series per symbol: the last `days` of daily bars, the latest quote snapshot and the
 * instrument's freshness. A quote older than `staleAfterMs` (while the market is open) makes the
 * series stale: the engine never evaluates on stale data.
 */
/** Bars kept between cycles by a worker process: reloaded only for symbols whose bars changed. */
export type BarCache = Map<string, { version: string; bars: DailyBar[] }>;

export async function loadSeries(
  prisma: PrismaClient | Tx,
  symbols: readonly string[],
  opts: { now: Date; days?: number; staleAfterMs?: number; marketOpen?: boolean; cache?: BarCache },
): Promise<Map<string, SymbolSeries>> {
  const out = new Map<string, SymbolSeries>();
  if (symbols.length === 0) return out;
  const instruments = await prisma.instrument.findMany({ where: { symbol: { in: [...symbols] } } });
  if (instruments.length === 0) return out;
  const ids = instruments.map((i) => i.id);
  const since = new Date(opts.now.getTime() - (opts.days ?? 450) * 86_400_000);
  const sinceDay = isoDate(since);
  const loadBarsCached = async (): Promise<Map<string, DailyBar[]>> => {
    const all = instruments.map((i) => i.symbol);
    if (!opts.cache) return loadBars(prisma, all, { from: since });
    // A cheap version per symbol (bar count and newest fetch in the window): reload only what changed.
    const versions = await prisma.$queryRaw<{ symbol: string; version: string }[]>`
      SELECT i.symbol, count(*)::text || ':' || max(b."fetchedAt")::text || ':' || ${sinceDay} AS version
      FROM "PriceBar" b JOIN "Instrument" i ON i.id = b."instrumentId"
      WHERE i.symbol = ANY(${all}::text[]) AND b.date >= ${sinceDay}::date
      GROUP BY i.symbol`;
    const stale = versions.filter((v) => opts.cache?.get(v.symbol)?.version !== v.version);
    const fresh = stale.length
      ? await loadBars(
          prisma,
          stale.map((v) => v.symbol),
          { from: since },
        )
      : new Map();
    const by = new Map<string, DailyBar[]>();
    for (const v of versions) {
      const loaded = fresh.get(v.symbol);
      if (loaded) opts.cache.set(v.symbol, { version: v.version, bars: loaded });
      by.set(v.symbol, loaded ?? opts.cache.get(v.symbol)?.bars ?? []);
    }
    return by;
  };
  const [barsBy, quotes] = await Promise.all([
    loadBarsCached(),
    // Latest snapshot per instrument, one index lookup each, in one query.
    prisma.$queryRaw<
      {
        instrumentId: string;
        price: string;
        prevClose: string | null;
        dayHigh: string | null;
        dayLow: string | null;
        volume: bigint | null;
        marketCap: string | null;
        marketState: string | null;
        preMarketPrice: string | null;
        preMarketTime: Date | null;
        postMarketPrice: string | null;
        postMarketTime: Date | null;
        sourceAt: Date;
      }[]
    >`SELECT ids.id AS "instrumentId", q.price::text AS price, q."prevClose"::text AS "prevClose",
             q."dayHigh"::text AS "dayHigh", q."dayLow"::text AS "dayLow", q.volume, q."marketCap"::text AS "marketCap",
             q."marketState", q."preMarketPrice"::text AS "preMarketPrice", q."preMarketTime",
             q."postMarketPrice"::text AS "postMarketPrice", q."postMarketTime", q."sourceAt"
      FROM unnest(${ids}::text[]) AS ids(id)
      CROSS JOIN LATERAL (
        -- Latest regular time first; among snapshots of one regular time (pre/post-market polls)
        -- the latest written.
        SELECT * FROM "QuoteSnapshot" s WHERE s."instrumentId" = ids.id ORDER BY s."sourceAt" DESC, s.id DESC LIMIT 1
      ) q`,
  ]);
  const quoteBy = new Map(quotes.map((q) => [q.instrumentId, q]));
  for (const i of instruments) {
    const q = quoteBy.get(i.id);
    let quote: Quote | undefined;
    if (q) {
      quote = {
        symbol: i.symbol,
        price: Number(q.price),
        prevClose: q.prevClose === null ? undefined : Number(q.prevClose),
        dayHigh: q.dayHigh === null ? undefined : Number(q.dayHigh),
        dayLow: q.dayLow === null ? undefined : Number(q.dayLow),
        volume: q.volume === null ? undefined : Number(q.volume),
        marketCap: q.marketCap === null ? undefined : Number(q.marketCap),
        marketState: q.marketState ?? undefined,
        sourceAt: q.sourceAt,
      };
      if (q.preMarketPrice !== null && q.preMarketTime !== null) {
        quote.preMarketPrice = Number(q.preMarketPrice);
        quote.preMarketTime = q.preMarketTime;
      }
      if (q.postMarketPrice !== null && q.postMarketTime !== null) {
        quote.postMarketPrice = Number(q.postMarketPrice);
        quote.postMarketTime = q.postMarketTime;
      }
    }
    const list = barsBy.get(i.symbol) ?? [];
    // Judged by when the newest price is from, not only by whether the last poll answered.
    const lastBarAt = list[list.length - 1]?.sourceAt;
    const observedAt =
      quote && (!lastBarAt || quote.sourceAt.getTime() > lastBarAt.getTime()) ? quote.sourceAt : lastBarAt;
    let freshness: Freshness = observedFreshness(i.status === 'active' ? i.freshness : 'failed', observedAt, opts.now);
    if (
      freshness === 'fresh' &&
      opts.marketOpen &&
      quote &&
      opts.now.getTime() - quote.sourceAt.getTime() > (opts.staleAfterMs ?? 15 * 60_000)
    ) {
      freshness = 'stale';
    }
    out.set(
      i.symbol,
      createSeries(
        { symbol: i.symbol, bars: list },
        { quote, freshness, marketCap: num(i.marketCap) ?? quote?.marketCap },
      ),
    );
  }
  return out;
}

/**
 * News items first seen in [since, until], with their symbols and topics, oldest first: the one
 * place NewsItem rows become engine news (evaluation cycles and API backtests). With `symbols`,
 * only items tagged with one of them.
 */
export async function loadNews(
  prisma: PrismaClient | Tx,
  opts: { since: Date; until?: Date; symbols?: readonly string[]; take: number },
): Promise<NewsItem[]> {
  const rows = await prisma.newsItem.findMany({
    where: {
      firstSeenAt: { gte: opts.since, ...(opts.until ? { lte: opts.until } : {}) },
      ...(opts.symbols?.length ? { instruments: { some: { instrument: { symbol: { in: [...opts.symbols] } } } } } : {}),
    },
    include: { instruments: { include: { instrument: { select: { symbol: true } } } } },
    // The newest `take` when capped (the live cycle needs the latest news), returned oldest first.
    orderBy: [{ firstSeenAt: 'desc' }, { id: 'desc' }],
    take: opts.take,
  });
  return rows.reverse().map((n) => ({
    id: n.id,
    feedId: n.feedId,
    guid: n.guid ?? undefined,
    link: n.link ?? undefined,
    title: n.title,
    summary: n.summary ?? undefined,
    publishedAt: n.publishedAt ?? undefined,
    firstSeenAt: n.firstSeenAt,
    symbols: n.instruments.map((t) => t.instrument.symbol),
    titleSymbols: titleSymbols(n.title, n.instruments),
    topics: n.topics,
  }));
}

/** The tagged symbols whose matched ticker or alias is in the title (ranks an alert's headlines). */
export function titleSymbols(
  title: string,
  tags: readonly { matched: string; instrument: { symbol: string } }[],
): string[] {
  const t = title.toLowerCase();
  return tags.filter((x) => x.matched && t.includes(x.matched.toLowerCase())).map((x) => x.instrument.symbol);
}

export async function loadRuleStates(
  prisma: PrismaClient | Tx,
  ruleIds: string[],
): Promise<Map<string, RuleStateSnapshot>> {
  const rows = await prisma.ruleState.findMany({ where: { ruleId: { in: ruleIds } } });
  const out = new Map<string, RuleStateSnapshot>();
  for (const r of rows) {
    out.set(stateKey(r.ruleId, r.subject), {
      ruleId: r.ruleId,
      subject: r.subject,
      phase: r.phase,
      since: r.since?.toISOString() ?? null,
      lastValue: r.lastValue,
      peakValue: r.peakValue,
      lastFiredAt: r.lastFiredAt?.toISOString() ?? null,
      cooldownUntil: r.cooldownUntil?.toISOString() ?? null,
      data: (r.data ?? {}) as RuleStateSnapshot['data'],
    });
  }
  return out;
}

/** Writes the changed states in ONE statement (INSERT ... SELECT FROM unnest ... ON CONFLICT). */
export async function saveRuleStates(prisma: PrismaClient | Tx, states: Iterable<RuleStateSnapshot>): Promise<number> {
  const list = [...states];
  if (list.length === 0) return 0;
  // ISO strings, read back as UTC: the columns are timestamp without time zone holding UTC.
  const ts = (s: string | null) => (s === null ? null : new Date(s).toISOString());
  return prisma.$executeRaw`
    INSERT INTO "RuleState" (id, "ruleId", subject, "instrumentId", phase, since, "lastValue", "peakValue",
                             "lastFiredAt", "cooldownUntil", data, version, "updatedAt")
    SELECT 'rs_' || md5(u.rule_id || ':' || u.subject), u.rule_id, u.subject, i.id, u.phase::"AlertPhase",
           u.since::timestamptz AT TIME ZONE 'UTC', u.last_value, u.peak_value,
           u.last_fired_at::timestamptz AT TIME ZONE 'UTC', u.cooldown_until::timestamptz AT TIME ZONE 'UTC',
           u.data::jsonb, 0, now() AT TIME ZONE 'UTC'
    FROM unnest(${list.map((s) => s.ruleId)}::text[], ${list.map((s) => s.subject)}::text[],
                ${list.map((s) => s.phase)}::text[], ${list.map((s) => ts(s.since))}::text[],
                ${list.map((s) => s.lastValue)}::float8[], ${list.map((s) => s.peakValue)}::float8[],
                ${list.map((s) => ts(s.lastFiredAt))}::text[], ${list.map((s) => ts(s.cooldownUntil))}::text[],
                ${list.map((s) => JSON.stringify(s.data ?? {}))}::text[])
         AS u(rule_id, subject, phase, since, last_value, peak_value, last_fired_at, cooldown_until, data)
    LEFT JOIN "Instrument" i ON i.symbol = u.subject
    ON CONFLICT ("ruleId", subject) DO UPDATE SET
      phase = EXCLUDED.phase, since = EXCLUDED.since, "lastValue" = EXCLUDED."lastValue",
      "peakValue" = EXCLUDED."peakValue", "lastFiredAt" = EXCLUDED."lastFiredAt",
      "cooldownUntil" = EXCLUDED."cooldownUntil", data = EXCLUDED.data,
      version = "RuleState".version + 1, "updatedAt" = now() AT TIME ZONE 'UTC'`;
}
