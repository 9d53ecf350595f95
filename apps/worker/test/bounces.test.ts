/**
 * Bounces by meaning, through the real delivery path and a real SMTP server answering the codes:
 * only a mailbox that does not work counts against the subscriber; a message refused for its
 * content or by policy fails alone; a message accepted starts the count over.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDb,
  type SmtpSink,
  type SmtpSinkOptions,
  startSmtpSink,
  type TestDb,
  testPrefix,
} from '@signals/testing';
import { alertFor, type Harness, seedScenario, startHarness, until } from './helpers.ts';

let db: TestDb;
let sink: SmtpSink | undefined;
let h: Harness | undefined;
beforeAll(async () => {
  db = await createTestDb();
});
afterEach(async () => {
  await h?.close();
  await sink?.close();
  h = undefined;
  sink = undefined;
  // Alerts go to every subscriber watching the symbol: earlier tests' subscribers stop receiving.
  await db.prisma.subscriber.updateMany({ where: { status: 'confirmed' }, data: { status: 'unsubscribed' } });
});
afterAll(async () => {
  await db?.drop();
});

async function harness(options: SmtpSinkOptions) {
  sink = await startSmtpSink(options);
  h = await startHarness({ prisma: db.prisma, prefix: testPrefix('bounce'), smtpUrl: sink.url });
  return h;
}

let day = 0;
/** Fires one alert for the scenario's rule and waits until its email to `email` is settled. */
async function sendOne(ruleId: string, email: string) {
  const firedAt = new Date(Date.UTC(2025, 2, 1 + day++, 21));
  const ids = await (h as Harness).fanOut(alertFor(ruleId, firedAt));
  const settled = await until(
    async () => {
      const d = await db.prisma.delivery.findFirst({ where: { id: { in: ids }, subscriber: { email } } });
      return d && (d.status === 'succeeded' || d.status === 'failed') ? d : undefined;
    },
    20_000,
    'the delivery to settle',
  );
  // The bounce count is kept after the row settles, in the same job: wait for the job to finish.
  const queue = (h as Harness).queues.get('deliveries');
  await until(
    async () => Object.values(await queue.getJobCounts('waiting', 'active', 'delayed')).every((n) => n === 0),
    20_000,
    'the delivery job to finish',
  );
  return settled;
}

const subscriber = (email: string) => db.prisma.subscriber.findUniqueOrThrow({ where: { email } });

describe('bounces by meaning', () => {
  it('content and policy refusals fail that delivery without counting against the subscriber', async () => {
    const email = 'picky@example.com';
    await harness({
      failures: [
        { rcpt: email, stage: 'rcpt', replies: [{ code: 550, message: '5.7.1 Recipient address rejected: policy' }] },
        {
          rcpt: email,
          stage: 'data',
          replies: [
            { code: 554, message: '5.7.1 Message rejected as spam' },
            { code: 552, message: 'Message size exceeds fixed maximum message size' },
            { code: 554, message: 'Transaction failed' },
          ],
        },
      ],
    });
    const s = await seedScenario(db.prisma, { subscribers: [{ email }] });
    const outcomes = [];
    for (let i = 0; i < 4; i++) {
      const d = await sendOne(s.rule.id, email);
      outcomes.push([d.status, /\b(55\d)\b/.exec(d.lastError ?? '')?.[1] ?? null]);
      expect(await subscriber(email)).toMatchObject({ status: 'confirmed', bounceCount: 0 });
    }
    expect(outcomes).toEqual([
      ['failed', '550'],
      ['failed', '554'],
      ['failed', '552'],
      ['failed', '554'],
    ]);
    expect((await sendOne(s.rule.id, email)).status).toBe('succeeded');
    expect(sink?.rejections.map((r) => [r.stage, r.code])).toEqual([
      ['rcpt', 550],
      ['data', 554],
      ['data', 552],
      ['data', 554],
    ]);
  });

  it('recipient failures count; a successful send resets the count; three in a row mark bouncing', async () => {
    const flaky = 'flaky@example.com';
    const gone = 'gone@example.com';
    await harness({
      failures: [
        {
          rcpt: flaky,
          stage: 'rcpt',
          replies: [
            { code: 550, message: '5.1.1 The email account that you tried to reach does not exist' },
            { code: 550, message: 'Requested action not taken: mailbox unavailable' },
          ],
        },
        {
          rcpt: gone,
          stage: 'rcpt',
          replies: [
            { code: 550, message: '5.1.1 No such user' },
            { code: 550, message: '5.2.1 Mailbox disabled' },
            { code: 553, message: 'Requested action not taken: mailbox name not allowed' },
          ],
        },
      ],
    });
    const a = await seedScenario(db.prisma, { subscribers: [{ email: flaky }] });
    expect((await sendOne(a.rule.id, flaky)).status).toBe('failed');
    expect((await subscriber(flaky)).bounceCount).toBe(1);
    expect((await sendOne(a.rule.id, flaky)).status).toBe('failed');
    expect((await subscriber(flaky)).bounceCount).toBe(2);
    // The mailbox works again: the count starts over, the subscriber stays confirmed.
    expect((await sendOne(a.rule.id, flaky)).status).toBe('succeeded');
    expect(await subscriber(flaky)).toMatchObject({ status: 'confirmed', bounceCount: 0 });

    const b = await seedScenario(db.prisma, { subscribers: [{ email: gone }] });
    for (let i = 1; i <= 3; i++) {
      expect((await sendOne(b.rule.id, gone)).status).toBe('failed');
      expect(await subscriber(gone)).toMatchObject({
        bounceCount: i,
        status: i < 3 ? 'confirmed' : 'bouncing',
      });
    }
    // A bouncing subscriber gets no more alert email.
    const later = await (h as Harness).fanOut(alertFor(b.rule.id, new Date(Date.UTC(2025, 5, 1, 21))));
    expect(await db.prisma.delivery.count({ where: { id: { in: later }, subscriber: { email: gone } } })).toBe(0);
  });
});
