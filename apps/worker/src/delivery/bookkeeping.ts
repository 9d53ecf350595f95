/**
 * What a delivery attempt changes beyond its own row: an endpoint's failure count (disabled after
 * a dead letter or a 410, with a notice to the admins), a subscriber's recipient bounces (marked
 * bouncing after `maxBounces` in a row), and a subscriber's own channel that is gone (stopped).
 */
import type { ClaimedDelivery } from '@signals/db';
import { renderEndpointDisabledEmail } from '@signals/notify';
import type { DeliveryContext } from './context.ts';
import type { Attempt } from './deliver.ts';

/** Bookkeeping for one attempt; `result` is where its rows went (succeeded, retry, failed, dead). */
export async function bookkeeping(ctx: DeliveryContext, a: Attempt, result: string): Promise<void> {
  const first = a.rows[0] as ClaimedDelivery;
  const o = a.outcome;
  // Endpoint bookkeeping only when something changes (a success after failures, or a failure).
  if (first.endpointId && !(o.ok && (first.epFailures ?? 0) === 0))
    await endpointBookkeeping(ctx, first.endpointId, a, result);
  // Only a mailbox that does not work counts; a message refused for its content or by policy
  // fails alone. A message accepted means the address works: the count starts over.
  if (first.channel === 'email' && first.subscriberId) {
    if (!o.ok && o.failure.kind === 'bounce') await bounce(ctx, first.subscriberId);
    else if (o.ok && (first.subBounces ?? 0) > 0) await resetBounces(ctx, first.subscriberId);
  }
  if (!o.ok && o.failure.kind === 'gone' && first.channelId) {
    // The owner blocked the bot or the chat is gone: stop, as /stop would.
    await ctx.prisma.subscriberChannel.updateMany({
      where: { id: first.channelId, status: { not: 'stopped' } },
      data: { status: 'stopped', stoppedAt: ctx.clock.now() },
    });
  }
}

async function resetBounces(ctx: DeliveryContext, subscriberId: string) {
  await ctx.prisma.subscriber.updateMany({
    where: { id: subscriberId, bounceCount: { gt: 0 } },
    data: { bounceCount: 0 },
  });
}

/** One more recipient bounce; `maxBounces` in a row mark a confirmed subscriber bouncing (no more mail). */
async function bounce(ctx: DeliveryContext, subscriberId: string) {
  const s = await ctx.prisma.subscriber.update({
    where: { id: subscriberId },
    data: { bounceCount: { increment: 1 } },
  });
  if (s.bounceCount >= (ctx.maxBounces ?? 3) && s.status === 'confirmed') {
    await ctx.prisma.subscriber.update({ where: { id: subscriberId }, data: { status: 'bouncing' } });
    ctx.logger.warn(
      { subscriberId, bounces: s.bounceCount },
      'subscriber marked bouncing after repeated permanent failures',
    );
  }
}

async function endpointBookkeeping(ctx: DeliveryContext, endpointId: string, a: Attempt, result: string) {
  const now = ctx.clock.now();
  const o = a.outcome;
  if (o.ok) {
    await ctx.prisma.webhookEndpoint.updateMany({
      where: { id: endpointId, consecutiveFailures: { gt: 0 } },
      data: { consecutiveFailures: 0, failingSince: null },
    });
    return;
  }
  const ep = await ctx.prisma.webhookEndpoint.update({
    where: { id: endpointId },
    data: { consecutiveFailures: { increment: 1 } },
  });
  if (!ep.failingSince)
    await ctx.prisma.webhookEndpoint.update({ where: { id: endpointId }, data: { failingSince: now } });
  const gone = o.failure.statusCode === 410;
  if ((gone || result === 'dead') && ep.status === 'active') {
    const reason = gone ? 'the receiver answered 410 Gone' : 'a delivery failed through its whole retry schedule';
    const disabled = await ctx.prisma.webhookEndpoint.updateMany({
      where: { id: endpointId, status: 'active' },
      data: { status: 'disabled', disabledReason: reason },
    });
    if (disabled.count === 1) {
      ctx.logger.warn({ endpointId, reason }, 'webhook endpoint disabled');
      await tellAdmins(ctx, ep, reason, o.failure);
    }
  }
}

async function tellAdmins(
  ctx: DeliveryContext,
  ep: { id: string; url: string; description: string | null; failingSince: Date | null },
  reason: string,
  failure: { statusCode: number | null; error: string },
) {
  const admins = await ctx.prisma.adminUser.findMany({ select: { email: true } });
  if (admins.length === 0) return;
  const mail = renderEndpointDisabledEmail({
    publicBaseUrl: ctx.publicBaseUrl,
    endpoint: ep,
    reason,
    disabledAt: ctx.clock.now(),
    failingSince: ep.failingSince,
    lastStatusCode: failure.statusCode,
    lastError: failure.error,
  });
  try {
    await ctx.mailer.send({ to: admins.map((a) => a.email), ...mail });
  } catch (err) {
    ctx.logger.error(
      { endpointId: ep.id, err: (err as Error).message },
      'could not email admins about the disabled endpoint',
    );
  }
}
