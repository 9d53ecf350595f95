/** Alerts and their deliveries. */
import { createRoute } from '@hono/zod-openapi';
import type { Runtime } from '../../context.ts';
import { alertDeliveries, alertFilterSchema, getAlert, listAlerts } from '../../services/alerts.ts';
import { deliveryReaderOf } from '../scopes.ts';
import { type Api, cursorPage, json, list, problems, scoped } from './shared.ts';
import * as S from '../schemas.ts';

export function registerAlertRoutes(api: Api, rt: Runtime): void {
  const tagA = ['Alerts'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/alerts',
        operationId: 'listAlerts',
        summary: 'List alerts, newest first (cursor paging)',
        description:
          'Without filters, `total` is counted at most once a second (it can be up to 1 s behind the items); with any filter it is exact.',
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
        operationId: 'getAlert',
        summary: 'Get an alert with its deliveries',
        tags: tagA,
        request: { params: S.IdParam },
        responses: { 200: json(S.AlertSchema), ...problems(404) },
      }),
    ),
    async (c) => c.json(await getAlert(rt, c.req.valid('param').id, deliveryReaderOf(c.get('auth'))), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/alerts/{id}/deliveries',
        operationId: 'listAlertDeliveries',
        summary: "List an alert's deliveries",
        tags: tagA,
        request: { params: S.IdParam },
        responses: { 200: json(list(S.DeliverySchema)), ...problems(404) },
      }),
    ),
    async (c) =>
      c.json({ items: await alertDeliveries(rt, c.req.valid('param').id, deliveryReaderOf(c.get('auth'))) }, 200),
  );
}
