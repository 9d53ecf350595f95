/** Webhook endpoints and deliveries. */
import { createRoute, z } from '@hono/zod-openapi';
import type { Runtime } from '../../context.ts';
import {
  countEndpointDeliveries,
  createEndpoint,
  deleteEndpoint,
  endpointCreateSchema,
  endpointDeliveries,
  endpointUpdateSchema,
  getEndpoint,
  listEndpoints,
  redeliver,
  rotateSecret,
  sendTestEvent,
  updateEndpoint,
} from '../../services/endpoints.ts';
import { cursorFields, newestFirstPage, paged, pagingSchema } from '../../services/paging.ts';
import { deliveryReaderOf } from '../scopes.ts';
import { type Api, body, cursorPage, json, noContent, page, problems, scoped } from './shared.ts';
import * as S from '../schemas.ts';

export function registerEndpointRoutes(api: Api, rt: Runtime): void {
  const tagE = ['Webhook endpoints'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/webhook-endpoints',
        operationId: 'listWebhookEndpoints',
        summary: 'List webhook endpoints',
        tags: tagE,
        request: { query: pagingSchema },
        responses: { 200: json(page(S.EndpointSchema)), ...problems() },
      }),
    ),
    async (c) =>
      c.json(
        await paged(
          c.req.valid('query'),
          (win) => listEndpoints(rt, win),
          () => rt.prisma.webhookEndpoint.count(),
        ),
        200,
      ),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/webhook-endpoints',
        operationId: 'createWebhookEndpoint',
        tags: tagE,
        summary: 'Add an endpoint (URL checked by the SSRF guard); the signing secret is in this answer only',
        request: body(endpointCreateSchema),
        responses: { 201: json(S.EndpointWithSecretSchema, 'Created'), ...problems() },
      }),
    ),
    async (c) => c.json(await createEndpoint(rt, c.req.valid('json')), 201),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/webhook-endpoints/{id}',
        operationId: 'getWebhookEndpoint',
        summary: 'Get a webhook endpoint',
        tags: tagE,
        request: { params: S.IdParam },
        responses: { 200: json(S.EndpointSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await getEndpoint(rt, c.req.valid('param').id), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'patch',
        path: '/webhook-endpoints/{id}',
        operationId: 'updateWebhookEndpoint',
        summary: 'Change a webhook endpoint',
        tags: tagE,
        request: { params: S.IdParam, ...body(endpointUpdateSchema) },
        responses: { 200: json(S.EndpointSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await updateEndpoint(rt, c.req.valid('param').id, c.req.valid('json')), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'delete',
        path: '/webhook-endpoints/{id}',
        operationId: 'deleteWebhookEndpoint',
        summary: 'Delete a webhook endpoint',
        tags: tagE,
        request: { params: S.IdParam },
        responses: { ...noContent, ...problems(404) },
      }),
    ),
    async (c) => {
      await deleteEndpoint(rt, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/webhook-endpoints/{id}/rotate',
        operationId: 'rotateWebhookEndpointSecret',
        tags: tagE,
        summary: 'New signing secret; the previous one keeps signing for 24 h',
        request: { params: S.IdParam },
        responses: { 200: json(S.EndpointWithSecretSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await rotateSecret(rt, c.req.valid('param').id), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/webhook-endpoints/{id}/test',
        operationId: 'testWebhookEndpoint',
        tags: tagE,
        summary: "Send a test event now and return the receiver's answer",
        request: { params: S.IdParam },
        responses: { 200: json(S.TestResultSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await sendTestEvent(rt, c.req.valid('param').id, deliveryReaderOf(c.get('auth'))), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/webhook-endpoints/{id}/deliveries',
        operationId: 'listWebhookEndpointDeliveries',
        tags: tagE,
        summary: 'Deliveries to this endpoint, newest first',
        request: { params: S.IdParam, query: z.strictObject(cursorFields()) },
        responses: { 200: json(cursorPage(S.DeliverySchema)), ...problems(404) },
      }),
    ),
    async (c) => {
      const id = c.req.valid('param').id;
      return c.json(
        await newestFirstPage(
          c.req.valid('query'),
          (q) => endpointDeliveries(rt, id, q, deliveryReaderOf(c.get('auth'))),
          (d) => new Date(d.createdAt),
          () => countEndpointDeliveries(rt, id),
        ),
        200,
      );
    },
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/deliveries/{id}/redeliver',
        operationId: 'redeliverDelivery',
        tags: tagE,
        summary: 'Put a failed or dead delivery back to pending and enqueue it',
        request: { params: S.IdParam },
        responses: { 200: json(S.DeliverySchema), ...problems(404, 409) },
      }),
    ),
    async (c) => c.json(await redeliver(rt, c.req.valid('param').id, deliveryReaderOf(c.get('auth'))), 200),
  );
}
