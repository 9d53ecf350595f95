/** Backtests: rules run over stored history (or posted bars). */
import { createRoute } from '@hono/zod-openapi';
import type { Runtime } from '../../context.ts';
import { backtestRequest, backtestRequestSchema } from '../../services/backtest-request.ts';
import { type Api, body, json, problems, scoped } from './shared.ts';
import * as S from '../schemas.ts';

export function registerBacktestRoutes(api: Api, rt: Runtime): void {
  const tagR = ['Rules'];
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/backtest',
        operationId: 'runBacktest',
        tags: tagR,
        summary: 'Backtest rules over history',
        description:
          'Runs rules over stored history (or posted bars) and lists every alert that would have fired; 422 when it needs more than PREVIEW_TIMEOUT_SEC.',
        request: body(backtestRequestSchema),
        responses: { 200: json(S.BacktestOutcomeSchema), ...problems(404, 422, 503) },
      }),
    ),
    async (c) => c.json(await backtestRequest(rt, c.req.valid('json')), 200),
  );
}
