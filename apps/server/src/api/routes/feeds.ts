/** Feeds. */
import { createRoute } from '@hono/zod-openapi';
import type { Runtime } from '../../context.ts';
import {
  createFeed,
  deleteFeed,
  feedCreateSchema,
  feedUpdateSchema,
  getFeed,
  listFeeds,
  updateFeed,
} from '../../services/feeds.ts';
import { paged, pagingSchema } from '../../services/paging.ts';
import { type Api, body, json, noContent, page, problems, scoped } from './shared.ts';
import * as S from '../schemas.ts';

export function registerFeedRoutes(api: Api, rt: Runtime): void {
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/feeds',
        operationId: 'listFeeds',
        summary: 'List news feeds',
        tags: ['Feeds'],
        request: { query: pagingSchema },
        responses: { 200: json(page(S.FeedSchema)), ...problems() },
      }),
    ),
    async (c) =>
      c.json(
        await paged(
          c.req.valid('query'),
          (win) => listFeeds(rt, win),
          () => rt.prisma.feed.count(),
        ),
        200,
      ),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/feeds',
        operationId: 'createFeed',
        summary: 'Add a news feed (URL checked by the SSRF guard)',
        tags: ['Feeds'],
        request: body(feedCreateSchema),
        responses: { 201: json(S.FeedSchema, 'Created'), ...problems(409) },
      }),
    ),
    async (c) => c.json(await createFeed(rt, c.req.valid('json')), 201),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/feeds/{id}',
        operationId: 'getFeed',
        summary: 'Get a news feed',
        tags: ['Feeds'],
        request: { params: S.IdParam },
        responses: { 200: json(S.FeedSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await getFeed(rt, c.req.valid('param').id), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'patch',
        path: '/feeds/{id}',
        operationId: 'updateFeed',
        summary: 'Change a news feed (enabled: false stops polling it)',
        tags: ['Feeds'],
        request: { params: S.IdParam, ...body(feedUpdateSchema) },
        responses: { 200: json(S.FeedSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await updateFeed(rt, c.req.valid('param').id, c.req.valid('json')), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'delete',
        path: '/feeds/{id}',
        operationId: 'deleteFeed',
        tags: ['Feeds'],
        summary: 'Delete a feed and every news item it brought in',
        request: { params: S.IdParam },
        responses: { ...noContent, ...problems(404) },
      }),
    ),
    async (c) => {
      await deleteFeed(rt, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
}
