/**
 * One catalog for every queue: name, job payload schema, attempts, backoff, retention.
 * Queue and job names are persisted data in Redis: renaming one strands queued jobs. Payloads are
 * thin (ids plus a small snapshot); new fields must be optional so queued jobs still parse.
 */
import { z } from 'zod';
import type { JobsOptions } from 'bullmq';

const keep = {
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
} satisfies JobsOptions;

export const catalog = {
  /** Poll quotes for watched symbols; sync daily history. */
  prices: {
    name: 'prices',
    payload: z.object({
      kind: z.enum(['poll', 'history']),
      symbols: z.array(z.string()).max(500).optional(),
    }),
    options: { attempts: 1, ...keep } satisfies JobsOptions,
  },
  /** Poll the news feeds that are due. */
  news: {
    name: 'news',
    payload: z.object({ feedId: z.string().optional() }),
    options: { attempts: 1, ...keep } satisfies JobsOptions,
  },
  /** Evaluate rules after new observations. */
  evaluate: {
    name: 'evaluate',
    payload: z.object({ reason: z.string(), symbols: z.array(z.string()).optional() }),
    options: { attempts: 3, backoff: { type: 'exponential', delay: 1000, jitter: 0.5 }, ...keep } satisfies JobsOptions,
  },
  /**
   * One job per delivery (job id = delivery id: idempotent). Retries are scheduled from Postgres
   * (Delivery.nextAttemptAt) by the delivery worker itself, so BullMQ attempts stay at 1.
   */
  deliveries: {
    name: 'deliveries',
    payload: z.object({
      deliveryId: z.string().min(1),
      attempt: z.number().int().min(0).optional(),
      /** Several deliveries in one job (fan-outs): claimed, sent and recorded together. */
      batch: z
        .array(z.object({ id: z.string().min(1), attempt: z.number().int().min(0) }))
        .max(100)
        .optional(),
    }),
    options: { attempts: 1, ...keep } satisfies JobsOptions,
  },
  /**
   * Housekeeping: re-enqueue deliveries stuck in Postgres, flush digests, retention (every table
   * that grows; 'prune-intraday' is the name releases before 0.16 scheduled it under: same job).
   */
  maintenance: {
    name: 'maintenance',
    payload: z.object({
      kind: z.enum(['sweep', 'digest', 'prune-intraday', 'retention']),
      /**
       * Sweep: treat deliveries due for this long as orphans (default: the sweeper's 60 s). 0 right
       * after a Redis loss was detected: no job survived it, so nothing is still draining.
       */
      graceMs: z.number().int().min(0).optional(),
    }),
    options: { attempts: 1, ...keep } satisfies JobsOptions,
  },
} as const;

export type QueueKey = keyof typeof catalog;
export type Payload<K extends QueueKey> = z.infer<(typeof catalog)[K]['payload']>;
