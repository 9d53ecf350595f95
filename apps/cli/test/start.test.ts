/**
 * The README's run command ends in `pnpm cli start`: these tests run that process as a user would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase, repoPaths } from '@signals/db';
import { serverUrl } from '@signals/testing';

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

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('pnpm cli start', () => {
  const children: ChildProcess[] = [];
  const dbName = `signals_start_${process.pid}`;
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await dropDatabase(serverUrl(dbName));
  });

  it('says in one paragraph, without a stack trace, that Redis cannot be reached, and exits non-zero', async () => {
    const r = cli(['start'], { DATABASE_URL: serverUrl(dbName), REDIS_URL: 'redis://127.0.0.1:1' });
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

  it('creates the database, migrates, seeds, serves /healthz, prints the admin URL and the mail catcher, and stops on SIGTERM', async () => {
    const port = await freePort();
    const r = cli(['start'], {
      DATABASE_URL: serverUrl(dbName),
      PORT: String(port),
      HOST: '127.0.0.1',
      SMTP_URL: '',
      QUEUE_PREFIX: `test:start:${process.pid}`,
    });
    children.push(r.child);
    const deadline = Date.now() + 60_000;
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
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  }, 90_000);
});
