/**
 * The backup drill, as an operator would live it: a worker PROCESS on replayed NVDA history fires
 * an alert and is delivering it (a slow webhook receiver keeps the sends in flight) when
 * `pnpm cli backup` runs; then the machine is lost (the worker is killed). The backup is restored
 * with `pnpm cli restore` into a new database on another PostgreSQL (the embedded 18; the source
 * is the machine's 15), and a worker and a server start on it with an empty Redis key space:
 * - every delivery that was pending or sending in the backup arrives once (webhooks verified with
 *   standardwebhooks, counted by webhook-id; the email at an SMTP sink), none that had succeeded
 *   arrives again;
 * - the replay goes past the event again and no alert fires again (the rule's state came back);
 * - the admin logs in with the password and the API key still works.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_NAME, appVersion } from '@signals/config';
import { repoPaths, writeBackup } from '@signals/db';
import {
  createTestDb,
  freePort,
  type PostgresServer,
  type SmtpSink,
  startPostgresServer,
  startSmtpSink,
  startWebhookReceiver,
  startWorkerProcess,
  type TestDb,
  testPrefix,
  type WebhookReceiver,
  type WorkerProcess,
} from '@signals/testing';
import {
  deliveryState,
  DRILL,
  drillEnv,
  expectPeopleStillIn,
  lastSnapshotId,
  mailsTo,
  pnpmCli,
  replayReached,
  seedDrill,
  startServerProcess,
  until,
  untilAllSent,
  webhookCounts,
} from './ops-helpers.ts';

const { secret: SECRET, endpoints: ENDPOINTS } = DRILL;

describe('backup while alerts are in flight, restore into a new database on another PostgreSQL, start', () => {
  let src: TestDb | undefined;
  let pg18: PostgresServer | undefined;
  let receiver: WebhookReceiver | undefined;
  let sink: SmtpSink | undefined;
  const workers: WorkerProcess[] = [];
  const children: ChildProcess[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-drill-'));
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    for (const c of children) c.kill('SIGKILL');
    await receiver?.close();
    await sink?.close();
    await src?.drop();
    await pg18?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends each pending delivery once, fires nothing again, and the admin and the API key still work', async () => {
    // The other PostgreSQL starts (initdb, then the server) while the drill runs up to the backup.
    // (Kept in pg18 as soon as it is up, so afterAll destroys it whatever fails meanwhile.)
    const pg18Started = startPostgresServer().then((s) => {
      pg18 = s;
      return s;
    });
    pg18Started.catch(() => {}); // awaited below, where a failure is reported
    src = await createTestDb();
    await src.prisma.$disconnect();
    // Answers take 2 s: the fan-out is in flight while the backup is taken.
    receiver = await startWebhookReceiver({ secret: SECRET, delayMs: 2000 });
    sink = await startSmtpSink();
    const seed = await seedDrill(src.url, {
      receiverUrl: receiver.url,
      endpoints: ENDPOINTS,
      secret: SECRET,
      admin: DRILL.admin,
    });
    // The webhook User-Agent names this install's public URL.
    const workerEnv = { ...drillEnv(sink.url), PUBLIC_BASE_URL: 'https://signals.example.com' };
    const before = startWorkerProcess('before', { ...workerEnv, DATABASE_URL: src.url, QUEUE_PREFIX: testPrefix('b') });
    workers.push(before);
    await before.started(120_000);
    await until(async () => (await deliveryState(src?.url ?? '')).rows.length > ENDPOINTS, 120_000, 'the alert');
    await receiver.waitFor(1, 60_000); // sends are on the wire

    // In this process, at once: a CLI process would start too late on a loaded machine to find the
    // sends in flight (\`pnpm cli backup\` itself is run by backup.test.ts).
    const file = path.join(dir, 'signals.backup');
    await writeBackup({
      databaseUrl: src.url,
      out: fs.createWriteStream(file),
      app: { name: APP_NAME, version: appVersion() },
    });
    before.child.kill('SIGKILL'); // the machine is lost
    await new Promise<void>((r) => before.child.once('exit', () => r()));
    // Answers to sends of the lost worker still land (the receiver answers after its delay): let
    // them, then count only what arrives after the restore. (setImmediate first: a request whose
    // bytes came in the same event-loop turn as the exit is then parsed and held.)
    await new Promise((r) => setImmediate(r));
    await until(async () => receiver?.held === 0, 30_000, 'the answers held for the lost worker');
    const webhooksBefore = receiver.requests.length;
    const mailsBefore = sink.messages.length;

    const target = (await pg18Started).url('signals_restored');
    const r = await pnpmCli(['restore', file], { DATABASE_URL: target });
    expect(r.code, r.stderr).toBe(0);
    const restored = await deliveryState(target);
    expect(restored.alerts).toBe(1);
    expect(restored.rows).toHaveLength(ENDPOINTS + 1); // the endpoints and the subscriber's email
    // The backup caught the fan-out in flight (the receiver holds every answer for 2 s).
    expect(restored.unsent.length, JSON.stringify(restored.byStatus)).toBeGreaterThan(0);

    const quotesBefore = await lastSnapshotId(target);
    const after = startWorkerProcess('after', { ...workerEnv, DATABASE_URL: target, QUEUE_PREFIX: testPrefix('a') });
    workers.push(after);
    const port = await freePort();
    const server = startServerProcess(
      repoPaths().root,
      { ...workerEnv, DATABASE_URL: target, QUEUE_PREFIX: testPrefix('s') },
      port,
    );
    children.push(server);
    await after.started(120_000);

    // Every delivery not yet sent in the backup is sent (sending ones after their lease).
    await untilAllSent(target, after.logs);
    const now = await deliveryState(target);
    expect(now.byStatus).toEqual({ succeeded: ENDPOINTS + 1 });

    // Exactly once, and only those: by webhook-id (= the delivery's messageId), verified.
    const arrived = webhookCounts(receiver.requests.slice(webhooksBefore));
    const unsentHooks = restored.unsent.filter((d) => d.channel === 'webhook').map((d) => d.messageId);
    expect([...arrived.keys()].sort()).toEqual([...unsentHooks].sort());
    expect([...arrived.values()].every((n) => n === 1)).toBe(true);
    for (const req of receiver.requests.slice(webhooksBefore))
      expect(req.headers['user-agent']).toBe(`market-signals/${appVersion()} (+https://signals.example.com)`);
    const emailUnsent = restored.unsent.some((d) => d.channel === 'email');
    expect(mailsTo(sink.messages.slice(mailsBefore), seed.subscriberEmail)).toHaveLength(emailUnsent ? 1 : 0);

    // The new worker's replay runs past 25 Feb 2021 again (it wrote a quote of March): no new
    // alert, no new delivery.
    await until(() => replayReached(target, quotesBefore, '2021-03-01'), 180_000, 'the replay past the event');
    const later = await deliveryState(target);
    expect(later.alerts).toBe(1);
    expect(later.rows).toHaveLength(ENDPOINTS + 1);

    // People: the admin logs in with the password of the backed-up install; the API key works.
    await expectPeopleStillIn(port, seed.apiKey);
  }, 480_000);
});
