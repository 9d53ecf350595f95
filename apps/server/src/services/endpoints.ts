/**
 * Webhook endpoints. URLs pass the SSRF guard of @signals/netguard (WEBHOOK_ALLOWED_CIDRS re-opens
 * ranges) when saved, and again at every send. The whsec_ secret is shown once; rotating keeps the previous one
 * signing for 24 h. A test event is sent directly and recorded as a Delivery with its attempt.
 */
import { ConflictError, NotFoundError, storedIntervals, timeIntervalsSchema, ValidationError } from '@signals/core';
import { newMessageId, redeliverDelivery } from '@signals/db';
import { assertPublicUrl, HostResolutionError, UnsafeUrlError } from '@signals/netguard';
import {
  buildTestEvent,
  generateSecret,
  redactEmailAddresses,
  renderWebhookBody,
  signingSecrets,
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_FORMATS,
  type WebhookFormat,
} from '@signals/notify';
import { z } from 'zod';
import type { Runtime } from '../context.ts';
import { text } from '../input.ts';
import { type DeliveryReader, deliveryView } from './alerts.ts';
import { olderThan, type Position } from './paging.ts';
import { writeOr } from './util.ts';

export const ROTATION_OVERLAP_MS = 24 * 3600_000;

const eventTypes = z.array(z.enum(WEBHOOK_EVENT_TYPES as unknown as [string, ...string[]])).max(10);

/** standard: the versioned, documented event; slack / discord / teams: a chat message for a channel webhook URL. */
const format = z.enum(WEBHOOK_FORMATS, { message: `must be one of ${WEBHOOK_FORMATS.join(', ')}` });

/** Alertmanager-style active time intervals (UTC unless an interval names a location); empty or null: always. */
const activeIntervals = timeIntervalsSchema
  .nullish()
  .describe(
    'Only send during these intervals: [{ "weekdays": [1,2,3,4,5], "times": [{ "start": "09:00", "end": "17:00" }], "months": [1,2], "market": ["regular", "extended", "closed"], "location": "Europe/Berlin" }]; every given field must match, any interval may',
  );

export const endpointCreateSchema = z.strictObject({
  url: text({ min: 1, max: 2000 }),
  description: text({ max: 500 }).nullish(),
  eventTypes: eventTypes.optional(),
  format: format.optional(),
  activeIntervals,
});
export const endpointUpdateSchema = z.strictObject({
  url: text({ min: 1, max: 2000 }).optional(),
  description: text({ max: 500 }).nullish(),
  eventTypes: eventTypes.optional(),
  format: format.optional(),
  status: z.enum(['active', 'disabled']).optional(),
  activeIntervals,
});

type EndpointRow = {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  format: WebhookFormat;
  activeIntervals: unknown;
  status: string;
  disabledReason: string | null;
  consecutiveFailures: number;
  failingSince: Date | null;
  previousSecretUntil: Date | null;
  secret: string;
  createdAt: Date;
  updatedAt: Date;
};

/** Never includes the secret; only a hint of its start. */
export function endpointView(e: EndpointRow, now: Date) {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    eventTypes: e.eventTypes,
    format: e.format,
    activeIntervals: storedIntervals(e.activeIntervals),
    status: e.status,
    disabledReason: e.disabledReason,
    consecutiveFailures: e.consecutiveFailures,
    failingSince: e.failingSince?.toISOString() ?? null,
    secretHint: `${e.secret.slice(0, 10)}…`,
    rotationOverlapUntil:
      e.previousSecretUntil && e.previousSecretUntil.getTime() > now.getTime()
        ? e.previousSecretUntil.toISOString()
        : null,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

async function checkUrl(rt: Runtime, url: string): Promise<void> {
  try {
    await assertPublicUrl(url, { allowedCidrs: rt.env.WEBHOOK_ALLOWED_CIDRS, label: 'webhook URL' });
  } catch (err) {
    const message = err instanceof Error ? err.message : 'URL refused';
    if (err instanceof UnsafeUrlError || err instanceof HostResolutionError) {
      // The caller reads our words; what the name resolved to (or why not) is for the operator.
      rt.logger.info({ detail: err.detail ?? err.message }, 'webhook URL refused');
      throw new ValidationError('Webhook URL refused', [{ path: 'url', message }]);
    }
    throw err;
  }
}

export async function listEndpoints(rt: Runtime, win?: { take: number; skip: number }) {
  const rows = await rt.prisma.webhookEndpoint.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], ...win });
  const now = rt.clock.now();
  return rows.map((e) => endpointView(e, now));
}

export async function getEndpoint(rt: Runtime, id: string) {
  const e = await rt.prisma.webhookEndpoint.findUnique({ where: { id } });
  if (!e) throw new NotFoundError('Webhook endpoint');
  return endpointView(e, rt.clock.now());
}

export async function createEndpoint(rt: Runtime, input: z.infer<typeof endpointCreateSchema>) {
  await checkUrl(rt, input.url);
  const secret = generateSecret();
  const e = await rt.prisma.webhookEndpoint.create({
    data: {
      url: input.url,
      description: input.description ?? null,
      eventTypes: input.eventTypes ?? [],
      format: input.format ?? 'standard',
      ...(input.activeIntervals?.length ? { activeIntervals: input.activeIntervals } : {}),
      secret,
    },
  });
  return { endpoint: endpointView(e, rt.clock.now()), secret };
}

export async function updateEndpoint(rt: Runtime, id: string, input: z.infer<typeof endpointUpdateSchema>) {
  if (input.url !== undefined) await checkUrl(rt, input.url);
  const e = await writeOr('Webhook endpoint', '', () =>
    rt.prisma.webhookEndpoint.update({
      where: { id },
      data: {
        ...(input.url !== undefined ? { url: input.url } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.eventTypes !== undefined ? { eventTypes: input.eventTypes } : {}),
        ...(input.format !== undefined ? { format: input.format } : {}),
        ...(input.activeIntervals !== undefined ? { activeIntervals: input.activeIntervals ?? [] } : {}),
        ...(input.status === 'active'
          ? { status: 'active', disabledReason: null, consecutiveFailures: 0, failingSince: null }
          : input.status === 'disabled'
            ? { status: 'disabled', disabledReason: 'disabled by an operator' }
            : {}),
      },
    }),
  );
  return endpointView(e, rt.clock.now());
}

export async function deleteEndpoint(rt: Runtime, id: string) {
  await writeOr('Webhook endpoint', '', () => rt.prisma.webhookEndpoint.delete({ where: { id } }));
}

/** New secret; the old one keeps signing (second signature) for 24 h so receivers can switch. */
export async function rotateSecret(rt: Runtime, id: string) {
  const e = await rt.prisma.webhookEndpoint.findUnique({ where: { id } });
  if (!e) throw new NotFoundError('Webhook endpoint');
  const secret = generateSecret();
  const now = rt.clock.now();
  const updated = await rt.prisma.webhookEndpoint.update({
    where: { id },
    data: { secret, previousSecret: e.secret, previousSecretUntil: new Date(now.getTime() + ROTATION_OVERLAP_MS) },
  });
  return { endpoint: endpointView(updated, now), secret };
}

export interface TestResult {
  deliveryId: string;
  ok: boolean;
  status: number | null;
  durationMs: number;
  responseSnippet: string;
  error: string | null;
}

/** Sends an `endpoint.test` event now and records it (Delivery + DeliveryAttempt). */
export async function sendTestEvent(rt: Runtime, id: string, reader: DeliveryReader): Promise<TestResult> {
  const e = await rt.prisma.webhookEndpoint.findUnique({ where: { id } });
  if (!e) throw new NotFoundError('Webhook endpoint');
  const now = rt.clock.now();
  const body = renderWebhookBody(buildTestEvent({ timestamp: now, endpointId: e.id }), e.format);
  const secrets = signingSecrets(e, now);
  // Written as `sending`, not `pending`: the sweeper must not send it a second time.
  const d = await rt.prisma.delivery.create({
    data: {
      channel: 'webhook',
      endpointId: e.id,
      eventType: 'endpoint.test',
      target: `webhook:${e.id}`,
      messageId: newMessageId(),
      payload: body, // the bytes sent, in the endpoint's format (a redelivery sends them again)
      status: 'sending',
      nextAttemptAt: now,
    },
  });
  const started = new Date();
  let result: TestResult;
  try {
    const r = await rt.webhookSender.send({ url: e.url, messageId: d.messageId, secrets, body });
    result = {
      deliveryId: d.id,
      ok: true,
      status: r.status,
      durationMs: r.durationMs,
      responseSnippet: r.responseSnippet,
      error: null,
    };
  } catch (err) {
    const x = err as { statusCode?: number; durationMs?: number; responseSnippet?: string; message?: string };
    result = {
      deliveryId: d.id,
      ok: false,
      status: x.statusCode ?? null,
      durationMs: x.durationMs ?? Date.now() - started.getTime(),
      responseSnippet: x.responseSnippet ?? '',
      error: String(x.message ?? 'send failed').slice(0, 500),
    };
  }
  await rt.prisma.$transaction([
    rt.prisma.deliveryAttempt.create({
      data: {
        deliveryId: d.id,
        startedAt: started,
        durationMs: Math.round(result.durationMs),
        outcome: result.ok ? 'ok' : 'failed',
        statusCode: result.status,
        response: result.responseSnippet.slice(0, 2000) || null,
        error: result.error,
        worker: 'server:test',
      },
    }),
    rt.prisma.delivery.update({
      where: { id: d.id },
      data: {
        status: result.ok ? 'succeeded' : 'failed',
        attempts: 1,
        lastError: result.error,
        deliveredAt: result.ok ? new Date() : null,
      },
    }),
  ]);
  return reader.addresses
    ? result
    : {
        ...result,
        responseSnippet: redactEmailAddresses(result.responseSnippet),
        error: redactEmailAddresses(result.error),
      };
}

/** The newest deliveries to an endpoint (404 for an unknown endpoint); `skip` or `after` for API paging. */
export async function endpointDeliveries(
  rt: Runtime,
  id: string,
  q: { take: number; skip?: number; after?: Position | undefined },
  reader: DeliveryReader,
) {
  await getEndpoint(rt, id);
  const rows = await rt.prisma.delivery.findMany({
    where: q.after ? { endpointId: id, ...olderThan('createdAt', q.after) } : { endpointId: id },
    include: { attemptLog: { orderBy: { startedAt: 'asc' } } },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: q.take,
    skip: q.skip ?? 0,
  });
  return rows.map((d) => deliveryView(d, reader));
}

export const countEndpointDeliveries = (rt: Runtime, id: string) =>
  rt.prisma.delivery.count({ where: { endpointId: id } });

/** Failed or dead deliveries go back to pending and are enqueued again (a fresh attempt job id). */
export async function redeliver(rt: Runtime, deliveryId: string, reader: DeliveryReader) {
  const d = await rt.prisma.delivery.findUnique({ where: { id: deliveryId } });
  if (!d) throw new NotFoundError('Delivery');
  if (d.status !== 'failed' && d.status !== 'dead') {
    throw new ConflictError(`only failed or dead deliveries can be redelivered (this one is ${d.status})`);
  }
  if (!(await redeliverDelivery(rt.prisma, { id: d.id, status: d.status }, rt.clock.now()))) {
    throw new ConflictError('the delivery changed meanwhile; reload');
  }
  // A tag gives a fresh job id: the finished job of the last attempt may still be kept in Redis.
  await rt.queues
    .enqueueDeliveries([{ id: d.id, attempt: d.attempts, tag: `redeliver${rt.clock.now().getTime().toString(36)}` }])
    .catch((err: Error) => {
      rt.logger.warn({ err: err.message, deliveryId: d.id }, 'redelivery not enqueued; left to the sweeper');
    });
  const after = await rt.prisma.delivery.findUniqueOrThrow({
    where: { id: d.id },
    include: { attemptLog: { orderBy: { startedAt: 'asc' } } },
  });
  return deliveryView(after, reader);
}
