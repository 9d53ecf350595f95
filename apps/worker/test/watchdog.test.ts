/**
 * What tells people the service stopped watching, with real worker PROCESSES:
 * - service.degraded / service.recovered: the process that sweeps is stopped; two other processes
 *   notice the overdue sweep on their local timers and, together, write ONE incident whose events
 *   reach the webhook endpoints that accept them (signatures verified with standardwebhooks, the
 *   body valid against the published schema, a Slack endpoint gets a readable message) and every
 *   admin by email; the sweep running again closes it with one recovery of each.
 * - the dead man's switch (HEARTBEAT_URL) against a fake checker over a real socket: called after
 *   evaluation cycles, a checker that hangs or refuses is logged without its secret and retried
 *   while evaluation goes on, and an invalid URL stops the process with exit code 78.
 */
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { repoPaths } from '@signals/db';
import {
  createTestDb,
  startSmtpSink,
  startWebhookReceiver,
  startWorkerProcess,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
  type WorkerProcess,
} from '@signals/testing';
import { until } from './helpers.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
// The published schema as a validator (zod builds it, as in notify's schema test; the worker
// package does not depend on zod, so it is loaded from notify's).
const notifyDir = path.join(repoPaths().root, 'packages/notify');
type Validator = { safeParse(v: unknown): { success: boolean; error?: unknown } };
const { z } = (await import(createRequire(path.join(notifyDir, 'package.json')).resolve('zod'))) as {
  z: { fromJSONSchema(schema: unknown): Validator };
};
const schema = z.fromJSONSchema(
  JSON.parse(fs.readFileSync(path.join(notifyDir, 'schema/webhook-event.v1.json'), 'utf8')),
);

// The three drills share nothing (each its own database, queue prefix and processes), so they run
// at once: most of their time is spent waiting for processes to start and for timers to fire.
describe.concurrent('watchdog: degraded and recovered events, and the dead man’s switch', () => {
  const dbs: TestDb[] = [];
  const procs: WorkerProcess[] = [];
  /** A database of the test's own: another drill's loops and incidents must not count here. */
  async function ownDb(): Promise<TestDb> {
    const db = await createTestDb();
    dbs.push(db);
    return db;
  }
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(dbs.map((db) => db.drop()));
  });

  const baseEnv = (db: TestDb, prefix: string, smtpUrl: string) => ({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    SMTP_URL: smtpUrl,
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    PUBLIC_BASE_URL: 'https://signals.example.org',
    // Nothing is watched, so price ticks never reach Yahoo. The other loops keep their default
    // intervals (minutes before they could be overdue), so a slow job on a loaded machine cannot
    // raise an incident of its own; each test shortens what it exercises.
    SELF_CHECK_SEC: '1',
  });

  it('one service.degraded and one service.recovered per outage, to endpoints that accept them and to every admin', async ({
    expect,
  }) => {
    const db = await ownDb();
    const sink = await startSmtpSink();
    const standard = await startWebhookReceiver({ secret: SECRET });
    const slack = await startWebhookReceiver({ secret: SECRET, script: [{ status: 200, body: 'ok' }] });
    const alertsOnly = await startWebhookReceiver({ secret: SECRET });
    await db.prisma.webhookEndpoint.createMany({
      data: [
        { url: `${standard.url}/ops`, secret: SECRET },
        {
          url: `${slack.url}/services/T0/B0/x`,
          secret: SECRET,
          format: 'slack',
          eventTypes: ['service.degraded', 'service.recovered'],
        },
        { url: `${alertsOnly.url}/alerts`, secret: SECRET, eventTypes: ['alert.firing'] },
      ],
    });
    await db.prisma.adminUser.createMany({
      data: [
        { email: 'oncall@example.org', passwordHash: 'scrypt$x' },
        { email: 'lead@example.org', passwordHash: 'scrypt$x' },
      ],
    });
    const prefix = testPrefix('degraded');
    // The sweep every 3 s: overdue 10 s after it stops (the floor), reported 2 s later.
    const env = { ...baseEnv(db, prefix, sink.url), SWEEP_INTERVAL_SEC: '3', DEGRADED_AFTER_SEC: '2' };
    const logs: string[] = [];
    // The sweeper alone in one process; two others send, poll, evaluate, and both watch.
    const sweeper = startWorkerProcess('SWEEP', { ...env, WORKER_QUEUES: 'maintenance' }, { logs });
    const senders = ['S1', 'S2'].map((n) =>
      startWorkerProcess(n, { ...env, WORKER_QUEUES: 'deliveries,prices,news,evaluate' }, { logs }),
    );
    procs.push(sweeper, ...senders);
    await Promise.all([sweeper, ...senders].map((p) => p.started(120_000)));
    await until(
      async () => (await db.prisma.loopHeartbeat.findUnique({ where: { loop: 'sweep' } }))?.lastSuccessAt,
      60_000,
      'a first sweep',
    );

    await sweeper.stop();
    const degradedBody = (r: { body: unknown }) => (r.body as { type?: string }).type === 'service.degraded';
    await until(async () => standard.requests.some(degradedBody), 60_000, 'service.degraded at the endpoint');
    const degraded = standard.requests.find(degradedBody);
    expect(degraded?.verified).toBe(true);
    const event = degraded?.body as {
      type: string;
      data: {
        incident: { id: string; loop: string; name: string; status: string; lastSuccessAt: string; url: string };
      };
    };
    expect(schema.safeParse(event).error).toBeUndefined();
    expect(event.data.incident).toMatchObject({
      loop: 'sweep',
      name: 'Delivery sweep',
      status: 'degraded',
      url: 'https://signals.example.org/admin/system',
    });
    const [toSlack] = await slack.waitFor(1, 60_000);
    expect(toSlack?.verified).toBe(true);
    expect((toSlack?.body as { text: string } | undefined)?.text).toBe('Degraded: Delivery sweep has stopped');
    for (const to of ['oncall@example.org', 'lead@example.org']) {
      const mail = await sink.waitFor((m) => m.to.includes(to) && m.subject.includes('Degraded'), 60_000);
      expect(mail.subject).toBe('[Market Signals] Degraded: Delivery sweep has stopped');
      expect(mail.text).toContain('https://signals.example.org/admin/system');
    }

    // The sweep runs again: recovered, with the same incident id.
    procs.push(startWorkerProcess('SWEEP2', { ...env, WORKER_QUEUES: 'maintenance' }, { logs }));
    const recoveredBody = (r: { body: unknown }) => (r.body as { type?: string }).type === 'service.recovered';
    // (A new process: starting one takes a minute on a loaded machine.)
    await until(async () => standard.requests.some(recoveredBody), 240_000, 'service.recovered at the endpoint');
    const recovered = standard.requests.find(recoveredBody)?.body as typeof event & {
      data: { incident: { recoveredAt: string } };
    };
    expect(schema.safeParse(recovered).error).toBeUndefined();
    expect(recovered.data.incident.id).toBe(event.data.incident.id);
    expect(recovered.data.incident.recoveredAt).toEqual(expect.any(String));
    await slack.waitFor(2, 60_000);
    for (const to of ['oncall@example.org', 'lead@example.org'])
      await sink.waitFor(
        (m) => m.to.includes(to) && m.subject.includes('Recovered: Delivery sweep runs again'),
        60_000,
      );

    // One of each per outage, however many processes watched: one incident, written once, closed once.
    const incidents = await db.prisma.loopIncident.findMany();
    expect(incidents.map((i) => [i.loop, i.recoveredAt !== null])).toEqual([['sweep', true]]);
    const rows = await db.prisma.delivery.groupBy({ by: ['eventType', 'channel'], _count: { _all: true } });
    const count = (eventType: string, channel: string) =>
      rows.find((r) => r.eventType === eventType && r.channel === channel)?._count._all;
    expect([count('service.degraded', 'webhook'), count('service.degraded', 'email')]).toEqual([2, 2]);
    expect([count('service.recovered', 'webhook'), count('service.recovered', 'email')]).toEqual([2, 2]);
    await until(
      async () =>
        (await db.prisma.delivery.count({ where: { eventType: { startsWith: 'service.' }, status: 'succeeded' } })) ===
        8,
      60_000,
      'all eight sent',
    );
    expect(alertsOnly.requests).toHaveLength(0); // it asked for alerts only
    expect(standard.requests.filter((r) => r.status === 200)).toHaveLength(2);

    await Promise.all([standard.close(), slack.close(), alertsOnly.close(), sink.close()]);
  }, 420_000);

  it('calls HEARTBEAT_URL after evaluation cycles; a checker that hangs or is down is retried, logged without its secret, and never holds evaluation', async ({
    expect,
  }) => {
    const TOKEN = '0f4c5a4e-6a8f-4b43-9d0e-2b7b5c1f9a11'; // healthchecks.io-style: the URL is the secret
    let mode: 'up' | 'hang' | 'refuse' = 'up';
    const calls: { at: number; path: string }[] = [];
    const hung: http.ServerResponse[] = [];
    const checker = http.createServer((req, res) => {
      if (mode === 'refuse') {
        req.socket.destroy();
        return;
      }
      if (mode === 'hang') {
        hung.push(res); // never answered
        return;
      }
      calls.push({ at: Date.now(), path: req.url ?? '' });
      res.writeHead(200).end('OK');
    });
    await new Promise<void>((resolve) => checker.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(checker.address() as AddressInfo).port}/ping/${TOKEN}`;
    const db = await ownDb();
    const sink = await startSmtpSink();
    const logs: string[] = [];
    const w = startWorkerProcess(
      'HB',
      {
        ...baseEnv(db, testPrefix('heartbeat'), sink.url),
        WORKER_QUEUES: 'evaluate',
        EVALUATE_INTERVAL_SEC: '5',
        HEARTBEAT_URL: url,
      },
      { logs },
    );
    procs.push(w);
    await w.started(120_000);
    await until(async () => calls.length >= 2, 60_000, 'two heartbeat calls');
    expect(calls.every((c) => c.path === `/ping/${TOKEN}`)).toBe(true);

    const evaluatedAt = async () =>
      (await db.prisma.loopHeartbeat.findUnique({ where: { loop: 'evaluate' } }))?.lastSuccessAt?.getTime() ?? 0;
    // Hanging: calls time out; evaluation cycles go on meanwhile.
    mode = 'hang';
    await until(async () => hung.length >= 1, 30_000, 'a call to the hanging checker');
    const hangStart = Date.now();
    await until(async () => (await evaluatedAt()) > hangStart + 5000, 60_000, 'evaluation while the checker hangs');
    await until(async () => logs.some((l) => l.includes('heartbeat call failed')), 30_000, 'the failure logged');
    // Refusing connections: logged and retried too.
    mode = 'refuse';
    const failuresBefore = logs.filter((l) => l.includes('heartbeat call failed')).length;
    await until(
      async () => logs.filter((l) => l.includes('heartbeat call failed')).length >= failuresBefore + 2,
      60_000,
      'two more failures, retried',
    );
    const refusedAt = Date.now();
    await until(async () => (await evaluatedAt()) > refusedAt, 60_000, 'evaluation while the checker is down');

    // Back up: the next call (a retry or a new cycle) arrives.
    const before = calls.length;
    mode = 'up';
    await until(async () => calls.length > before, 90_000, 'calls again once the checker is back');

    const failures = logs.filter((l) => l.includes('heartbeat call failed'));
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures[0]).toContain('/ping/***');
    // The secret is in no log line at all.
    expect(logs.filter((l) => l.includes(TOKEN))).toEqual([]);

    for (const res of hung) res.destroy();
    await new Promise<void>((resolve) => checker.close(() => resolve()));
    await sink.close();
  }, 420_000);

  it('an invalid HEARTBEAT_URL stops the worker at start with exit code 78, naming the variable', async ({
    expect,
  }) => {
    const db = await ownDb();
    const logs: string[] = [];
    const w = startWorkerProcess(
      'BAD',
      { ...baseEnv(db, testPrefix('badhb'), 'smtp://127.0.0.1:1'), HEARTBEAT_URL: 'hc-ping.com/secret-uuid-123' },
      { logs },
    );
    procs.push(w);
    const code = await new Promise<number | null>((resolve) => w.child.once('exit', (c) => resolve(c)));
    expect(code).toBe(78);
    const out = logs.join('\n');
    expect(out).toMatch(/HEARTBEAT_URL: must be a URL \(http: or https:\)/);
    expect(out).not.toContain('secret-uuid-123');
  }, 120_000);
});
