/**
 * Unsubscribing cancels mail already queued for the address (apps/server/src/services/subscribers.ts
 * marks its pending and failed deliveries dead): a delivery job waiting in Redis (delayed, as an
 * alert email is while its group gathers) that runs after the one-click unsubscribe sends nothing,
 * and the row says why. The unsubscribe goes through the server's real route with a signed link; the
 * delivery runs in the real worker with a real SMTP sink; the clock is injected, not waited for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertWithDeliveries, resolveSigningKeys, signSubscriberToken } from '@signals/db';
import { startSmtpSink, type SmtpSink } from '@signals/testing';
import { type Harness as ServerHarness, startHarness as startServer } from '../../server/test/harness.ts';
import { alertFor, type Harness, seedScenario, startHarness, until } from './helpers.ts';

describe('unsubscribe cancels deliveries already queued for the address', () => {
  let server: ServerHarness;
  let sink: SmtpSink;
  let worker: Harness;
  let offsetMs = 0;
  const clock = { now: () => new Date(Date.now() + offsetMs) };
  beforeAll(async () => {
    server = await startServer();
    sink = await startSmtpSink();
    worker = await startHarness({ prisma: server.db.prisma, prefix: server.prefix, smtpUrl: sink.url, clock });
  });
  afterAll(async () => {
    await worker?.close();
    await sink?.close();
    await server?.close();
  });

  it('a delayed alert email promoted after the one-click unsubscribe sends nothing; the row says why', async () => {
    const prisma = server.db.prisma;
    const s = await seedScenario(prisma, {
      subscribers: [{ email: 'leaving@example.com' }, { email: 'staying@example.com' }],
    });
    const [leaving, staying] = s.subscribers as [(typeof s.subscribers)[0], (typeof s.subscribers)[0]];
    // The alert emails wait an hour for their group (emailGroupWaitMs): due later, delayed in Redis.
    const waitMs = 3600_000;
    const fired = await createAlertWithDeliveries(prisma, alertFor(s.rule.id, new Date('2025-01-27T21:00:00Z')), {
      now: clock.now(),
      emailGroupWaitMs: waitMs,
    });
    expect(fired.deliveryIds).toHaveLength(2);
    await worker.queues.enqueueDeliveries(
      fired.deliveryIds.map((id) => ({ id, delayMs: waitMs })),
      { batchSize: 10 },
    );
    const q = worker.queues.get('deliveries');
    const delayed = await q.getJobs(['delayed']);
    expect(delayed.length).toBeGreaterThan(0);
    const rowOf = (subscriberId: string) =>
      prisma.delivery.findFirstOrThrow({ where: { subscriberId }, include: { attemptLog: true } });
    expect((await rowOf(leaving.id)).status).toBe('pending');

    // The reader clicks the one-click unsubscribe (RFC 8058 POST) of an earlier mail.
    const token = signSubscriberToken((await resolveSigningKeys(prisma)).current, leaving.id, leaving.tokenVersion);
    const res = await server.app.request(`/unsubscribe?token=${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(200);
    const cancelled = await rowOf(leaving.id);
    expect(cancelled).toMatchObject({ status: 'dead', lastError: 'subscriber unsubscribed', attempts: 0 });

    // The hour passes (injected clock) and the jobs are promoted: the worker runs them now.
    offsetMs = waitMs + 60_000;
    for (const job of delayed) await job.promote();
    const sent = await sink.waitFor((m) => m.to.includes('staying@example.com'), 15_000);
    expect(sent.subject).toMatch(/NVDA/);
    await until(async () => (await rowOf(staying.id)).status === 'succeeded', 10_000, 'staying subscriber’s mail');
    // The same job carried both rows: once the other is recorded, this one has been decided too.
    await until(async () => (await q.getJobCounts('active', 'waiting')).active === 0, 10_000, 'jobs done');

    expect(sink.messages.filter((m) => m.to.includes('leaving@example.com'))).toEqual([]);
    const after = await rowOf(leaving.id);
    expect(after).toMatchObject({ status: 'dead', lastError: 'subscriber unsubscribed', attempts: 0 });
    expect(after.attemptLog).toEqual([]);
    expect(after.deliveredAt).toBeNull();
  });
});
