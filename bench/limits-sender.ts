/**
 * The sending side of bench/limits.bench.ts, run as a CHILD PROCESS the way the worker is in the
 * delivery bench (the sinks stay in the bench process): `node --import tsx bench/limits-sender.ts`
 * with LIMITS_JOB = JSON { mode: 'email' | 'webhook' | 'durable', smtpUrl, receivers, databaseUrl,
 * messages, concurrency, batch }. Prints one JSON line { ms } when done. Only the libraries:
 * nodemailer, node:http + node:crypto, and a Prisma client (packages/db createPrisma, the worker's
 * pool size) for the durable run's status writes.
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPrisma, type PrismaClient } from '../packages/db/src/client.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const notifyRequire = createRequire(path.join(root, 'packages/notify/package.json'));

interface Job {
  mode: 'email' | 'webhook' | 'durable';
  smtpUrl: string;
  receivers: { url: string; secret: string }[];
  databaseUrl: string;
  messages: number;
  concurrency: number;
  batch: number;
}
const job = JSON.parse(process.env.LIMITS_JOB ?? '{}') as Job;
const LIMIT_MESSAGES = job.messages;
const CONCURRENCY = job.concurrency;
const BATCH = job.batch;

/** Runs `total` tasks in `lanes` lanes of `batch` concurrent tasks, then `after(batch)` per batch. */
async function lanes(
  total: number,
  send: (i: number) => Promise<void>,
  after?: (ids: number[]) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        const ids: number[] = [];
        while (ids.length < BATCH && next < total) ids.push(next++);
        await Promise.all(ids.map(send));
        if (after) await after(ids);
      }
    }),
  );
}

/** A message shaped like the product's alert email (same headers, similar text and HTML sizes). */
function sampleMessage() {
  const rows = ['Instrument NVDA', 'Move -16.9%', 'Threshold -10.0%', 'Fired at 2025-01-27 15:00 UTC', 'Status firing'];
  const text = `NVDA fell 16.9% in one session\nSeverity: critical\n\n${rows.join('\n')}\n\nRule: One-session drop of 10 %\nSource: 002_f83b04b47871ab2e.txt "Nvidia fiel um 17 %"\n\nHeadlines:\n- DeepSeek rattles chip stocks https://example.com/a\n\nView alert: http://signals.bench/admin/alerts/cmbench0000000000000000\n\n--\nYou get this because you subscribed to AI core.\nPreferences: http://signals.bench/preferences?token=${'x'.repeat(120)}\nUnsubscribe: http://signals.bench/unsubscribe?token=${'x'.repeat(120)}\n`;
  const cells = rows
    .map(
      (r) =>
        `<tr><td style="padding:4px 16px 4px 0;color:#71717a;">${r.split(' ')[0]}</td><td style="padding:4px 0;"><strong>${r.slice(r.indexOf(' ') + 1)}</strong></td></tr>`,
    )
    .join('');
  const html = `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head><body style="margin:0;padding:0;background:#f4f4f5;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;"><table role="presentation" width="100%" style="background:#f4f4f5;"><tr><td align="center" style="padding:24px;"><table role="presentation" width="600" style="background:#ffffff;border-radius:8px;padding:24px;"><tr><td><p style="margin:0 0 8px;"><span style="background:#dc2626;color:#fff;border-radius:4px;padding:2px 8px;font-size:12px;">CRITICAL</span></p><h1 style="font-size:20px;margin:0 0 16px;">NVDA fell 16.9% in one session</h1><table style="border-collapse:collapse;font-size:14px;">${cells}</table><h3 style="font-size:15px;margin:20px 0 8px;">Rule: One-session drop of 10 %</h3><p style="margin:0;color:#52525b;font-size:13px;">Source: 002_f83b04b47871ab2e.txt: “Nvidia fiel um 17 %”</p><h3 style="font-size:15px;margin:20px 0 8px;">Headlines</h3><ul style="margin:0;padding-left:20px;"><li><a href="https://example.com/a">DeepSeek rattles chip stocks</a></li></ul><p style="margin:24px 0;"><a href="http://signals.bench/admin/alerts/cmbench0000000000000000" style="background:#18181b;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none;">View alert</a></p></td></tr></table><p style="font-size:12px;color:#71717a;">You get this because you subscribed to AI core. <a href="http://signals.bench/preferences?token=${'x'.repeat(120)}">Preferences</a> · <a href="http://signals.bench/unsubscribe?token=${'x'.repeat(120)}">Unsubscribe</a></p></td></tr></table></body></html>`;
  return {
    subject: 'NVDA fell 16.9% in one session',
    text,
    html,
    headers: {
      'List-Unsubscribe': `<http://signals.bench/unsubscribe/one-click?token=${'x'.repeat(120)}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
  };
}

interface Transport {
  sendMail(m: Record<string, unknown>): Promise<unknown>;
  close(): void;
}

/** nodemailer's pool with createMailer's options (packages/notify/src/email/mailer.ts). */
function createPool(smtpUrl: string): Transport {
  const nodemailer = notifyRequire('nodemailer') as { createTransport(o: Record<string, unknown>): Transport };
  const u = new URL(smtpUrl);
  return nodemailer.createTransport({
    host: u.hostname,
    port: Number(u.port),
    secure: false,
    requireTLS: false,
    pool: true,
    maxConnections: 5,
    maxMessages: 100,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
    debug: false,
    getSocket: (opts: { host?: string; port?: number }, cb: (err: Error | null, socketOptions?: unknown) => void) => {
      const socket = net.connect({ host: opts.host ?? u.hostname, port: opts.port ?? Number(u.port) });
      socket.setNoDelay(true);
      socket.once('error', (e) => cb(e));
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        cb(null, { connection: socket });
      });
    },
  });
}

async function emailLimit(s: Job): Promise<{ ms: number }> {
  const msg = sampleMessage();
  const pool = createPool(s.smtpUrl);
  try {
    // Warm-up: open the pool's connections (the worker's pool is warm in its run too).
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        pool.sendMail({
          from: 'alerts@signals.bench',
          to: `warm${i}@limit.example`,
          ...msg,
          textEncoding: 'quoted-printable',
        }),
      ),
    );
    const t0 = performance.now();
    await lanes(LIMIT_MESSAGES, async (i) => {
      await pool.sendMail({
        from: '"Market Signals" <alerts@signals.bench>',
        to: `limit${i}@limit.example`,
        ...msg,
        messageId: `<limit-${i}-${t0}@signals.bench>`,
        textEncoding: 'quoted-printable',
      });
    });
    return { ms: performance.now() - t0 };
  } finally {
    pool.close();
  }
}

/** The signed POSTs, optionally with one status write per batch; returns messages per second. */
async function webhookLimit(s: Job & { prisma: PrismaClient }, durable: boolean): Promise<{ ms: number }> {
  // The sender's agent options (packages/notify/src/webhook/sender.ts agentFor), one per receiver.
  const agents = s.receivers.map(
    () => new http.Agent({ keepAlive: true, keepAliveMsecs: 1000, maxSockets: 32, maxFreeSockets: 8, timeout: 15_000 }),
  );
  const keys = s.receivers.map((r) => Buffer.from(r.secret.slice('whsec_'.length), 'base64'));
  const body = JSON.stringify({
    type: 'alert.firing',
    timestamp: new Date().toISOString(),
    data: {
      alertId: 'cmbench0000000000000000',
      rule: { id: 'cmrule00000000000000000', name: 'One-session drop of 10 %', kind: 'pct_move' },
      subject: 'NVDA',
      symbol: 'NVDA',
      status: 'firing',
      severity: 'critical',
      title: 'NVDA fell 16.9% in one session',
      value: -0.169,
      threshold: -0.1,
      firedAt: new Date().toISOString(),
      headlines: [{ title: 'DeepSeek rattles chip stocks', link: 'https://example.com/a' }],
    },
  });
  const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  let ids: string[] = [];
  if (durable) {
    // The rows the sends settle: as the outbox holds them while they are being sent.
    ids = Array.from({ length: LIMIT_MESSAGES }, (_, i) => `limit_${run}_${i}`);
    for (let i = 0; i < ids.length; i += 5000) {
      await s.prisma.delivery.createMany({
        data: ids.slice(i, i + 5000).map((id, j) => ({
          id,
          channel: 'webhook' as const,
          eventType: 'alert.firing',
          target: `webhook:limit-${run}-${i + j}`,
          messageId: `msg_${id}`,
          status: 'sending' as const,
        })),
      });
    }
    await s.prisma.$executeRawUnsafe('ANALYZE "Delivery"');
  }
  const send = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const ep = i % s.receivers.length;
      const r = s.receivers[ep] as { url: string };
      const id = `msg_limit_${run}_${i}`;
      const ts = Math.floor(Date.now() / 1000);
      const sig = createHmac('sha256', keys[ep] as Buffer)
        .update(`${id}.${ts}.${body}`, 'utf8')
        .digest('base64');
      const req = http.request(
        r.url,
        {
          method: 'POST',
          agent: agents[ep],
          headers: {
            'content-type': 'application/json',
            'user-agent': 'limits-bench',
            'webhook-id': id,
            'webhook-timestamp': String(ts),
            'webhook-signature': `v1,${sig}`,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`limits: HTTP ${res.statusCode}`)),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const write = async (batch: number[]) => {
    const n = await s.prisma.$executeRaw`
      UPDATE "Delivery" SET status = 'succeeded', attempts = attempts + 1,
             "deliveredAt" = now() AT TIME ZONE 'UTC', "updatedAt" = now() AT TIME ZONE 'UTC'
      WHERE id = ANY(${batch.map((i) => ids[i] as string)}::text[])`;
    if (n !== batch.length) throw new Error(`limits: status write updated ${n} rows, want ${batch.length}`);
  };
  try {
    await Promise.all(Array.from({ length: s.receivers.length * 2 }, (_, i) => send(LIMIT_MESSAGES + i))); // warm the agents
    const t0 = performance.now();
    await lanes(LIMIT_MESSAGES, send, durable ? write : undefined);
    const ms = performance.now() - t0;
    if (durable) {
      const left = await s.prisma.delivery.count({ where: { id: { in: ids }, status: { not: 'succeeded' } } });
      if (left !== 0) throw new Error(`limits: ${left} rows not marked succeeded`);
      await s.prisma.delivery.deleteMany({ where: { id: { in: ids } } });
    }
    return { ms };
  } finally {
    for (const a of agents) a.destroy();
  }
}

const out =
  job.mode === 'email'
    ? await emailLimit(job)
    : await (async () => {
        const prisma = createPrisma({ databaseUrl: job.databaseUrl });
        try {
          return await webhookLimit({ ...job, prisma }, job.mode === 'durable');
        } finally {
          await prisma.$disconnect();
        }
      })();
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
