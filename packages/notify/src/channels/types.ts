/**
 * One interface for the subscribers' chat channels (Alertmanager's notify/<integration>/ model):
 * each channel is one module that renders a message and sends it, built in one place
 * (./index.ts). The worker's outbox (claims, attempts, retries, dead letters, redelivery) is the
 * same for all of them; a channel only says how a message looks and how one request goes.
 */
import type { AlertView } from '../alert-view.ts';

/** Where one subscriber's channel points. Secrets come in clear only here, at send time. */
export interface ChannelTarget {
  /** ntfy: topic URL. */
  topicUrl?: string | null;
  /** ntfy: access token (opened from its sealed form by the worker); never logged. */
  token?: string | null;
  /** Telegram: chat id. */
  chatId?: string | null;
}

/** A message, channel-neutral: each channel maps it onto its own request. */
export interface ChatMessage {
  title: string;
  body: string;
  /** 1 (min) .. 5 (urgent), ntfy's scale; channels without priorities ignore it. */
  priority: 1 | 2 | 3 | 4 | 5;
  tags: string[];
  /** A link the message leads to (ntfy Click header; appended to the text elsewhere). */
  click?: string;
  /** The whole text from an operator's template (Telegram sends it as is instead of title and body). */
  fullText?: string;
}

export interface ChannelSendResult {
  status: number;
  response: string;
}

export interface ChatNotifier {
  readonly kind: 'ntfy' | 'telegram';
  /**
   * Sends one message. Throws PermanentDeliveryError (never works as is: refused URL, chat gone)
   * or TransientDeliveryError (try again; `retryAfterMs` from a 429's Retry-After).
   */
  send(target: ChannelTarget, message: ChatMessage, opts: { messageId: string }): Promise<ChannelSendResult>;
}

export type AlertMessageInput = { alert: AlertView; publicBaseUrl: string };
