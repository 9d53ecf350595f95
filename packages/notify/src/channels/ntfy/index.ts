/** ntfy: a subscriber's own topic (see ./send.ts for the request and its outcomes). */
import { classifyDeliveryError } from '../classify.ts';
import { OWN_CHANNEL_EVENTS, ownChannelTarget, renderOwnChannel } from '../own-channel.ts';
import type { Notifier, ShortMessage } from '../types.ts';
import { createNtfySender, type NtfyOptions, type NtfyTarget } from './send.ts';

export function ntfyNotifier(options: NtfyOptions, schedule: readonly number[]): Notifier<NtfyTarget, ShortMessage> {
  const sender = createNtfySender(options);
  return {
    channel: 'ntfy',
    eventTypes: OWN_CHANNEL_EVENTS,
    schedule,
    target: (row, openSecret) => ownChannelTarget(row, openSecret, (token) => ({ topicUrl: row.chTopicUrl, token })),
    render: (group, _target, env) => renderOwnChannel(group, env, 'ntfy', (m, text) => ({ ...m, body: text })),
    send: (message, target) => sender.send(target, message),
    classify: classifyDeliveryError,
  };
}

export * from './send.ts';
