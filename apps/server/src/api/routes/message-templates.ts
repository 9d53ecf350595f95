/** Operators' message templates per channel: list, set (checked by a trial render), preview, remove. */
import { createRoute, z } from '@hono/zod-openapi';
import { TEMPLATE_KEY_LIST, type TemplateKey } from '@signals/notify';
import type { Runtime } from '../../context.ts';
import { text } from '../../input.ts';
import { NotFoundError, ValidationError } from '@signals/core';
import { actorOf } from '../../services/silences.ts';
import {
  builtIn,
  isTemplateKey,
  listMessageTemplates,
  previewAlert,
  saveMessageTemplate,
  tryTemplate,
} from '../../services/templates.ts';
import { type Api, body, json, list, noContent, problems, scoped } from './shared.ts';

// A string, not an enum: an unknown key is an unknown resource (404), like an unknown id.
const TemplateKeyParam = z.object({
  key: text({ min: 1, max: 64 }).openapi({
    param: { name: 'key', in: 'path' },
    description: `which channel text: ${TEMPLATE_KEY_LIST.join(', ')}`,
    example: 'slack',
  }),
});
/** The key of the path, or 404. */
function keyOf(key: string): TemplateKey {
  if (!isTemplateKey(key)) throw new NotFoundError('Message template');
  return key;
}

const MessageTemplateSchema = z
  .object({
    key: z.enum(TEMPLATE_KEY_LIST as [TemplateKey, ...TemplateKey[]]),
    label: z.string(),
    format: z.enum(['text', 'slack', 'discord', 'teams']).openapi({
      description: 'what `{{ ... }}` prints is escaped for this format (text: nothing); `| raw` prints it as it is',
    }),
    source: z.string().nullable().openapi({ description: 'the Liquid source; null: the built-in message is sent' }),
    updatedAt: z.string().nullable(),
    updatedBy: z.string().nullable(),
  })
  .openapi('MessageTemplate');

const sourceSchema = z.strictObject({
  source: text({ min: 1, max: 20_000 }).describe('Liquid source (see the README, "Message templates")'),
});
const previewSchema = z.strictObject({
  source: text({ min: 1, max: 20_000 }),
  alertId: text({ min: 1, max: 64 }).optional().describe('the alert to render for (default: the newest)'),
});
const PreviewSchema = z
  .object({
    output: z.string(),
    builtIn: z.string().openapi({ description: 'the built-in message for the same alert' }),
    alertId: z.string().nullable().openapi({ description: 'null: a sample alert (none has fired yet)' }),
  })
  .openapi('MessageTemplatePreview');

export function registerMessageTemplateRoutes(api: Api, rt: Runtime): void {
  const tags = ['Message templates'];
  api.openapi(
    scoped(
      createRoute({
        method: 'get',
        path: '/message-templates',
        tags,
        operationId: 'listMessageTemplates',
        summary: 'Every channel text with its template (null: built-in)',
        responses: { 200: json(list(MessageTemplateSchema)), ...problems() },
      }),
    ),
    async (c) => c.json({ items: await listMessageTemplates(rt) }, 200),
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'put',
        path: '/message-templates/{key}',
        tags,
        operationId: 'setMessageTemplate',
        summary: "Set a channel's template, after a trial render within the sandbox's limits",
        description:
          'A template that does not parse, fails, or builds past the limits (a loop doubling a string) is refused with 400 at `source`.',
        request: { params: TemplateKeyParam, ...body(sourceSchema) },
        responses: { 200: json(MessageTemplateSchema), ...problems(404, 503) },
      }),
    ),
    async (c) => {
      const key = keyOf(c.req.valid('param').key);
      await saveMessageTemplate(rt, key, c.req.valid('json').source, await actorOf(rt, c.get('auth')), 'source');
      const saved = (await listMessageTemplates(rt)).find((t) => t.key === key);
      return c.json(saved as z.infer<typeof MessageTemplateSchema>, 200);
    },
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'delete',
        path: '/message-templates/{key}',
        tags,
        operationId: 'deleteMessageTemplate',
        summary: "Remove a channel's template: the built-in message is sent again",
        request: { params: TemplateKeyParam },
        responses: { ...noContent, ...problems(404) },
      }),
    ),
    async (c) => {
      await rt.prisma.messageTemplate.deleteMany({ where: { key: keyOf(c.req.valid('param').key) } });
      return c.body(null, 204);
    },
  );
  api.openapi(
    scoped(
      createRoute({
        method: 'post',
        path: '/message-templates/{key}/preview',
        tags,
        operationId: 'previewMessageTemplate',
        summary: 'Render a template for a recent alert without saving it',
        request: { params: TemplateKeyParam, ...body(previewSchema) },
        responses: { 200: json(PreviewSchema), ...problems(404, 503) },
      }),
    ),
    async (c) => {
      const key = keyOf(c.req.valid('param').key);
      const { source, alertId } = c.req.valid('json');
      const sample = await previewAlert(rt, alertId);
      if (alertId && !sample.real) throw new NotFoundError('Alert');
      const r = await tryTemplate(rt, key, source, sample.view);
      if (!r.ok) throw new ValidationError('Template refused', [{ path: 'source', message: r.error }]);
      return c.json(
        { output: r.output, builtIn: builtIn(rt, key, sample.view), alertId: sample.real ? sample.view.id : null },
        200,
      );
    },
  );
}
