/** Telegram: a subscriber's own chat with the bot (see ./client.ts for the Bot API and its outcomes). */
import { PermanentDeliveryError } from '@signals/core';
import { classifyDeliveryError } from '../classify.ts';
import { OWN_CHANNEL_EVENTS, ownChannelTarget, renderOwnChannel } from '../own-channel.ts';
import type { Notifier, ShortMessage } from '../types.ts';
import { formatTelegramText, type TelegramClient, TelegramChatGoneError } from './client.ts';

export interface TelegramTarget {
  chatId: string | null;
}

export function telegramNotifier(
  client: TelegramClient,
  schedule: readonly number[],
): Notifier<TelegramTarget, ShortMessage> {
  return {
    channel: 'telegram',
    eventTypes: OWN_CHANNEL_EVENTS,
    schedule,
    target: (row, openSecret) => ownChannelTarget(row, openSecret, () => ({ chatId: row.chChatId })),
    render: (group, _target, env) => renderOwnChannel(group, env, 'telegram', (m, text) => ({ ...m, fullText: text })),
    async send(message, target) {
      if (!target.chatId) throw new PermanentDeliveryError('Telegram chat not linked');
      await client.sendText(target.chatId, formatTelegramText(message));
      return { status: 200, response: 'sent' };
    },
    classify(err) {
      const f = classifyDeliveryError(err);
      // The owner blocked the bot or the chat is gone: the channel stops, as /stop would.
      return err instanceof TelegramChatGoneError ? { ...f, kind: 'gone' } : f;
    },
  };
}

export * from './client.ts';
