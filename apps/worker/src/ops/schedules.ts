/**
 * Self-healing schedules. BullMQ job schedulers live only in Redis: after a FLUSHALL, a restart
 * without persistence or a failover to an empty replica they are gone, and nothing would poll,
 * evaluate or sweep again. Every worker process therefore checks the schedulers of the queues it
 * runs (at start, after every Redis reconnect, and on a local timer) and re-creates what is missing.
 *
 * Looked up before written: re-upserting an unchanged scheduler is not free in BullMQ 6.7
 * (addJobScheduler removes and re-adds its delayed job; while that job is active it walks to the
 * next free slot and can leave a second one), so a healthy scheduler is only read: its record, its
 * interval and payload, and the state of its next job (two round trips per scheduler).
 */
import type { Logger } from '@signals/core';
import { catalog, type Payload, type QueueKey, type QueueSet } from '@signals/queue';

/**
 * Repeating jobs (BullMQ job schedulers: idempotent across worker processes). Their ids are
 * persisted in Redis: renaming one leaves the old scheduler running beside the new one.
 */
export interface Schedule {
  id: string;
  queue: QueueKey;
  everyMs: number;
  payload: Payload<QueueKey>;
}

/** JSON with sorted keys: Redis hands back the stored template in whatever order it was written. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** A job that will still run: anything but finished (or unknown, i.e. gone). */
const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

export interface Repair {
  id: string;
  /** missing: the scheduler was gone (Redis lost its state); the others: it was there but unusable. */
  problem: 'missing' | 'interval changed' | 'payload changed' | 'next job gone';
}

/**
 * Schedulers an earlier release created under ids this one no longer uses. BullMQ keeps a scheduler
 * in Redis until it is removed, so after an upgrade the old one would go on beside its replacement.
 */
export const RETIRED_SCHEDULERS: readonly { queue: QueueKey; id: string; replacedBy: string }[] = [
  // Before 0.16 the intraday pruning ran as 'prune-intraday'; 'retention' does it and more.
  { queue: 'maintenance', id: 'prune-intraday', replacedBy: 'retention' },
];

/**
 * Removes the retired schedulers of the queues this process schedules (a send-only worker leaves
 * the maintenance queue alone). Idempotent; returns the ids it removed.
 */
export async function removeRetiredSchedulers(
  queues: QueueSet,
  schedules: readonly Schedule[],
  logger: Logger,
): Promise<string[]> {
  const mine = new Set(schedules.map((s) => s.queue));
  const removed: string[] = [];
  for (const r of RETIRED_SCHEDULERS) {
    if (!mine.has(r.queue)) continue;
    const q = queues.get(r.queue);
    if (!(await q.getJobScheduler(r.id))) continue;
    await q.removeJobScheduler(r.id);
    removed.push(r.id);
    logger.info({ scheduler: r.id, replacedBy: r.replacedBy }, 'retired job scheduler of an earlier release removed');
  }
  return removed;
}

/**
 * Creates or corrects the schedulers that are missing or differ from `schedules`; leaves healthy
 * ones untouched. Safe with any number of processes: upserts are atomic Lua scripts keyed by the
 * scheduler id, so two processes repairing at once leave one scheduler with one next job.
 */
export async function ensureSchedules(
  queues: QueueSet,
  schedules: readonly Schedule[],
  logger: Logger,
  /** At start, creating them is expected; later, a missing one means Redis lost its state. */
  when: 'start' | 'timer' | 'reconnect',
): Promise<Repair[]> {
  if (when === 'start') await removeRetiredSchedulers(queues, schedules, logger);
  const repairs: Repair[] = [];
  for (const s of schedules) {
    const q = queues.get(s.queue);
    const found = await q.getJobScheduler(s.id);
    let problem: Repair['problem'] | null = null;
    if (!found) problem = 'missing';
    else if (found.every !== s.everyMs) problem = 'interval changed';
    else if (canonical(found.template?.data ?? {}) !== canonical(s.payload)) problem = 'payload changed';
    else if (found.next == null || !LIVE_STATES.has(await q.getJobState(`repeat:${s.id}:${found.next}`)))
      problem = 'next job gone';
    if (!problem) continue;
    await q.upsertJobScheduler(s.id, { every: s.everyMs }, { name: catalog[s.queue].name, data: s.payload });
    repairs.push({ id: s.id, problem });
  }
  if (repairs.length && when === 'start') logger.info({ schedulers: repairs }, 'job schedulers registered');
  else if (repairs.length)
    logger.warn({ repairs, trigger: when }, 'job schedulers were missing or wrong in Redis: re-created');
  return repairs;
}
