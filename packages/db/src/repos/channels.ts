/**
 * Subscribers' own channels (ntfy topics, Telegram chats): every state change of a
 * SubscriberChannel row lives here, called by the public pages, the worker's Telegram update loop
 * and the delivery worker. pending -> confirmed (the owner followed the one-time link, or pressed
 * Start on the deep link) -> stopped (/stop, the Stop button, or the chat is gone); a new request
 * makes a stopped channel pending again. Only sha256 of one-time tokens is stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/client.ts';
import { cancelPendingConfirmations, insertDeliveries, type Tx } from './outbox.ts';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
/** 43 URL-safe characters: fits Telegram's 64-character start parameter. */
const newLinkToken = () => randomBytes(32).toString('base64url');
const TOKEN_RE = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * Asks for alerts on an ntfy topic: the channel is (again) pending with this topic and token, and
 * a `channel.confirm` delivery to the topic is written in the same transaction (the worker makes
 * the link at send time). Returns that delivery's id, to enqueue after the commit.
 */
export async function requestNtfyChannel(
  prisma: PrismaClient,
  o: { subscriberId: string; topicUrl: string; tokenSealed: string | null; now: Date },
): Promise<{ channelId: string; deliveryIds: string[] }> {
  return prisma.$transaction(async (tx) => {
    const data = {
      status: 'pending' as const,
      topicUrl: o.topicUrl,
      tokenSealed: o.tokenSealed,
      linkTokenHash: null,
      linkExpiresAt: null,
      confirmedAt: null,
      stoppedAt: null,
    };
    const ch = await tx.subscriberChannel.upsert({
      where: { subscriberId_kind: { subscriberId: o.subscriberId, kind: 'ntfy' } },
      create: { subscriberId: o.subscriberId, kind: 'ntfy', ...data },
      update: data,
    });
    await cancelPendingConfirmations(tx, ch.id);
    const deliveryIds = await insertDeliveries(
      tx,
      [{ channel: 'ntfy', subscriberId: o.subscriberId, channelId: ch.id, eventType: 'channel.confirm' }],
      o.now,
    );
    return { channelId: ch.id, deliveryIds };
  });
}

/** The pending ntfy channel a confirm link is for, when genuine and not expired. */
export async function pendingChannelByToken(prisma: PrismaClient | Tx, token: string, now: Date) {
  if (!TOKEN_RE.test(token)) return null;
  const ch = await prisma.subscriberChannel.findUnique({
    where: { linkTokenHash: sha256(token) },
    include: { subscriber: { select: { email: true } } },
  });
  if (ch?.kind !== 'ntfy' || ch.status !== 'pending') return null;
  if (!ch.linkExpiresAt || ch.linkExpiresAt <= now) return null;
  return ch;
}

/** Confirms an ntfy channel by the link sent to its topic; null when unknown, used or expired. */
export async function confirmNtfyChannel(prisma: PrismaClient, token: string, now: Date) {
  const ch = await pendingChannelByToken(prisma, token, now);
  if (!ch) return null;
  const r = await prisma.subscriberChannel.updateMany({
    where: { id: ch.id, status: 'pending', linkTokenHash: sha256(token) },
    data: { status: 'confirmed', confirmedAt: now, linkTokenHash: null, linkExpiresAt: null },
  });
  return r.count ? { channelId: ch.id, subscriberId: ch.subscriberId } : null;
}

/**
 * A one-time token for the Telegram deep link `https://t.me/<bot>?start=<token>`: the channel is
 * pending until the chat's owner presses Start (the bot then links the chat). A linked channel
 * gets a new token too, to move alerts to another chat.
 */
export async function telegramLinkToken(
  prisma: PrismaClient,
  o: { subscriberId: string; now: Date; ttlMs: number },
): Promise<string> {
  const token = newLinkToken();
  const data = { linkTokenHash: sha256(token), linkExpiresAt: new Date(o.now.getTime() + o.ttlMs) };
  await prisma.subscriberChannel.upsert({
    where: { subscriberId_kind: { subscriberId: o.subscriberId, kind: 'telegram' } },
    create: { subscriberId: o.subscriberId, kind: 'telegram', ...data },
    update: data,
  });
  return token;
}

/** /start <token>: links the chat and confirms the channel; null when the token is unknown or expired. */
export async function linkTelegramChat(prisma: PrismaClient, o: { token: string; chatId: string; now: Date }) {
  if (!TOKEN_RE.test(o.token)) return null;
  const ch = await prisma.subscriberChannel.findUnique({ where: { linkTokenHash: sha256(o.token) } });
  if (ch?.kind !== 'telegram' || !ch.linkExpiresAt || ch.linkExpiresAt <= o.now) return null;
  const r = await prisma.subscriberChannel.updateMany({
    where: { id: ch.id, linkTokenHash: sha256(o.token) },
    data: {
      chatId: o.chatId,
      status: 'confirmed',
      confirmedAt: o.now,
      stoppedAt: null,
      linkTokenHash: null,
      linkExpiresAt: null,
    },
  });
  return r.count ? { channelId: ch.id, subscriberId: ch.subscriberId } : null;
}

/** Stops channels (by chat for /stop, by subscriber and kind for the Stop button); returns how many. */
export async function stopChannels(
  prisma: PrismaClient | Tx,
  where: { chatId: string } | { subscriberId: string; kind: 'ntfy' | 'telegram' },
  now: Date,
): Promise<number> {
  const r = await prisma.subscriberChannel.updateMany({
    where: { ...where, status: { not: 'stopped' } },
    data: { status: 'stopped', stoppedAt: now, linkTokenHash: null, linkExpiresAt: null },
  });
  return r.count;
}

/** The channels linked to one Telegram chat, with their subscriber's state (for /status). */
export function channelsOfChat(prisma: PrismaClient, chatId: string) {
  return prisma.subscriberChannel.findMany({
    where: { kind: 'telegram', chatId },
    include: {
      subscriber: { select: { status: true, mode: true, _count: { select: { subscriptions: true } } } },
    },
  });
}
