/**
 * Intraday bar repository (the IntradayBar table): upsert per instrument and interval in one
 * statement (arrays through unnest()), reads for the engine and the alert page, the stored range
 * per interval (what the backfill and the poller ask), and retention per interval.
 */
import type { BarSession, IntradayBar, IntradayInterval } from '@signals/core';
import type { PrismaClient } from '../client.ts';

/** Days each interval is kept (INTRADAY_RETENTION_<INTERVAL>_DAYS). */
export type IntradayRetention = Readonly<Record<IntradayInterval, number>>;

/** Defaults: 1m 7 days (all Yahoo serves), 5m and 15m 90 days, 1h two years. */
export const DEFAULT_INTRADAY_RETENTION: IntradayRetention = { '1m': 7, '5m': 90, '15m': 90, '1h': 730 };

const DAY_MS = 86_400_000;
const iso = (d: Date) => d.toISOString();

export interface IntradayStore {
  /** Upserts bars (one statement); bars without a usable close are left out. Creates the instrument if missing. */
  saveIntradayBars(input: {
    symbol: string;
    interval: IntradayInterval;
    bars: readonly IntradayBar[];
    fetchedAt: Date;
  }): Promise<{ upserted: number }>;
  /** Bars of one symbol and interval with from <= ts < to, ascending. */
  loadIntradayBars(symbol: string, interval: IntradayInterval, from: Date, to: Date): Promise<IntradayBar[]>;
  /** First and last stored bar start of one symbol and interval, or null. */
  intradayRange(symbol: string, interval: IntradayInterval): Promise<{ from: Date; to: Date } | null>;
  /** Deletes bars older than each interval's retention; returns the rows deleted per interval. */
  pruneIntraday(now: Date, retention?: IntradayRetention): Promise<Record<IntradayInterval, number>>;
}

export function createIntradayStore(prisma: PrismaClient): IntradayStore {
  const ids = new Map<string, string>();

  async function idOf(symbol: string, create: boolean): Promise<string | undefined> {
    const sym = symbol.toUpperCase();
    const cached = ids.get(sym);
    if (cached) return cached;
    const row = create
      ? await prisma.instrument.upsert({
          where: { symbol: sym },
          create: { symbol: sym },
          update: {},
          select: { id: true },
        })
      : await prisma.instrument.findUnique({ where: { symbol: sym }, select: { id: true } });
    if (row) ids.set(sym, row.id);
    return row?.id;
  }

  return {
    async saveIntradayBars(input) {
      const bars = input.bars.filter(
        (b) =>
          Number.isFinite(b.close) && b.close > 0 && Number.isFinite(b.at.getTime()) && b.interval === input.interval,
      );
      if (!bars.length) return { upserted: 0 };
      const id = (await idOf(input.symbol, true)) as string;
      const n = await prisma.$executeRawUnsafe(
        `INSERT INTO "IntradayBar" ("instrumentId", interval, ts, open, high, low, close, volume, session, "fetchedAt")
         SELECT $1, $2, b.ts::timestamp(3), b.o, b.h, b.l, b.c, round(b.v)::bigint, b.s::"BarSession", $10::timestamp(3)
         FROM unnest($3::text[], $4::float4[], $5::float4[], $6::float4[], $7::float4[], $8::float8[], $9::text[])
           AS b(ts, o, h, l, c, v, s)
         ON CONFLICT ("instrumentId", interval, ts) DO UPDATE SET
           open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
           volume = EXCLUDED.volume, session = EXCLUDED.session, "fetchedAt" = EXCLUDED."fetchedAt"`,
        id,
        input.interval,
        bars.map((b) => iso(b.at)),
        bars.map((b) => b.open),
        bars.map((b) => b.high),
        bars.map((b) => b.low),
        bars.map((b) => b.close),
        bars.map((b) => b.volume),
        bars.map((b) => b.session),
        iso(input.fetchedAt),
      );
      return { upserted: n };
    },

    async loadIntradayBars(symbol, interval, from, to) {
      const id = await idOf(symbol, false);
      if (!id) return [];
      const rows = await prisma.intradayBar.findMany({
        where: { instrumentId: id, interval, ts: { gte: from, lt: to } },
        orderBy: { ts: 'asc' },
      });
      const sym = symbol.toUpperCase();
      return rows.map((r) => ({
        symbol: sym,
        interval,
        at: r.ts,
        open: r.open,
        high: r.high,
        low: r.low,
        close: r.close,
        volume: Number(r.volume),
        session: r.session as BarSession,
      }));
    },

    async intradayRange(symbol, interval) {
      const id = await idOf(symbol, false);
      if (!id) return null;
      const r = await prisma.intradayBar.aggregate({
        where: { instrumentId: id, interval },
        _min: { ts: true },
        _max: { ts: true },
      });
      return r._min.ts && r._max.ts ? { from: r._min.ts, to: r._max.ts } : null;
    },

    async pruneIntraday(now, retention = DEFAULT_INTRADAY_RETENTION) {
      const out = { '1m': 0, '5m': 0, '15m': 0, '1h': 0 } as Record<IntradayInterval, number>;
      for (const interval of Object.keys(out) as IntradayInterval[]) {
        const cutoff = new Date(now.getTime() - retention[interval] * DAY_MS);
        out[interval] = await prisma.$executeRawUnsafe(
          `DELETE FROM "IntradayBar" WHERE interval = $1 AND ts < $2::timestamp(3)`,
          interval,
          iso(cutoff),
        );
      }
      return out;
    },
  };
}
