/** Subscribers. */
import { createRoute, z } from '@hono/zod-openapi';
import type { Runtime } from '../../context.ts';
import { pagingFields } from '../../services/paging.ts';
import { getSubscriber, listSubscribers, reactivateSubscriber, removeSubscriber } from '../../services/subscribers.ts';
import { type Api, json, noContent, page, problems, scoped } from './shared.ts';
import * as S from '../schemas.ts';

export function registerSubscriberRoutes(api: Api, rt: Runtime): void {
  const tagS = ['Subscribers'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/subscribers',
        operationId: 'listSubscribers',
        summary: 'List subscribers (filter by status)',
        tags: tagS,
        request: {
          query: z.strictObject({
            status: z.enum(['pending', 'confirmed', 'unsubscribed', 'bouncing']).optional(),
            ...pagingFields(1000),
          }),
        },
        responses: { 200: json(page(S.SubscriberSchema)), ...problems() },
      }),
    ),
    async (c) => c.json(await listSubscribers(rt, c.req.valid('query')), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/subscribers/{id}',
        operationId: 'getSubscriber',
        summary: 'Get a subscriber',
        tags: tagS,
        request: { params: S.IdParam },
        responses: { 200: json(S.SubscriberSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await getSubscriber(rt, c.req.valid('param').id), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'delete',
        path: '/subscribers/{id}',
        operationId: 'deleteSubscriber',
        summary: 'Delete a subscriber',
        tags: tagS,
        request: { params: S.IdParam },
        responses: { ...noContent, ...problems(404) },
      }),
    ),
    async (c) => {
      await removeSubscriber(rt, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/subscribers/{id}/reactivate',
        operationId: 'reactivateSubscriber',
        tags: tagS,
        summary: 'Send to a bouncing subscriber again (status confirmed, bounce count 0)',
        request: { params: S.IdParam },
        responses: { 200: json(S.SubscriberSchema), ...problems(404, 409) },
      }),
    ),
    async (c) => c.json(await reactivateSubscriber(rt, c.req.valid('param').id), 200),
  );
}
