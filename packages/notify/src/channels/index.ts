/**
 * The chat channels, built in one place: the worker asks this registry for the notifier of a
 * delivery's channel and never switches on the kind itself.
 */
import { createNtfyNotifier, type NtfyOptions } from './ntfy.ts';
import { createTelegramClient, type TelegramClient, type TelegramOptions } from './telegram.ts';
import type { ChatNotifier } from './types.ts';

export type ChatChannelKind = 'ntfy' | 'telegram';
export const CHAT_CHANNELS: readonly ChatChannelKind[] = ['ntfy', 'telegram'];

export interface ChatChannels {
  get(kind: string): ChatNotifier | undefined;
  /** The Telegram client when a bot token is configured (the update loop needs it). */
  telegram: TelegramClient | undefined;
}

export function buildChatChannels(o: { ntfy?: NtfyOptions; telegram?: TelegramOptions | undefined }): ChatChannels {
  const telegram = o.telegram?.botToken ? createTelegramClient(o.telegram) : undefined;
  const all = new Map<string, ChatNotifier>([['ntfy', createNtfyNotifier(o.ntfy)]]);
  if (telegram) all.set('telegram', telegram);
  return { get: (kind) => all.get(kind), telegram };
}

export * from './ntfy.ts';
export * from './render.ts';
export * from './telegram.ts';
export * from './types.ts';
