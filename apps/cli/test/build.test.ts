/**
 * The production build (scripts/build.mjs) and the run command (scripts/run.sh) on it: the run
 * command builds when dist/ is older than a source, then runs the compiled JavaScript with plain
 * node (no tsx) for the supervisor, the server and the worker. What they load and how much memory
 * they hold is measured by bench/memory.bench.ts, not here.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase, repoPaths } from '@signals/db';
import { freePort, serverUrl, startSmtpSink, TEST_REDIS_URL, testPrefix } from '@signals/testing';
import { STAMP, staleReason } from '../../../scripts/build-stale.mjs';

const root = repoPaths().root;
// The backtest thread connects at its first plan only: a name is enough.
const dbNameForThreads = `signals_build_threads_${process.pid}`;

describe('staleReason (when the run command builds)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-build-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const at = (file: string, secondsAgo: number) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    if (!fs.existsSync(path.join(dir, file))) fs.writeFileSync(path.join(dir, file), '');
    const t = new Date(Date.now() - secondsAgo * 1000);
    fs.utimesSync(path.join(dir, file), t, t);
  };

  it('builds when dist/ is missing, not when it is newer than every source, again when a source is newer', () => {
    at('apps/server/src/main.ts', 300);
    at('packages/db/src/generated/client.ts', 300);
    at('prisma/schema.prisma', 300);
    at('apps/server/test/x.test.ts', 10); // tests are not built: never a reason
    expect(staleReason(dir)).toBe('dist/ has not been built');
    at(`dist/${STAMP}`, 100);
    expect(staleReason(dir)).toBeNull();
    at('packages/db/src/generated/client.ts', 50); // a regenerated Prisma client
    expect(staleReason(dir)).toBe(`${path.join('packages/db/src/generated/client.ts')} is newer than dist/`);
    at(`dist/${STAMP}`, 20);
    expect(staleReason(dir)).toBeNull();
    at('prisma/schema.prisma', 5);
    expect(staleReason(dir)).toBe('prisma/schema.prisma is newer than dist/');
  });
});

describe('the worker-thread bundles', () => {
  beforeAll(() => {
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: root, stdio: 'ignore' });
  });
  const started: Worker[] = [];
  afterAll(async () => {
    for (const w of started) await w.terminate();
  });
  /** Starts dist/<name>.mjs as the pools do in the build, and collects its messages. */
  const thread = (name: string, workerData?: object) => {
    const w = new Worker(path.join(root, 'dist', `${name}.mjs`), { workerData });
    started.push(w);
    const messages: { type: string; text?: string; message?: string }[] = [];
    w.on('message', (m) => messages.push(m));
    const next = (type: string) =>
      new Promise<(typeof messages)[number]>((resolve, reject) => {
        const t = setInterval(() => {
          const m = messages.find((x) => x.type === type || x.type === 'failed');
          if (m) {
            clearInterval(t);
            resolve(m);
          }
        }, 20);
        w.once('error', (err) => {
          clearInterval(t);
          reject(err);
        });
      });
    return { w, next };
  };

  it('template-thread.mjs renders a custom template (LiquidJS loaded from the notify package)', async () => {
    const t = thread('template-thread');
    expect((await t.next('ready')).type).toBe('ready');
    t.w.postMessage({
      id: 1,
      key: 'email.subject',
      source: '{{ alert.title | upcase }}',
      vars: { alert: { title: 'nvda fell' } },
    });
    expect(await t.next('done')).toMatchObject({ type: 'done', text: 'NVDA FELL' });
  });

  it('backtest-thread.mjs starts and reports ready', async () => {
    const t = thread('backtest-thread', { databaseUrl: serverUrl(dbNameForThreads), nice: 0 });
    expect((await t.next('ready')).type).toBe('ready');
  });
});

describe('the run command on the build', () => {
  const children: ChildProcess[] = [];
  const dbName = `signals_build_${process.pid}`;
  afterAll(async () => {
    for (const c of children) if (c.pid && c.exitCode === null) process.kill(-c.pid, 'SIGKILL');
    await dropDatabase(serverUrl(dbName));
  });

  it('rebuilds dist/ when a source is newer, then runs supervisor, server and worker from dist/ with plain node', async () => {
    // A source newer than the build, without changing any source: the stamp is set into the past.
    fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
    const stamp = path.join(root, 'dist', STAMP);
    if (!fs.existsSync(stamp)) fs.writeFileSync(stamp, '');
    fs.utimesSync(stamp, new Date(0), new Date(0));
    const sink = await startSmtpSink();
    const port = await freePort();
    const child = spawn('bash', ['scripts/run.sh'], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: serverUrl(dbName),
        REDIS_URL: TEST_REDIS_URL,
        PORT: String(port),
        HOST: '127.0.0.1',
        QUEUE_PREFIX: testPrefix('build'),
        SMTP_URL: sink.url,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const deadline = Date.now() + 150_000;
    while (!out.includes('Stop with Ctrl+C') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(out, out).toContain('Stop with Ctrl+C');
    expect(out).toMatch(/Building dist\/: \S+ is newer than dist\//);
    expect(out).toMatch(/built dist\/ \(7 entries/);
    expect(fs.statSync(stamp).mtimeMs).toBeGreaterThan(Date.now() - 200_000);
    expect(out).toContain('Running the build (dist/, node)');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    // Files the bundle finds from its sources' location: the stylesheet and the chart library.
    for (const [asset, size] of [
      ['app.css', 1000],
      ['lightweight-charts.js', 100_000],
    ] as const) {
      const r = await fetch(`http://127.0.0.1:${port}/assets/${asset}`);
      expect(r.status, asset).toBe(200);
      expect((await r.text()).length, asset).toBeGreaterThan(size);
    }

    const argv = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const pidOf = (name: string) => Number(new RegExp(`${name} started \\(pid (\\d+)\\)`).exec(out)?.[1]);
    // run.sh execs node: the pid we spawned is the supervisor.
    const procs = { supervisor: child.pid ?? 0, server: pidOf('server'), worker: pidOf('worker') };
    for (const [name, pid] of Object.entries(procs)) {
      const a = argv(pid);
      expect(path.basename(a[0] ?? ''), `${name}: ${a.join(' ')}`).toBe('node');
      expect(a.at(-1), `${name}: ${a.join(' ')}`).toMatch(new RegExp(`(^|/)dist/${name}\\.mjs$`));
      expect(a.join(' '), name).not.toMatch(/tsx/);
    }

    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    expect(child.exitCode).toBe(0);
    await sink.close();

    // The operator commands from the build, as the README shows for the image: a backup.
    const file = path.join(os.tmpdir(), `signals-build-${process.pid}.backup`);
    const backup = spawnSync(process.execPath, ['dist/cli.mjs', 'backup', file], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: serverUrl(dbName) },
      encoding: 'utf8',
    });
    expect(backup.status, backup.stderr).toBe(0);
    expect(backup.stdout + backup.stderr).toMatch(/backup of .* written to .*: \d+ tables/);
    expect(fs.statSync(file).size).toBeGreaterThan(1000);
    fs.rmSync(file, { force: true });
  }, 240_000);
});
