/**
 * The README's run command ends in `pnpm cli start`: these tests run that process as a user would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase, repoPaths } from '@signals/db';
import { freePort, serverUrl } from '@signals/testing';

const root = repoPaths().root;

function cli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'apps/cli/src/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (b: Buffer) => {
    out.stdout += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    out.stderr += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out, exited };
}

describe('pnpm cli start', () => {
  const children: ChildProcess[] = [];
  // A database per test (the run command creates it): "Created database" holds in any order.
  const dbNames: string[] = [];
  const dbFor = (label: string) => {
    const name = `signals_start_${process.pid}_${label}`;
    dbNames.push(name);
    return serverUrl(name);
  };
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const name of dbNames) await dropDatabase(serverUrl(name));
  });

  /** The whole service on its own port and queue prefix, with the mail catcher. */
  async function runService(label: string) {
    const port = await freePort();
    const r = cli(['start'], {
      DATABASE_URL: dbFor(label),
      PORT: String(port),
      HOST: '127.0.0.1',
      SMTP_URL: '',
      QUEUE_PREFIX: `{test:${label}:${process.pid}}`,
    });
    children.push(r.child);
    return { r, port };
  }

  it('says in one paragraph, without a stack trace, that Redis cannot be reached, and exits non-zero', async () => {
    const r = cli(['start'], { DATABASE_URL: dbFor('noredis'), REDIS_URL: 'redis://127.0.0.1:1' });
    children.push(r.child);
    expect(await r.exited).toBe(1);
    expect(r.out.stderr).toMatch(/Cannot reach Redis at 127\.0\.0\.1:1 \(REDIS_URL\)/);
    expect(r.out.stderr).toMatch(/docker compose up -d/);
    expect(r.out.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('names a malformed variable and stops', async () => {
    const r = cli(['start'], { PORT: 'eighty' });
    children.push(r.child);
    expect(await r.exited).toBe(78);
    expect(r.out.stderr).toMatch(/PORT: /);
    expect(r.out.stderr).not.toMatch(/\n\s+at /);
  });

  it('creates the database, migrates, seeds, serves /healthz, prints the admin URL and the mail catcher, restarts a killed worker, and stops on SIGTERM', async () => {
    const { r, port } = await runService('start');
    const deadline = Date.now() + 150_000; // the run command itself waits up to 120 s for /healthz
    while (!r.out.stdout.includes('Stop with Ctrl+C') && Date.now() < deadline && r.child.exitCode === null) {
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(r.out.stdout).toContain(`Admin page:      http://localhost:${port}/admin`);
    expect(r.out.stdout).toMatch(/Created database/);
    expect(r.out.stdout).toMatch(/Seeds loaded: 2 watchlists/);
    expect(r.out.stdout).toMatch(/Mail catcher: +http:\/\/localhost:\d+\//);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const inbox = /Mail catcher: +(http:\/\/localhost:\d+\/)/.exec(r.out.stdout)?.[1] ?? '';
    expect((await fetch(inbox)).status).toBe(200);

    // A worker that dies is started again, with a line naming it and how it ended.
    const firstWorker = pidOf(r.out.stdout, 'worker started');
    process.kill(firstWorker, 'SIGKILL');
    await until(() => /worker restarted \(pid \d+\)/.test(r.out.stdout), 60_000, r);
    expect(r.out.stderr).toContain('worker exited (SIGKILL); restarting in 1 s (crash 1 of 4 tolerated in 5 min)');
    const secondWorker = pidOf(r.out.stdout, 'worker restarted');
    expect(secondWorker).not.toBe(firstWorker);
    expect(alive(secondWorker)).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    // SIGTERM still stops everything gracefully.
    const server = pidOf(r.out.stdout, 'server started');
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    expect(alive(server)).toBe(false);
    expect(alive(secondWorker)).toBe(false);
  }, 240_000);

  it('stops the whole service with a clear message after the worker crashed 5 times in 5 minutes', async () => {
    const { r } = await runService('start2');
    await until(() => r.out.stdout.includes('Stop with Ctrl+C'), 150_000, r);
    const server = pidOf(r.out.stdout, 'server started');
    // Kill each worker as soon as it is (re)started: crashes 1-4 are restarted after 1, 2, 4, 8 s.
    let worker = pidOf(r.out.stdout, 'worker started');
    for (let crash = 1; crash <= 5; crash++) {
      process.kill(worker, 'SIGKILL');
      if (crash === 5) break;
      await until(() => pidsOf(r.out.stdout, 'worker restarted').length === crash, 60_000, r);
      worker = pidsOf(r.out.stdout, 'worker restarted')[crash - 1] as number;
    }
    expect(await r.exited).toBe(1);
    expect(r.out.stderr).toContain(
      'worker crashed 5 times in 5 minutes (last: SIGKILL); stopping the service. The log lines above say why it crashed.',
    );
    for (const delay of ['1 s', '2 s', '4 s', '8 s']) expect(r.out.stderr).toContain(`restarting in ${delay} `);
    expect(alive(server)).toBe(false); // the server was stopped with it
  }, 360_000);
});

function pidsOf(out: string, what: string): number[] {
  return [...out.matchAll(new RegExp(`${what} \\(pid (\\d+)\\)`, 'g'))].map((m) => Number(m[1]));
}

function pidOf(out: string, what: string): number {
  const pid = pidsOf(out, what)[0];
  if (pid === undefined) throw new Error(`no "${what} (pid N)" line in:\n${out}`);
  return pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, ms: number, r: { out: { stdout: string; stderr: string } }) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out:\n${r.out.stdout}\n${r.out.stderr.slice(-3000)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
