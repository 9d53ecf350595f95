/**
 * Shared by the backup and upgrade drills: the operator's commands as processes, a digest of a
 * database's content, and the checks a person would make after a restore or an upgrade (the admin
 * logs in, an API key works, each delivery arrives once).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { hashPassword, repoPaths } from '@signals/db';
import { expect } from 'vitest';
import { fixturePath, type ReceivedMail, type ReceivedWebhook, TEST_REDIS_URL } from '@signals/testing';

const root = repoPaths().root;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, collecting its output. */
export function run(command: string, args: string[], env: Record<string, string>, cwd = root): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
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
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, ...out }));
  });
}

/** `pnpm cli <args>` exactly as the README writes it. */
export const pnpmCli = (args: string[], env: Record<string, string>) => run('pnpm', ['-s', 'cli', ...args], env);

/** The CLI entry without pnpm in front (faster, same code). */
export const cli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', path.join(root, 'apps/cli/src/main.ts'), ...args], env);

/** Per table of the app's schema: row count and an md5 of all rows (order-independent). */
export async function digest(url: string): Promise<Record<string, string>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const tables = await c.query<{ name: string }>(`
      SELECT c.relname AS name FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
      WHERE c.relkind = 'r' AND c.relname <> '_prisma_migrations' ORDER BY c.relname`);
    const out: Record<string, string> = {};
    for (const { name } of tables.rows) {
      const r = await c.query<{ n: number; h: string | null }>(
        `SELECT count(*)::int AS n, md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS h FROM "${name}" t`,
      );
      out[name] = `${r.rows[0]?.n}:${r.rows[0]?.h ?? '-'}`;
    }
    return out;
  } finally {
    await c.end();
  }
}

/** Does the database exist on its server? */
export async function databaseExists(url: string): Promise<boolean> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  u.pathname = '/postgres';
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    return ((await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount ?? 0) > 0;
  } finally {
    await c.end();
  }
}

/** Logs in through the admin form over HTTP, as a browser does; the session cookie, or throws. */
export async function adminLogin(base: string, email: string, password: string): Promise<string> {
  const form = await fetch(`${base}/admin/login`);
  const html = await form.text();
  const csrfCookie = form.headers.getSetCookie().find((c) => /signals_login_csrf=/.test(c));
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!csrfCookie || !token) throw new Error(`the login form has no CSRF cookie or field (${form.status})`);
  const res = await fetch(`${base}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie.split(';')[0] ?? '' },
    body: new URLSearchParams({ email, password, _csrf: token }).toString(),
  });
  const session = res.headers.getSetCookie().find((c) => /^(__Host-)?signals_session=/.test(c));
  if (!session) throw new Error(`login answered ${res.status} without a session cookie`);
  return session.split(';')[0] ?? '';
}

/** Polls until `fn` returns something truthy, or throws naming `what`. */
export async function until<T>(fn: () => Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** How many times each webhook-id arrived (answered 200 and verified) among `requests`. */
export function webhookCounts(requests: ReceivedWebhook[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of requests) if (r.status === 200 && r.verified) m.set(r.id ?? '', (m.get(r.id ?? '') ?? 0) + 1);
  return m;
}

/** Mails to `address` among `mails`. */
export const mailsTo = (mails: ReceivedMail[], address: string) => mails.filter((m) => m.to.includes(address));

/** sha256 hex, as API keys are stored. */
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const newId = (p: string) => `${p}${randomBytes(10).toString('hex')}`;

export interface DrillSeed {
  ruleId: string;
  /** A Bearer key with the read scope. */
  apiKey: string;
  subscriberEmail: string;
}

/**
 * What an operator would have set up, written in plain SQL against the schema of v0.15.0 (so the
 * upgrade drill can seed the previous release's database with it too): NVDA on a watchlist, a rule
 * that fires once in the recorded 2021 history (NVDA -8.2 % on 25 Feb 2021, the only fall of more
 * than 7.5 % that year), `endpoints` webhook endpoints at `receiverUrl`, an email subscriber, an
 * admin account and an API key.
 */
export async function seedDrill(
  url: string,
  o: { receiverUrl: string; endpoints: number; secret: string; admin: { email: string; password: string } },
): Promise<DrillSeed> {
  const passwordHash = await hashPassword(o.admin.password);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const [wl, inst, rule, sub] = [newId('wl'), newId('in'), newId('ru'), newId('su')];
    const apiKey = `sk_${randomBytes(32).toString('base64url')}`;
    const subscriberEmail = 'desk@example.com';
    await c.query('BEGIN');
    await c.query(`INSERT INTO "Watchlist" (id, slug, name, "updatedAt") VALUES ($1, 'ai-drill', 'AI drill', now())`, [
      wl,
    ]);
    await c.query(`INSERT INTO "Instrument" (id, symbol, name, "updatedAt") VALUES ($1, 'NVDA', 'NVIDIA', now())`, [
      inst,
    ]);
    await c.query(`INSERT INTO "WatchlistMember" ("watchlistId", "instrumentId") VALUES ($1, $2)`, [wl, inst]);
    await c.query(
      `INSERT INTO "Rule" (id, name, kind, params, "watchlistId", severity, "cooldownSec", "updatedAt")
       VALUES ($1, 'NVDA falls 7.5 % in a session', 'pct_move', $2, $3, 'critical', 0, now())`,
      [rule, JSON.stringify({ sessions: 1, thresholdPct: 7.5, direction: 'down' }), wl],
    );
    for (let i = 0; i < o.endpoints; i++)
      await c.query(`INSERT INTO "WebhookEndpoint" (id, url, secret, "updatedAt") VALUES ($1, $2, $3, now())`, [
        newId('ep'),
        `${o.receiverUrl}/hook/${i}`,
        o.secret,
      ]);
    await c.query(`INSERT INTO "Subscriber" (id, email, status, "updatedAt") VALUES ($1, $2, 'confirmed', now())`, [
      sub,
      subscriberEmail,
    ]);
    await c.query(`INSERT INTO "Subscription" (id, "subscriberId", "watchlistId") VALUES ($1, $2, $3)`, [
      newId('sn'),
      sub,
      wl,
    ]);
    await c.query(
      `INSERT INTO "ApiKey" (id, name, prefix, "keyHash", scopes) VALUES ($1, 'drill', $2, $3, '{read}'::"ApiScope"[])`,
      [newId('ak'), apiKey.slice(0, 10), sha256(apiKey)],
    );
    await c.query(`INSERT INTO "AdminUser" (id, email, "passwordHash") VALUES ($1, $2, $3)`, [
      newId('ad'),
      o.admin.email,
      passwordHash,
    ]);
    await c.query('COMMIT');
    return { ruleId: rule, apiKey, subscriberEmail };
  } finally {
    await c.end();
  }
}

/** Delivery rows by status, and the ids of those not yet sent (pending or sending). */
export async function deliveryState(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ id: string; messageId: string; channel: string; status: string }>(
      `SELECT id, "messageId", channel::text, status::text FROM "Delivery" ORDER BY id`,
    );
    const alerts = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Alert"`);
    return {
      rows: r.rows,
      alerts: alerts.rows[0]?.n ?? 0,
      unsent: r.rows.filter((d) => d.status === 'pending' || d.status === 'sending'),
      byStatus: r.rows.reduce<Record<string, number>>((m, d) => {
        m[d.status] = (m[d.status] ?? 0) + 1;
        return m;
      }, {}),
    };
  } finally {
    await c.end();
  }
}

/** The largest QuoteSnapshot id now (0 when none): what a later replay writes comes after it. */
export async function lastSnapshotId(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (
      (await c.query<{ id: string }>(`SELECT coalesce(max(id), 0)::text AS id FROM "QuoteSnapshot"`)).rows[0]?.id ?? '0'
    );
  } finally {
    await c.end();
  }
}

/** Has a replay written a quote of `day` or later since snapshot `afterId` (it went past that day)? */
export async function replayReached(url: string, afterId: string, day: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(`SELECT 1 FROM "QuoteSnapshot" WHERE id > $1::bigint AND "sourceAt" >= $2::date LIMIT 1`, [
      afterId,
      day,
    ]);
    return (r.rowCount ?? 0) > 0;
  } finally {
    await c.end();
  }
}

/** What both drills set up: one secret for every endpoint, two delivery jobs of 50, one admin. */
export const DRILL = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  endpoints: 60,
  admin: { email: 'ops@example.org', password: 'correct horse battery staple' },
} as const;

/**
 * Where this branch's workers start the replay: the morning of the -8.2 % day (25 Feb 2021, its
 * close is at 21:00 UTC). Their replay clock stands at its start until their first price tick
 * (heldAcceleratedClock), so a slow start skips no replayed time: the fall comes 1.3 s after that
 * tick, and 1 March (the replay past the event) 16 s after it.
 */
export const DRILL_REPLAY_START = '2021-02-25';
/**
 * v0.15.0's replay clock runs from when its worker wires its jobs (it has no held clock), before it
 * connects, creates its job schedulers and takes its first poll: its workers start six days before
 * the close of the event (25 s), so the first poll of one slow to finish starting on a loaded
 * machine still comes before the event stops being the latest session.
 */
export const OLD_RELEASE_REPLAY_START = '2021-02-19';

/**
 * The workers' settings in both drills: replayed NVDA history from `replayStart` (see
 * DRILL_REPLAY_START), a recorded day in 4 s (two price ticks a day), one delivery job at a time
 * (at a stop, one job's sends are on the wire and the other waits), short sweeps, lease and retries.
 */
export function drillEnv(smtpUrl: string, replayStart = DRILL_REPLAY_START): Record<string, string> {
  return {
    REDIS_URL: TEST_REDIS_URL,
    SMTP_URL: smtpUrl,
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    PRICE_SOURCE: `replay:${fixturePath('yahoo')}`,
    REPLAY_START: replayStart,
    REPLAY_SPEED: '21600',
    EMAIL_GROUP_WAIT_SEC: '0',
    SWEEP_INTERVAL_SEC: '1',
    SELF_CHECK_SEC: '2',
    DELIVERY_LEASE_SEC: '4',
    WORKER_CONCURRENCY: '1',
    // A send that times out on a loaded machine is retried in a second, not in 5 minutes.
    WEBHOOK_RETRY_SCHEDULE: '0,1,1,1,1,1',
  };
}

/** A server PROCESS of the checkout at `root` on 127.0.0.1:`port`. */
export function startServerProcess(root: string, env: Record<string, string>, port: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(root, 'apps/server/src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Until the server on `port` answers /healthz at all. */
export const serverUp = (port: number) =>
  until(
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) })).status > 0,
    120_000,
    `the server on ${port}`,
  );

/** Until no delivery is pending or sending; on a timeout the statuses and the worker's warnings. */
export async function untilAllSent(url: string, logs: string[]): Promise<void> {
  await until(async () => (await deliveryState(url)).unsent.length === 0, 180_000, 'every delivery sent').catch(
    async (err: Error) => {
      const warnings = logs.filter((l) => /"level":(40|50)|ERR/.test(l)).slice(-10);
      throw new Error(`${err.message}: ${JSON.stringify((await deliveryState(url)).byStatus)}\n${warnings.join('\n')}`);
    },
  );
}

/** The admin logs in with the drill's password and the API key made before still reads. */
export async function expectPeopleStillIn(port: number, apiKey: string): Promise<void> {
  const base = `http://127.0.0.1:${port}`;
  await serverUp(port);
  const cookie = await adminLogin(base, DRILL.admin.email, DRILL.admin.password);
  expect((await fetch(`${base}/admin`, { headers: { cookie } })).status).toBe(200);
  const api = await fetch(`${base}/api/watchlists`, { headers: { authorization: `Bearer ${apiKey}` } });
  expect(api.status).toBe(200);
  expect(JSON.stringify(await api.json())).toContain('ai-drill');
  expect((await fetch(`${base}/api/watchlists`, { headers: { authorization: 'Bearer sk_wrong' } })).status).toBe(401);
}
