import type { Logger } from 'pino';
import type { Clock, LoopStatus, PriceSource } from '@signals/core';
import type { Env } from '@signals/config';
import type { PrismaClient } from '@signals/db';
import type { QueueSet, RedisConnection } from '@signals/queue';
import type { Scope } from './api/scope-names.ts';
import type { Metrics } from './metrics.ts';
import type { TrustedProxies } from './security/client-ip.ts';
import type { ProxyHeaderWatch } from './security/proxy-warning.ts';
import type { BacktestRunner } from './services/backtest-runner.ts';
import type { RateLimiter } from './security/ratelimit.ts';
import type { ApiKeyCache } from './security/apikey-cache.ts';
import type { TemplatePool, WebhookSender } from '@signals/notify';

export interface AppDeps {
  env: Env;
  prisma: PrismaClient;
  redis: RedisConnection;
  queues: QueueSet;
  logger: Logger;
  metrics: Metrics;
  /** Public base URL (links in emails, the admin URL printed at start). */
  baseUrl: string;
  /** Checks symbols added to watchlists (Yahoo in production, a local or replay source in tests). */
  priceSource?: PriceSource;
  /** Sends the admin's "test event" directly (default: notify's Standard Webhooks sender). */
  webhookSender?: WebhookSender;
  /** Renders operators' message templates off the request thread (default: the process's pool). */
  templates?: TemplatePool;
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
  | { kind: 'apikey'; keyId: string; userId: string | null; scopes: Scope[]; expiresAt: Date | null };

export type AppEnv = { Variables: { requestId: string; clientIp: string; auth: Auth | undefined } };

/** Deps with the defaults filled in and the shared helpers built once. */
export interface Runtime extends AppDeps {
  clock: Clock;
  loops: () => Promise<LoopStatus[]>;
  rateLimiter: RateLimiter;
  /** API keys verified in the last few seconds (emptied when a key is revoked). */
  apiKeys: ApiKeyCache;
  cookieSecure: boolean;
  webhookSender: WebhookSender;
  templates: TemplatePool;
  /** Previews and backtests, off the request thread with a time budget. */
  backtests: BacktestRunner;
  /** TRUST_PROXY as a lookup; null when X-Forwarded-For is ignored. */
  trustedProxies: TrustedProxies | null;
  /** Requests with X-Forwarded-For/Forwarded while TRUST_PROXY is unset (log and System page). */
  proxyWatch: ProxyHeaderWatch;
}
