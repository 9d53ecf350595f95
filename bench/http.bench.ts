/**
 * Public pages and list APIs under load (issue 20 item 4): `pnpm bench http`.
 *
 * The real server and worker from the build (`node <flags> dist/server.mjs`, as the run command) run as child
 * processes on a fresh test database (the default seeds, 20,000 alerts with 40,000 deliveries,
 * 50 subscribers) with a unique QUEUE_PREFIX; the worker replays the recorded Yahoo charts
 * (PRICE_SOURCE=replay:../shared/fixtures/yahoo) and delivers what fires to an SMTP sink in this
 * process. autocannon, in this process, sends each route 50 connections for 10 s (after a 2 s
 * warm-up that is not counted):
 *   http.<route>.req_per_s   target >= 1,000     http.<route>.p99_ms   target < 100
 *   http.<route>.ratio       req/s as a fraction of the limit below, same run
 *   http.limit.req_per_s     a bare Hono app (same version, @hono/node-server) answering a hello
 *                            route, child process, same load generator: the stack's own limit
 * Every answer must be 200 (a non-2xx answer fails the bench; errors and requests unanswered after
 * 30 s are counted in the note).
 *
 * Rate limits stay in force: the server runs with TRUST_PROXY=127.0.0.1/32 and every request
 * carries its own X-Forwarded-For address (10.x.y.z, a new one per request), as if 50 connections
 * of a reverse proxy carried many clients. /confirm (60 per address and hour) is therefore never
 * refused; without the header the bench's one address would get 429 after 60 requests.
 *
 * Knobs: BENCH_HTTP_ROUTES (comma list of route names), BENCH_HTTP_DURATION (s, default 10),
 * BENCH_HTTP_CONNECTIONS (default 50), BENCH_HTTP_WORKER=0 (no worker), BENCH_HTTP_NODE_ARGS
 * (extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { signSubscriberToken } from '@signals/db';
import { createTestDb, TEST_REDIS_URL, testPrefix } from '@signals/testing';
import { nodeCommand } from '../packages/config/src/launch.ts';
import ensureTemplate from '../packages/testing/src/global-setup.ts';
import { createRedis } from '../packages/queue/src/index.ts';
import { loadSeeds } from '../seeds/index.ts';
import type { BenchResult } from './lib.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DURATION = Number(process.env.BENCH_HTTP_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 50);
const WARMUP_S = 2;
const ALERTS = 20_000;
const SUBSCRIBERS = 50;
const APP_SECRET = 'bench-secret-bench-secret-bench-secret!!';
const REPLAY = path.resolve(root, '../shared/fixtures/yahoo');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Child {
  proc: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * `entry` as the run command starts it (dist/<entry>.mjs with its V8 flags; extra flags after them
 * win), or a bench script under tsx (the bare Hono limit).
 */
function startChild(
  entry: 'server' | 'worker' | { script: string },
  env: Record<string, string>,
  extraArgs: string[] = [],
): Child {
  const name = typeof entry === 'string' ? entry : path.basename(entry.script);
  const logFile = path.join(os.tmpdir(), `http-bench-${name}-${process.pid}-${randomBytes(3).toString('hex')}.log`);
  const fd = fs.openSync(logFile, 'w');
  const argv =
    typeof entry === 'string'
      ? (({ args }) => [...args.slice(0, -1), ...extraArgs, ...args.slice(-1)])(nodeCommand(entry, [], 'built'))
      : [...extraArgs, '--import', 'tsx', path.join(root, entry.script)];
  const proc = spawn(process.execPath, argv, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  return {
    proc,
    logFile,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await done;
      clearTimeout(t);
    },
  };
}

async function waitHttp(url: string, child: Child, label: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.proc.exitCode !== null)
      throw new Error(`http bench: ${label} exited:\n${fs.readFileSync(child.logFile, 'utf8').slice(-2000)}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`http bench: ${label} did not answer ${url} within 90 s`);
    await sleep(200);
  }
}

/** A new client address per request (10.0.0.1, 10.0.0.2, ...): see the header comment. */
let ipCounter = 0;
function nextIp(): string {
  const n = ++ipCounter;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255 || 1}`;
}

interface Measured {
  reqPerS: number;
  p50: number;
  p99: number;
  total: number;
  /** Connection errors and requests unanswered after 30 s. */
  failed: number;
}

async function load(base: string, p: string, headers: Record<string, string>, seconds: number): Promise<Measured> {
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 30,
    requests: [
      {
        method: 'GET',
        path: p,
        setupRequest: (req) => ({ ...req, headers: { ...headers, 'x-forwarded-for': nextIp() } }),
      },
    ],
  });
  // A wrong answer fails the bench; a request still unanswered after 30 s (a machine far beyond
  // its capacity) is counted and reported with the figure.
  if (result.non2xx > 0 || result['2xx'] === 0)
    throw new Error(`http bench: GET ${p}: ${result.non2xx} non-2xx answers of ${result.requests.total}`);
  return {
    reqPerS: Math.round(result['2xx'] / seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result['2xx'],
    failed: result.errors + result.timeouts,
  };
}

async function measure(base: string, p: string, headers: Record<string, string> = {}): Promise<Measured> {
  await load(base, p, headers, WARMUP_S);
  return load(base, p, headers, DURATION);
}

function cpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

export default async function run(): Promise<BenchResult[]> {
  await ensureTemplate();
  // An installed, built clone: the server and the worker run dist/, as the run command starts them.
  execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--if-stale'], { cwd: root, stdio: 'inherit' });
  const db = await createTestDb();
  const prefix = testPrefix('bench-http');
  const children: Child[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  try {
    // ---- data: seeds, alerts with deliveries, subscribers, an API key ----------------------
    const p = db.prisma;
    await loadSeeds(p, { feeds: [] });
    const rules = await p.rule.findMany({ select: { id: true, name: true } });
    if (rules.length === 0) throw new Error('http bench: the seeds made no rules');
    const t0 = Date.UTC(2024, 0, 1);
    for (let i = 0; i < ALERTS; i += 5000) {
      const rows = Array.from({ length: Math.min(5000, ALERTS - i) }, (_, j) => {
        const n = i + j;
        const firedAt = new Date(t0 + n * 60_000);
        return {
          id: `bench_alert_${String(n).padStart(6, '0')}`,
          dedupKey: `bench:${n}`,
          ruleId: (rules[n % rules.length] as { id: string }).id,
          subject: ['NVDA', 'AMD', 'TSM', 'ASML', 'MSFT'][n % 5] as string,
          status: n % 3 === 0 ? ('resolved' as const) : ('firing' as const),
          severity: 'warning' as const,
          title: `Bench alert ${n}`,
          value: -0.12,
          threshold: -0.1,
          windowStart: new Date(firedAt.getTime() - 86_400_000),
          windowEnd: firedAt,
          firedAt,
          details: { headlines: [] },
        };
      });
      await p.alert.createMany({ data: rows });
      await p.delivery.createMany({
        data: rows.flatMap((a) =>
          [0, 1].map((k) => ({
            alertId: a.id,
            channel: 'webhook' as const,
            eventType: 'alert.firing',
            target: `webhook:bench-${k}`,
            messageId: `msg_${a.id}_${k}`,
            status: 'succeeded' as const,
            attempts: 1,
            deliveredAt: a.firedAt,
          })),
        ),
      });
    }
    const watchlists = await p.watchlist.findMany({ select: { id: true } });
    const subs = await p.subscriber.createManyAndReturn({
      data: Array.from({ length: SUBSCRIBERS }, (_, i) => ({
        email: `reader${i}@bench.example`,
        status: 'confirmed' as const,
        confirmedAt: new Date(),
      })),
      select: { id: true },
    });
    await p.subscription.createMany({
      data: subs.flatMap((s) => watchlists.map((w) => ({ subscriberId: s.id, watchlistId: w.id }))),
    });
    const confirmToken = randomBytes(24).toString('base64url');
    await p.subscriber.create({
      data: {
        email: 'pending@bench.example',
        status: 'pending',
        confirmTokenHash: createHash('sha256').update(confirmToken).digest('hex'),
        confirmExpiresAt: new Date(Date.now() + 86_400_000),
      },
    });
    const manageToken = signSubscriberToken(APP_SECRET, (subs[0] as { id: string }).id, 0);
    const apiKey = `sk_${randomBytes(32).toString('base64url')}`;
    await p.apiKey.create({
      data: {
        name: 'bench',
        prefix: apiKey.slice(0, 10),
        keyHash: createHash('sha256').update(apiKey).digest('hex'),
        scopes: ['read'],
      },
    });
    await p.$executeRawUnsafe('ANALYZE');

    // ---- processes --------------------------------------------------------------------------
    const smtp = await (await import('./delivery.bench.ts')).startLightSink();
    closers.push(() => smtp.close());
    const helloPort = await freePort();
    const hello = startChild({ script: 'bench/http-hello.ts' }, { PORT: String(helloPort) });
    children.push(hello);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const common = {
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      APP_SECRET,
      // Production mode refuses an http:// or loopback PUBLIC_BASE_URL (issue 18, item 2): the links
      // say https://signals.bench, and the bench's own Host is allowed by name.
      PUBLIC_BASE_URL: 'https://signals.bench',
      ALLOWED_HOSTS: `127.0.0.1:${port}`,
      NODE_ENV: 'production',
      SMTP_URL: smtp.url,
      SMTP_RATE_LIMIT: '100000',
      ...(fs.existsSync(REPLAY) ? { PRICE_SOURCE: `replay:${REPLAY}`, REPLAY_START: '2021-09-20' } : {}),
    };
    const server = startChild(
      'server',
      { ...common, PORT: String(port), HOST: '127.0.0.1', TRUST_PROXY: '127.0.0.1/32' },
      (process.env.BENCH_HTTP_NODE_ARGS ?? '').split(' ').filter(Boolean),
    );
    children.push(server);
    const withWorker = process.env.BENCH_HTTP_WORKER !== '0';
    const worker = withWorker ? startChild('worker', { ...common }) : undefined;
    if (worker) children.push(worker);
    await waitHttp(`http://127.0.0.1:${helloPort}/hello`, hello, 'bare Hono');
    await waitHttp(`${base}/healthz`, server, 'server');

    // ---- routes -----------------------------------------------------------------------------
    const auth = { authorization: `Bearer ${apiKey}` };
    const routes: { name: string; path: string; headers?: Record<string, string>; check: (body: string) => boolean }[] =
      [
        { name: 'subscribe', path: '/subscribe', check: (b) => b.includes('name="watchlistIds"') },
        { name: 'confirm', path: `/confirm?token=${confirmToken}`, check: (b) => b.includes('pending@bench.example') },
        {
          name: 'preferences',
          path: `/preferences?token=${encodeURIComponent(manageToken)}`,
          check: (b) => b.includes('Save preferences'),
        },
        {
          name: 'api_alerts',
          path: '/api/alerts',
          headers: auth,
          check: (b) => (JSON.parse(b) as { items: unknown[] }).items.length > 0,
        },
        {
          name: 'api_rules',
          path: '/api/rules',
          headers: auth,
          check: (b) => (JSON.parse(b) as { items: unknown[] }).items.length > 0,
        },
        {
          name: 'api_instruments',
          path: '/api/instruments',
          headers: auth,
          check: (b) => (JSON.parse(b) as { items: unknown[] }).items.length > 0,
        },
        { name: 'healthz', path: '/healthz', check: (b) => b.includes('"checks"') },
      ];
    const wanted = process.env.BENCH_HTTP_ROUTES?.split(',');
    for (const r of routes) {
      const res = await fetch(base + r.path, { headers: { ...r.headers, 'x-forwarded-for': nextIp() } });
      const body = await res.text();
      if (res.status !== 200 || !r.check(body))
        throw new Error(`http bench: GET ${r.path} answered ${res.status}: ${body.slice(0, 300)}`);
    }
    // Rate limits are in force: one address asking for /confirm again and again is refused (after
    // 60 requests in an hour today).
    let asked = 0;
    let refused = false;
    while (!refused && asked < 500) {
      const res = await fetch(`${base}/confirm?token=${confirmToken}`, { headers: { 'x-forwarded-for': '192.0.2.1' } });
      await res.arrayBuffer();
      asked++;
      refused = res.status === 429;
    }
    if (!refused) throw new Error(`http bench: ${asked} /confirm requests from one address were never refused`);

    const load0 = `load average ${os.loadavg()[0]?.toFixed(2)} at start`;
    const limit = await measure(`http://127.0.0.1:${helloPort}`, '/hello');
    const results: BenchResult[] = [
      {
        name: 'http.limit.req_per_s',
        value: limit.reqPerS,
        unit: 'req/s',
        target: null,
        better: 'higher',
        note: `bare Hono (same version as apps/server) + @hono/node-server, GET /hello, child process${limit.failed ? ` (${limit.failed} errors or timeouts)` : ''}; autocannon ${CONNECTIONS} connections for ${DURATION} s after ${WARMUP_S} s warm-up, in the bench process; p50 ${limit.p50} ms, p99 ${limit.p99} ms; ${load0}`,
      },
    ];
    const who = withWorker ? 'while the worker replays the recorded charts and delivers' : 'no worker';
    for (const r of routes) {
      if (wanted && !wanted.includes(r.name)) continue;
      const c0 = cpuMs(server.proc.pid);
      const w0 = cpuMs(worker?.proc.pid);
      const m = await measure(base, r.path, r.headers);
      const serverCpu = (cpuMs(server.proc.pid) - c0) / ((DURATION + WARMUP_S) * 1000);
      const workerCpu = (cpuMs(worker?.proc.pid) - w0) / ((DURATION + WARMUP_S) * 1000);
      const load1 = `load average ${os.loadavg()[0]?.toFixed(2)} at start`;
      results.push(
        {
          name: `http.${r.name}.req_per_s`,
          value: m.reqPerS,
          unit: 'req/s',
          target: r.name === 'healthz' || r.name === 'api_instruments' ? null : 1000,
          better: 'higher',
          note: `GET ${r.path.replace(/token=[^&]+/, 'token=…')}${r.headers ? ' (API key, read scope)' : ''}: ${m.total} answers, all 200${m.failed ? ` (and ${m.failed} errors or timeouts after 30 s)` : ''}, ${CONNECTIONS} connections for ${DURATION} s, a new X-Forwarded-For per request (TRUST_PROXY), ${who}; server process used ${round1(serverCpu)} cores${worker ? `, worker ${round1(workerCpu)}` : ''}; ${load1}`,
        },
        {
          name: `http.${r.name}.p99_ms`,
          value: m.p99,
          unit: 'ms',
          target: r.name === 'healthz' || r.name === 'api_instruments' ? null : 100,
          better: 'lower',
          note: `same run as http.${r.name}.req_per_s; p50 ${m.p50} ms`,
        },
        {
          name: `http.${r.name}.ratio`,
          value: Math.round((m.reqPerS / limit.reqPerS) * 100) / 100,
          unit: 'x limit',
          target: null,
          better: 'higher',
          note: `http.${r.name}.req_per_s ${m.reqPerS} / http.limit.req_per_s ${limit.reqPerS} (bare Hono hello, same run)`,
        },
      );
    }
    if (server.proc.exitCode !== null) throw new Error('http bench: the server exited during the run');
    return results;
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => {});
    for (const c of children) if (!process.env.BENCH_HTTP_KEEP_LOG) fs.rmSync(c.logFile, { force: true });
    for (const c of closers.reverse()) await c().catch(() => {});
    const redis = createRedis(TEST_REDIS_URL, 'worker');
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    await redis.quit().catch(() => {});
    await db.drop();
  }
}
