/**
 * Operators' templates render off the caller's thread: in a small pool of worker threads
 * (node:worker_threads), each with a heap cap (resourceLimits) and a hard time limit. The sandbox
 * (templates.ts) already bounds what a render may build; the thread is the wall behind it, for
 * whatever the sandbox's counters miss: a render over its time is terminated with its thread, one
 * over its heap ends its thread (ERR_WORKER_OUT_OF_MEMORY), and either way the caller gets a
 * TemplateError while the server keeps answering and the worker keeps sending. Threads stay for the
 * next render (sends stay fast: one message each way, measured in bench/templates.bench.ts) until
 * idle for `idleMs`; idle threads never keep the process alive.
 */
import { Worker } from 'node:worker_threads';
import type { FromThread, ToThread } from './thread.ts';
import { TemplateError, type TemplateKey } from './templates.ts';

export const TEMPLATE_POOL_DEFAULTS = {
  threads: 2,
  /** Hard limit of one render, from its start in the thread (the sandbox's own soft limit is 1 s). */
  timeoutMs: 2000,
  /** Old-generation heap of one thread: ample for a render within the build budget, far below what a bomb needs. */
  heapMb: 64,
  /** Renders waiting for a thread beyond which the pool refuses (TemplateBusyError). */
  maxWaiting: 100,
  idleMs: 60_000,
} as const;

/** A thread that has not loaded its modules by then is broken, not busy (the machine may be loaded). */
const START_TIMEOUT_MS = 60_000;
const BOOT = new URL('./thread-boot.mjs', import.meta.url);
const ENTRY = new URL('./thread.ts', import.meta.url);
/** Set to `true` by the production build (scripts/build.mjs); undeclared under tsx and vitest. */
declare const __SIGNALS_BUILD__: boolean | undefined;
/**
 * In the production build the thread is its own bundle, dist/template-thread.mjs, run as is (no
 * TypeScript loader to register). A bundled module keeps its source location, so dist/ is found
 * from this file's folder (packages/notify/src/custom).
 */
const BUILT =
  typeof __SIGNALS_BUILD__ !== 'undefined' && __SIGNALS_BUILD__
    ? new URL('../../../../dist/template-thread.mjs', import.meta.url)
    : undefined;

/** Every thread is busy and `maxWaiting` renders wait already: try again shortly. */
export class TemplateBusyError extends Error {
  constructor() {
    super('too many message templates are rendering at once; try again shortly');
  }
}

export interface TemplatePoolOptions {
  threads?: number;
  timeoutMs?: number;
  heapMb?: number;
  maxWaiting?: number;
  idleMs?: number;
  /** The module the threads run (default ./thread.ts); tests give one that hangs or allocates. */
  entry?: URL;
}

export interface TemplatePool {
  /** The rendered text; TemplateError for a template that fails, runs over time or memory; TemplateBusyError. */
  render(key: TemplateKey, source: string, vars: object): Promise<string>;
  /** Threads not exited yet (a terminated one counts until it is gone). */
  readonly liveThreads: number;
  /** Ends every thread (shutdown, tests); later renders start new ones. */
  close(): Promise<void>;
}

interface Thread {
  worker: Worker;
  ready: Promise<void>;
  idleTimer?: NodeJS.Timeout;
}

interface Job {
  msg: Omit<ToThread, 'id'>;
  resolve(text: string): void;
  reject(err: Error): void;
}

export function createTemplatePool(options: TemplatePoolOptions = {}): TemplatePool {
  const o = { ...TEMPLATE_POOL_DEFAULTS, ...options };
  const entry = (options.entry ?? ENTRY).href;
  const threads = new Set<Thread>();
  const idle: Thread[] = [];
  const queue: Job[] = [];
  let busy = 0;
  let nextId = 1;

  const spawn = (): Thread => {
    const worker = new Worker(options.entry ? BOOT : (BUILT ?? BOOT), {
      workerData: { entry },
      resourceLimits: { maxOldGenerationSizeMb: o.heapMb, maxYoungGenerationSizeMb: 8, stackSizeMb: 4 },
    });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the template thread did not start')), START_TIMEOUT_MS);
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
        reject(new Error('the template thread exited while starting'));
      });
    });
    ready.catch(() => {}); // surfaces through the job that waits for it
    const t: Thread = { worker, ready };
    threads.add(t);
    worker.once('exit', () => {
      threads.delete(t);
      const i = idle.indexOf(t);
      if (i >= 0) idle.splice(i, 1);
      clearTimeout(t.idleTimer);
    });
    worker.on('error', () => {}); // a job's own listener reports it; this keeps an idle death quiet
    return t;
  };

  const park = (t: Thread) => {
    t.worker.unref();
    t.idleTimer = setTimeout(() => void t.worker.terminate(), o.idleMs);
    t.idleTimer.unref();
    idle.push(t);
  };

  const runOn = (t: Thread, job: Job) =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const settle = (fn: () => void, terminate: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        t.worker.off('message', onMessage);
        t.worker.off('error', onError);
        t.worker.off('exit', onExit);
        // A thread that overran stops computing now and is not reused.
        if (terminate) void t.worker.terminate();
        else park(t);
        fn();
      };
      const onMessage = (m: FromThread) => {
        if (m.type === 'ready' || m.id !== id) return;
        if (m.type === 'started') {
          const left = Math.max(0, o.timeoutMs - (Date.now() - m.at));
          timer = setTimeout(
            () =>
              settle(
                () => reject(new TemplateError(`the template did not finish within ${o.timeoutMs / 1000} s`)),
                true,
              ),
            left,
          );
        } else if (m.type === 'done') settle(() => resolve(m.text), false);
        else settle(() => reject(new TemplateError(m.message)), false);
      };
      const onError = (err: Error & { code?: string }) => {
        const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
        const why = oom
          ? `the template needed more than ${o.heapMb} MB of memory`
          : `the template thread failed: ${err.message}`;
        settle(() => reject(new TemplateError(why)), true);
      };
      const onExit = (code: number) =>
        settle(() => reject(new TemplateError(`the template thread exited (${code}) without an answer`)), true);
      t.worker.on('message', onMessage);
      t.worker.on('error', onError);
      t.worker.on('exit', onExit);
      t.worker.ref(); // a render in flight keeps the process until it answers
      t.worker.postMessage({ id, ...job.msg } satisfies ToThread);
    });

  /** Starts waiting jobs while threads are free. */
  const pump = () => {
    while (busy < o.threads && queue.length) {
      const job = queue.shift() as Job;
      busy++;
      const t = idle.pop() ?? spawn();
      clearTimeout(t.idleTimer);
      t.ready
        .then(
          () => runOn(t, job),
          (err: Error) => {
            void t.worker.terminate();
            throw new TemplateError(`the template thread did not start: ${err.message}`);
          },
        )
        .then(job.resolve, job.reject)
        .finally(() => {
          busy--;
          pump();
        });
    }
  };

  return {
    render(key, source, vars) {
      if (queue.length >= o.maxWaiting) return Promise.reject(new TemplateBusyError());
      return new Promise<string>((resolve, reject) => {
        queue.push({ msg: { key, source, vars }, resolve, reject });
        pump();
      });
    },
    get liveThreads() {
      return threads.size;
    },
    async close() {
      await Promise.all([...threads].map((t) => t.worker.terminate()));
    },
  };
}

let shared: TemplatePool | undefined;
/** The process's pool (server previews and saves, worker sends), made at first use. */
export function templatePool(): TemplatePool {
  shared ??= createTemplatePool();
  return shared;
}
