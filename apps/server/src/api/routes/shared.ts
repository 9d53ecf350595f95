/**
 * What every resource module under api/routes/ shares: the scoped() wrapper (scope from the one
 * table in api/scopes.ts, stated in the OpenAPI document and enforced) and the OpenAPI response
 * and body helpers.
 */
import { type OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi';
import type { AppEnv } from '../../context.ts';
import { requireScope, scopeOf } from '../scopes.ts';
import * as S from '../schemas.ts';

/** The /api app every resource module registers its routes on. */
export type Api = OpenAPIHono<AppEnv>;

export const json = <T extends z.ZodType>(schema: T, description = 'OK') => ({
  description,
  content: { 'application/json': { schema } },
});
export const body = <T extends z.ZodType>(schema: T) => ({
  body: { required: true, content: { 'application/json': { schema } } },
});
export const problems = (...codes: number[]) =>
  Object.fromEntries(
    [400, 401, 403, 413, 429, ...codes].map((code) => [
      code,
      { description: 'Problem', content: { 'application/problem+json': { schema: S.ProblemSchema } } },
    ]),
  );
export const noContent = { 204: { description: 'Done' } };
/**
 * A route with its scope from the one table (api/scopes.ts): the OpenAPI document states it
 * (`security` and `x-scope`) and a route middleware checks it, after authentication and before
 * the request is validated.
 */
export function scoped<R extends RouteConfig>(route: R): R {
  const scope = scopeOf(route.method, route.path);
  return Object.assign(route, {
    security: [{ bearer: [scope] }, { session: [] }],
    'x-scope': scope,
    description: `Needs the \`${scope}\` scope (admin sessions have every scope).${route.description ? ` ${route.description}` : ''}`,
    middleware: [requireScope(scope)],
  });
}
export const list = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
/** A page of a list endpoint (see services/paging.ts): the items of the window and the count of every match. */
export const page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    total: z.number().int().openapi({ description: 'every match; the next page is at offset + limit while below' }),
  });

/** A page of a list that grows while it is read: also `nextCursor`, to continue without gaps or repeats. */
export const cursorPage = <T extends z.ZodType>(item: T) =>
  page(item).extend({
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: 'give as `cursor` for the next page (older items); null on the last page' }),
  });
