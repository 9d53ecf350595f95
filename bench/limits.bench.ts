/**
 * The stack's own limit (issue 20 item 1): the libraries the worker delivers with, with nothing of
 * the product around them, sending to the same sinks the delivery bench uses, in the same shape as
 * the worker (WORKER_CONCURRENCY lanes, each taking DELIVERY_BATCH messages and sending them all at
 * once, as runDeliveries does):
 *   limits.email_per_s            nodemailer's pool with the worker's options (pool, maxConnections 5,
 *                                 maxMessages 100, TCP_NODELAY socket, quoted-printable) -> the
 *                                 in-process smtp-server sink; one pre-built message of the product's
 *                                 size, a new recipient each time
 *   limits.webhook_per_s          Standard-Webhooks-signed POSTs (HMAC-SHA256 per message, as our
 *                                 signer does) over keep-alive agents (the sender's agent options) to
 *                                 50 node:http receivers
 *   limits.webhook_durable_per_s  the same, plus one batched Postgres status write per 50 sends (an
 *                                 UPDATE of the 50 "Delivery" rows through Prisma's pg adapter): the
 *                                 least a service that loses nothing must write
 *
 * `pnpm bench limits` measures them alone; `pnpm bench delivery` measures them in the same run as
 * the product (measureLimits) and reports each delivery figure as a ratio to its limit.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDb } from '@signals/testing';
import ensureTemplate from '../packages/testing/src/global-setup.ts';
import type { BenchResult } from './lib.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const notifyRequire = createRequire(path.join(root, 'packages/notify/package.json'));

export const LIMIT_MESSAGES = 10_000;
const ENDPOINTS = 50;
const BATCH = 50; // DELIVERY_BATCH of apps/worker/src/delivery/deliver.ts
/** Messages the sender sends first to open the pool's connections (not timed). */
const WARMUP_EMAILS = 10;
const CONCURRENCY = Number(process.env.BENCH_DELIVERY_CONCURRENCY ?? 16); // WORKER_CONCURRENCY default

/** What measureLimits needs from the caller's sinks (the delivery bench passes its own). */
export interface LimitSinks {
  smtpUrl: string;
  /** Messages the SMTP sink has accepted so far (all of them, the caller's too). */
  smtpCount(): number;
  /** Receivers' URLs and their whsec_ secrets. */
  receivers: { url: string; secret: string }[];
  /** A migrated database for the durable run. */
  databaseUrl: string;
}

export interface Limits {
  emailPerS: number;
  webhookPerS: number;
  webhookDurablePerS: number;
  results: BenchResult[];
}

/** Runs one limit in a child process (bench/limits-sender.ts); returns its wall time in ms. */
async function inChild(mode: 'email' | 'webhook' | 'durable', s: LimitSinks): Promise<number> {
  const job = {
    mode,
    smtpUrl: s.smtpUrl,
    receivers: s.receivers.map((r) => ({ url: r.url, secret: r.secret })),
    databaseUrl: s.databaseUrl,
    messages: LIMIT_MESSAGES,
    concurrency: CONCURRENCY,
    batch: BATCH,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/limits-sender.ts')], {
    cwd: root,
    env: { ...process.env, LIMITS_JOB: JSON.stringify(job) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{'))
    throw new Error(`limits ${mode}: sender exited ${code}:\n${err.slice(-2000)}`);
  return (JSON.parse(line) as { ms: number }).ms;
}

const perS = (ms: number) => Math.round(LIMIT_MESSAGES / (ms / 1000));

/** Measures the three limits against the caller's sinks. */
export async function measureLimits(s: LimitSinks): Promise<Limits> {
  if (s.receivers.length === 0) throw new Error('limits: no receivers');
  const load = `load average ${os.loadavg()[0]?.toFixed(2)} at start`;
  const c0 = s.smtpCount();
  const emailMs = await inChild('email', s);
  await new Promise((r) => setTimeout(r, 100));
  const got = s.smtpCount() - c0;
  if (got !== LIMIT_MESSAGES + WARMUP_EMAILS)
    throw new Error(`limits: the SMTP sink got ${got} messages, want ${LIMIT_MESSAGES + WARMUP_EMAILS}`);
  const email = { ms: emailMs, perS: perS(emailMs) };
  const hookMs = await inChild('webhook', s);
  const hook = { ms: hookMs, perS: perS(hookMs) };
  const durableMs = await inChild('durable', s);
  const durable = { ms: durableMs, perS: perS(durableMs) };
  const shape = `${CONCURRENCY} lanes (WORKER_CONCURRENCY) x ${BATCH} concurrent sends (DELIVERY_BATCH), ${LIMIT_MESSAGES.toLocaleString('en-US')} messages, in a child process (bench/limits-sender.ts) like the worker`;
  return {
    emailPerS: email.perS,
    webhookPerS: hook.perS,
    webhookDurablePerS: durable.perS,
    results: [
      {
        name: 'limits.email_per_s',
        value: email.perS,
        unit: 'emails/s',
        target: null,
        better: 'higher',
        note: `nodemailer ${(notifyRequire('nodemailer/package.json') as { version: string }).version} pool with createMailer's options (5 connections, 100 messages each, TCP_NODELAY, quoted-printable) -> smtp-server sink (counts every message, postal-mime on 1 in 500); one pre-built alert-sized message (text + HTML + List-Unsubscribe), a new recipient each; ${shape}; ${Math.round(email.ms)} ms; ${load}`,
      },
      {
        name: 'limits.webhook_per_s',
        value: hook.perS,
        unit: 'webhooks/s',
        target: null,
        better: 'higher',
        note: `node:http POSTs signed per message (HMAC-SHA256 v1, Standard Webhooks headers) over keep-alive agents (the sender's options: maxSockets 32, maxFreeSockets 8) to ${s.receivers.length} node:http receivers (standardwebhooks verifies 1 in 20); ${shape}; ${Math.round(hook.ms)} ms`,
      },
      {
        name: 'limits.webhook_durable_per_s',
        value: durable.perS,
        unit: 'webhooks/s',
        target: null,
        better: 'higher',
        note: `as limits.webhook_per_s, plus one batched UPDATE of the 50 "Delivery" rows (status succeeded, attempts, deliveredAt) per batch through Prisma's pg adapter: the least a service that loses nothing must write; ${Math.round(durable.ms)} ms`,
      },
    ],
  };
}

/**
 * ENDPOINTS receivers made by the delivery bench's startReceiver (node:http), each verifying 1 in 20
 * signatures with standardwebhooks; `check()` throws unless every sampled signature verified.
 */
export async function startLimitReceivers(closers: (() => Promise<unknown>)[]) {
  const { startReceiver } = await import('./delivery.bench.ts');
  let seen = 0;
  let sampled = 0;
  let verified = 0;
  const receivers: { url: string; secret: string }[] = [];
  for (let i = 0; i < ENDPOINTS; i++) {
    const r = await startReceiver(`whsec_${randomBytes(32).toString('base64')}`, (_h, verify) => {
      if (++seen % 20 === 0) {
        sampled++;
        if (verify()) verified++;
      }
    });
    receivers.push(r);
    closers.push(() => r.close());
  }
  return {
    receivers,
    check() {
      if (sampled === 0 || verified !== sampled)
        throw new Error(`limits: ${verified} of ${sampled} sampled signatures verified`);
    },
  };
}

export default async function run(): Promise<BenchResult[]> {
  // The sinks are the delivery bench's own (same smtp-server sink, same receivers).
  const { startLightSink } = await import('./delivery.bench.ts');
  await ensureTemplate();
  const db = await createTestDb();
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const sink = await startLightSink();
    closers.push(() => sink.close());
    const rx = await startLimitReceivers(closers);
    const limits = await measureLimits({
      smtpUrl: sink.url,
      smtpCount: sink.count,
      receivers: rx.receivers,
      databaseUrl: db.url,
    });
    rx.check();
    return limits.results;
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {});
    await db.drop();
  }
}
