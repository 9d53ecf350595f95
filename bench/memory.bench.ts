/**
 * Memory and start figures of the production build (issue 17 item 1), `pnpm bench memory`:
 *   memory.idle_rss_mb.{supervisor,server,worker,total}
 *                              VmRSS of the run command's three processes 45 s after /healthz first
 *                              answered: `npm start` (scripts/run.sh) as the README runs it, with
 *                              the defaults, on a database it creates (none existed)
 *   ops.start_to_healthz_ms    from spawning the run command to the first 200 of /healthz, on an
 *                              installed and built clone (dist/ is built before the clock starts)
 *   ops.start_to_healthz_cpu_ms  the CPU time that start used (its load-independent part)
 *   ops.restart_to_healthz_ms  the same install started again (database there, migrations applied)
 *   memory.fanout_peak_worker_mb
 *                              peak VmRSS of the worker from the build (dist/worker.mjs, the run
 *                              command's flags) while one alert fans out to 10,000 confirmed email
 *                              subscribers into an in-process SMTP server (sampled every 50 ms,
 *                              and VmHWM)
 *
 * The machine is shared: each note gives the load average when the figure's run started.
 *
 * Knobs: BENCH_MEMORY_IDLE_SEC (default 45), BENCH_MEMORY_PHASES (idle,fanout; default both).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createAlertWithDeliveries, dropDatabase } from '@signals/db';
import { createTestDb, freePort, serverUrl, TEST_REDIS_URL, type TestDb, testPrefix } from '@signals/testing';
import { DELIVERY_BATCH } from '../apps/worker/src/delivery/deliver.ts';
import { nodeCommand } from '../packages/config/src/launch.ts';
import { createQueues, createRedis } from '../packages/queue/src/index.ts';
import ensureTemplate from '../packages/testing/src/global-setup.ts';
import { type BenchResult, nvdaCrashAlert, seedNvdaAudience } from './lib.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const testingRequire = createRequire(path.join(root, 'packages/testing/package.json'));

const IDLE_SEC = Number(process.env.BENCH_MEMORY_IDLE_SEC ?? 45);
const PHASES = (process.env.BENCH_MEMORY_PHASES ?? 'idle,fanout').split(',');
const SUBSCRIBERS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (kb: number) => Math.round(kb / 102.4) / 10;
const loadNote = () => `load average ${os.loadavg()[0]?.toFixed(2)} at start`;

/** A field of /proc/<pid>/status in kB (0 when the process is gone). */
export function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system, ms) of a process; with `children`, also of its children it waited for. */
function cpuMs(pid: number, children = false): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 after the command name; 10 ms ticks
    return ((f[11] ?? 0) + (f[12] ?? 0) + (children ? (f[13] ?? 0) + (f[14] ?? 0) : 0)) * 10;
  } catch {
    return 0;
  }
}

/** One GET: the status code, or 0 when nothing answered. */
function status(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

async function until<T>(fn: () => Promise<T | false | undefined> | T | false | undefined, ms: number, what: string) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`memory bench: timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Two ports the mail catcher of the run command needs (SMTP_URL unset), free or not. */
async function portFree(port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------------------------
// Idle RSS and start time: the run command as the README runs it
// ---------------------------------------------------------------------------------------------

async function idlePhase(): Promise<BenchResult[]> {
  // An installed, built clone: the build is not part of the start time (it is made once).
  execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--if-stale'], { cwd: root, stdio: 'inherit' });
  const dbName = `signals_bench_memory_${process.pid}`;
  const port = await freePort();
  // The defaults, except what must not collide with other services on a shared machine: the port,
  // the database and the queue prefix. The mail catcher (SMTP_URL unset) runs when its ports are free.
  const catcher = (await portFree(1025)) && (await portFree(8025));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: serverUrl(dbName),
    REDIS_URL: TEST_REDIS_URL,
    PORT: String(port),
    QUEUE_PREFIX: testPrefix('bench-mem'),
    SMTP_URL: catcher ? '' : 'smtp://127.0.0.1:1',
  };
  for (const k of ['LOG_LEVEL', 'NODE_OPTIONS', 'WORKER_CONCURRENCY', 'NODE_ENV']) delete env[k];
  const logFile = path.join(os.tmpdir(), `memory-bench-${process.pid}.log`);
  let child: ChildProcess | undefined;
  const log = () => fs.readFileSync(logFile, 'utf8');
  const pidOf = (name: string) => Number(new RegExp(`${name} started \\(pid (\\d+)\\)`).exec(log())?.[1]);

  /** `npm start` until /healthz answers 200: its wall time and the CPU time the three processes used. */
  const start = async () => {
    const fd = fs.openSync(logFile, 'w');
    const t0 = performance.now();
    // npm start = bash scripts/run.sh (package.json); its last step execs node, so this pid becomes
    // the supervisor. Its own process group: everything it started is stopped at the end.
    const c = spawn('bash', ['scripts/run.sh'], { cwd: root, env, stdio: ['ignore', fd, fd], detached: true });
    child = c;
    fs.closeSync(fd);
    await until(
      async () => {
        if (c.exitCode !== null) throw new Error(`the run command exited:\n${log().slice(-3000)}`);
        return (await status(`http://127.0.0.1:${port}/healthz`)) === 200;
      },
      180_000,
      '/healthz',
    );
    const ms = Math.round(performance.now() - t0);
    const pids = { supervisor: c.pid ?? 0, server: pidOf('server'), worker: pidOf('worker') };
    // The supervisor's own CPU includes what run.sh ran before exec (pnpm check, build check) and
    // the database set-up child (waited for); the server and the worker are still running.
    const cpu = cpuMs(pids.supervisor, true) + cpuMs(pids.server) + cpuMs(pids.worker);
    return { ms, cpu, pids };
  };
  const stop = async () => {
    const c = child;
    if (!c?.pid || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    process.kill(-c.pid, 'SIGTERM');
    await Promise.race([exited, sleep(40_000)]);
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      // all gone
    }
  };

  try {
    const load = loadNote();
    const first = await start();
    const argv = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    for (const [name, pid] of Object.entries(first.pids)) {
      const a = argv(pid);
      if (!a.includes(`dist/${name}.mjs`) || a.includes('tsx')) throw new Error(`${name} does not run the build: ${a}`);
    }
    await sleep(IDLE_SEC * 1000);
    const rss = Object.fromEntries(
      Object.entries(first.pids).map(([n, pid]) => [n, mb(statusKb(pid, 'VmRSS'))]),
    ) as Record<keyof typeof first.pids, number>;
    if (!rss.supervisor || !rss.server || !rss.worker) throw new Error(`a process is gone: ${JSON.stringify(rss)}`);
    await stop();
    // The everyday case: the same install started again (database there, migrations applied).
    const loadAgain = loadNote();
    const again = await start();
    await stop();
    const how = `\`npm start\` on a fresh database, defaults${catcher ? ' (mail catcher on)' : ' (mail catcher ports busy: SMTP_URL set)'}, VmRSS ${IDLE_SEC} s after /healthz answered; ${load}`;
    const cpuNote = (cpu: number) =>
      `${cpu} ms of CPU in the run command's processes until then (the machine has ${os.cpus().length} cores shared with other work)`;
    return [
      {
        name: 'memory.idle_rss_mb.supervisor',
        value: rss.supervisor,
        unit: 'MB',
        target: 60,
        better: 'lower',
        note: how,
      },
      { name: 'memory.idle_rss_mb.server', value: rss.server, unit: 'MB', target: 130, better: 'lower', note: how },
      { name: 'memory.idle_rss_mb.worker', value: rss.worker, unit: 'MB', target: 150, better: 'lower', note: how },
      {
        name: 'memory.idle_rss_mb.total',
        value: Math.round((rss.supervisor + rss.server + rss.worker) * 10) / 10,
        unit: 'MB',
        target: 350,
        better: 'lower',
        note: how,
      },
      {
        name: 'ops.start_to_healthz_ms',
        value: first.ms,
        unit: 'ms',
        target: 5000,
        better: 'lower',
        note: `spawn of \`npm start\` on a built clone and a fresh database (run.sh: install check, build check, database created, migrated and seeded in a child, server + worker from dist/) to the first 200 of /healthz; ${cpuNote(first.cpu)}; ${load}`,
      },
      {
        name: 'ops.start_to_healthz_cpu_ms',
        value: first.cpu,
        unit: 'ms',
        target: null,
        better: 'lower',
        note: 'CPU time (user + system) the run command, its set-up child, the server and the worker used until the first 200 of /healthz (fresh database): the part of the start time that does not depend on other load',
      },
      {
        name: 'ops.restart_to_healthz_ms',
        value: again.ms,
        unit: 'ms',
        target: 5000,
        better: 'lower',
        note: `the same, started again on the now existing database (no migration to apply: the schema engine is not loaded); ${cpuNote(again.cpu)}; ${loadAgain}`,
      },
    ];
  } finally {
    await stop();
    await dropDatabase(serverUrl(dbName)).catch(() => {});
    fs.rmSync(logFile, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Worker peak during a 10,000-subscriber email fan-out
// ---------------------------------------------------------------------------------------------

interface SmtpSession {
  envelope: { rcptTo: { address: string }[] };
}

/** An SMTP server in this process that accepts and counts every message. */
async function startSink(): Promise<{ url: string; count(): number; close(): Promise<void> }> {
  const { SMTPServer } = testingRequire('smtp-server') as {
    SMTPServer: new (
      o: Record<string, unknown>,
    ) => {
      listen(p: number, h: string, cb: () => void): void;
      once(e: string, cb: (err: Error) => void): void;
      on(e: string, cb: (err: Error) => void): void;
      close(cb: () => void): void;
      server: { address(): AddressInfo };
    };
  };
  const recipients = new Set<string>();
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 1000,
    onData(stream: Readable, session: SmtpSession, callback: (err: Error | null) => void) {
      stream.resume();
      stream.on('end', () => {
        for (const r of session.envelope.rcptTo) recipients.add(r.address);
        callback(null);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.on('error', () => {});
  return {
    url: `smtp://127.0.0.1:${server.server.address().port}`,
    count: () => recipients.size,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function fanoutPhase(): Promise<BenchResult[]> {
  execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--if-stale'], { cwd: root, stdio: 'inherit' });
  await ensureTemplate();
  const db: TestDb = await createTestDb();
  const prefix = testPrefix('bench-mem-fan');
  const redis = createRedis(TEST_REDIS_URL, 'worker');
  const queues = createQueues(redis, prefix);
  const sink = await startSink();
  let worker: ChildProcess | undefined;
  const logFile = path.join(os.tmpdir(), `memory-bench-worker-${process.pid}.log`);
  try {
    const p = db.prisma;
    const rule = await seedNvdaAudience(p, { subscribers: SUBSCRIBERS });

    // The worker exactly as the run command starts it from the build (flags included).
    const { command, args } = nodeCommand('worker', [], 'built');
    const fd = fs.openSync(logFile, 'w');
    worker = spawn(command, args, {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        SMTP_URL: sink.url,
        // The default 50/s would pace 10,000 mails over 200 s; unpaced is the worst case for memory.
        SMTP_RATE_LIMIT: '100000',
        // https: production mode refuses an http:// PUBLIC_BASE_URL (issue 18, item 2).
        PUBLIC_BASE_URL: 'https://signals.bench',
        APP_SECRET: 'bench-secret-bench-secret-bench-secret!!',
        NODE_ENV: 'production',
      },
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    const w = worker;
    await until(
      async () => {
        if (w.exitCode !== null) throw new Error(`worker exited:\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
        return (await queues.get('deliveries').getWorkersCount()) > 0;
      },
      90_000,
      'the worker to start',
    );
    await sleep(2000);
    const pid = w.pid ?? 0;
    const before = mb(statusKb(pid, 'VmRSS'));
    const load = loadNote();
    let peakKb = statusKb(pid, 'VmRSS');
    const sampler = setInterval(() => {
      peakKb = Math.max(peakKb, statusKb(pid, 'VmRSS'));
    }, 50);
    const t0 = performance.now();
    const fan = await createAlertWithDeliveries(p, nvdaCrashAlert(rule.ruleId, 'memory'), {
      now: new Date(),
      emailGroupWaitMs: 0,
    });
    if (fan.deliveryIds.length !== SUBSCRIBERS) throw new Error(`fan-out wrote ${fan.deliveryIds.length} deliveries`);
    await queues.enqueueDeliveries(
      fan.deliveryIds.map((id) => ({ id })),
      { batchSize: DELIVERY_BATCH },
    );
    await until(() => sink.count() >= SUBSCRIBERS, 900_000, '10,000 emails');
    await until(
      async () =>
        (await p.delivery.count({ where: { alertId: fan.alertId ?? '', status: 'succeeded' } })) === SUBSCRIBERS,
      120_000,
      'all deliveries succeeded',
    );
    clearInterval(sampler);
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    const peak = mb(Math.max(peakKb, statusKb(pid, 'VmHWM')));
    return [
      {
        name: 'memory.fanout_peak_worker_mb',
        value: peak,
        unit: 'MB',
        target: 250,
        better: 'lower',
        note: `dist/worker.mjs (WORKER_CONCURRENCY default, SMTP_RATE_LIMIT off), ${before} MB before; one alert to ${SUBSCRIBERS.toLocaleString('en-US')} confirmed email subscribers, all ${sink.count().toLocaleString('en-US')} accepted by an in-process SMTP server in ${seconds} s; peak of VmRSS sampled every 50 ms and VmHWM; ${load}`,
      },
    ];
  } finally {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker?.once('exit', r));
      worker.kill('SIGTERM');
      await Promise.race([exited, sleep(35_000)]);
      if (worker.exitCode === null) worker.kill('SIGKILL');
    }
    await sink.close();
    await queues.close();
    await redis.quit();
    await db.drop();
    fs.rmSync(logFile, { force: true });
  }
}

export default async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  if (PHASES.includes('idle')) out.push(...(await idlePhase()));
  if (PHASES.includes('fanout')) out.push(...(await fanoutPhase()));
  return out;
}
