/** Watchlists and their members. Symbols are checked against the price source before they are added. */
import { NotFoundError, SourceUnavailableError, ValidationError, symbolSchema } from '@signals/core';
import { z } from 'zod';
import { freshnessInstant, instrumentFreshness } from '@signals/db';
import type { Runtime } from '../context.ts';
import { text } from '../input.ts';
import { dayMove, num, slugify, writeOr } from './util.ts';

export const slugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes (e.g. ai-core), at most 63');

export const watchlistCreateSchema = z.strictObject({
  name: text({ min: 1, max: 100 }),
  slug: slugSchema.optional(),
  description: text({ max: 1000 }).nullish(),
});
export const watchlistUpdateSchema = z.strictObject({
  name: text({ min: 1, max: 100 }).optional(),
  slug: slugSchema.optional(),
  description: text({ max: 1000 }).nullish(),
});
export const memberAddSchema = z.strictObject({ symbol: text({ min: 1, max: 24 }) });

export type WatchlistCreate = z.infer<typeof watchlistCreateSchema>;
export type WatchlistUpdate = z.infer<typeof watchlistUpdateSchema>;

export interface InstrumentView {
  symbol: string;
  name: string | null;
  exchange: string | null;
  currency: string | null;
  status: string;
  freshness: string;
  lastPrice: number | null;
  prevClose: number | null;
  dayMove: number | null;
  lastSourceAt: string | null;
  lastFetchedAt: string | null;
  lastError: string | null;
}

type InstrumentRow = {
  symbol: string;
  name: string | null;
  exchange: string | null;
  currency: string | null;
  status: string;
  freshness: string;
  lastPrice: { toNumber(): number } | null;
  prevClose: { toNumber(): number } | null;
  lastSourceAt: Date | null;
  lastFetchedAt: Date | null;
  lastError: string | null;
};

/**
 * The API's view of an instrument. `judgedAt` (from {@link judgeAt}) is when freshness is judged:
 * the same rule as the System page and /metrics (db instrumentFreshness), so a symbol whose newest
 * price is a session or more behind is `stale` here too, also during a replay.
 */
export function instrumentView(i: InstrumentRow, judgedAt: Date): InstrumentView {
  const last = num(i.lastPrice);
  const prev = num(i.prevClose);
  return {
    symbol: i.symbol,
    name: i.name,
    exchange: i.exchange,
    currency: i.currency,
    status: i.status,
    freshness: instrumentFreshness(i, judgedAt),
    lastPrice: last,
    prevClose: prev,
    dayMove: dayMove(last, prev),
    lastSourceAt: i.lastSourceAt?.toISOString() ?? null,
    lastFetchedAt: i.lastFetchedAt?.toISOString() ?? null,
    lastError: i.lastError,
  };
}

/** When freshness is judged for this request (the replay's own time during a replay). */
export const judgeAt = (rt: Runtime) =>
  freshnessInstant(rt.prisma, { now: rt.clock.now(), replay: rt.priceSource?.name === 'replay' });

/** Every watchlist by name, or one window of them (API paging). */
export async function listWatchlists(rt: Runtime, win?: { take: number; skip: number }) {
  const rows = await rt.prisma.watchlist.findMany({
    orderBy: [{ name: 'asc' }, { id: 'asc' }],
    ...win,
    include: { _count: { select: { members: true, rules: true } } },
  });
  return rows.map((w) => ({
    id: w.id,
    slug: w.slug,
    name: w.name,
    description: w.description,
    memberCount: w._count.members,
    ruleCount: w._count.rules,
    createdAt: w.createdAt.toISOString(),
    updatedAt: w.updatedAt.toISOString(),
  }));
}

export async function getWatchlist(rt: Runtime, id: string) {
  const w = await rt.prisma.watchlist.findUnique({
    where: { id },
    include: { members: { include: { instrument: true }, orderBy: { instrument: { symbol: 'asc' } } } },
  });
  if (!w) throw new NotFoundError('Watchlist');
  const at = await judgeAt(rt);
  return {
    id: w.id,
    slug: w.slug,
    name: w.name,
    description: w.description,
    createdAt: w.createdAt.toISOString(),
    updatedAt: w.updatedAt.toISOString(),
    members: w.members.map((m) => ({ ...instrumentView(m.instrument, at), addedAt: m.addedAt.toISOString() })),
  };
}

export async function createWatchlist(rt: Runtime, input: WatchlistCreate) {
  const slug = input.slug ?? slugify(input.name);
  const w = await writeOr('Watchlist', `a watchlist with slug "${slug}" already exists`, () =>
    rt.prisma.watchlist.create({ data: { name: input.name, slug, description: input.description ?? null } }),
  );
  return getWatchlist(rt, w.id);
}

export async function updateWatchlist(rt: Runtime, id: string, input: WatchlistUpdate) {
  await writeOr('Watchlist', `a watchlist with slug "${input.slug}" already exists`, () =>
    rt.prisma.watchlist.update({
      where: { id },
      data: {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.slug !== undefined ? { slug: input.slug } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
      },
    }),
  );
  return getWatchlist(rt, id);
}

export async function deleteWatchlist(rt: Runtime, id: string): Promise<void> {
  await writeOr('Watchlist', '', () => rt.prisma.watchlist.delete({ where: { id } }));
}

/** The symbol in canonical form, or a ValidationError naming the field. */
export function parseSymbol(raw: string, field = 'symbol'): string {
  const r = symbolSchema.safeParse(raw);
  if (!r.success) {
    throw new ValidationError('Invalid symbol', [
      { path: field, message: r.error.issues[0]?.message ?? 'not a symbol' },
    ]);
  }
  return r.data;
}

/**
 * Adds a symbol. An instrument already known as active is taken as is; a new one is asked of the
 * price source first, and refused when the source does not know it. 409 when already a member.
 */
export async function addMember(rt: Runtime, watchlistId: string, rawSymbol: string) {
  const symbol = parseSymbol(rawSymbol);
  const wl = await rt.prisma.watchlist.findUnique({ where: { id: watchlistId }, select: { id: true } });
  if (!wl) throw new NotFoundError('Watchlist');
  let inst = await rt.prisma.instrument.findUnique({ where: { symbol } });
  const mustCheck = inst?.status !== 'active';
  if (mustCheck || inst?.lastPrice == null) {
    // A known active instrument without a price yet gets one if the source answers; a new or
    // unknown one must be confirmed by the source.
    const q = await quoteOf(rt, symbol).catch((err) => {
      if (mustCheck) throw err;
      rt.logger.warn({ symbol, err: (err as Error).message }, 'no quote for a known instrument');
      return null;
    });
    if (q) {
      const now = rt.clock.now();
      const data = {
        name: q.name ?? inst?.name ?? null,
        exchange: q.exchange ?? null,
        currency: q.currency ?? null,
        status: 'active' as const,
        lastPrice: q.price,
        prevClose: q.prevClose ?? null,
        lastSourceAt: q.sourceAt,
        lastFetchedAt: now,
        // Freshness is the poller's judgement (market hours, staleness); a first quote does not make it fresh.
        lastError: null,
      };
      inst = await rt.prisma.instrument.upsert({ where: { symbol }, create: { symbol, ...data }, update: data });
    }
  }
  if (!inst) throw new SourceUnavailableError('prices', 'the symbol could not be checked');
  const instrumentId = inst.id;
  await writeOr('Watchlist', `${symbol} is already on this watchlist`, () =>
    rt.prisma.watchlistMember.create({ data: { watchlistId, instrumentId } }),
  );
  return instrumentView(inst, await judgeAt(rt));
}

/** The source's quote for `symbol`; ValidationError (field `symbol`) when the source does not know it. */
async function quoteOf(rt: Runtime, symbol: string) {
  if (!rt.priceSource) throw new SourceUnavailableError('prices', 'no price source is configured to check symbols');
  const batch = await rt.priceSource.quotes([symbol]);
  const q = batch.quotes.find((x) => x.symbol.toUpperCase() === symbol);
  if (!q || batch.unknown.map((s) => s.toUpperCase()).includes(symbol)) {
    throw new ValidationError(`Unknown symbol: ${rt.priceSource.name} does not know "${symbol}"`, [
      { path: 'symbol', message: `unknown symbol: the price source (${rt.priceSource.name}) does not know ${symbol}` },
    ]);
  }
  return q;
}

export async function removeMember(rt: Runtime, watchlistId: string, rawSymbol: string): Promise<void> {
  const symbol = parseSymbol(rawSymbol);
  const inst = await rt.prisma.instrument.findUnique({ where: { symbol }, select: { id: true } });
  const r = inst
    ? await rt.prisma.watchlistMember.deleteMany({ where: { watchlistId, instrumentId: inst.id } })
    : { count: 0 };
  if (r.count === 0) throw new NotFoundError(`${symbol} on this watchlist`);
}

const instrumentWhere = (opts: { watched?: boolean }) => (opts.watched ? { members: { some: {} } } : {});

export async function listInstruments(
  rt: Runtime,
  opts: { watched?: boolean } = {},
  win?: { take: number; skip: number },
) {
  const rows = await rt.prisma.instrument.findMany({
    where: instrumentWhere(opts),
    orderBy: { symbol: 'asc' },
    ...win,
  });
  const at = await judgeAt(rt);
  return rows.map((r) => instrumentView(r, at));
}

/**
 * One page of instruments, the count of every match and, during a replay, the newest price time
 * (what freshness is judged at, see judgeAt) in one SQL statement (issue 20, item 4) instead of
 * three Prisma queries. Prices are read as text and made numbers as Prisma's Decimal would.
 * A page past the end has no row to carry the count: then it is counted on its own.
 */
export async function instrumentsPage(rt: Runtime, opts: { watched?: boolean }, win: { take: number; skip: number }) {
  const replay = rt.priceSource?.name === 'replay';
  const rows = await rt.prisma.$queryRawUnsafe<
    (Omit<InstrumentRow, 'lastPrice' | 'prevClose'> & {
      lastPrice: string | null;
      prevClose: string | null;
      total: number;
      newest: Date | null;
    })[]
  >(
    `SELECT i.symbol, i.name, i.exchange, i.currency, i.status::text AS status, i.freshness::text AS freshness,
        i."lastPrice"::text AS "lastPrice", i."prevClose"::text AS "prevClose", i."lastSourceAt", i."lastFetchedAt",
        i."lastError", count(*) OVER ()::int AS total,
        ${replay ? '(SELECT max("lastSourceAt") FROM "Instrument")' : 'NULL::timestamp(3)'} AS newest
      FROM "Instrument" i
      ${opts.watched ? 'WHERE EXISTS (SELECT 1 FROM "WatchlistMember" m WHERE m."instrumentId" = i.id)' : ''}
      ORDER BY i.symbol ASC
      LIMIT $1 OFFSET $2`,
    win.take,
    win.skip,
  );
  const first = rows[0];
  if (!first) return { items: [], total: win.skip > 0 ? await countInstruments(rt, opts) : 0 };
  const now = rt.clock.now();
  const at = replay && first.newest && first.newest.getTime() < now.getTime() ? first.newest : now;
  const decimal = (v: string | null) => (v === null ? null : { toNumber: () => Number(v) });
  return {
    items: rows.map((r) =>
      instrumentView({ ...r, lastPrice: decimal(r.lastPrice), prevClose: decimal(r.prevClose) }, at),
    ),
    total: first.total,
  };
}

export const countInstruments = (rt: Runtime, opts: { watched?: boolean } = {}) =>
  rt.prisma.instrument.count({ where: instrumentWhere(opts) });

export async function getInstrument(rt: Runtime, rawSymbol: string) {
  const symbol = parseSymbol(rawSymbol);
  const i = await rt.prisma.instrument.findUnique({ where: { symbol } });
  if (!i) throw new NotFoundError(`Instrument ${symbol}`);
  return instrumentView(i, await judgeAt(rt));
}
