/** Rules: CRUD, kinds, templates and the draft preview. */
import { createRoute, z } from '@hono/zod-openapi';
import type { Runtime } from '../../context.ts';
import { text } from '../../input.ts';
import { ruleKinds } from '../../services/kinds.ts';
import { pagingFields, windowOf } from '../../services/paging.ts';
import {
  createRule,
  deleteRule,
  getRule,
  listTemplates,
  previewRule,
  rulesPage,
  ruleInputSchema,
  ruleUpdateSchema,
  updateRule,
} from '../../services/rules.ts';
import { type Api, body, json, list, noContent, page, problems, scoped } from './shared.ts';
import * as S from '../schemas.ts';

export function registerRuleRoutes(api: Api, rt: Runtime): void {
  const tagR = ['Rules'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/rules',
        operationId: 'listRules',
        summary: 'List rules (filter by enabled and kind)',
        tags: tagR,
        request: {
          query: z.strictObject({
            enabled: z.enum(['true', 'false']).optional(),
            kind: text({ max: 40 }).optional(),
            ...pagingFields(),
          }),
        },
        responses: { 200: json(page(S.RuleSchema)), ...problems() },
      }),
    ),
    async (c) => {
      const q = c.req.valid('query');
      const filter = {
        ...(q.enabled ? { enabled: q.enabled === 'true' } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
      };
      return c.json(await rulesPage(rt, filter, windowOf(q)), 200);
    },
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/rules',
        operationId: 'createRule',
        summary: 'Create a rule',
        tags: tagR,
        request: body(ruleInputSchema),
        responses: { 201: json(S.RuleSchema, 'Created'), ...problems() },
      }),
    ),
    async (c) => c.json(await createRule(rt, c.req.valid('json')), 201),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/rules/kinds',
        operationId: 'listRuleKinds',
        tags: tagR,
        summary: 'List the rule kinds',
        description:
          'From the kind registry: each kind with its params as JSON Schema (bounds included), the form fields with defaults, its unit and template.',
        responses: { 200: json(list(S.RuleKindSchema)), ...problems() },
      }),
    ),
    (c) => c.json({ items: ruleKinds() }, 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/rules/templates',
        operationId: 'listRuleTemplates',
        summary: 'List the rule templates (ready-made rules to start from)',
        tags: tagR,
        responses: { 200: json(list(S.TemplateSchema)), ...problems() },
      }),
    ),
    async (c) => c.json({ items: await listTemplates(rt) }, 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/rules/preview',
        operationId: 'previewRule',
        tags: tagR,
        summary: 'Preview a draft rule over the last year',
        description:
          'Validates a draft rule and backtests it over the last year of stored history, without saving it; 422 when it needs more than PREVIEW_TIMEOUT_SEC.',
        request: body(ruleInputSchema),
        responses: { 200: json(S.RulePreviewSchema), ...problems(422, 503) },
      }),
    ),
    async (c) => c.json(await previewRule(rt, c.req.valid('json')), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/rules/{id}',
        operationId: 'getRule',
        summary: 'Get a rule',
        tags: tagR,
        request: { params: S.IdParam },
        responses: { 200: json(S.RuleSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await getRule(rt, c.req.valid('param').id), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'patch',
        path: '/rules/{id}',
        operationId: 'updateRule',
        tags: tagR,
        summary: 'Change a rule (any subset of fields; enabled: false disables it)',
        request: { params: S.IdParam, ...body(ruleUpdateSchema) },
        responses: { 200: json(S.RuleSchema), ...problems(404) },
      }),
    ),
    async (c) => {
      return c.json(await updateRule(rt, c.req.valid('param').id, c.req.valid('json')), 200);
    },
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'delete',
        path: '/rules/{id}',
        operationId: 'deleteRule',
        summary: 'Delete a rule',
        tags: tagR,
        request: { params: S.IdParam },
        responses: { ...noContent, ...problems(404) },
      }),
    ),
    async (c) => {
      await deleteRule(rt, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
}
