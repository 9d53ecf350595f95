/**
 * Rule previews and API backtests run off the request thread: in worker threads
 * (node:worker_threads) that load the rows and run the engine themselves, with a time budget
 * (PREVIEW_TIMEOUT_SEC, default 10 s) and a memory cap. A plan over budget has its thread
 * terminated, not left running, and answers 422 "too heavy"; the event loop that serves /healthz,
 * the admin page and the API never waits for the engine or for 20,000 news rows to be mapped.
 *
 * At most MAX_THREADS plans run at once per server process; up to MAX_WAITING more wait, and
 * beyond that a request is refused (503, try again) rather than queued without end. A thread that
 * finished stays for the next plan (its modules and connections are warm) until idle for
 * IDLE_MS; idle threads never keep the process alive. On Linux the threads run at a lower CPU
 * priority (10 nice steps below) than the request thread.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { isBuilt, repoRoot } from '@signals/config';
import { DomainError } from '@signals/core';
import type { Logger } from 'pino';
import { HttpProblem } from '../problem.ts';
import type { BacktestPlan, PlanResult } from './backtest.ts';
import { reviveError } from './backtest-errors.ts';
import type { FromThread, ToThread } from './backtest-thread.ts';

export const MAX_THREADS = 2;
export const MAX_WAITING = 8;
/** Heap of one backtest thread; a plan that needs more is too heavy, like one that takes too long. */
export const THREAD_HEAP_MB = 512;
/** Niceness of backtest threads above the process's own (Linux, capped at 19): on a busy machine the request thread gets the CPU first. */
export const THREAD_NICE = 10;
/** An idle thread is ended after this (memory and two database connections back). */
export const IDLE_MS = 60_000;
/** A thread that has not loaded its modules by then is broken, not busy (the machine may be loaded). */
const START_TIMEOUT_MS = 60_000;

// In the production build the thread is its own bundle (dist/backtest-thread.mjs), run as is;
// under tsx the boot file registers the TypeScript loader in the thread first.
const BOOT = isBuilt
  ? pathToFileURL(path.join(repoRoot(), 'dist', 'backtest-thread.mjs'))
  : new URL('./backtest-thread-boot.mjs', import.meta.url);
const ENTRY = new URL('./backtest-thread.ts', import.meta.url).href;

/** What a plan is, for the message: a rule preview or a backtest of the API. */
export type JobKind = 'preview' | 'backtest';

/** The rule (or backtest) needs more than the budget: 422 with a message saying what to do. */
export class TooHeavyError extends DomainError {
  constructor(kind: JobKind, why: string) {
    super(
      'https://signals.dev/problems/rule-too-heavy',
      `${kind === 'preview' ? 'This rule is too heavy to preview' : 'This backtest is too heavy'}: ${why}. ` +
        'Narrow it (fewer symbols, fewer or plainer keywords, a shorter range) and try again.',
    );
  }
}

export interface BacktestRunner {
  /** Runs a plan in a worker thread; TooHeavyError past the budget or the memory cap. */
  run(plan: BacktestPlan, kind: JobKind): Promise<PlanResult>;
  /** Plans holding a thread slot now. */
  readonly running: number;
  /** Worker threads that have not exited yet (a terminated one counts until it is gone). */
  readonly liveThreads: number;
  /** Ends every thread (shutdown, tests). */
  close(): Promise<void>;
}

/** Options of the runner; `databaseUrl` is where threads load rows from. */
export interface BacktestRunnerOptions {
  /** Budget of one plan, from the moment its thread starts on it. */
  timeoutMs: number;
  databaseUrl: string;
  logger: Logger;
}

interface Thread {
  worker: Worker;
  ready: Promise<void>;
  idleTimer?: NodeJS.Timeout;
}

export function createBacktestRunner(opts: BacktestRunnerOptions): BacktestRunner {
  let running = 0;
  let nextId = 1;
  const threads = new Set<Thread>();
  const idle: Thread[] = [];
  const waiting: (() => void)[] = [];

  const acquire = async () => {
    if (running < MAX_THREADS) {
      running++;
      return;
    }
    if (waiting.length >= MAX_WAITING) {
      throw new HttpProblem(
        503,
        'Too many previews and backtests running',
        { detail: `this server runs ${MAX_THREADS} at a time and ${MAX_WAITING} are waiting; try again shortly` },
        { 'retry-after': '5' },
      );
    }
    // The slot is handed over by release(): `running` stays counted for the waiter.
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };

  const spawn = (): Thread => {
    const worker = new Worker(BOOT, {
      workerData: { entry: ENTRY, databaseUrl: opts.databaseUrl, nice: THREAD_NICE },
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the backtest thread did not start')), START_TIMEOUT_MS);
      const onMessage = (m: FromThread) => {
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        worker.off('message', onMessage);
        resolve();
      };
      worker.on('message', onMessage);
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      worker.once('exit', () => {
        clearTimeout(timer);
        reject(new Error('the backtest thread exited while starting'));
      });
    });
    const t: Thread = { worker, ready };
    threads.add(t);
    worker.once('exit', () => {
      threads.delete(t);
      const i = idle.indexOf(t);
      if (i >= 0) idle.splice(i, 1);
      clearTimeout(t.idleTimer);
    });
    // Errors surface through the job's listeners; this keeps a thread dying while idle from
    // becoming an unhandled 'error' event.
    worker.on('error', () => {});
    return t;
  };

  const park = (t: Thread) => {
    t.worker.unref(); // an idle thread never holds the process open
    t.idleTimer = setTimeout(() => void t.worker.terminate(), IDLE_MS);
    t.idleTimer.unref();
    idle.push(t);
  };

  const take = (): Thread => {
    const t = idle.pop() ?? spawn();
    clearTimeout(t.idleTimer);
    t.worker.ref(); // a running plan keeps the process until it answers
    return t;
  };

  const runOn = (t: Thread, plan: BacktestPlan, kind: JobKind) =>
    new Promise<PlanResult>((resolve, reject) => {
      const id = nextId++;
      let budget: NodeJS.Timeout | undefined;
      let settled = false;
      const cleanup = () => {
        clearTimeout(budget);
        t.worker.off('message', onMessage);
        t.worker.off('error', onError);
        t.worker.off('exit', onExit);
      };
      const fail = (err: Error, terminate: boolean) => {
        if (settled) return;
        settled = true;
        cleanup();
        // The thread stops computing now; it is not reused.
        if (terminate) void t.worker.terminate();
        reject(err);
      };
      const onMessage = (m: FromThread) => {
        if (m.type === 'ready' || m.id !== id || settled) return;
        if (m.type === 'started') {
          // Counted from the thread's own start on the plan, however late this message is read.
          const left = Math.max(0, opts.timeoutMs - (Date.now() - m.at));
          budget = setTimeout(() => {
            opts.logger.warn({ timeoutMs: opts.timeoutMs, kind }, 'backtest over its time budget: thread terminated');
            fail(new TooHeavyError(kind, `its backtest did not finish within ${opts.timeoutMs / 1000} s`), true);
          }, left);
        } else if (m.type === 'done') {
          settled = true;
          cleanup();
          park(t);
          resolve(m.result);
        } else if (m.error) {
          // A domain error keeps its meaning across the thread (a 422 stays a 422); the thread
          // answered, so it stays for the next plan.
          settled = true;
          cleanup();
          park(t);
          reject(reviveError(m.error));
        } else {
          fail(new Error(`backtest failed: ${m.message}`), true);
        }
      };
      const onError = (err: Error & { code?: string }) => {
        if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
          opts.logger.warn({ kind }, 'backtest over its memory cap: thread ended');
          fail(new TooHeavyError(kind, `its backtest needed more than ${THREAD_HEAP_MB} MB of memory`), false);
        } else fail(err, true);
      };
      const onExit = (code: number) => fail(new Error(`the backtest thread exited (${code}) without an answer`), false);
      t.worker.on('message', onMessage);
      t.worker.on('error', onError);
      t.worker.on('exit', onExit);
      t.worker.postMessage({ id, plan } satisfies ToThread);
    });

  return {
    async run(plan, kind) {
      await acquire();
      try {
        const t = take();
        try {
          await t.ready;
        } catch (err) {
          void t.worker.terminate();
          throw err;
        }
        return await runOn(t, plan, kind);
      } finally {
        release();
      }
    },
    get running() {
      return running;
    },
    get liveThreads() {
      return threads.size;
    },
    async close() {
      await Promise.all([...threads].map((t) => t.worker.terminate()));
    },
  };
}
