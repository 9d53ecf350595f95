/**
 * Price repository: what the price ingestor writes. Every method is one round trip (or a fixed
 * few) whatever the number of symbols: arrays go in through unnest(), no per-symbol statements.
 * Timestamps are bound as ISO text and cast to timestamp(3) (the columns are UTC wall time).
 */
import type { DailyBar, Quote } from '@signals/core';
import type { PrismaClient } from '../client.ts';

export interface PriceStoreOptions {
  /** Longest SourceEvent payload kept, in characters of JSON (default 16 000). */
  payloadMaxChars?: number;
}

/** Keeps a raw payload small enough for a diagnostic row. */
export function truncatePayload(raw: unknown, max = 16_000): unknown {
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : (JSON.stringify(raw) ?? String(raw));
  } catch {
    text = String(raw);
  }
  if (text.length <= max) {
    return typeof raw === 'string'
      ? { truncated: false, text }
      : { truncated: false, raw: JSON.parse(text) as unknown };
  }
  return { truncated: true, length: text.length, head: text.slice(0, max) };
}

const iso = (d: Date) => d.toISOString();
const orNull = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v);
const dateText = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : null);

export function createPriceStore(prisma: PrismaClient, opts: PriceStoreOptions = {}) {
  const maxChars = opts.payloadMaxChars ?? 16_000;
  const ids = new Map<string, string>();

  /** symbol -> instrument id; creates missing instruments (status active, freshness unknown). */
  async function resolveIds(symbols: string[]): Promise<Map<string, string>> {
    const missing = symbols.filter((s) => !ids.has(s));
    if (missing.length) {
      let rows = await prisma.instrument.findMany({
        where: { symbol: { in: missing } },
        select: { id: true, symbol: true },
      });
      if (rows.length < missing.length) {
        const have = new Set(rows.map((r) => r.symbol));
        await prisma.instrument.createMany({
          data: missing.filter((s) => !have.has(s)).map((symbol) => ({ symbol })),
          skipDuplicates: true,
        });
        rows = await prisma.instrument.findMany({
          where: { symbol: { in: missing } },
          select: { id: true, symbol: true },
        });
      }
      for (const r of rows) ids.set(r.symbol, r.id);
    }
    const out = new Map<string, string>();
    for (const s of symbols) {
      const id = ids.get(s);
      if (id) out.set(s, id);
    }
    return out;
  }

  /** Runs fn; if an instrument vanished since it was cached (FK violation), forgets the cache once. */
  async function withIds<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (!/foreign key|violates/i.test(String((e as Error)?.message))) throw e;
      ids.clear();
      return fn();
    }
  }

  async function saveQuotes(input: { quotes: Quote[]; fetchedAt: Date; source: string }): Promise<{ saved: number }> {
    // One quote per symbol (the last wins).
    const bySym = new Map<string, Quote>();
    for (const q of input.quotes) if (Number.isFinite(q.price) && q.price > 0) bySym.set(q.symbol.toUpperCase(), q);
    if (!bySym.size) return { saved: 0 };
    return withIds(async () => {
      const idMap = await resolveIds([...bySym.keys()]);
      const qs = [...bySym.entries()].filter(([s]) => idMap.has(s));
      const rows = await prisma.$queryRawUnsafe<{ n: number }[]>(
        `WITH q AS (
           SELECT * FROM unnest($1::text[], $2::float8[], $3::float8[], $4::float8[], $5::float8[], $6::float8[],
                                $7::float8[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                                $15::float8[], $16::text[], $17::float8[], $18::text[])
             AS t(id, price, prev, hi, lo, vol, cap, state, src_at, name, currency, exchange, pre, pre_at, post, post_at)
         ), ins AS (
           INSERT INTO "QuoteSnapshot" ("instrumentId", price, "prevClose", "dayHigh", "dayLow", volume, "marketCap",
                                        "marketState", "preMarketPrice", "preMarketTime", "postMarketPrice",
                                        "postMarketTime", "sourceAt", "fetchedAt", source)
           SELECT q.id, q.price, q.prev, q.hi, q.lo, round(q.vol)::bigint, q.cap, q.state, q.pre,
                  q.pre_at::timestamp(3), q.post, q.post_at::timestamp(3), q.src_at::timestamp(3),
                  $13::timestamp(3), $14
           FROM q
           -- One row per observation: the regular price's time, and the pre/post-market price's time
           -- (outside the session only the extended price moves, regularMarketTime stays put).
           WHERE NOT EXISTS (SELECT 1 FROM "QuoteSnapshot" s WHERE s."instrumentId" = q.id AND s."sourceAt" = q.src_at::timestamp(3)
                               AND s."preMarketTime" IS NOT DISTINCT FROM q.pre_at::timestamp(3)
                               AND s."postMarketTime" IS NOT DISTINCT FROM q.post_at::timestamp(3))
           RETURNING 1
         ), upd AS (
           UPDATE "Instrument" i SET
             "lastPrice" = q.price,
             "prevClose" = COALESCE(q.prev, i."prevClose"),
             "marketCap" = COALESCE(q.cap, i."marketCap"),
             name = COALESCE(i.name, q.name),
             currency = COALESCE(i.currency, q.currency),
             exchange = COALESCE(i.exchange, q.exchange),
             freshness = 'fresh',
             status = 'active',
             "lastSourceAt" = q.src_at::timestamp(3),
             "lastFetchedAt" = $13::timestamp(3),
             "lastError" = NULL,
             "updatedAt" = now()
           FROM q WHERE i.id = q.id
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM upd)::int AS n`,
        qs.map(([s]) => idMap.get(s) as string),
        qs.map(([, q]) => q.price),
        qs.map(([, q]) => orNull(q.prevClose)),
        qs.map(([, q]) => orNull(q.dayHigh)),
        qs.map(([, q]) => orNull(q.dayLow)),
        qs.map(([, q]) => orNull(q.volume)),
        qs.map(([, q]) => orNull(q.marketCap)),
        qs.map(([, q]) => q.marketState ?? null),
        qs.map(([, q]) => iso(q.sourceAt)),
        qs.map(([, q]) => q.name ?? null),
        qs.map(([, q]) => q.currency ?? null),
        qs.map(([, q]) => q.exchange ?? null),
        iso(input.fetchedAt),
        input.source,
        qs.map(([, q]) => orNull(q.preMarketPrice)),
        qs.map(([, q]) => (q.preMarketTime ? iso(q.preMarketTime) : null)),
        qs.map(([, q]) => orNull(q.postMarketPrice)),
        qs.map(([, q]) => (q.postMarketTime ? iso(q.postMarketTime) : null)),
      );
      return { saved: rows[0]?.n ?? 0 };
    });
  }

  async function markFailed(input: {
    symbols: string[];
    freshness: 'stale' | 'failed';
    error: string;
    at: Date;
  }): Promise<void> {
    if (!input.symbols.length) return;
    await prisma.$executeRawUnsafe(
      `UPDATE "Instrument" SET freshness = $2::"Freshness", "lastError" = $3, "updatedAt" = now()
       WHERE symbol = ANY($1::text[])`,
      input.symbols.map((s) => s.toUpperCase()),
      input.freshness,
      input.error,
    );
  }

  async function markUnknown(input: { symbols: string[]; at: Date; source: string }): Promise<string[]> {
    if (!input.symbols.length) return [];
    const rows = await prisma.$queryRawUnsafe<{ symbol: string }[]>(
      `WITH u AS (
         UPDATE "Instrument" SET status = 'unknown', freshness = 'failed',
           "lastError" = 'unknown_symbol: the source does not know this symbol (or it is delisted)', "updatedAt" = now()
         WHERE symbol = ANY($1::text[]) AND status <> 'unknown'
         RETURNING symbol
       ), ev AS (
         INSERT INTO "SourceEvent" (source, kind, message, "createdAt")
         SELECT $2, 'unknown_symbol', 'unknown or delisted symbol: ' || symbol, $3::timestamp(3) FROM u
         RETURNING 1
       )
       SELECT symbol FROM u`,
      input.symbols.map((s) => s.toUpperCase()),
      input.source,
      iso(input.at),
    );
    return rows.map((r) => r.symbol);
  }

  async function saveBars(input: {
    symbol: string;
    bars: DailyBar[];
    fetchedAt: Date;
    source: string;
  }): Promise<{ upserted: number }> {
    const bars = input.bars.filter((b) => Number.isFinite(b.close) && b.close > 0);
    if (!bars.length) return { upserted: 0 };
    const sym = input.symbol.toUpperCase();
    return withIds(async () => {
      const id = (await resolveIds([sym])).get(sym) as string;
      const rows = await prisma.$queryRawUnsafe<{ n: number }[]>(
        `WITH b AS (
           SELECT * FROM unnest($2::text[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[],
                                $8::float8[], $9::text[]) AS t(d, o, h, l, c, a, v, src_at)
         ), ins AS (
           INSERT INTO "PriceBar" ("instrumentId", date, open, high, low, close, "adjClose", volume, "sourceAt", "fetchedAt", source)
           SELECT $1, b.d::date, b.o, b.h, b.l, b.c, b.a, round(b.v)::bigint, b.src_at::timestamp(3), $10::timestamp(3), $11
           FROM b
           ON CONFLICT ("instrumentId", date) DO UPDATE SET
             open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
             "adjClose" = EXCLUDED."adjClose", volume = EXCLUDED.volume, "sourceAt" = EXCLUDED."sourceAt",
             "fetchedAt" = EXCLUDED."fetchedAt", source = EXCLUDED.source
           RETURNING 1
         ), upd AS (
           UPDATE "Instrument" SET
             "historyFrom" = LEAST(COALESCE("historyFrom", (SELECT min(d)::date FROM b)), (SELECT min(d)::date FROM b)),
             "historyTo" = GREATEST(COALESCE("historyTo", (SELECT max(d)::date FROM b)), (SELECT max(d)::date FROM b)),
             "updatedAt" = now()
           WHERE id = $1
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM ins)::int AS n, (SELECT count(*) FROM upd)::int AS u`,
        id,
        bars.map((b) => b.date),
        bars.map((b) => b.open),
        bars.map((b) => b.high),
        bars.map((b) => b.low),
        bars.map((b) => b.close),
        bars.map((b) => orNull(b.adjClose)),
        bars.map((b) => b.volume),
        bars.map((b) => iso(b.sourceAt)),
        iso(input.fetchedAt),
        input.source,
      );
      return { upserted: rows[0]?.n ?? 0 };
    });
  }

  async function historyRange(symbol: string): Promise<{ from: string; to: string } | null> {
    const i = await prisma.instrument.findUnique({
      where: { symbol: symbol.toUpperCase() },
      select: { historyFrom: true, historyTo: true },
    });
    const from = dateText(i?.historyFrom ?? null);
    const to = dateText(i?.historyTo ?? null);
    return from && to ? { from, to } : null;
  }

  async function recordSourceEvent(e: {
    source: string;
    kind: string;
    message: string;
    payload?: unknown;
    at: Date;
  }): Promise<void> {
    await prisma.sourceEvent.create({
      data: {
        source: e.source,
        kind: e.kind,
        message: e.message.slice(0, 2000),
        ...(e.payload === undefined ? {} : { payload: truncatePayload(e.payload, maxChars) as object }),
        createdAt: e.at,
      },
    });
  }

  async function recordSourceTransition(e: {
    source: string;
    kind: 'degraded' | 'recovered';
    message: string;
    at: Date;
  }): Promise<boolean> {
    // Serialized per source (advisory lock) so two workers seeing the same outage record it once.
    const [, inserted] = await prisma.$transaction([
      prisma.$queryRawUnsafe(
        `SELECT 1 AS ok FROM (SELECT pg_advisory_xact_lock(hashtext('source-transition:' || $1))) l`,
        e.source,
      ),
      prisma.$executeRawUnsafe(
        `INSERT INTO "SourceEvent" (source, kind, message, "createdAt")
         SELECT $1, $2, $3, $4::timestamp(3)
         WHERE COALESCE((SELECT kind FROM "SourceEvent" WHERE source = $1 AND kind IN ('degraded', 'recovered')
                         ORDER BY id DESC LIMIT 1), 'recovered') <> $2`,
        e.source,
        e.kind,
        e.message.slice(0, 2000),
        iso(e.at),
      ),
    ]);
    return inserted > 0;
  }

  return { saveQuotes, markFailed, markUnknown, saveBars, historyRange, recordSourceEvent, recordSourceTransition };
}

export type PrismaPriceStore = ReturnType<typeof createPriceStore>;
