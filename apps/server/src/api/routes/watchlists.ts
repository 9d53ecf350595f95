/** Watchlists and their members. */
import { createRoute } from '@hono/zod-openapi';
import type { Runtime } from '../../context.ts';
import { paged, pagingSchema } from '../../services/paging.ts';
import {
  addMember,
  createWatchlist,
  deleteWatchlist,
  getWatchlist,
  listWatchlists,
  memberAddSchema,
  removeMember,
  updateWatchlist,
  watchlistCreateSchema,
  watchlistUpdateSchema,
} from '../../services/watchlists.ts';
import { type Api, body, json, list, noContent, page, problems, scoped } from './shared.ts';
import * as S from '../schemas.ts';

export function registerWatchlistRoutes(api: Api, rt: Runtime): void {
  const tagW = ['Watchlists'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/watchlists',
        operationId: 'listWatchlists',
        summary: 'List watchlists',
        tags: tagW,
        request: { query: pagingSchema },
        responses: { 200: json(page(S.WatchlistSummarySchema)), ...problems() },
      }),
    ),
    async (c) =>
      c.json(
        await paged(
          c.req.valid('query'),
          (win) => listWatchlists(rt, win),
          () => rt.prisma.watchlist.count(),
        ),
        200,
      ),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/watchlists',
        operationId: 'createWatchlist',
        summary: 'Create a watchlist',
        tags: tagW,
        request: body(watchlistCreateSchema),
        responses: { 201: json(S.WatchlistSchema, 'Created'), ...problems(409) },
      }),
    ),
    async (c) => c.json(await createWatchlist(rt, c.req.valid('json')), 201),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/watchlists/{id}',
        operationId: 'getWatchlist',
        summary: 'Get a watchlist with its members',
        tags: tagW,
        request: { params: S.IdParam },
        responses: { 200: json(S.WatchlistSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await getWatchlist(rt, c.req.valid('param').id), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'patch',
        path: '/watchlists/{id}',
        operationId: 'updateWatchlist',
        summary: 'Change a watchlist',
        tags: tagW,
        request: { params: S.IdParam, ...body(watchlistUpdateSchema) },
        responses: { 200: json(S.WatchlistSchema), ...problems(404, 409) },
      }),
    ),
    async (c) => c.json(await updateWatchlist(rt, c.req.valid('param').id, c.req.valid('json')), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'delete',
        path: '/watchlists/{id}',
        operationId: 'deleteWatchlist',
        summary: 'Delete a watchlist',
        tags: tagW,
        request: { params: S.IdParam },
        responses: { ...noContent, ...problems(404) },
      }),
    ),
    async (c) => {
      await deleteWatchlist(rt, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/watchlists/{id}/members',
        operationId: 'listWatchlistMembers',
        summary: "List a watchlist's symbols",
        tags: tagW,
        request: { params: S.IdParam },
        responses: { 200: json(list(S.InstrumentSchema)), ...problems(404) },
      }),
    ),
    async (c) => c.json({ items: (await getWatchlist(rt, c.req.valid('param').id)).members }, 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/watchlists/{id}/members',
        operationId: 'addWatchlistMember',
        tags: tagW,
        summary: 'Add a symbol (checked against the price source: an unknown symbol is refused)',
        request: { params: S.IdParam, ...body(memberAddSchema) },
        responses: { 201: json(S.InstrumentSchema, 'Added'), ...problems(404, 409, 503) },
      }),
    ),
    async (c) => c.json(await addMember(rt, c.req.valid('param').id, c.req.valid('json').symbol), 201),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'delete',
        path: '/watchlists/{id}/members/{symbol}',
        operationId: 'removeWatchlistMember',
        summary: 'Remove a symbol from a watchlist',
        tags: tagW,
        request: { params: S.IdSymbolParam },
        responses: { ...noContent, ...problems(404) },
      }),
    ),
    async (c) => {
      const p = c.req.valid('param');
      await removeMember(rt, p.id, p.symbol);
      return c.body(null, 204);
    },
  );
}
