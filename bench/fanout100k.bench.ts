/**
 * A 100,000-subscriber fan-out (issue 20 item 3), `pnpm bench fanout100k` (on request only, like
 * the soak: it seeds 100,000 subscribers and sends 100,000 mails):
 *   fanout100k.outbox_write_ms       one alert to 100,000 confirmed email subscribers: the alert and
 *                                    its 100,000 Delivery rows written in ONE transaction
 *                                    (createAlertWithDeliveries), wall time of that call
 *   fanout100k.delivered_s           from the start of that write to all 100,000 mails accepted by an
 *                                    in-process SMTP server AND all 100,000 rows succeeded in Postgres,
 *                                    with 4 send-only worker processes (WORKER_QUEUES=deliveries,
 *                                    dist/worker.mjs with the run command's flags)
 *   fanout100k.lost_or_doubled       mails lost + mails doubled, counted at the sink by recipient
 *                                    and in Postgres (rows not succeeded, attempts beyond one per row)
 *   fanout100k.worker_peak_rss_mb    the largest peak VmRSS of the 4 workers (sampled every 100 ms, and VmHWM)
 *   fanout100k.healthz_max_ms / .admin_max_ms
 *                                    slowest answer of GET /healthz and of the logged-in admin page
 *                                    (/admin/alerts), each asked in turn every 250 ms by the
 *                                    server (dist/server.mjs) during the whole delivery
 *
 * The bench process plays producer and SMTP server; it shares the 2 cores with the 4 workers, the
 * server, Postgres and Redis. Each note gives the load average when the run started.
 *
 * Beside the 4 send-only workers, one worker runs the other queues (prices replayed from
 * ../shared/fixtures/yahoo, evaluation, maintenance), as a scaled install does: /healthz judges
 * those loops too.
 *
 * Knobs: BENCH_FANOUT_SUBSCRIBERS (default 100000), BENCH_FANOUT_WORKERS (default 4).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAlertWithDeliveries } from '@signals/db';
import { createTestDb, freePort, TEST_REDIS_URL, type TestDb, testPrefix } from '@signals/testing';
import { DELIVERY_BATCH } from '../apps/worker/src/delivery/deliver.ts';
import { nodeCommand } from '../packages/config/src/launch.ts';
import { createQueues, createRedis } from '../packages/queue/src/index.ts';
import ensureTemplate from '../packages/testing/src/global-setup.ts';
import { startLightSink } from './delivery.bench.ts';
import { type BenchResult, nvdaCrashAlert, percentile, seedNvdaAudience } from './lib.ts';
import { statusKb } from './memory.bench.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SUBSCRIBERS = Number(process.env.BENCH_FANOUT_SUBSCRIBERS ?? 100_000);
const WORKERS = Number(process.env.BENCH_FANOUT_WORKERS ?? 4);
const APP_SECRET = 'bench-secret-bench-secret-bench-secret!!';
const ADMIN_EMAIL = 'admin@bench.example';
const ADMIN_PASSWORD = 'correct horse battery staple';
const PUBLIC_URL = 'http://signals.bench';
const REPLAY = path.resolve(root, '../shared/fixtures/yahoo');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (kb: number) => Math.round(kb / 102.4) / 10;
const n = (x: number) => x.toLocaleString('en-US');

async function until<T>(fn: () => Promise<T | false | undefined> | T | false | undefined, ms: number, what: string) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`fanout100k bench: timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Child {
  proc: ChildProcess;
  logFile: string;
}

function startBuilt(entry: 'server' | 'worker', env: NodeJS.ProcessEnv, tag: string): Child {
  const logFile = path.join(os.tmpdir(), `fanout100k-${tag}-${process.pid}.log`);
  const { command, args } = nodeCommand(entry, [], 'built');
  const fd = fs.openSync(logFile, 'w');
  const proc = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  return { proc, logFile };
}

async function stopChild(c: Child): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  const exited = new Promise((r) => c.proc.once('exit', r));
  c.proc.kill('SIGTERM');
  await Promise.race([exited, sleep(35_000)]);
  if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
}

interface Answer {
  status: number;
  setCookie: string[];
  body: string;
}

/**
 * One request to the server over a new connection, with the Host of PUBLIC_BASE_URL (the server
 * answers 421 to another host); redirects are not followed.
 */
function request(
  base: string,
  p: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${p}`,
      {
        method: opts.method ?? 'GET',
        headers: { host: new URL(PUBLIC_URL).host, ...opts.headers },
        timeout: opts.timeoutMs ?? 10_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const sc = res.headers['set-cookie'] ?? [];
          resolve({ status: res.statusCode ?? 0, setCookie: sc, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.once('timeout', () => req.destroy(new Error(`GET ${p}: no answer in ${opts.timeoutMs ?? 10_000} ms`)));
    req.once('error', reject);
    req.end(opts.body);
  });
}

function cookieOf(res: Answer, name: RegExp, what: string): string {
  const c = res.setCookie.find((x) => name.test(x));
  if (!c)
    throw new Error(`fanout100k bench: no ${name} cookie from ${what} (${res.status}: ${res.body.slice(0, 200)})`);
  return c.split(';')[0] as string;
}

/** Logs in through the admin form over HTTP, as a browser does; the session cookie. */
async function adminLogin(base: string): Promise<string> {
  const form = await request(base, '/admin/login');
  const csrfCookie = cookieOf(form, /^(__Host-)?signals_login_csrf=/, 'GET /admin/login');
  const token = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1];
  if (!token) throw new Error('fanout100k bench: no _csrf field on /admin/login');
  const res = await request(base, '/admin/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie, origin: PUBLIC_URL },
    body: new URLSearchParams({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD, _csrf: token }).toString(),
  });
  return cookieOf(res, /^(__Host-)?signals_session=/, 'POST /admin/login');
}

/** Asks each URL in turn every `everyMs` until stopped; every answer's time, and wrong answers. */
function probe(
  base: string,
  urls: { name: string; path: string; headers?: Record<string, string>; check: (b: string) => boolean }[],
) {
  const times = new Map(urls.map((u) => [u.name, [] as number[]]));
  const wrong: string[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      for (const u of urls) {
        const t0 = performance.now();
        try {
          const res = await request(base, u.path, { headers: u.headers ?? {} });
          times.get(u.name)?.push(performance.now() - t0);
          if (res.status !== 200 || !u.check(res.body)) wrong.push(`${u.name} ${res.status}`);
        } catch (err) {
          times.get(u.name)?.push(performance.now() - t0);
          wrong.push(`${u.name} ${(err as Error).message}`);
        }
      }
      await sleep(250);
    }
  })();
  return {
    times,
    wrong,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

export default async function run(): Promise<BenchResult[]> {
  execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--if-stale'], { cwd: root, stdio: 'inherit' });
  await ensureTemplate();
  const db: TestDb = await createTestDb();
  const prefix = testPrefix('bench-fan100k');
  const redis = createRedis(TEST_REDIS_URL, 'worker');
  const queues = createQueues(redis, prefix);
  const sink = await startLightSink(5000);
  const children: Child[] = [];
  let ok = false;
  try {
    // ---- data: one watchlist, one rule, SUBSCRIBERS confirmed immediate email subscribers ------
    const p = db.prisma;
    // 99 %: the main worker replays prices and evaluates this rule; it never fires by itself.
    const rule = await seedNvdaAudience(p, { subscribers: SUBSCRIBERS, thresholdPct: 99 });

    // ---- processes: the server (for the probes) and WORKERS send-only workers ------------------
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const common = {
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      SMTP_URL: sink.url,
      // The default 50/s would pace 100,000 mails over 2,000 s: the bench measures the pipeline.
      SMTP_RATE_LIMIT: '100000',
      // As a LAN install without TLS (production mode refuses a plain-http address otherwise).
      PUBLIC_BASE_URL: PUBLIC_URL,
      ALLOW_INSECURE_HTTP: 'true',
      APP_SECRET,
      NODE_ENV: 'production',
    };
    const server = startBuilt(
      'server',
      { ...common, PORT: String(port), HOST: '127.0.0.1', ADMIN_EMAIL, ADMIN_PASSWORD },
      'server',
    );
    children.push(server);
    const workers = Array.from({ length: WORKERS }, (_, i) =>
      startBuilt('worker', { ...common, WORKER_QUEUES: 'deliveries' }, `worker${i}`),
    );
    children.push(...workers);
    // The rest of an install: one worker for the other queues (polls replayed prices, evaluates,
    // maintenance), as the README's scaled setup runs it; /healthz answers 503 when its loops are late.
    const main = startBuilt(
      'worker',
      {
        ...common,
        WORKER_QUEUES: 'prices,news,evaluate,maintenance',
        ...(fs.existsSync(REPLAY) ? { PRICE_SOURCE: `replay:${REPLAY}`, REPLAY_START: '2021-09-20' } : {}),
      },
      'main',
    );
    children.push(main);
    await until(
      async () => {
        for (const c of children)
          if (c.proc.exitCode !== null)
            throw new Error(`fanout100k bench: a child exited:\n${fs.readFileSync(c.logFile, 'utf8').slice(-2000)}`);
        return (await queues.get('deliveries').getWorkersCount()) >= WORKERS;
      },
      120_000,
      `${WORKERS} delivery workers`,
    );
    await until(
      async () => {
        try {
          return (await request(base, '/healthz')).status === 200;
        } catch {
          return false;
        }
      },
      120_000,
      'the server',
    );
    const session = await adminLogin(base);
    const adminCheck = (b: string) => b.includes('/admin/alerts');
    {
      const res = await request(base, '/admin/alerts', { headers: { cookie: session } });
      if (res.status !== 200 || !adminCheck(res.body))
        throw new Error(`fanout100k bench: /admin/alerts answered ${res.status}: ${res.body.slice(0, 300)}`);
    }
    await sleep(2000);

    // ---- the fan-out ---------------------------------------------------------------------------
    const load = `load average ${os.loadavg()[0]?.toFixed(2)} at start`;
    const pids = workers.map((w) => w.proc.pid ?? 0);
    const before = pids.map((pid) => mb(statusKb(pid, 'VmRSS')));
    const peakKb = pids.map((pid) => statusKb(pid, 'VmRSS'));
    const sampler = setInterval(() => {
      pids.forEach((pid, i) => {
        peakKb[i] = Math.max(peakKb[i] ?? 0, statusKb(pid, 'VmRSS'));
      });
    }, 100);
    const probes = probe(base, [
      { name: 'healthz', path: '/healthz', check: (b) => b.includes('"checks"') },
      { name: 'admin', path: '/admin/alerts', headers: { cookie: session }, check: adminCheck },
    ]);
    const t0 = performance.now();
    const fan = await createAlertWithDeliveries(p, nvdaCrashAlert(rule.ruleId, 'fanout100k'), {
      now: new Date(),
      emailGroupWaitMs: 0,
    });
    const tWritten = performance.now();
    if (fan.deliveryIds.length !== SUBSCRIBERS) throw new Error(`fan-out wrote ${fan.deliveryIds.length} deliveries`);
    await queues.enqueueDeliveries(
      fan.deliveryIds.map((id) => ({ id })),
      { batchSize: DELIVERY_BATCH },
    );
    const tEnqueued = performance.now();
    const alertId = fan.alertId ?? '';
    await until(
      () => {
        for (const w of workers)
          if (w.proc.exitCode !== null)
            throw new Error(`fanout100k bench: a worker exited:\n${fs.readFileSync(w.logFile, 'utf8').slice(-2000)}`);
        return sink.recipients.size >= SUBSCRIBERS;
      },
      900_000,
      `${n(SUBSCRIBERS)} mails`,
    );
    const tSink = performance.now();
    await until(
      async () => (await p.delivery.count({ where: { alertId, status: 'succeeded' } })) === SUBSCRIBERS,
      300_000,
      'all deliveries succeeded in Postgres',
    );
    const tDone = performance.now();
    clearInterval(sampler);
    await probes.stop();
    // A late duplicate would arrive after the last first copy: wait a little before counting.
    await sleep(3000);

    // ---- exactness: at the sink by recipient and in Postgres ----------------------------------
    const expected = new Set(
      Array.from({ length: SUBSCRIBERS }, (_, i) => `sub${String(i).padStart(6, '0')}@bench.example`),
    );
    let lostAtSink = 0;
    for (const e of expected) if (!sink.recipients.has(e)) lostAtSink++;
    const strangers = [...sink.recipients].filter((r) => !expected.has(r)).length;
    const doubledAtSink = sink.count() - sink.recipients.size;
    const [pg] = await p.$queryRaw<{ rows: number; succeeded: number; attempts: number; extra: number }[]>`
      SELECT count(*)::int AS rows,
             count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
             COALESCE(sum(attempts), 0)::int AS attempts,
             COALESCE(sum(GREATEST(attempts - 1, 0)), 0)::int AS extra
      FROM "Delivery" WHERE "alertId" = ${alertId}`;
    const [att] = await p.$queryRaw<{ ok: number; other: number }[]>`
      SELECT count(*) FILTER (WHERE a.outcome = 'ok')::int AS ok, count(*) FILTER (WHERE a.outcome <> 'ok')::int AS other
      FROM "DeliveryAttempt" a JOIN "Delivery" d ON d.id = a."deliveryId" WHERE d."alertId" = ${alertId}`;
    if (!pg || !att) throw new Error('fanout100k bench: no counts from Postgres');
    const lostInPg = SUBSCRIBERS - pg.succeeded;
    const lostOrDoubled = lostAtSink + strangers + doubledAtSink + lostInPg + Math.max(0, att.ok - SUBSCRIBERS);
    const peak = Math.max(...pids.map((pid, i) => Math.max(peakKb[i] ?? 0, statusKb(pid, 'VmHWM'))));
    const ms = (x: number) => Math.round(x);
    const lat = (name: string) => {
      const t = [...(probes.times.get(name) ?? [])].sort((a, b) => a - b);
      return { max: ms(t[t.length - 1] ?? Number.NaN), p50: ms(percentile(t, 50)), count: t.length };
    };
    const hz = lat('healthz');
    const adm = lat('admin');
    const wrongNote = probes.wrong.length
      ? `; ${probes.wrong.length} wrong answers (${probes.wrong.slice(0, 3).join(', ')})`
      : '';
    const setup = `one alert to ${n(SUBSCRIBERS)} confirmed immediate email subscribers, ${WORKERS} send-only worker processes (dist/worker.mjs, WORKER_QUEUES=deliveries, defaults but SMTP_RATE_LIMIT off) beside one worker for the other queues, and the server (dist/server.mjs), on one database; in-process SMTP server`;
    ok = true;
    return [
      {
        name: 'fanout100k.outbox_write_ms',
        value: ms(tWritten - t0),
        unit: 'ms',
        target: 3000,
        better: 'lower',
        note: `${setup}; the alert and its ${n(fan.deliveryIds.length)} Delivery rows in one transaction (createAlertWithDeliveries), then ${n(Math.ceil(SUBSCRIBERS / DELIVERY_BATCH))} jobs enqueued in ${ms(tEnqueued - tWritten)} ms; ${load}`,
      },
      {
        name: 'fanout100k.delivered_s',
        value: Math.round((tDone - t0) / 100) / 10,
        unit: 's',
        target: 120,
        better: 'lower',
        note: `${setup}; from the start of the outbox write to all ${n(SUBSCRIBERS)} succeeded in Postgres (all accepted by the SMTP server at ${Math.round((tSink - t0) / 100) / 10} s): ${Math.round(SUBSCRIBERS / ((tDone - t0) / 1000))} mails/s; ${load}`,
      },
      {
        name: 'fanout100k.lost_or_doubled',
        value: lostOrDoubled,
        unit: 'mails',
        target: 0,
        better: 'lower',
        note: `sink: ${n(sink.count())} messages to ${n(sink.recipients.size)} distinct recipients (${lostAtSink} expected recipients missing, ${strangers} unexpected); Postgres: ${n(pg.rows)} rows, ${n(pg.succeeded)} succeeded, ${n(pg.attempts)} attempts counted (${pg.extra} beyond the first), ${n(att.ok)} ok attempts logged and ${att.other} others; ${load}`,
      },
      {
        name: 'fanout100k.worker_peak_rss_mb',
        value: mb(peak),
        unit: 'MB',
        target: 300,
        better: 'lower',
        note: `largest of the ${WORKERS} workers' peaks (VmRSS every 100 ms and VmHWM: ${pids.map((pid, i) => mb(Math.max(peakKb[i] ?? 0, statusKb(pid, 'VmHWM')))).join(', ')} MB; ${before.join(', ')} MB before); ${load}`,
      },
      {
        name: 'fanout100k.healthz_max_ms',
        value: hz.max,
        unit: 'ms',
        target: 500,
        better: 'lower',
        note: `GET /healthz every ~250 ms (in turn with the admin page) from the outbox write to the last row succeeded: ${hz.count} answers, p50 ${hz.p50} ms, slowest ${hz.max} ms${wrongNote}; ${load}`,
      },
      {
        name: 'fanout100k.admin_max_ms',
        value: adm.max,
        unit: 'ms',
        target: 500,
        better: 'lower',
        note: `GET /admin/alerts logged in (session cookie from the login form) every ~250 ms during the same time: ${adm.count} answers, p50 ${adm.p50} ms, slowest ${adm.max} ms${wrongNote}; ${load}`,
      },
    ];
  } finally {
    await Promise.all(children.map(stopChild));
    if (!ok) for (const c of children) if (fs.existsSync(c.logFile)) process.stderr.write(`  log ${c.logFile} kept\n`);
    if (ok) for (const c of children) fs.rmSync(c.logFile, { force: true });
    await sink.close();
    await queues.close();
    await redis.quit();
    await db.drop();
  }
}
