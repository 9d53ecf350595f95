/** Instruments (every symbol known, watched or not). */
import { createRoute, z } from '@hono/zod-openapi';
import type { Runtime } from '../../context.ts';
import { pagingFields, windowOf } from '../../services/paging.ts';
import { getInstrument, instrumentsPage } from '../../services/watchlists.ts';
import { type Api, json, page, problems, scoped } from './shared.ts';
import * as S from '../schemas.ts';

export function registerInstrumentRoutes(api: Api, rt: Runtime): void {
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/instruments',
        operationId: 'listInstruments',
        summary: 'List instruments with their latest price (watched=true: only those on a watchlist)',
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
      return c.json(await instrumentsPage(rt, opts, windowOf(q)), 200);
    },
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/instruments/{symbol}',
        operationId: 'getInstrument',
        summary: 'Get an instrument by its symbol',
        tags: ['Instruments'],
        request: { params: S.SymbolParam },
        responses: { 200: json(S.InstrumentSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await getInstrument(rt, c.req.valid('param').symbol), 200),
  );
}
