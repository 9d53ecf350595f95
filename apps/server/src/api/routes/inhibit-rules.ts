/** Inhibit rules: while a source alert fires, matching target alerts are recorded, not sent. */
import { createRoute } from '@hono/zod-openapi';
import type { Runtime } from '../../context.ts';
import {
  createInhibitRule,
  deleteInhibitRule,
  getInhibitRule,
  inhibitRuleCreateSchema,
  inhibitRuleListSchema,
  listInhibitRules,
} from '../../services/inhibitions.ts';
import { actorOf } from '../../services/silences.ts';
import { type Api, body, json, noContent, page, problems, scoped } from './shared.ts';
import * as S from '../schemas.ts';

export function registerInhibitRuleRoutes(api: Api, rt: Runtime): void {
  const tagInh = ['Inhibit rules'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/inhibit-rules',
        operationId: 'listInhibitRules',
        tags: tagInh,
        summary: 'Inhibit rules, oldest first',
        request: { query: inhibitRuleListSchema },
        responses: { 200: json(page(S.InhibitRuleSchema)), ...problems() },
      }),
    ),
    async (c) => c.json(await listInhibitRules(rt, c.req.valid('query')), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/inhibit-rules',
        operationId: 'createInhibitRule',
        tags: tagInh,
        summary: 'While a source alert fires, hold back target alerts with the same labels',
        request: body(inhibitRuleCreateSchema),
        responses: { 201: json(S.InhibitRuleSchema, 'Created'), ...problems() },
      }),
    ),
    async (c) => c.json(await createInhibitRule(rt, c.req.valid('json'), await actorOf(rt, c.get('auth'))), 201),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/inhibit-rules/{id}',
        operationId: 'getInhibitRule',
        summary: 'Get an inhibit rule',
        tags: tagInh,
        request: { params: S.IdParam },
        responses: { 200: json(S.InhibitRuleSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await getInhibitRule(rt, c.req.valid('param').id), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'delete',
        path: '/inhibit-rules/{id}',
        operationId: 'deleteInhibitRule',
        tags: tagInh,
        summary: 'Delete an inhibit rule (alerts it held keep their record)',
        request: { params: S.IdParam },
        responses: { ...noContent, ...problems(404) },
      }),
    ),
    async (c) => {
      await deleteInhibitRule(rt, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
}
