/**
 * The upgrade drill: the previous release (tag v0.15.0, extracted and installed offline, see
 * previous-release.ts) runs as an install would, its own migrate, server and two workers on replayed
 * NVDA history with data set up by an operator; an alert's fan-out is in flight (a slow receiver)
 * when it stops: one worker is killed mid-delivery, the other and the server get SIGTERM. Then this
 * branch's code starts on the same database and the same Redis key space, as `npm start` or
 * `docker compose up -d` after a `git pull` would: its migrations apply, every delivery arrives
 * (webhooks verified with standardwebhooks, counted per webhook-id; the email at an SMTP sink),
 * none twice except a send the kill cut off after the receiver had it (the at-least-once case, seen
 * in the delivery log as an `interrupted` attempt), no alert fires again, the admin logs in and the
 * API key works. If the tag is missing the test fails saying how to fetch it.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { appVersion } from '@signals/config';
import { dropDatabase, repoPaths } from '@signals/db';
import {
  freePort,
  type SmtpSink,
  serverUrl,
  startSmtpSink,
  startWebhookReceiver,
  startWorkerProcess,
  testPrefix,
  type WebhookReceiver,
  type WorkerProcess,
} from '@signals/testing';
import { readMigrations } from '../../../packages/db/src/migrate/engine.ts';
import { BASELINE_MIGRATION } from '../../../packages/db/src/migrate/safety.ts';
import {
  DRILL_REPLAY_START,
  deliveryState,
  DRILL,
  drillEnv,
  expectPeopleStillIn,
  lastSnapshotId,
  mailsTo,
  OLD_RELEASE_REPLAY_START,
  pnpmCli,
  replayReached,
  run,
  seedDrill,
  serverUp,
  startServerProcess,
  until,
  untilAllSent,
} from './ops-helpers.ts';
import { installPreviousRelease, PREVIOUS_TAG } from './previous-release.ts';

const { secret: SECRET, endpoints: ENDPOINTS } = DRILL;

describe(`upgrade from ${PREVIOUS_TAG} on the same database and Redis`, () => {
  const url = serverUrl(`signals_upgrade_${process.pid}_${randomBytes(3).toString('hex')}`);
  const workers: WorkerProcess[] = [];
  const children: ChildProcess[] = [];
  let receiver: WebhookReceiver | undefined;
  let sink: SmtpSink | undefined;
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    for (const c of children) c.kill('SIGKILL');
    await receiver?.close();
    await sink?.close();
    await dropDatabase(url).catch(() => {});
  });

  function startServer(root: string, env: Record<string, string>, port: number): ChildProcess {
    const child = startServerProcess(root, env, port);
    children.push(child);
    return child;
  }
  const exited = (c: ChildProcess) =>
    c.exitCode !== null || c.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((r) => c.once('exit', () => r()));

  it('applies the migrations and loses or doubles nothing; the admin and the API key still work', async () => {
    const old = (await installPreviousRelease()).dir;
    // The expand/contract check starts after the previous release's last migration.
    const oldMigrations = readMigrations(path.join(old, 'prisma/migrations')).map((m) => m.name);
    expect(oldMigrations.at(-1)).toBe(BASELINE_MIGRATION);
    /** The previous release's own `cli migrate` on the drill's database. */
    const oldMigrate = () =>
      run(process.execPath, ['--import', 'tsx', 'apps/cli/src/main.ts', 'migrate'], { DATABASE_URL: url }, old);

    // The previous release sets up its database with its own command, and an operator's data.
    const m0 = await oldMigrate();
    expect(m0.code, m0.stderr).toBe(0);
    receiver = await startWebhookReceiver({ secret: SECRET, delayMs: 3000 });
    sink = await startSmtpSink();
    const seed = await seedDrill(url, {
      receiverUrl: receiver.url,
      endpoints: ENDPOINTS,
      secret: SECRET,
      admin: DRILL.admin,
    });
    const env = {
      ...drillEnv(sink.url, OLD_RELEASE_REPLAY_START),
      DATABASE_URL: url,
      // The same key space before and after: jobs the previous release queued are run by the new code.
      QUEUE_PREFIX: testPrefix('upgrade'),
    };
    const oldA = startWorkerProcess('oldA', env, { root: old });
    const oldB = startWorkerProcess('oldB', env, { root: old });
    workers.push(oldA, oldB);
    const oldPort = await freePort();
    const oldServer = startServer(old, env, oldPort);
    await Promise.all([oldA.started(120_000), oldB.started(120_000), serverUp(oldPort)]);
    await until(
      async () => (await deliveryState(url)).rows.length > ENDPOINTS,
      120_000,
      'the alert of 25 Feb 2021',
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}\n${[...oldA.logs, ...oldB.logs]
          .filter((l) => /"level":(40|50)|ERR/.test(l))
          .slice(-20)
          .join('\n')}`,
      );
    });
    await receiver.waitFor(1, 60_000); // the fan-out is on the wire

    // The stop: one worker dies mid-delivery, the other and the server are stopped as usual.
    oldA.child.kill('SIGKILL');
    oldB.child.kill('SIGTERM');
    oldServer.kill('SIGTERM');
    await Promise.all([exited(oldA.child), exited(oldB.child), exited(oldServer)]);
    const atStop = await deliveryState(url);
    expect(atStop.alerts).toBe(1);
    expect(atStop.rows).toHaveLength(ENDPOINTS + 1);

    // This branch's code on the same database: migrations first (what `npm start` and the compose
    // file's migrate service do), then the worker and the server.
    const ours = readMigrations(repoPaths().migrationsDir).map((m) => m.name);
    const newer = ours.filter((n) => !oldMigrations.includes(n));
    const m1 = await pnpmCli(['migrate'], { DATABASE_URL: url });
    expect(m1.code, m1.stderr).toBe(0);
    expect(m1.stdout).toContain(newer.length ? `applied: ${newer.join(', ')}` : 'database is up to date');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const recorded = await c
      .query<{ name: string }>(
        `SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY 1`,
      )
      .finally(() => c.end());
    expect(recorded.rows.map((r) => r.name)).toEqual(ours);

    const quotesBefore = await lastSnapshotId(url);
    // This branch's worker holds its replay clock until its first tick: it starts on the event's morning.
    const next = startWorkerProcess('new', { ...env, REPLAY_START: DRILL_REPLAY_START });
    workers.push(next);
    const port = await freePort();
    startServer(repoPaths().root, env, port);
    await next.started(120_000);
    await untilAllSent(url, next.logs);
    const done = await deliveryState(url);
    expect(done.byStatus).toEqual({ succeeded: ENDPOINTS + 1 });

    // Nothing lost: every webhook arrived, verified. Nothing doubled, except a send the kill cut
    // off after the receiver had taken it (logged as an interrupted attempt and sent again).
    const c2 = new pg.Client({ connectionString: url });
    await c2.connect();
    const interrupted = await c2
      .query<{ messageId: string; channel: string }>(`
        SELECT DISTINCT d."messageId", d.channel::text FROM "DeliveryAttempt" a JOIN "Delivery" d ON d.id = a."deliveryId"
        WHERE a.outcome = 'interrupted'`)
      .finally(() => c2.end());
    const cutOff = new Set(interrupted.rows.map((r) => r.messageId));
    const counts = new Map<string, number>();
    for (const r of receiver.requests.filter((x) => x.status === 200))
      counts.set(r.id ?? '', (counts.get(r.id ?? '') ?? 0) + 1);
    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    const hooks = done.rows.filter((d) => d.channel === 'webhook').map((d) => d.messageId);
    expect([...counts.keys()].sort()).toEqual([...hooks].sort());
    const doubled = [...counts].filter(([id, n]) => n > 1 && !(cutOff.has(id) && n === 2));
    expect(doubled).toEqual([]);
    const emailCutOff = interrupted.rows.some((r) => r.channel === 'email');
    const mails = mailsTo(sink.messages, seed.subscriberEmail).length;
    expect(emailCutOff ? mails >= 1 && mails <= 2 : mails === 1).toBe(true);

    // The new release runs past the event again: nothing fires twice.
    await until(() => replayReached(url, quotesBefore, '2021-03-01'), 180_000, 'the replay past the event');
    const later = await deliveryState(url);
    expect(later.alerts).toBe(1);
    expect(later.rows).toHaveLength(ENDPOINTS + 1);

    // The new server: its version, the admin's password, the API key made before the upgrade.
    await expectPeopleStillIn(port, seed.apiKey);
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { version: string };
    expect(health.version).toBe(appVersion());

    // Rolling back to the previous release on the migrated database: its runner finds nothing of
    // its own to apply and ignores the newer migrations (README "Upgrading (and rolling back)").
    const back = await oldMigrate();
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('database is up to date');
  }, 600_000);
});
