/** Silences: matching alerts are recorded, nobody is notified. */
import { createRoute } from '@hono/zod-openapi';
import type { Runtime } from '../../context.ts';
import {
  actorOf,
  createSilence,
  expireSilence,
  getSilence,
  listSilences,
  silenceCreateSchema,
  silenceListSchema,
} from '../../services/silences.ts';
import { type Api, body, json, page, problems, scoped } from './shared.ts';
import * as S from '../schemas.ts';

export function registerSilenceRoutes(api: Api, rt: Runtime): void {
  const tagSil = ['Silences'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/silences',
        operationId: 'listSilences',
        tags: tagSil,
        summary: 'Silences, active and pending by default; longest-running first',
        request: { query: silenceListSchema },
        responses: { 200: json(page(S.SilenceSchema)), ...problems() },
      }),
    ),
    async (c) => c.json(await listSilences(rt, c.req.valid('query')), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/silences',
        operationId: 'createSilence',
        tags: tagSil,
        summary: 'Silence alerts of a rule and/or on a subject for a while',
        request: body(silenceCreateSchema),
        responses: { 201: json(S.SilenceSchema, 'Created'), ...problems() },
      }),
    ),
    async (c) => c.json(await createSilence(rt, c.req.valid('json'), await actorOf(rt, c.get('auth'))), 201),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/silences/{id}',
        operationId: 'getSilence',
        summary: 'Get a silence',
        tags: tagSil,
        request: { params: S.IdParam },
        responses: { 200: json(S.SilenceSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await getSilence(rt, c.req.valid('param').id), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/silences/{id}/expire',
        operationId: 'expireSilence',
        tags: tagSil,
        summary: 'End a silence now (it stays listed as expired)',
        request: { params: S.IdParam },
        responses: { 200: json(S.SilenceSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await expireSilence(rt, c.req.valid('param').id), 200),
  );
}
