/**
 * Subscribers' own channels (ntfy, Telegram) from the public preferences page: add an ntfy topic (checked by the
 * SSRF guard, its access token sealed with the app key), make a one-time Telegram deep link,
 * confirm an ntfy topic by the link sent to it, stop a channel. The state changes themselves are
 * @signals/db's repos/channels.ts; the worker sends and runs the bot.
 */
import { ValidationError } from '@signals/core';
import { signingKeyConfig } from '@signals/config';
import {
  confirmNtfyChannel,
  pendingChannelByToken,
  requestNtfyChannel,
  resolveSigningKeys,
  sealSecret,
  stopChannels,
  telegramLinkToken,
} from '@signals/db';
import { assertPublicUrl, HostResolutionError, UnsafeUrlError } from '@signals/netguard';
import { splitTopicUrl } from '@signals/notify';
import { z } from 'zod';
import type { Runtime } from '../context.ts';
import { text } from '../input.ts';

/** How long a Telegram deep link works. */
export const TELEGRAM_LINK_TTL_MS = 60 * 60_000;

export const ntfyChannelSchema = z.strictObject({
  topic: text({ min: 1, max: 300 }).describe('A topic name (on NTFY_DEFAULT_SERVER) or a topic URL'),
  accessToken: text({ min: 0, max: 200 }).optional().describe('Access token of a protected topic (tk_...)'),
});

/** A bare topic name goes to the default server; a URL must name one topic. */
export function topicUrlOf(topic: string, defaultServer: string): string | null {
  const t = topic.trim();
  const raw = /^https?:\/\//i.test(t) ? t : `${defaultServer.replace(/\/+$/, '')}/${t}`;
  const split = splitTopicUrl(raw);
  return split ? `${split.server}/${split.topic}` : null;
}

export async function addNtfyChannel(rt: Runtime, subscriberId: string, input: z.infer<typeof ntfyChannelSchema>) {
  const topicUrl = topicUrlOf(input.topic, rt.env.NTFY_DEFAULT_SERVER);
  if (!topicUrl)
    throw new ValidationError('Topic refused', [
      { path: 'topic', message: 'give a topic name (letters, digits, - and _) or a URL like https://ntfy.sh/my-topic' },
    ]);
  try {
    await assertPublicUrl(topicUrl, { allowedCidrs: rt.env.NTFY_ALLOWED_CIDRS, label: 'ntfy URL' });
  } catch (err) {
    if (err instanceof UnsafeUrlError || err instanceof HostResolutionError) {
      rt.logger.info({ detail: err.detail ?? err.message }, 'ntfy topic URL refused');
      throw new ValidationError('Topic refused', [{ path: 'topic', message: err.message }]);
    }
    throw err;
  }
  const token = input.accessToken?.trim() || null;
  if (token && !/^[\x21-\x7e]{4,200}$/.test(token))
    throw new ValidationError('Token refused', [
      { path: 'accessToken', message: 'must be printable ASCII without spaces' },
    ]);
  const keys = await resolveSigningKeys(rt.prisma, signingKeyConfig(rt.env));
  const r = await requestNtfyChannel(rt.prisma, {
    subscriberId,
    topicUrl,
    tokenSealed: token ? sealSecret(keys.current, token) : null,
    now: rt.clock.now(),
  });
  await rt.queues.enqueueDeliveries(r.deliveryIds.map((id) => ({ id }))).catch((err: Error) => {
    rt.logger.warn({ err: err.message }, 'ntfy confirmation not enqueued; left to the sweeper');
  });
  return { channelId: r.channelId, topicUrl };
}

/** The deep link `https://t.me/<bot>?start=<one-time token>`, or null when Telegram is not configured. */
export async function telegramDeepLink(rt: Runtime, subscriberId: string): Promise<string | null> {
  if (!rt.env.TELEGRAM_BOT_USERNAME || !rt.env.TELEGRAM_BOT_TOKEN) return null;
  const token = await telegramLinkToken(rt.prisma, { subscriberId, now: rt.clock.now(), ttlMs: TELEGRAM_LINK_TTL_MS });
  return `https://t.me/${rt.env.TELEGRAM_BOT_USERNAME}?start=${token}`;
}

export const confirmChannel = (rt: Runtime, token: string) => confirmNtfyChannel(rt.prisma, token, rt.clock.now());

/** The pending ntfy channel a confirm link is for (the GET page shows it before the POST confirms). */
export const pendingChannel = (rt: Runtime, token: string) => pendingChannelByToken(rt.prisma, token, rt.clock.now());

export const stopChannel = (rt: Runtime, subscriberId: string, kind: 'ntfy' | 'telegram') =>
  stopChannels(rt.prisma, { subscriberId, kind }, rt.clock.now());

export function channelsOf(rt: Runtime, subscriberId: string) {
  return rt.prisma.subscriberChannel.findMany({
    where: { subscriberId },
    select: { id: true, kind: true, status: true, topicUrl: true, chatId: true, confirmedAt: true },
    orderBy: { kind: 'asc' },
  });
}
