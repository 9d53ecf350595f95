/**
 * Issue 18, item 1, at send time: a template bomb stored behind the save check (written straight
 * into the database) costs one render its thread, not the worker. A real worker process, real
 * SMTP server in-process: the alert still goes out with the built-in message, the attempt records
 * why, the process's memory stays bounded (sampled from /proc), and it goes on delivering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRedisUrl } from '@signals/config';
import { createAlertWithDeliveries } from '@signals/db';
import { createQueues, createRedis } from '@signals/queue';
import {
  createTestDb,
  sampleRss,
  startSmtpSink,
  startWorkerProcess,
  TEMPLATE_BOMB,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
  type WorkerProcess,
} from '@signals/testing';
import { alertFor, seedScenario, until } from './helpers.ts';

/**
 * Headroom over the worker's memory before the send: a render thread (its own V8 heap and the
 * TypeScript loader) takes tens of MB. The bomb, rendered in-process, takes 268 MB for its string
 * alone (and as much again to trim it).
 */
const RSS_HEADROOM_MB = 160;

let db: TestDb;
let worker: WorkerProcess | undefined;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await worker?.stop();
  await db?.drop();
});

describe('a stored template bomb at send time', () => {
  it('sends the built-in message, records why, stays within its memory and keeps delivering', async () => {
    const sink = await startSmtpSink();
    const prefix = testPrefix('bomb');
    const s = await seedScenario(db.prisma, { subscribers: [{ email: 'bomb-target@example.com' }] });
    await db.prisma.messageTemplate.create({ data: { key: 'email.body', source: TEMPLATE_BOMB } });
    worker = startWorkerProcess('W', {
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      SMTP_URL: sink.url,
      WORKER_QUEUES: 'deliveries',
      EMAIL_GROUP_WAIT_SEC: '0',
      PUBLIC_BASE_URL: 'http://signals.test',
    });
    const redis = createRedis(parseRedisUrl(TEST_REDIS_URL), 'producer');
    const queues = createQueues(redis, prefix);
    try {
      await worker.started(90_000);
      const pid = worker.child.pid as number;
      const before = worker.rssMb() as number;
      const rss = sampleRss(pid);
      const send = async (firedAt: string) => {
        const r = await createAlertWithDeliveries(db.prisma, alertFor(s.rule.id, new Date(firedAt)), {
          now: new Date(),
          emailGroupWaitMs: 0,
        });
        await queues.enqueueDeliveries(r.deliveryIds.map((id) => ({ id })));
        return r.deliveryIds;
      };

      const [first] = await send('2025-01-27T21:00:00Z');
      await until(async () => sink.messages.length >= 1, 90_000, 'the first alert mail');
      const mail = sink.messages[0];
      // The built-in message, not megabytes of "xxxx".
      expect(mail?.text).toContain('NVDA fell 16.9% in one session');
      expect(mail?.text).not.toContain('xxxxxxxx');
      const attempt = await until(
        async () =>
          db.prisma.deliveryAttempt.findFirst({ where: { deliveryId: first as string, outcome: 'ok' } }) ?? undefined,
        30_000,
        'the attempt record',
      );
      expect(attempt?.error).toMatch(
        /^message template email\.body failed \(the template builds more than 1,000,000 characters.*\): the built-in message was sent$/,
      );
      expect(worker.logs.join('\n')).toContain('message template failed at send time');

      // Still up, and still delivering.
      await send('2025-01-28T21:00:00Z');
      await until(async () => sink.messages.length >= 2, 90_000, 'the second alert mail');
      expect(worker.child.exitCode).toBeNull();
      const { peakMb, samples } = rss.stop();
      console.info(`worker RSS: ${before.toFixed(0)} MB before, peak ${peakMb.toFixed(0)} MB (${samples} samples)`);
      expect(samples).toBeGreaterThan(5);
      expect(peakMb - before).toBeLessThan(RSS_HEADROOM_MB);
    } finally {
      await queues.close().catch(() => {});
      redis.disconnect();
      await sink.close();
    }
  }, 240_000);
});
