import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock, LoopStatus, PriceSource } from '@signals/core';
import type { Env } from '@signals/config';
import type { PrismaClient } from '@signals/db';
import type { QueueSet } from '@signals/queue';
import type { Metrics } from './metrics.ts';
import type { RateLimiter } from './security/ratelimit.ts';
import type { WebhookSender } from '@signals/notify';

export interface AppDeps {
  env: Env;
  prisma: PrismaClient;
  redis: Redis;
  queues: QueueSet;
  logger: Logger;
  metrics: Metrics;
  /** Public base URL (links in emails, the admin URL printed at start). */
  baseUrl: string;
  /** Checks symbols added to watchlists (Yahoo in production, a local or replay source in tests). */
  priceSource?: PriceSource;
  /** Sends the admin's "test event" directly (default: notify's Standard Webhooks sender). */
  webhookSender?: WebhookSender;
  /** Redis key prefix for rate limits (default `signals:`; tests pass their own). */
  keyPrefix?: string;
  clock?: Clock;
  /**
   * Every loop's liveness now (default: judged from Postgres with this process's settings; a loop
   * that never ran is overdue one period after the app was created).
   */
  loops?: () => Promise<LoopStatus[]>;
}

/** Who is calling: an admin with a browser session, or a machine with an API key. */
export type Auth =
  | { kind: 'session'; userId: string; email: string; sessionId: string; csrfToken: string }
  | { kind: 'apikey'; keyId: string; userId: string | null };

export type AppEnv = { Variables: { requestId: string; clientIp: string; auth: Auth | undefined } };

/** Deps with the defaults filled in and the shared helpers built once. */
export interface Runtime extends AppDeps {
  clock: Clock;
  loops: () => Promise<LoopStatus[]>;
  rateLimiter: RateLimiter;
  cookieSecure: boolean;
  webhookSender: WebhookSender;
}
