import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ANALYZE_AFTER, createAlertWithDeliveries, insertDeliveries, signSubscriberToken } from '@signals/db';
import { hashToken } from '@signals/notify';
import {
  createTestDb,
  startSmtpSink,
  startWebhookReceiver,
  type SmtpSink,
  type TestDb,
  testPrefix,
} from '@signals/testing';
import { alertFor, type Harness, seedScenario, startHarness, until } from './helpers.ts';

describe('delivery pipeline: outbox, queued email and signed webhooks', () => {
  let db: TestDb;
  let sink: SmtpSink;
  let h: Harness | undefined;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await sink?.close();
    // Each test starts with no live targets: earlier endpoints and subscribers stop receiving.
    await db.prisma.webhookEndpoint.updateMany({ data: { status: 'disabled' } });
    await db.prisma.subscriber.updateMany({ where: { status: 'confirmed' }, data: { status: 'unsubscribed' } });
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function harness(failures?: Parameters<typeof startSmtpSink>[0]) {
    sink = await startSmtpSink(failures);
    h = await startHarness({ prisma: db.prisma, prefix: testPrefix('deliv'), smtpUrl: sink.url });
    return h;
  }

  it('writes the alert and one delivery per target in one transaction; the same event twice writes nothing more', async () => {
    const s = await seedScenario(db.prisma, {
      subscribers: [{ email: 'a@example.com' }, { email: 'pending@example.com', status: 'pending' }],
      endpoints: ['http://127.0.0.1:9/hook'],
    });
    const alert = alertFor(s.rule.id, new Date('2025-01-27T21:00:00Z'), 'NVDA', `${s.rule.id}:NVDA:2025-01-27`);
    const first = await createAlertWithDeliveries(db.prisma, alert, { now: new Date(), emailGroupWaitMs: 0 });
    const second = await createAlertWithDeliveries(db.prisma, alert, { now: new Date(), emailGroupWaitMs: 0 });
    expect(first.duplicate).toBe(false);
    // One confirmed subscriber + one endpoint; the pending subscriber gets nothing.
    expect(first.deliveryIds).toHaveLength(2);
    expect(second).toEqual({ alertId: null, deliveryIds: [], duplicate: true });
    const rows = await db.prisma.delivery.findMany({ where: { alertId: first.alertId ?? '' } });
    expect(rows.map((r) => r.target).sort()).toEqual(
      [`email:${s.subscribers[0]?.id}`, `webhook:${s.endpoints[0]?.id}`].sort(),
    );
  });

  it('writes a silenced alert with its silence and no delivery; a pending silence does not hold yet', async () => {
    const s = await seedScenario(db.prisma, {
      subscribers: [{ email: 'quiet@example.com' }],
      endpoints: ['http://127.0.0.1:9/hook'],
    });
    const now = Date.now();
    const later = await db.prisma.silence.create({
      data: { subject: 'NVDA', startsAt: new Date(now + 3600_000), endsAt: new Date(now + 7200_000), comment: 'later' },
    });
    const opts = { now: new Date(), emailGroupWaitMs: 0 };
    const sent = await createAlertWithDeliveries(
      db.prisma,
      alertFor(s.rule.id, new Date('2025-02-03T21:00:00Z')),
      opts,
    );
    expect(sent.silenceId).toBeUndefined();
    expect(sent.deliveryIds).toHaveLength(2);

    // Any rule, on NVDA, from now on.
    const silence = await db.prisma.silence.create({
      data: { subject: 'NVDA', endsAt: new Date(now + 3600_000), comment: 'earnings day' },
    });
    const held = await createAlertWithDeliveries(
      db.prisma,
      alertFor(s.rule.id, new Date('2025-02-04T21:00:00Z')),
      opts,
    );
    expect(held).toMatchObject({ deliveryIds: [], duplicate: false, silenceId: silence.id });
    const row = await db.prisma.alert.findUniqueOrThrow({ where: { id: held.alertId ?? '' } });
    expect(row.silenceId).toBe(silence.id);
    expect(await db.prisma.delivery.count({ where: { alertId: row.id } })).toBe(0);
    await db.prisma.silence.deleteMany({ where: { id: { in: [silence.id, later.id] } } });
  });

  it('sends the alert email and a signed webhook that the receiver verifies with standardwebhooks', async () => {
    const { fanOut } = await harness();
    const s = await seedScenario(db.prisma, { subscribers: [{ email: 'ok@example.com' }] });
    // The receiver needs the endpoint's real secret, so create the endpoint first.
    const ep = await db.prisma.webhookEndpoint.create({
      data: { url: 'http://127.0.0.1:1/x', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    });
    const receiver = await startWebhookReceiver({ secret: ep.secret });
    await db.prisma.webhookEndpoint.update({ where: { id: ep.id }, data: { url: `${receiver.url}/hook` } });

    const ids = await fanOut(alertFor(s.rule.id, new Date('2025-01-27T21:00:00Z')));
    expect(ids).toHaveLength(2);
    const mail = await sink.waitFor((m) => m.to.includes('ok@example.com'), 10_000);
    const [hook] = await receiver.waitFor(1, 10_000);

    expect(mail.subject).toMatch(/NVDA fell 16\.9%/);
    expect(mail.headers['list-unsubscribe']).toMatch(/^<http:\/\/signals\.test\/unsubscribe\?token=.+>$/);
    expect(mail.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(mail.html).toContain('&lt;b&gt;(-17%)&lt;/b&gt;'); // the rule name is escaped, not markup
    expect(mail.text).toContain('002_f83b04b47871ab2e.txt');
    const token = /unsubscribe\?token=([^&\s>"]+)/.exec(mail.headers['list-unsubscribe'] ?? '')?.[1];
    expect(decodeURIComponent(token ?? '')).toBe(signSubscriberToken(h!.ctx.appSecret, s.subscribers[0]!.id, 0));

    expect(hook?.verified).toBe(true);
    expect((hook?.body as { type: string } | undefined)?.type).toBe('alert.firing');
    const d = await db.prisma.delivery.findFirstOrThrow({
      where: { endpointId: ep.id },
      include: { attemptLog: true },
    });
    expect(hook?.id).toBe(d.messageId);
    await until(
      async () => (await db.prisma.delivery.count({ where: { id: { in: ids }, status: 'succeeded' } })) === 2,
      5000,
      'both succeeded',
    );
    const attempts = await db.prisma.deliveryAttempt.findMany({ where: { deliveryId: { in: ids } } });
    expect(attempts.map((a) => a.outcome)).toEqual(['ok', 'ok']);
    expect(attempts.find((a) => a.deliveryId === d.id)?.statusCode).toBe(200);
    await receiver.close();
  });

  it('posts chat messages to Slack-, Discord- and Teams-format endpoints, honouring Discord’s 429 Retry-After', async () => {
    const { fanOut } = await harness();
    const s = await seedScenario(db.prisma);
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    // Slack answers 200 "ok"; Discord 204, or 429 with Retry-After when a channel is busy.
    const slack = await startWebhookReceiver({ secret, script: [{ status: 200, body: 'ok' }] });
    const discord = await startWebhookReceiver({
      secret,
      script: [{ status: 429, headers: { 'retry-after': '1' }, body: '{"retry_after":1}' }, 204],
    });
    // Teams Workflows webhooks answer 202 Accepted.
    const teams = await startWebhookReceiver({ secret, script: [202] });
    await db.prisma.webhookEndpoint.createMany({
      data: [
        { url: `${slack.url}/services/T000/B000/x`, secret, format: 'slack' },
        { url: `${discord.url}/api/webhooks/1/y`, secret, format: 'discord' },
        { url: `${teams.url}/workflows/z/triggers/manual/paths/invoke`, secret, format: 'teams' },
      ],
    });
    const ids = await fanOut(alertFor(s.rule.id, new Date('2025-01-27T21:00:00Z')));
    expect(ids).toHaveLength(3);
    const [toSlack] = await slack.waitFor(1, 10_000);
    const toDiscord = await discord.waitFor(2, 10_000);

    expect(toSlack?.verified).toBe(true);
    const slackBody = toSlack?.body as { text: string; blocks: { type: string }[] };
    expect(slackBody.text).toBe('Critical: NVDA fell 16.9% in one session');
    expect(slackBody.blocks.map((b) => b.type)).toEqual(['section', 'section', 'context', 'section']);
    expect(toSlack?.rawBody).toContain('&lt;b&gt;(-17%)&lt;/b&gt;'); // the rule name, escaped for mrkdwn

    expect(toDiscord.map((r) => r.status)).toEqual([429, 204]);
    expect(toDiscord[0]?.rawBody).toBe(toDiscord[1]?.rawBody); // the same bytes again (kept as sent)
    expect(toDiscord[0]?.id).toBe(toDiscord[1]?.id);
    const discordBody = toDiscord[1]?.body as {
      embeds: { title: string; fields: unknown[] }[];
      allowed_mentions: unknown;
    };
    expect(discordBody.allowed_mentions).toEqual({ parse: [] });
    expect(discordBody.embeds[0]?.title).toBe('Critical: NVDA fell 16.9% in one session');

    const [toTeams] = await teams.waitFor(1, 10_000);
    expect(toTeams?.verified).toBe(true);
    const teamsBody = toTeams?.body as { attachments: { content: { type: string; body: { text?: string }[] } }[] };
    const card = teamsBody.attachments[0]?.content;
    expect(card?.type).toBe('AdaptiveCard');
    expect(card?.body[0]?.text).toBe('Critical: NVDA fell 16.9% in one session');

    await until(
      async () => (await db.prisma.delivery.count({ where: { id: { in: ids }, status: 'succeeded' } })) === 3,
      10_000,
      'every chat delivery succeeded',
    );
    const stored = await db.prisma.delivery.findMany({ where: { id: { in: ids } }, include: { attemptLog: true } });
    const discordRow = stored.find((d) => d.target.startsWith('webhook:') && d.attemptLog.length === 2);
    expect(discordRow?.attemptLog.map((a) => a.statusCode).sort()).toEqual([204, 429]);
    const [first, second] = [...(discordRow?.attemptLog ?? [])].sort((a, b) => +a.startedAt - +b.startedAt);
    expect([first?.statusCode, second?.statusCode]).toEqual([429, 204]);
    // The retry was scheduled by Retry-After (1 s), not by the schedule's 50 ms: the worker records
    // the attempt's end and the next attempt's time from one clock reading, so the recorded delay is
    // exact whatever the machine's load (the retry job's BullMQ delay is the same number).
    const attemptEnd = +(first?.startedAt ?? 0) + (first?.durationMs ?? 0);
    expect(+(discordRow?.nextAttemptAt ?? 0) - attemptEnd).toBe(1000);
    await slack.close();
    await discord.close();
    await teams.close();
  });

  it('reads an alert once for a whole fan-out sent concurrently, not once per delivery', async () => {
    // Counts the worker's alert reads: the deliveries of one batch go out concurrently and must
    // share one read (they used to run one each: 50 reads for 50 endpoints).
    let reads = 0;
    const counted = new Proxy(db.prisma, {
      get(target, key) {
        const v = Reflect.get(target, key);
        if (key !== 'alert') return typeof v === 'function' ? v.bind(target) : v;
        return new Proxy(v as object, {
          get(t2, k2) {
            const f = Reflect.get(t2, k2) as (...a: unknown[]) => unknown;
            if (k2 !== 'findMany') return typeof f === 'function' ? f.bind(t2) : f;
            return (...args: unknown[]) => {
              reads++;
              return f.apply(t2, args);
            };
          },
        });
      },
    });
    sink = await startSmtpSink();
    h = await startHarness({ prisma: counted, prefix: testPrefix('herd'), smtpUrl: sink.url, concurrency: 4 });
    const s = await seedScenario(db.prisma);
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const receiver = await startWebhookReceiver({ secret, delayMs: 5 });
    await db.prisma.webhookEndpoint.createMany({
      data: Array.from({ length: 50 }, (_, i) => ({ url: `${receiver.url}/h/${i}`, secret })),
    });
    const ids = await h.fanOut(alertFor(s.rule.id, new Date('2025-03-03T21:00:00Z')));
    expect(ids).toHaveLength(50);
    await receiver.waitFor(50, 10_000);
    expect(reads).toBe(1);
    await receiver.close();
  });

  it('refreshes the planner statistics after a large fan-out, and not after a small one', async () => {
    const reltuples = async () =>
      Number(
        (
          await db.prisma.$queryRaw<
            { n: number }[]
          >`SELECT reltuples::float8 AS n FROM pg_class WHERE relname = 'Delivery'`
        )[0]?.n,
      );
    const s = await seedScenario(db.prisma);
    const opts = { now: new Date(Date.now() + 86_400_000), emailGroupWaitMs: 0 };
    await db.prisma.$executeRawUnsafe(`INSERT INTO "Subscriber" (id, email, status, mode, "updatedAt")
      SELECT 'stat' || g, 'stat' || g || '@example.org', 'confirmed', 'immediate', now() FROM generate_series(1, 1200) g`);
    await db.prisma.$executeRawUnsafe(`INSERT INTO "Subscription" (id, "subscriberId", "watchlistId")
      SELECT 'statsub' || g, 'stat' || g, '${s.wl.id}' FROM generate_series(1, 1200) g`);
    const before = await reltuples();
    const big = await createAlertWithDeliveries(db.prisma, alertFor(s.rule.id, new Date('2025-03-04T21:00:00Z')), opts);
    expect(big.deliveryIds.length).toBeGreaterThanOrEqual(ANALYZE_AFTER);
    const after = await reltuples();
    expect(after).toBeGreaterThanOrEqual(big.deliveryIds.length);
    expect(after).not.toBe(before);
    // Below the threshold nothing is analysed: the estimate stays where it was.
    await db.prisma.subscriber.updateMany({ where: { id: { startsWith: 'stat' } }, data: { status: 'unsubscribed' } });
    const small = await createAlertWithDeliveries(
      db.prisma,
      alertFor(s.rule.id, new Date('2025-03-05T21:00:00Z')),
      opts,
    );
    expect(small.deliveryIds.length).toBeLessThan(ANALYZE_AFTER);
    expect(await reltuples()).toBe(after);
    await db.prisma.delivery.deleteMany({ where: { alertId: { in: [big.alertId ?? '', small.alertId ?? ''] } } });
  });

  it('retries a receiver that answers 500 then 200, under the same webhook-id, and logs both attempts', async () => {
    const { fanOut } = await harness();
    const s = await seedScenario(db.prisma);
    const ep = await db.prisma.webhookEndpoint.create({
      data: { url: 'http://x', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    });
    const receiver = await startWebhookReceiver({ secret: ep.secret, script: [500, 200] });
    await db.prisma.webhookEndpoint.update({ where: { id: ep.id }, data: { url: receiver.url } });
    const [id] = await fanOut(alertFor(s.rule.id, new Date('2025-01-28T21:00:00Z')));
    const reqs = await receiver.waitFor(2, 10_000);
    expect(reqs.map((r) => r.status)).toEqual([500, 200]);
    expect(new Set(reqs.map((r) => r.id)).size).toBe(1);
    expect(reqs.every((r) => r.verified)).toBe(true);
    const d = await until(async () => {
      const row = await db.prisma.delivery.findUnique({
        where: { id: id ?? '' },
        include: { attemptLog: { orderBy: { id: 'asc' } } },
      });
      return row?.status === 'succeeded' ? row : undefined;
    });
    expect(d.attempts).toBe(2);
    expect(d.attemptLog.map((a) => [a.outcome, a.statusCode])).toEqual([
      ['retry', 500],
      ['ok', 200],
    ]);
    await receiver.close();
  });

  it('keeps trying a receiver that is down until it comes back', async () => {
    const { fanOut } = await harness();
    const s = await seedScenario(db.prisma);
    const ep = await db.prisma.webhookEndpoint.create({
      data: { url: 'http://x', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    });
    const receiver = await startWebhookReceiver({ secret: ep.secret });
    await db.prisma.webhookEndpoint.update({ where: { id: ep.id }, data: { url: receiver.url } });
    await receiver.setDown(true);
    const [id] = await fanOut(alertFor(s.rule.id, new Date('2025-01-29T21:00:00Z')));
    await until(
      async () => ((await db.prisma.delivery.findUnique({ where: { id: id ?? '' } }))?.attempts ?? 0) >= 2,
      10_000,
      'two failed attempts',
    );
    await receiver.setDown(false);
    const [req] = await receiver.waitFor(1, 10_000);
    expect(req?.verified).toBe(true);
    const row = await until(async () => {
      const r = await db.prisma.delivery.findUnique({ where: { id: id ?? '' }, include: { attemptLog: true } });
      return r?.status === 'succeeded' ? r : undefined;
    });
    expect(row.attemptLog.filter((a) => a.outcome === 'retry').length).toBeGreaterThanOrEqual(2);
    expect(receiver.requests).toHaveLength(1);
    await receiver.close();
  });

  it('disables an endpoint that answers 410 Gone, without retrying', async () => {
    const { fanOut } = await harness();
    const s = await seedScenario(db.prisma);
    const ep = await db.prisma.webhookEndpoint.create({
      data: { url: 'http://x', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    });
    const receiver = await startWebhookReceiver({ secret: ep.secret, script: [410] });
    await db.prisma.webhookEndpoint.update({ where: { id: ep.id }, data: { url: receiver.url } });
    const [id] = await fanOut(alertFor(s.rule.id, new Date('2025-01-30T21:00:00Z')));
    const endpoint = await until(async () => {
      const e = await db.prisma.webhookEndpoint.findUnique({ where: { id: ep.id } });
      return e?.status === 'disabled' ? e : undefined;
    });
    expect(endpoint.disabledReason).toMatch(/410/);
    const d = await db.prisma.delivery.findUniqueOrThrow({ where: { id: id ?? '' } });
    expect(d.status).toBe('failed');
    expect(d.attempts).toBe(1);
    expect(receiver.requests).toHaveLength(1);
    await receiver.close();
  });

  it('dead-letters a delivery that fails through its whole schedule, disables the endpoint and emails the admins', async () => {
    const { fanOut } = await harness();
    await db.prisma.adminUser.create({ data: { email: 'ops@example.com', passwordHash: 'x' } });
    const s = await seedScenario(db.prisma);
    const ep = await db.prisma.webhookEndpoint.create({
      data: { url: 'http://x', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    });
    const receiver = await startWebhookReceiver({ secret: ep.secret, script: [500, 500, 500, 500, 500] });
    await db.prisma.webhookEndpoint.update({ where: { id: ep.id }, data: { url: receiver.url } });
    const [id] = await fanOut(alertFor(s.rule.id, new Date('2025-01-31T21:00:00Z')));
    const d = await until(async () => {
      const r = await db.prisma.delivery.findUnique({ where: { id: id ?? '' }, include: { attemptLog: true } });
      return r?.status === 'dead' ? r : undefined;
    });
    // The harness schedule has 4 attempts: all were made, all logged with the receiver's answer.
    expect(d.attempts).toBe(4);
    expect(d.attemptLog.map((a) => a.statusCode)).toEqual([500, 500, 500, 500]);
    expect(receiver.requests).toHaveLength(4);
    const endpoint = await until(async () => {
      const e = await db.prisma.webhookEndpoint.findUnique({ where: { id: ep.id } });
      return e?.status === 'disabled' ? e : undefined;
    });
    expect(endpoint.disabledReason).toMatch(/whole retry schedule/);
    expect(endpoint.consecutiveFailures).toBe(4);
    const notice = await sink.waitFor((m) => m.to.includes('ops@example.com'), 10_000);
    expect(notice.subject).toMatch(/Webhook endpoint disabled/);
    await db.prisma.adminUser.deleteMany();
    await receiver.close();
  });

  it('retries an SMTP 421 and then delivers', async () => {
    const { fanOut } = await harness({ failures: [{ stage: 'data', replies: [421] }] });
    const s = await seedScenario(db.prisma, { subscribers: [{ email: 'retry421@example.com' }] });
    const [id] = await fanOut(alertFor(s.rule.id, new Date('2025-02-03T21:00:00Z')));
    await sink.waitFor((m) => m.to.includes('retry421@example.com'), 10_000);
    const d = await until(async () => {
      const r = await db.prisma.delivery.findUnique({
        where: { id: id ?? '' },
        include: { attemptLog: { orderBy: { id: 'asc' } } },
      });
      return r?.status === 'succeeded' ? r : undefined;
    });
    expect(d.attemptLog.map((a) => [a.outcome, a.statusCode])).toEqual([
      ['retry', 421],
      ['ok', 250],
    ]);
    expect(sink.messages.filter((m) => m.to.includes('retry421@example.com'))).toHaveLength(1);
  });

  it('marks a 550 recipient failed at once and counts the bounce', async () => {
    const { fanOut } = await harness({ failures: [{ rcpt: 'gone@example.com', replies: [550], repeat: true }] });
    const s = await seedScenario(db.prisma, { subscribers: [{ email: 'gone@example.com' }] });
    const [id] = await fanOut(alertFor(s.rule.id, new Date('2025-02-04T21:00:00Z')));
    const d = await until(async () => {
      const r = await db.prisma.delivery.findUnique({ where: { id: id ?? '' } });
      return r?.status === 'failed' ? r : undefined;
    });
    expect(d.attempts).toBe(1);
    expect(d.lastError).toMatch(/550/);
    // The bounce is counted after the row settles, in the same job: wait for it.
    await until(
      async () =>
        (await db.prisma.subscriber.findUniqueOrThrow({ where: { email: 'gone@example.com' } })).bounceCount === 1,
      10_000,
      'the bounce to be counted',
    );
  });

  it('groups the alerts due for a digest subscriber into one email', async () => {
    const { fanOut, queues } = await harness();
    const s = await seedScenario(db.prisma, { subscribers: [{ email: 'digest@example.com', mode: 'digest' }] });
    const symbols = ['NVDA', 'MSFT', 'CRM', 'PLTR', 'INTU'];
    const ids: string[] = [];
    for (const sym of symbols) ids.push(...(await fanOut(alertFor(s.rule.id, new Date('2025-02-05T21:00:00Z'), sym))));
    // Digest deliveries wait for the window: make them due now, as the window's end would.
    await db.prisma.delivery.updateMany({ where: { id: { in: ids } }, data: { nextAttemptAt: new Date() } });
    await queues.enqueueDeliveries(ids.map((id) => ({ id, tag: 'due' })));
    const mail = await sink.waitFor((m) => m.to.includes('digest@example.com'), 10_000);
    await until(
      async () => (await db.prisma.delivery.count({ where: { id: { in: ids }, status: 'succeeded' } })) === 5,
      10_000,
      'all five succeeded',
    );
    expect(sink.messages.filter((m) => m.to.includes('digest@example.com'))).toHaveLength(1);
    for (const sym of symbols) expect(mail.text).toContain(sym);
  });

  it('sends the confirmation email to a pending subscriber with a link whose token only Postgres knows by hash', async () => {
    const { queues } = await harness();
    const sub = await db.prisma.subscriber.create({ data: { email: 'new@example.com' } });
    const [id] = await insertDeliveries(
      db.prisma,
      [{ channel: 'email', subscriberId: sub.id, eventType: 'subscriber.confirm' }],
      new Date(),
    );
    await queues.enqueueDeliveries([{ id: id ?? '' }]);
    const mail = await sink.waitFor((m) => m.to.includes('new@example.com'), 10_000);
    const token = /\/confirm\?token=([A-Za-z0-9_%-]+)/.exec(mail.text)?.[1];
    expect(token).toBeTruthy();
    const after = await until(async () => {
      const s = await db.prisma.subscriber.findUnique({ where: { id: sub.id } });
      return s?.confirmTokenHash ? s : undefined;
    });
    expect(after.confirmTokenHash).toBe(hashToken(decodeURIComponent(token ?? '')));
    expect(after.status).toBe('pending');
    expect(mail.text).not.toContain(after.confirmTokenHash ?? 'x');
  });

  it('never sends an alert to an address that was not confirmed, even if a delivery row exists', async () => {
    const { queues } = await harness();
    const s = await seedScenario(db.prisma, { subscribers: [{ email: 'unconfirmed@example.com', status: 'pending' }] });
    const r = await createAlertWithDeliveries(db.prisma, alertFor(s.rule.id, new Date('2025-02-06T21:00:00Z')), {
      now: new Date(),
      emailGroupWaitMs: 0,
    });
    expect(r.deliveryIds).toHaveLength(0);
    // Forge one anyway: the worker must refuse it.
    const [id] = await insertDeliveries(
      db.prisma,
      [
        {
          channel: 'email',
          subscriberId: s.subscribers[0]!.id,
          alertId: r.alertId ?? undefined,
          eventType: 'alert.firing',
        },
      ],
      new Date(),
    );
    await queues.enqueueDeliveries([{ id: id ?? '' }]);
    const d = await until(async () => {
      const row = await db.prisma.delivery.findUnique({ where: { id: id ?? '' } });
      return row?.status === 'failed' ? row : undefined;
    });
    expect(d.lastError).toMatch(/pending: not sent/);
    expect(sink.messages.filter((m) => m.to.includes('unconfirmed@example.com'))).toHaveLength(0);
  });
  // The Redis-loss drill (every key of the prefix deleted while deliveries are in flight, real
  // schedules in a worker process, no sweeper called by hand) is redis-loss.test.ts.
});
