/** The caller's admin account: its sessions, ending the others, changing the password. */
import { createRoute, z } from '@hono/zod-openapi';
import type { Runtime } from '../../context.ts';
import { changePassword, endOtherSessions, listSessions, passwordChangeSchema } from '../../services/account.ts';
import { type Api, body, json, list, problems, scoped } from './shared.ts';

const SessionSchema = z
  .object({
    id: z.string().openapi({ description: 'a short, stable label of the session (not its cookie)' }),
    current: z.boolean().openapi({ description: 'the session making this request' }),
    createdAt: z.string(),
    lastSeenAt: z.string(),
    expiresAt: z.string(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
  })
  .openapi('AdminSession');
const EndedSchema = z
  .object({ endedSessions: z.number().int().openapi({ description: 'sessions logged out' }) })
  .openapi('SessionsEnded');

export function registerAccountRoutes(api: Api, rt: Runtime): void {
  const tags = ['Account'];
  const account =
    ' The account is the admin session’s, or the admin who made the API key (a key no admin made answers 409).';
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/account/sessions',
        tags,
        operationId: 'listAccountSessions',
        summary: "The admin account's logged-in sessions, most recently seen first",
        description: account,
        responses: { 200: json(list(SessionSchema)), ...problems(409) },
      }),
    ),
    async (c) => c.json({ items: await listSessions(rt, c.get('auth')) }, 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'delete',
        path: '/account/sessions',
        tags,
        operationId: 'endOtherAccountSessions',
        summary: 'Log out every other session of the admin account (all of them, for an API key)',
        description: account,
        responses: { 200: json(EndedSchema), ...problems(409) },
      }),
    ),
    async (c) => c.json(await endOtherSessions(rt, c.get('auth')), 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/account/password',
        tags,
        operationId: 'changeAccountPassword',
        summary: "Change the admin account's password (the current one first); ends its other sessions",
        description: `${account} At most 10 attempts per account and 15 minutes (429 beyond); API keys stay valid.`,
        request: body(passwordChangeSchema),
        responses: { 200: json(EndedSchema), ...problems(409, 503) },
      }),
    ),
    async (c) => c.json(await changePassword(rt, c.get('auth'), c.req.valid('json')), 200),
  );
}
