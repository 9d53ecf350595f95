/** API keys. */
import { createRoute } from '@hono/zod-openapi';
import type { Runtime } from '../../context.ts';
import { apiKeyCreateSchema, createApiKey, keyMakerOf, listApiKeys, revokeApiKey } from '../../services/apikeys.ts';
import { paged, pagingSchema } from '../../services/paging.ts';
import { grantedScopes } from '../scopes.ts';
import { type Api, body, json, noContent, page, problems, scoped } from './shared.ts';
import * as S from '../schemas.ts';

export function registerApiKeyRoutes(api: Api, rt: Runtime): void {
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/api-keys',
        operationId: 'listApiKeys',
        summary: 'List API keys (never the keys themselves)',
        tags: ['API keys'],
        request: { query: pagingSchema },
        responses: { 200: json(page(S.ApiKeySchema)), ...problems() },
      }),
    ),
    async (c) =>
      c.json(
        await paged(
          c.req.valid('query'),
          (win) => listApiKeys(rt, win),
          () => rt.prisma.apiKey.count(),
        ),
        200,
      ),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/api-keys',
        operationId: 'createApiKey',
        tags: ['API keys'],
        summary: 'Create an API key (scopes, default read; optional expiry); the key is in this answer only',
        request: body(apiKeyCreateSchema),
        responses: { 201: json(S.ApiKeyWithSecretSchema, 'Created'), ...problems() },
      }),
    ),
    async (c) => c.json(await createApiKey(rt, c.req.valid('json'), keyMakerOf(c.get('auth'))), 201),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'delete',
        path: '/api-keys/{id}',
        operationId: 'revokeApiKey',
        summary: 'Revoke an API key and every key made from it',
        tags: ['API keys'],
        request: { params: S.IdParam },
        responses: { ...noContent, ...problems(404) },
      }),
    ),
    async (c) => {
      await revokeApiKey(rt, c.req.valid('param').id, grantedScopes(c.get('auth')));
      return c.body(null, 204);
    },
  );
}
