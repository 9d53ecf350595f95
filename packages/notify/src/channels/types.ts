/**
 * One interface for every delivery channel (Alertmanager's notify/<integration>/ model): email,
 * webhook (with its body formats standard / Slack / Discord / Teams), ntfy and Telegram are each one
 * folder here with a {@link Notifier}, built in one place (./index.ts buildNotifiers). The worker's
 * outbox (claims, attempts, retries, dead letters, redelivery) is the same for all of them and never
 * switches on the channel: it asks the channel's notifier for the target, renders, sends, and
 * classifies what went wrong.
 *
 * Words: a "channel" is where a delivery goes (email, webhook, ntfy, telegram); a subscriber's
 * "own channels" are their ntfy topic and Telegram chat (the SubscriberChannel rows); a webhook's
 * "format" is the body it gets (standard, slack, discord, teams).
 */
import type { AlertView } from '../alert-view.ts';
import type { TemplateKey } from '../custom/templates.ts';

export type DeliveryChannel = 'email' | 'webhook' | 'ntfy' | 'telegram';

/**
 * A claimed delivery row as the notifiers read it (the outbox's claim returns it with its
 * endpoint, subscriber and subscriber channel): every field a target may need.
 */
export interface DeliveryRow {
  channel: string;
  eventType: string;
  messageId: string;
  alertId: string | null;
  subscriberId: string | null;
  subEmail: string | null;
  subStatus: string | null;
  channelId: string | null;
  chStatus: string | null;
  chTopicUrl: string | null;
  chTokenSealed: string | null;
  chChatId: string | null;
  endpointId: string | null;
  epStatus: string | null;
  epFormat: string | null;
  url: string | null;
  secret: string | null;
  previousSecret: string | null;
  previousSecretUntil: Date | null;
  /** A webhook body kept from the first attempt (retries send the same bytes). */
  payload: unknown;
}

/** What a group of claimed deliveries sends (one row, or alert messages due together for one recipient). */
export interface DeliveryGroup {
  eventType: string;
  /** The first row's payload (a kept webhook body; a service notice's event). */
  payload: unknown;
  /** The alerts of the group's rows, in order. */
  alertIds: readonly string[];
}

/**
 * What rendering may use, given by the worker: links, the operators' templates, the group's alerts
 * and the one-time tokens a confirmation carries (made, and their hashes stored, only when asked).
 */
export interface RenderEnv {
  publicBaseUrl: string;
  now: Date;
  /** The group's alerts that still exist (read once per process and alert). */
  alerts(): Promise<readonly AlertView[]>;
  /** A new subscriber confirmation token (its hash stored) and when it expires. */
  confirmToken(): Promise<{ token: string; expiresAt: Date }>;
  /** A new confirmation link for the subscriber's own channel (its token's hash stored). */
  channelLink(): Promise<string>;
  /** An admin's address, read at send time; null when the account is gone. */
  adminEmail(adminId: string): Promise<string | null>;
  /** Signed token of the subscriber the message goes to (email links), when there is one. */
  unsubscribeToken?: string;
  /**
   * The operator's text for `key` and this alert, rendered in the template pool (time and memory
   * capped); null when none is set. When it failed: null and a note (the built-in message is sent).
   */
  template(key: TemplateKey, view: AlertView): Promise<{ text: string | null; note?: string }>;
  /** Identifies the operators' templates now in use (caches of rendered bodies key on it). */
  templatesVersion: string;
}

export interface Rendered<M> {
  message: M;
  /** Sent, but not as configured (an operator's template failed): recorded as the attempt's error. */
  note?: string;
  /** A webhook body to keep on the row (first attempt), so retries send the same bytes. */
  keep?: string;
}

export interface NotifierSendResult {
  status: number | null;
  response: string;
}

/**
 * How a failed send is classified: `retry` (try again per the schedule), `permanent` (never works as
 * is), `bounce` (permanent, and the recipient's mailbox does not work: counts against the
 * subscriber), `gone` (permanent, and the subscriber's own channel is gone: stop it).
 */
export interface Failure {
  kind: 'retry' | 'permanent' | 'bounce' | 'gone';
  statusCode: number | null;
  error: string;
  retryAfterMs?: number;
}

/** A target, or why there is none (a permanent failure of every row of the group). */
export type TargetOf<T> = { ok: true; target: T } | { ok: false; error: string };

export interface Notifier<T = unknown, M = unknown> {
  readonly channel: DeliveryChannel;
  /** The event types this channel carries (anything else fails permanently). */
  readonly eventTypes: readonly string[];
  /** Retry schedule: delay before attempt i (ms); its length is the number of attempts. */
  readonly schedule: readonly number[];
  /**
   * Where the group goes, checked against the stored state (a subscriber or own channel confirmed
   * for alerts, pending for a confirmation; an endpoint active). `openSecret` opens a sealed token.
   */
  target(row: DeliveryRow, openSecret: (sealed: string) => string | null, now: Date): TargetOf<T>;
  /** Builds the message; throws PermanentDeliveryError when there is nothing it can send. */
  render(group: DeliveryGroup, target: T, env: RenderEnv): Promise<Rendered<M>>;
  /** One request; throws PermanentDeliveryError or TransientDeliveryError (named by `classify`). */
  send(message: M, target: T, opts: { messageId: string }): Promise<NotifierSendResult>;
  classify(err: unknown): Failure;
}

/** A message for ntfy and Telegram: channel-neutral short text, each maps it onto its own request. */
export interface ShortMessage {
  title: string;
  body: string;
  /** 1 (min) .. 5 (urgent), ntfy's scale; channels without priorities ignore it. */
  priority: 1 | 2 | 3 | 4 | 5;
  tags: string[];
  /** A link the message leads to (ntfy Click; appended to the text elsewhere). */
  click?: string;
  /** The whole text from an operator's template (Telegram sends it as is instead of title and body). */
  fullText?: string;
}
