import type { Worker } from 'bullmq';
import type { WorkerQueueName } from '@signals/config';
import type { Logger } from 'pino';
import type { Clock } from '@signals/core';
import type { PrismaClient } from '@signals/db';
import { type Payload, type QueueKey, type QueueSet, catalog, createWorker } from '@signals/queue';
import type { RedisConnection } from '@signals/queue';
import { ensureSchedules, type Schedule } from './ops/schedules.ts';

/** What every job handler gets: I/O passed in, never imported (tests build their own). */
export interface WorkerDeps {
  prisma: PrismaClient;
  /** Blocking connection for BullMQ workers (maxRetriesPerRequest: null). */
  redis: RedisConnection;
  queues: QueueSet;
  prefix: string;
  logger: Logger;
  clock: Clock;
  concurrency: number;
}

export type Handler<K extends QueueKey> = (payload: Payload<K>, deps: WorkerDeps) => Promise<unknown>;
export type Handlers = { [K in QueueKey]?: Handler<K> };

export type { Schedule } from './ops/schedules.ts';

export interface RunningWorker {
  workers: Worker[];
  /** Stop taking work, let active jobs finish, close connections owned by the workers. */
  close(): Promise<void>;
}

// WORKER_QUEUES names exactly the catalog's queues: a queue added to one and not the other fails to compile.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const queueNamesAgree: Same<WorkerQueueName, QueueKey> = true;
void queueNamesAgree;

/**
 * The handlers and schedules of the queues this process runs (WORKER_QUEUES; all when unset). A
 * process schedules only the queues it runs, so no repeating job piles up where nobody works it.
 */
export function selectQueues(
  built: { handlers: Handlers; schedules: Schedule[] },
  only: readonly QueueKey[] | undefined,
): { handlers: Handlers; schedules: Schedule[] } {
  if (!only) return built;
  const handlers: Handlers = {};
  for (const key of only) if (built.handlers[key]) (handlers as Record<string, unknown>)[key] = built.handlers[key];
  return { handlers, schedules: built.schedules.filter((s) => only.includes(s.queue)) };
}

export async function startWorkers(
  deps: WorkerDeps,
  handlers: Handlers,
  schedules: Schedule[] = [],
): Promise<RunningWorker> {
  const workers: Worker[] = [];
  for (const key of Object.keys(handlers) as QueueKey[]) {
    const handler = handlers[key] as Handler<QueueKey>;
    const log = deps.logger.child({ queue: catalog[key].name });
    const w = createWorker(key, (payload, job) => handler(payload, { ...deps, logger: log.child({ jobId: job.id }) }), {
      connection: deps.redis,
      prefix: deps.prefix,
      concurrency: key === 'deliveries' ? deps.concurrency : Math.min(deps.concurrency, 4),
    });
    w.on('failed', (job, err) =>
      log.warn({ jobId: job?.id, err: err.message, attempts: job?.attemptsMade }, 'job failed'),
    );
    w.on('error', (err) => log.error({ err: err.message }, 'worker error'));
    workers.push(w);
  }
  await ensureSchedules(deps.queues, schedules, deps.logger, 'start');
  return {
    workers,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
