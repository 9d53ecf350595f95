/**
 * The README's run command (`npm start`) on a real Redis Cluster, as an operator would start it:
 * `REDIS_URL=redis+cluster://h1:p1,h2:p2,h3:p3` (the README's form, "Scaling out"), and
 * `rediss+cluster://user:pass@...` on a cluster that speaks only TLS and refuses the default user.
 * Each run must reach /healthz, keep its queues on the cluster, and stop cleanly on SIGTERM.
 * (The worker alone on a cluster is drilled in apps/worker/test/cluster.test.ts.)
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, type ExpectStatic, it } from 'vitest';
import { dropDatabase, repoPaths } from '@signals/db';
import {
  freePort,
  type RedisCluster,
  type SmtpSink,
  serverUrl,
  startRedisCluster,
  startSmtpSink,
} from '@signals/testing';

const root = repoPaths().root;
const run = promisify(execFile);
const USER = { name: 'signals', password: 'p@ss:w/rd 1' };

interface RunCommand {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start` in its own process group (npm -> sh -> bash -> node), so SIGTERM reaches the run command. */
function npmStart(env: Record<string, string>): RunCommand {
  const child = spawn('npm', ['start'], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (b: Buffer) => {
    out.stdout += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    out.stderr += b.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, out, exited };
}

async function until(cond: () => boolean, ms: number, r: RunCommand, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline || r.child.exitCode !== null)
      throw new Error(`${what}: not seen (exit ${r.child.exitCode}):\n${r.out.stdout}\n${r.out.stderr.slice(-3000)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The two runs go side by side (each waits mostly on process start-up): about half the wall time.
describe('npm start with REDIS_URL naming a Redis Cluster', () => {
  let plain: RedisCluster;
  let secure: RedisCluster;
  let sink: SmtpSink;
  let dataDir: string;
  const runs: RunCommand[] = [];
  const dbNames: string[] = [];

  beforeAll(async () => {
    [plain, secure, sink] = await Promise.all([
      startRedisCluster(),
      startRedisCluster({ tls: true, user: USER }),
      startSmtpSink(),
    ]);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-cluster-run-'));
  }, 60_000);

  afterAll(async () => {
    for (const r of runs) {
      if (r.child.exitCode === null && r.child.signalCode === null && r.child.pid) {
        process.kill(-r.child.pid, 'SIGKILL');
      }
    }
    for (const name of dbNames) await dropDatabase(serverUrl(name));
    await Promise.all([plain?.stop(), secure?.stop(), sink?.close()]);
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Runs `npm start` against `redisUrl` until it says it is running; checks /healthz and the cluster's keys; stops it. */
  async function runAgainst(
    expect: ExpectStatic,
    label: string,
    cluster: RedisCluster,
    redisUrl: string,
    extra: Record<string, string> = {},
  ) {
    const port = await freePort();
    const db = `signals_cluster_run_${process.pid}_${label}`;
    dbNames.push(db);
    const prefix = `{cluster-run:${label}:${process.pid}}`;
    const r = npmStart({
      DATABASE_URL: serverUrl(db),
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      SMTP_URL: sink.url,
      DATA_DIR: path.join(dataDir, label),
      ...extra,
    });
    runs.push(r);
    // The run command waits for /healthz itself before printing this.
    await until(() => r.out.stdout.includes('Market Signals is running.'), 120_000, r, 'Market Signals is running.');
    expect(r.out.stderr).not.toMatch(/Invalid URL|start failed/);

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    const body = (await health.json()) as { checks: Record<string, { ok: boolean }> };
    expect(health.status, JSON.stringify(body)).toBe(200);
    expect(body.checks.redis?.ok).toBe(true);
    // The queues live on the cluster, under the deployment's prefix: the worker's job schedulers
    // and the server's queue handles wrote there. /healthz is the server's answer: the worker may
    // still be registering its schedulers then, so wait for them (a minute at most).
    let keys: string[] = [];
    for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((res) => setTimeout(res, 250))) {
      keys = await cluster.keys(prefix);
      if (
        keys.some((k) => k.startsWith(`${prefix}:prices:`)) &&
        keys.some((k) => k.startsWith(`${prefix}:maintenance:`))
      )
        break;
    }
    expect(keys.some((k) => k.startsWith(`${prefix}:prices:`))).toBe(true);
    expect(keys.some((k) => k.startsWith(`${prefix}:maintenance:`))).toBe(true);

    // Ctrl+C in its terminal (SIGINT to the whole group): the service stops and leaves nothing behind.
    const pids = [...r.out.stdout.matchAll(/(?:server|worker) (?:started|restarted) \(pid (\d+)\)/g)].map((m) =>
      Number(m[1]),
    );
    expect(pids).toHaveLength(2); // one server, one worker, neither restarted
    if (r.child.pid) process.kill(-r.child.pid, 'SIGINT');
    const end = await r.exited;
    // npm reports 130 when Ctrl+C reached it too; the run command itself ends 0.
    expect([0, 130]).toContain(end.code ?? (end.signal === 'SIGINT' ? 130 : end.signal));
    const deadline = Date.now() + 15_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
    expect(pids.filter(alive), 'server or worker still running after the run command ended').toEqual([]);
    expect(r.out.stderr).not.toMatch(/crash|restarting|did not become healthy/);
    return r;
  }

  it.concurrent('names the cluster nodes it cannot reach, and a malformed cluster URL, without a stack trace', async ({
    expect,
  }) => {
    const [down, bad] = [
      npmStart({
        DATABASE_URL: serverUrl('signals_cluster_run_unused'),
        REDIS_URL: 'redis+cluster://127.0.0.1:1,127.0.0.1:2',
      }),
      npmStart({ REDIS_URL: 'redis+cluster://127.0.0.1:7000,127.0.0.1:port', QUEUE_PREFIX: '{signals}' }),
    ];
    runs.push(down, bad);
    expect((await down.exited).code).toBe(1);
    expect(down.out.stderr).toContain(
      'Cannot reach any of the Redis Cluster nodes 127.0.0.1:1, 127.0.0.1:2 (REDIS_URL).',
    );
    expect((await bad.exited).code).toBe(78);
    expect(bad.out.stderr).toMatch(/REDIS_URL: node 2 \("127\.0\.0\.1:port"\) is not host:port/);
    for (const r of [down, bad]) {
      expect(r.out.stderr).not.toMatch(/Invalid URL|start failed/);
      expect(r.out.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  }, 60_000);

  it.concurrent('runs on redis+cluster://h1:p1,h2:p2,h3:p3 (the README form) and serves /healthz', async ({
    expect,
  }) => {
    expect(plain.url).toMatch(/^redis\+cluster:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    await runAgainst(expect, 'plain', plain, plain.url);
  }, 150_000);

  it.concurrent('runs on rediss+cluster://user:pass@... (TLS only, an ACL user, the default user off) and serves /healthz', async ({
    expect,
  }) => {
    expect(secure.url).toMatch(/^rediss\+cluster:\/\/signals:[^@]+@127\.0\.0\.1:\d+,/);
    const [first] = secure.nodes;
    // The cluster itself refuses a client without the user's credentials...
    await expect(
      run('redis-cli', [
        '-h',
        '127.0.0.1',
        '-p',
        String(first?.port),
        '--tls',
        '--cacert',
        String(secure.caFile),
        'set',
        'k',
        'v',
      ]),
    ).resolves.toMatchObject({ stdout: expect.stringMatching(/NOAUTH/) });
    // ...and speaks no plain TCP: a redis+cluster:// run could not have worked.
    await expect(run('redis-cli', ['-h', '127.0.0.1', '-p', String(first?.port), 'ping'])).rejects.toThrow();

    // The private CA is trusted the way the README says: NODE_EXTRA_CA_CERTS.
    const r = await runAgainst(expect, 'tls', secure, secure.url, { NODE_EXTRA_CA_CERTS: String(secure.caFile) });
    // The password never reaches the output (the run command, the server and the worker log there).
    expect(r.out.stdout + r.out.stderr).not.toContain(USER.password);
    expect(r.out.stdout + r.out.stderr).not.toContain(encodeURIComponent(USER.password));
  }, 150_000);
});
