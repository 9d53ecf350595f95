/**
 * The REST API under /api: JSON in, JSON out, every error as problem+json. Requests are validated
 * by the same zod schemas the OpenAPI 3.1 document (/api/openapi.json) is generated from.
 */
import { OpenAPIHono, type RouteConfig, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv, Runtime } from '../context.ts';
import { cleanJsonBody, limitBody, text } from '../input.ts';
import { fieldErrors, validationProblem } from '../problem.ts';
import { apiAuth } from '../security/auth.ts';
import { alertDeliveries, alertFilterSchema, getAlert, listAlerts } from '../services/alerts.ts';
import { apiKeyCreateSchema, createApiKey, listApiKeys, revokeApiKey } from '../services/apikeys.ts';
import { backtestRequest, backtestRequestSchema } from '../services/backtest-request.ts';
import { ruleKinds } from '../services/kinds.ts';
import {
  createEndpoint,
  deleteEndpoint,
  endpointCreateSchema,
  countEndpointDeliveries,
  endpointDeliveries,
  endpointUpdateSchema,
  getEndpoint,
  listEndpoints,
  redeliver,
  rotateSecret,
  sendTestEvent,
  updateEndpoint,
} from '../services/endpoints.ts';
import {
  createFeed,
  deleteFeed,
  feedCreateSchema,
  feedUpdateSchema,
  getFeed,
  listFeeds,
  updateFeed,
} from '../services/feeds.ts';
import {
  countRules,
  createRule,
  deleteRule,
  getRule,
  listRules,
  listTemplates,
  previewRule,
  ruleInputSchema,
  ruleUpdateSchema,
  updateRule,
} from '../services/rules.ts';
import { cursorFields, newestFirstPage, paged, pagingFields, pagingSchema } from '../services/paging.ts';
import { getSubscriber, listSubscribers, reactivateSubscriber, removeSubscriber } from '../services/subscribers.ts';
import {
  addMember,
  countInstruments,
  createWatchlist,
  deleteWatchlist,
  getInstrument,
  getWatchlist,
  listInstruments,
  listWatchlists,
  memberAddSchema,
  removeMember,
  updateWatchlist,
  watchlistCreateSchema,
  watchlistUpdateSchema,
} from '../services/watchlists.ts';
import {
  actorOf,
  createSilence,
  expireSilence,
  getSilence,
  listSilences,
  silenceCreateSchema,
  silenceListSchema,
} from '../services/silences.ts';
import {
  createInhibitRule,
  deleteInhibitRule,
  getInhibitRule,
  inhibitRuleCreateSchema,
  inhibitRuleListSchema,
  listInhibitRules,
} from '../services/inhibitions.ts';
import { grantedScopes, requireScope, scopeOf } from './scopes.ts';
import * as S from './schemas.ts';

const json = <T extends z.ZodType>(schema: T, description = 'OK') => ({
  description,
  content: { 'application/json': { schema } },
});
const body = <T extends z.ZodType>(schema: T) => ({
  body: { required: true, content: { 'application/json': { schema } } },
});
const problems = (...codes: number[]) =>
  Object.fromEntries(
    [400, 401, 403, 413, 429, ...codes].map((code) => [
      code,
      { description: 'Problem', content: { 'application/problem+json': { schema: S.ProblemSchema } } },
    ]),
  );
const noContent = { 204: { description: 'Done' } };
/**
 * A route with its scope from the one table (api/scopes.ts): the OpenAPI document states it
 * (`security` and `x-scope`) and a route middleware checks it, after authentication and before
 * the request is validated.
 */
function scoped<R extends RouteConfig>(route: R): R {
  const scope = scopeOf(route.method, route.path);
  return Object.assign(route, {
    security: [{ bearer: [scope] }, { session: [] }],
    'x-scope': scope,
    description: `Needs the \`${scope}\` scope (admin sessions have every scope).${route.description ? ` ${route.description}` : ''}`,
    middleware: [requireScope(scope)],
  });
}
const list = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
/** A page of a list endpoint (see services/paging.ts): the items of the window and the count of every match. */
const page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    total: z.number().int().openapi({ description: 'every match; the next page is at offset + limit while below' }),
  });

/** A page of a list that grows while it is read: also `nextCursor`, to continue without gaps or repeats. */
const cursorPage = <T extends z.ZodType>(item: T) =>
  page(item).extend({
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: 'give as `cursor` for the next page (older items); null on the last page' }),
  });

export function createApi(rt: Runtime) {
  const api = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const prefix = result.target === 'json' ? [] : [result.target === 'param' ? 'path' : result.target];
        return validationProblem(c, fieldErrors(result.error, prefix));
      }
    },
  });
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'API key (sk_...), created on the admin page or with POST /api/api-keys',
  });
  api.openAPIRegistry.registerComponent('securitySchemes', 'session', {
    type: 'apiKey',
    in: 'cookie',
    name: 'signals_session',
    description: 'Admin session; state-changing requests also need the X-CSRF-Token header',
  });

  api.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Market Signals API',
      version: '1.0.0',
      description: 'Watchlists, rules, backtests, alerts, subscribers, webhook endpoints, feeds and API keys.',
    },
    servers: [{ url: rt.baseUrl }],
  });

  api.use('*', async (c, next) => {
    // The document alone is public: exactly this path, not anything ending like it.
    if (c.req.path === '/api/openapi.json') return next();
    return apiAuth(rt)(c, next);
  });
  api.use('*', limitBody, cleanJsonBody);

  // -------------------------------------------------------------------------------------------
  // Watchlists and instruments
  // -------------------------------------------------------------------------------------------
  const tagW = ['Watchlists'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/watchlists',
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
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/instruments',
        tags: ['Instruments'],
        request: {
          query: z.strictObject({ watched: z.enum(['true', 'false']).optional(), ...pagingFields() }),
        },
        responses: { 200: json(page(S.InstrumentSchema)), ...problems() },
      }),
    ),
    async (c) => {
      const q = c.req.valid('query');
      const opts = { watched: q.watched === 'true' };
      return c.json(
        await paged(
          q,
          (win) => listInstruments(rt, opts, win),
          () => countInstruments(rt, opts),
        ),
        200,
      );
    },
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/instruments/{symbol}',
        tags: ['Instruments'],
        request: { params: S.SymbolParam },
        responses: { 200: json(S.InstrumentSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await getInstrument(rt, c.req.valid('param').symbol), 200),
  );

  // -------------------------------------------------------------------------------------------
  // Rules and backtests
  // -------------------------------------------------------------------------------------------
  const tagR = ['Rules'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/rules',
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
      return c.json(
        await paged(
          q,
          (win) => listRules(rt, filter, win),
          () => countRules(rt, filter),
        ),
        200,
      );
    },
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/rules',
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
        tags: tagR,
        summary:
          'The rule kinds (from the kind registry): params JSON Schema with bounds, form fields with defaults, template',
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
        tags: tagR,
        summary:
          'Validate a draft rule and backtest it over the last year of stored history; 422 when it needs more than PREVIEW_TIMEOUT_SEC',
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
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/backtest',
        tags: tagR,
        summary:
          'Run rules over stored history (or posted bars) and list every alert that would have fired; 422 when it needs more than PREVIEW_TIMEOUT_SEC',
        request: body(backtestRequestSchema),
        responses: { 200: json(S.BacktestOutcomeSchema), ...problems(404, 422, 503) },
      }),
    ),
    async (c) => c.json(await backtestRequest(rt, c.req.valid('json')), 200),
  );

  // -------------------------------------------------------------------------------------------
  // Alerts
  // -------------------------------------------------------------------------------------------
  const tagA = ['Alerts'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/alerts',
        tags: tagA,
        request: { query: alertFilterSchema },
        responses: { 200: json(cursorPage(S.AlertSummarySchema)), ...problems() },
      }),
    ),
    async (c) => c.json(await listAlerts(rt, c.req.valid('query')), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/alerts/{id}',
        tags: tagA,
        request: { params: S.IdParam },
        responses: { 200: json(S.AlertSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await getAlert(rt, c.req.valid('param').id), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/alerts/{id}/deliveries',
        tags: tagA,
        request: { params: S.IdParam },
        responses: { 200: json(list(S.DeliverySchema)), ...problems(404) },
      }),
    ),
    async (c) => c.json({ items: await alertDeliveries(rt, c.req.valid('param').id) }, 200),
  );

  // -------------------------------------------------------------------------------------------
  // Silences: matching alerts are recorded, nobody is notified
  // -------------------------------------------------------------------------------------------
  const tagSil = ['Silences'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/silences',
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
        tags: tagSil,
        summary: 'End a silence now (it stays listed as expired)',
        request: { params: S.IdParam },
        responses: { 200: json(S.SilenceSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await expireSilence(rt, c.req.valid('param').id), 200),
  );

  // -------------------------------------------------------------------------------------------
  // Inhibit rules: while a source alert fires, matching target alerts are recorded, not sent
  // -------------------------------------------------------------------------------------------
  const tagInh = ['Inhibit rules'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/inhibit-rules',
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

  // -------------------------------------------------------------------------------------------
  // Subscribers
  // -------------------------------------------------------------------------------------------
  const tagS = ['Subscribers'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/subscribers',
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
        tags: tagS,
        summary: 'Send to a bouncing subscriber again (status confirmed, bounce count 0)',
        request: { params: S.IdParam },
        responses: { 200: json(S.SubscriberSchema), ...problems(404, 409) },
      }),
    ),
    async (c) => c.json(await reactivateSubscriber(rt, c.req.valid('param').id), 200),
  );

  // -------------------------------------------------------------------------------------------
  // Webhook endpoints and deliveries
  // -------------------------------------------------------------------------------------------
  const tagE = ['Webhook endpoints'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/webhook-endpoints',
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
        tags: tagE,
        summary: "Send a test event now and return the receiver's answer",
        request: { params: S.IdParam },
        responses: { 200: json(S.TestResultSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await sendTestEvent(rt, c.req.valid('param').id), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/webhook-endpoints/{id}/deliveries',
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
          (q) => endpointDeliveries(rt, id, q),
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
        tags: tagE,
        summary: 'Put a failed or dead delivery back to pending and enqueue it',
        request: { params: S.IdParam },
        responses: { 200: json(S.DeliverySchema), ...problems(404, 409) },
      }),
    ),
    async (c) => c.json(await redeliver(rt, c.req.valid('param').id), 200),
  );

  // -------------------------------------------------------------------------------------------
  // Feeds and API keys
  // -------------------------------------------------------------------------------------------
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/feeds',
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
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/api-keys',
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
        tags: ['API keys'],
        summary: 'Create an API key (scopes, default read; optional expiry); the key is in this answer only',
        request: body(apiKeyCreateSchema),
        responses: { 201: json(S.ApiKeyWithSecretSchema, 'Created'), ...problems() },
      }),
    ),
    async (c) => {
      const auth = c.get('auth');
      const caller = { userId: auth?.userId ?? null, granted: grantedScopes(auth) };
      return c.json(await createApiKey(rt, c.req.valid('json'), caller), 201);
    },
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'delete',
        path: '/api-keys/{id}',
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

  return api;
}
