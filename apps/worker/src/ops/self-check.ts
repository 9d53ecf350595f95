/**
 * The worker's local timer: a setInterval, not a Redis job, so it keeps running when Redis has lost
 * every key (or is away). Each task runs alone (a run still in progress is not started twice, so a
 * Redis outage that holds one task cannot stack runs) and a failure is logged, never thrown.
 */
import type { Logger } from '@signals/core';

/** What started a run: the timer, or an event such as a Redis reconnect (logged with the task's findings). */
export type Trigger = 'timer' | 'reconnect';

export interface SelfCheck {
  /** Runs one task now (when it is not already running); resolves when it is done. */
  run(name: string, trigger: Trigger): Promise<void>;
  close(): Promise<void>;
}

export function startSelfCheck(o: {
  intervalMs: number;
  logger: Logger;
  tasks: Record<string, (trigger: Trigger) => Promise<unknown>>;
}): SelfCheck {
  const inFlight = new Map<string, Promise<void>>();
  const run = (name: string, trigger: Trigger): Promise<void> => {
    const task = o.tasks[name];
    if (!task) return Promise.resolve();
    const busy = inFlight.get(name);
    if (busy) return busy;
    const p = task(trigger)
      .then(() => undefined)
      .catch((err: Error) =>
        o.logger.warn({ task: name, err: err.message }, 'self-check task failed; retried on the next tick'),
      )
      .finally(() => inFlight.delete(name));
    inFlight.set(name, p);
    return p;
  };
  const timer = setInterval(() => {
    for (const name of Object.keys(o.tasks)) void run(name, 'timer');
  }, o.intervalMs);
  timer.unref();
  return {
    run,
    async close() {
      clearInterval(timer);
      // A task waiting on Redis that will not come back must not hold the shutdown.
      await Promise.race([Promise.all(inFlight.values()), new Promise((r) => setTimeout(r, 2000).unref())]);
    },
  };
}
