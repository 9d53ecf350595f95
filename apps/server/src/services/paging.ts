/**
 * Paging of the API's list endpoints: `limit` (1..max) and `offset` (0..1,000,000) query
 * parameters, answered with `{ items, total }` (`total` counts every match, so the next page is
 * at `offset + limit` while that is below `total`). One scheme for every list endpoint.
 */
import { ValidationError } from '@signals/core';
import { z } from 'zod';

export const MAX_OFFSET = 1_000_000;
export const DEFAULT_LIMIT = 100;

/** The `limit` and `offset` query fields, to spread into a list endpoint's query schema. */
export function pagingFields(maxLimit = 500) {
  return {
    limit: z.coerce
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(maxLimit, `must be at most ${maxLimit}`)
      .optional()
      .describe(`Page size (1..${maxLimit})`),
    offset: z.coerce
      .number()
      .int('must be a whole number')
      .min(0, 'must not be negative')
      .max(MAX_OFFSET, `must be at most ${MAX_OFFSET}`)
      .optional()
      .describe('Number of items to skip: the next page starts at offset + limit, while that is below total'),
  };
}

/** A query schema with only `limit` and `offset`. */
export const pagingSchema = z.strictObject(pagingFields());

export interface Paging {
  limit?: number | undefined;
  offset?: number | undefined;
}

/** Prisma's take/skip for a page. */
export function windowOf(p: Paging, defaultLimit = DEFAULT_LIMIT): { take: number; skip: number } {
  return { take: p.limit ?? defaultLimit, skip: p.offset ?? 0 };
}

/** One page: the rows of the window and the count of every match, fetched together. */
export async function paged<T>(
  p: Paging,
  rows: (win: { take: number; skip: number }) => Promise<T[]>,
  count: () => Promise<number>,
  defaultLimit = DEFAULT_LIMIT,
): Promise<{ items: T[]; total: number }> {
  const [items, total] = await Promise.all([rows(windowOf(p, defaultLimit)), count()]);
  return { items, total };
}

/**
 * Lists that grow while a client reads them (alerts, deliveries) also page by cursor: `nextCursor`
 * of one page, given as `cursor`, continues exactly after its last item, however many rows were
 * added in between (an offset would shift and repeat or skip items). Order is newest first by
 * (time, id), so ties in time are ordered too. The cursor is opaque: base64url of "<ms>.<id>".
 */
export function cursorFields(maxLimit = 500) {
  return {
    ...pagingFields(maxLimit),
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,200}$/, 'must be the nextCursor of a previous page')
      .optional()
      .describe('Continue after the last item of a previous page: its nextCursor (instead of offset)'),
  };
}

export interface Position {
  at: Date;
  id: string;
}

export function encodeCursor(p: Position): string {
  return Buffer.from(`${p.at.getTime()}.${p.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(s: string): Position {
  const m = /^(\d{1,15})\.([A-Za-z0-9_-]{1,64})$/.exec(Buffer.from(s, 'base64url').toString('utf8'));
  if (!m)
    throw new ValidationError('Bad cursor', [
      { path: 'query.cursor', message: 'must be the nextCursor of a previous page' },
    ]);
  return { at: new Date(Number(m[1])), id: m[2] as string };
}

/** Prisma filter for the rows after `p` in newest-first (field, id) order. */
export function olderThan<F extends string>(field: F, p: Position) {
  return { OR: [{ [field]: { lt: p.at } }, { [field]: p.at, id: { lt: p.id } }] } as {
    OR: ({ [K in F]: { lt: Date } } | ({ [K in F]: Date } & { id: { lt: string } }))[];
  };
}

/**
 * One newest-first page by offset or by cursor, with `total` and `nextCursor` (null on the last
 * page). `rows` gets one more than the page size, to know whether another page follows.
 */
export async function newestFirstPage<R extends { id: string }>(
  p: Paging & { cursor?: string | undefined },
  rows: (q: { take: number; skip: number; after: Position | undefined }) => Promise<R[]>,
  timeOf: (row: R) => Date,
  count: () => Promise<number>,
  defaultLimit = DEFAULT_LIMIT,
): Promise<{ items: R[]; total: number; nextCursor: string | null }> {
  if (p.cursor !== undefined && p.offset !== undefined)
    throw new ValidationError('Bad paging', [
      { path: 'query.cursor', message: 'give either cursor or offset, not both' },
    ]);
  const after = p.cursor === undefined ? undefined : decodeCursor(p.cursor);
  const take = p.limit ?? defaultLimit;
  const [got, total] = await Promise.all([rows({ take: take + 1, skip: p.offset ?? 0, after }), count()]);
  const items = got.slice(0, take);
  const last = items[items.length - 1];
  return {
    items,
    total,
    nextCursor: got.length > take && last ? encodeCursor({ at: timeOf(last), id: last.id }) : null,
  };
}
