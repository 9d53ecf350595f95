/** What the delivery worker is given (built once per process in apps/worker/src/jobs/index.ts). */
import type { Clock, Logger } from '@signals/core';
import type { PrismaClient } from '@signals/db';
import type { Mailer, SubscriberChannels, TemplatePool, WebhookPort } from '@signals/notify';
import type { QueueSet } from '@signals/queue';

export type { WebhookPort };

export interface DeliveryContext {
  prisma: PrismaClient;
  queues: QueueSet;
  logger: Logger;
  clock: Clock;
  mailer: Mailer;
  webhook: WebhookPort;
  publicBaseUrl: string;
  /** Signs subscriber links: resolveSigningKeys(...).current, the key the server verifies them with. */
  appSecret: string;
  /** Keys that may have sealed a channel secret (resolveSigningKeys(...).accepted); default [appSecret]. */
  openKeys?: readonly string[];
  /** The subscribers' own channels (ntfy, Telegram), built once (@signals/notify buildSubscriberChannels). */
  subscriberChannels?: SubscriberChannels;
  /** How long operators' message templates are cached (default 5 s; tests 0). */
  templateCacheMs?: number;
  /** Renders operators' templates in worker threads with a time and memory cap (default: the process's pool). */
  templates?: TemplatePool;
  /** Delay before attempt i (ms); attempt 0 is the first. Its length is the number of attempts. Own channels use it too. */
  webhookSchedule: number[];
  emailSchedule: number[];
  /** How long a confirmation link works. */
  confirmTtlMs?: number;
  /** Consecutive recipient bounces (no successful send between) that mark a subscriber as bouncing (default 3). */
  maxBounces?: number;
  /**
   * DELIVERY_LEASE_SEC in ms (default 120 s): after this the sweeper hands a row left `sending`
   * back. While Postgres is away, claiming and recording wait for it at most this long.
   */
  leaseMs?: number;
}
