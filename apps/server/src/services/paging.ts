/**
 * Paging of the API's list endpoints: `limit` (1..max) and `offset` (0..1,000,000) query
 * parameters, answered with `{ items, total }` (`total` counts every match, so the next page is
 * at `offset + limit` while that is below `total`). One scheme for every list endpoint.
 */
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
