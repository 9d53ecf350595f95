/**
 * A worker PROCESS as operators run it (`node --import tsx apps/worker/src/main.ts`), for tests that
 * need the real deployment shape: its own event loop, its own connections, signals.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { repoPaths } from '@signals/db';

export interface WorkerProcess {
  child: ChildProcess;
  /** Every stdout line (pino JSON) and stderr chunk so far, each prefixed with the process name. */
  logs: string[];
  /** Resolves once the worker logged "worker started"; rejects if it exits first or after `ms`. */
  started(ms?: number): Promise<void>;
  /** SIGTERM, then the exit code (null when a signal ended it). */
  stop(): Promise<number | null>;
}

export function startWorkerProcess(
  name: string,
  env: Record<string, string>,
  /** `root`: another checkout to run the worker of (the upgrade drill runs the previous release). */
  opts: { logs?: string[]; root?: string } = {},
): WorkerProcess {
  const root = opts.root ?? repoPaths().root;
  const logs = opts.logs ?? [];
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'apps/worker/src/main.ts')], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const isStarted = (l: string) => l.startsWith(`${name} `) && l.includes('"msg":"worker started"');
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
          throw new Error(`worker ${name} exited before it started:\n${logs.slice(-10).join('\n')}`);
        if (Date.now() > deadline)
          throw new Error(`worker ${name} did not start within ${ms} ms:\n${logs.slice(-10).join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
