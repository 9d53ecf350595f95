/**
 * Every delivery channel, built in one place: the worker asks this registry for the notifier of a
 * delivery's channel and never switches on it. Adding a channel: a folder beside these with a
 * Notifier (target / render / send / classify, ./types.ts), one line below, and the channel in the
 * Delivery table's enum.
 */
import { emailNotifier, type Mailer } from './email/index.ts';
import { ntfyNotifier, type NtfyOptions } from './ntfy/index.ts';
import { createTelegramClient, type TelegramClient, type TelegramOptions, telegramNotifier } from './telegram/index.ts';
import type { DeliveryChannel, Notifier } from './types.ts';
import { type WebhookPort, webhookNotifier } from './webhook/index.ts';

/** A subscriber's own channels beside email (the SubscriberChannel kinds). */
export type SubscriberChannelKind = 'ntfy' | 'telegram';
export const SUBSCRIBER_CHANNELS: readonly SubscriberChannelKind[] = ['ntfy', 'telegram'];

/** How the subscribers' own channels are reached (configured once per process). */
export interface SubscriberChannels {
  ntfy: NtfyOptions;
  /** The Telegram client when a bot token is configured (the update loop needs it too). */
  telegram: TelegramClient | undefined;
}

export function buildSubscriberChannels(o: {
  ntfy?: NtfyOptions;
  telegram?: TelegramOptions | undefined;
}): SubscriberChannels {
  return { ntfy: o.ntfy ?? {}, telegram: o.telegram?.botToken ? createTelegramClient(o.telegram) : undefined };
}

export interface Notifiers {
  /** The notifier of a channel; undefined when it is not configured on this process. */
  get(channel: string): Notifier | undefined;
}

export function buildNotifiers(o: {
  mailer: Mailer;
  webhook: WebhookPort;
  subscriberChannels?: SubscriberChannels | undefined;
  /** Delay before attempt i (ms), email. */
  emailSchedule: readonly number[];
  /** Delay before attempt i (ms), webhooks and the subscribers' own channels. */
  webhookSchedule: readonly number[];
}): Notifiers {
  const all: Notifier[] = [
    emailNotifier(o.mailer, o.emailSchedule) as Notifier,
    webhookNotifier(o.webhook, o.webhookSchedule) as Notifier,
  ];
  if (o.subscriberChannels) all.push(ntfyNotifier(o.subscriberChannels.ntfy, o.webhookSchedule) as Notifier);
  if (o.subscriberChannels?.telegram)
    all.push(telegramNotifier(o.subscriberChannels.telegram, o.webhookSchedule) as Notifier);
  const byChannel = new Map<DeliveryChannel, Notifier>(all.map((n) => [n.channel, n]));
  return { get: (channel) => byChannel.get(channel as DeliveryChannel) };
}

export * from './classify.ts';
export * from './email/index.ts';
export * from './ntfy/index.ts';
export * from './own-channel.ts';
export * from './short-message.ts';
export * from './telegram/index.ts';
export * from './types.ts';
export * from './webhook/index.ts';
