/**
 * A worker or server PROCESS as operators run it (`node --import tsx apps/<app>/src/main.ts`), for
 * tests that need the real deployment shape: its own event loop, its own connections, signals, and
 * its own memory (read from /proc, which an in-process harness cannot separate from the test's).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoPaths } from '@signals/db';
import { TEST_REDIS_URL, testPrefix } from './db.ts';
import { freePort } from './ports.ts';

export interface ServiceProcess {
  child: ChildProcess;
  /** Every stdout line (pino JSON) and stderr chunk so far, each prefixed with the process name. */
  logs: string[];
  /** Resolves once the process logged that it started; rejects if it exits first or after `ms`. */
  started(ms?: number): Promise<void>;
  /** SIGTERM, then the exit code (null when a signal ended it). */
  stop(): Promise<number | null>;
  /** The process's resident memory now, in MiB (/proc/<pid>/status VmRSS); null once it is gone. */
  rssMb(): number | null;
}
export type WorkerProcess = ServiceProcess;

/** The log line each app writes once it is up. */
const STARTED = { worker: '"msg":"worker started"', server: 'server listening' } as const;

export function startServiceProcess(
  app: 'worker' | 'server',
  name: string,
  env: Record<string, string>,
  /** `root`: another checkout to run (the upgrade drill runs the previous release). */
  opts: { logs?: string[]; root?: string } = {},
): ServiceProcess {
  const root = opts.root ?? repoPaths().root;
  const logs = opts.logs ?? [];
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, `apps/${app}/src/main.ts`)], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const isStarted = (l: string) => l.startsWith(`${name} `) && l.includes(STARTED[app]);
  let partial = ''; // a chunk may end mid-line
  child.stdout?.on('data', (b: Buffer) => {
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line) logs.push(`${name} ${line}`);
  });
  child.stderr?.on('data', (b: Buffer) => logs.push(`${name} ERR ${b.toString()}`));
  return {
    child,
    logs,
    async started(ms = 30_000) {
      const deadline = Date.now() + ms;
      while (!logs.some(isStarted)) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${app} ${name} exited before it started:\n${logs.slice(-10).join('\n')}`);
        if (Date.now() > deadline)
          throw new Error(`${app} ${name} did not start within ${ms} ms:\n${logs.slice(-10).join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    rssMb() {
      return child.pid === undefined ? null : rssMbOf(child.pid);
    },
  };
}

export function startWorkerProcess(
  name: string,
  env: Record<string, string>,
  opts: { logs?: string[]; root?: string } = {},
): WorkerProcess {
  return startServiceProcess('worker', name, env, opts);
}

/** VmRSS of a process in MiB, or null when it is gone (or not on Linux). */
export function rssMbOf(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Samples a process's RSS every `everyMs` until stopped: the peak seen, in MiB. Memory is not
 * sensitive to machine load the way time is, so tests may bound it.
 */
export function sampleRss(pid: number, everyMs = 10): { stop(): { peakMb: number; samples: number } } {
  let peakMb = 0;
  let samples = 0;
  const take = () => {
    const v = rssMbOf(pid);
    if (v !== null) {
      peakMb = Math.max(peakMb, v);
      samples++;
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { peakMb, samples };
    },
  };
}

/**
 * A server process on its own port of 127.0.0.1 over `databaseUrl`, the test Redis under its own
 * key prefix, with `env` on top (ADMIN_EMAIL and ADMIN_PASSWORD, say); started, and its base URL.
 */
export async function startServerProcess(
  name: string,
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<{ server: ServiceProcess; base: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = startServiceProcess('server', name, {
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: testPrefix(`srv-${name.toLowerCase()}`),
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: base,
    ...env,
  });
  try {
    await server.started(90_000);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { server, base };
}
