import net from 'node:net';
import { pino } from 'pino';
import type { Clock } from '@signals/core';
import { createAlertWithDeliveries, type NewAlert, type PrismaClient } from '@signals/db';
import { createMailer, createWebhookSender, generateSecret } from '@signals/notify';
import { createQueues, createRedis, type QueueSet, type RedisTarget } from '@signals/queue';
import { TEST_REDIS_URL } from '@signals/testing';
import { DELIVERY_BATCH, type DeliveryContext, runDeliveries } from '../src/delivery/deliver.ts';
import { sweepDeliveries } from '../src/delivery/sweep.ts';
import { startWorkers, type RunningWorker } from '../src/worker.ts';

export const silent = pino({ level: 'silent' });

/** A watchlist with NVDA, a rule on it, and the given subscribers (confirmed unless said) and endpoints. */
export async function seedScenario(
  prisma: PrismaClient,
  opts: {
    subscribers?: { email: string; status?: 'pending' | 'confirmed'; mode?: 'immediate' | 'digest' }[];
    endpoints?: string[];
  } = {},
) {
  const wl = await prisma.watchlist.create({
    data: { slug: `wl-${Math.random().toString(36).slice(2, 8)}`, name: 'AI core' },
  });
  const inst = await prisma.instrument.upsert({
    where: { symbol: 'NVDA' },
    create: { symbol: 'NVDA', name: 'NVIDIA' },
    update: {},
  });
  await prisma.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: inst.id } });
  const rule = await prisma.rule.create({
    data: {
      name: 'DeepSeek shock <b>(-17%)</b>',
      kind: 'pct_move',
      params: { sessions: 1, threshold: 0.1, direction: 'down' },
      watchlistId: wl.id,
      severity: 'critical',
      sourceArticle: '002_f83b04b47871ab2e.txt',
      sourcePassage: 'Nvidia fiel um 17 %',
    },
  });
  const subscribers = [];
  for (const s of opts.subscribers ?? []) {
    subscribers.push(
      await prisma.subscriber.create({
        data: {
          email: s.email,
          status: s.status ?? 'confirmed',
          mode: s.mode ?? 'immediate',
          subscriptions: { create: [{ watchlistId: wl.id }] },
        },
      }),
    );
  }
  const endpoints = [];
  for (const url of opts.endpoints ?? []) {
    endpoints.push(await prisma.webhookEndpoint.create({ data: { url, secret: generateSecret() } }));
  }
  return { wl, inst, rule, subscribers, endpoints };
}

let seq = 0;
export function alertFor(ruleId: string, firedAt: Date, symbol = 'NVDA', key?: string): NewAlert {
  return {
    dedupKey: key ?? `${ruleId}:${symbol}:${firedAt.toISOString().slice(0, 10)}:${seq++}`,
    ruleId,
    subject: symbol,
    symbol,
    status: 'firing',
    severity: 'critical',
    title: `${symbol} fell 16.9% in one session`,
    value: -0.169,
    threshold: -0.1,
    windowStart: new Date(firedAt.getTime() - 86_400_000),
    windowEnd: firedAt,
    firedAt,
    details: {
      headlines: [
        { title: 'DeepSeek rattles chip stocks', link: 'https://example.com/a', publishedAt: firedAt.toISOString() },
      ],
    },
  };
}

export interface Harness {
  ctx: DeliveryContext;
  queues: QueueSet;
  running: RunningWorker;
  fanOut(alert: NewAlert): Promise<string[]>;
  sweep(): Promise<{ recovered: number; requeued: number }>;
  close(): Promise<void>;
}

/** An in-process worker (deliveries queue) with real SMTP and HTTP senders and a compressed schedule. */
export async function startHarness(o: {
  prisma: PrismaClient;
  prefix: string;
  smtpUrl: string;
  clock?: Clock;
  webhookSchedule?: number[];
  emailSchedule?: number[];
  concurrency?: number;
  /** One Redis by URL, or a target from parseRedisUrl (a cluster). */
  redisUrl?: string | RedisTarget;
}): Promise<Harness> {
  const clock = o.clock ?? { now: () => new Date() };
  const redis = createRedis(o.redisUrl ?? TEST_REDIS_URL, 'worker');
  const queues = createQueues(redis, o.prefix);
  const mailer = createMailer({ smtpUrl: o.smtpUrl, from: 'Signals <alerts@test.local>', pool: true, logger: silent });
  const ctx: DeliveryContext = {
    prisma: o.prisma,
    queues,
    logger: silent,
    clock,
    mailer,
    webhook: createWebhookSender({ allowedCidrs: ['127.0.0.1/32'], timeoutMs: 2000, logger: silent }),
    publicBaseUrl: 'http://signals.test',
    appSecret: 'test-secret-test-secret-test-secret!!',
    webhookSchedule: o.webhookSchedule ?? [0, 50, 100, 200],
    emailSchedule: o.emailSchedule ?? [0, 50, 100, 200],
  };
  const running = await startWorkers(
    { prisma: o.prisma, redis, queues, prefix: o.prefix, logger: silent, clock, concurrency: o.concurrency ?? 8 },
    { deliveries: async (p) => runDeliveries(ctx, p.batch ?? [{ id: p.deliveryId, attempt: p.attempt ?? 0 }]) },
  );
  return {
    ctx,
    queues,
    running,
    async fanOut(alert) {
      const r = await createAlertWithDeliveries(o.prisma, alert, { now: clock.now(), emailGroupWaitMs: 0 });
      await queues.enqueueDeliveries(
        r.deliveryIds.map((id) => ({ id })),
        { batchSize: DELIVERY_BATCH },
      );
      return r.deliveryIds;
    },
    sweep: () => sweepDeliveries({ prisma: o.prisma, queues, clock, logger: silent, graceMs: 0 }),
    async close() {
      await running.close();
      await mailer.close();
      await queues.close();
      await redis.quit();
    },
  };
}

export async function until<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
  label = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * What a Redis restart without persistence, a failover to an empty replica or a FLUSHALL does to
 * one service: every key of its prefix deleted (SCAN MATCH + DEL, so the shared test Redis and other
 * tests' prefixes are untouched). Returns how many keys there were.
 */
export async function deletePrefixKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = createRedis(redisUrl, 'worker'); // queues commands until connected
  try {
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`,
        'COUNT',
        1000,
      );
      cursor = next;
      if (keys.length) n += await redis.del(...keys);
    } while (cursor !== '0');
    return n;
  } finally {
    await redis.quit();
  }
}

/** A free TCP port on 127.0.0.1 (for a worker's WORKER_METRICS_PORT). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}
