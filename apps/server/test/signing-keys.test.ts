/**
 * One signing key for subscriber links. The worker signs the unsubscribe and preferences links of
 * alert emails; the server verifies them. Both resolve the key through resolveSigningKeys, so with
 * APP_SECRET set (as the README tells operators to) the links of a real alert email work: the page
 * and its confirm button, and the RFC 8058 one-click POST of List-Unsubscribe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertWithDeliveries, resolveSigningKeys, signSubscriberToken, verifySubscriberToken } from '@signals/db';
import { type SmtpSink, startSmtpSink, startWorkerProcess, TEST_REDIS_URL } from '@signals/testing';
import { type Harness, startHarness } from './harness.ts';

const APP_SECRET = 'operator-chosen-app-secret-0123456789abcdef';
const ROTATED = 'the-next-app-secret-after-rotation-0123456789';

let h: Harness;
let smtp: SmtpSink;
let base: string;
beforeAll(async () => {
  h = await startHarness({ env: { APP_SECRET } });
  base = await h.listen();
  smtp = await startSmtpSink();
});
afterAll(async () => {
  await smtp?.close();
  await h?.close();
});

/** A watchlist with NVDA, a rule on it, and confirmed subscribers to it. */
async function scenario(emails: string[]) {
  const wl = await h.db.prisma.watchlist.create({ data: { slug: `keys-${Date.now()}`, name: 'Key test list' } });
  const nvda = await h.db.prisma.instrument.upsert({
    where: { symbol: 'NVDA' },
    create: { symbol: 'NVDA', name: 'NVIDIA' },
    update: {},
  });
  await h.db.prisma.watchlistMember.create({ data: { watchlistId: wl.id, instrumentId: nvda.id } });
  const rule = await h.db.prisma.rule.create({
    data: {
      name: 'Leader one-day shock',
      kind: 'pct_move',
      params: { thresholdPct: 10, direction: 'down' },
      watchlistId: wl.id,
      severity: 'critical',
    },
  });
  const subs = [];
  for (const email of emails) {
    subs.push(
      await h.db.prisma.subscriber.create({
        data: { email, status: 'confirmed', subscriptions: { create: [{ watchlistId: wl.id }] } },
      }),
    );
  }
  return { rule, subs };
}

const statusOf = async (id: string) => (await h.db.prisma.subscriber.findUniqueOrThrow({ where: { id } })).status;

describe('subscriber links with APP_SECRET set', () => {
  it('unsubscribes through the links of a real alert email: page + confirm, and the one-click POST', async () => {
    const { rule, subs } = await scenario(['page-reader@example.org', 'one-click@example.org']);
    const [pageReader, oneClick] = subs as [(typeof subs)[0], (typeof subs)[0]];
    // The real delivery worker, as operators run it, configured with the same APP_SECRET.
    const worker = startWorkerProcess('W', {
      DATABASE_URL: h.db.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: h.prefix,
      SMTP_URL: smtp.url,
      PUBLIC_BASE_URL: base,
      WORKER_QUEUES: 'deliveries',
      APP_SECRET,
    });
    try {
      await worker.started();
      const firedAt = new Date();
      const fired = await createAlertWithDeliveries(
        h.db.prisma,
        {
          dedupKey: `${rule.id}:NVDA:keys`,
          ruleId: rule.id,
          subject: 'NVDA',
          symbol: 'NVDA',
          status: 'firing',
          severity: 'critical',
          title: 'NVDA fell 17.0% in one session',
          value: -0.17,
          threshold: -0.1,
          windowStart: new Date(firedAt.getTime() - 86_400_000),
          windowEnd: firedAt,
          firedAt,
          details: { headlines: [] },
        },
        { now: firedAt, emailGroupWaitMs: 0 },
      );
      await h.queues.enqueueDeliveries(fired.deliveryIds.map((id) => ({ id })));
      const mailTo = (email: string) => smtp.waitFor((m) => m.to.includes(email) && m.subject.includes('NVDA'), 20_000);
      const [first, second] = await Promise.all([mailTo(pageReader.email), mailTo(oneClick.email)]);

      // 1. The visible links: the preferences page opens, the unsubscribe page asks, its button unsubscribes.
      const link = (text: string, path: string) =>
        new RegExp(`${base.replace(/[.]/g, '\\.')}/${path}\\?token=[A-Za-z0-9_%.-]+`).exec(text)?.[0];
      const prefs = link(first.text, 'preferences');
      const unsub = link(first.text, 'unsubscribe');
      expect(prefs).toBeDefined();
      expect(unsub).toBeDefined();
      // The worker signed with the current key (APP_SECRET), not a key of its own.
      const token = decodeURIComponent(new URL(unsub as string).searchParams.get('token') ?? '');
      expect(verifySubscriberToken(APP_SECRET, token)).toEqual({ subscriberId: pageReader.id, version: 0 });
      expect((await fetch(prefs as string)).status).toBe(200);
      const page = await fetch(unsub as string);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<button type="submit">Unsubscribe</button>');
      // Press the page's button: POST its form to its action.
      const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
      expect(action).toMatch(/^\/unsubscribe\?token=/);
      expect(await statusOf(pageReader.id)).toBe('confirmed');
      const confirmed = await fetch(`${base}${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(confirmed.status).toBe(200);
      expect(await confirmed.text()).toContain('You are unsubscribed');
      expect(await statusOf(pageReader.id)).toBe('unsubscribed');

      // 2. RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to the List-Unsubscribe URL.
      expect(second.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
      const header = /^<([^>]+)>$/.exec(second.headers['list-unsubscribe'] ?? '')?.[1];
      expect(header?.startsWith(`${base}/unsubscribe?token=`)).toBe(true);
      const clicked = await fetch(header as string, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(clicked.status).toBe(200);
      expect(await statusOf(oneClick.id)).toBe('unsubscribed');
      expect(await worker.stop()).toBe(0);
    } finally {
      await worker.stop();
    }
  }, 90_000);

  it('accepts APP_SECRET_PREVIOUS and the generated key of before while rotating; signs with the new key', async () => {
    const rotated = await startHarness({ env: { APP_SECRET: ROTATED, APP_SECRET_PREVIOUS: APP_SECRET } });
    try {
      const sub = await rotated.db.prisma.subscriber.create({
        data: { email: 'rotating@example.org', status: 'confirmed' },
      });
      // Links in mail sent before the operator set APP_SECRET carry the key a deployment without it
      // generated and stored (resolving without APP_SECRET makes it, as that deployment did).
      const oldGenerated = (await resolveSigningKeys(rotated.db.prisma)).current;
      expect(oldGenerated).not.toBe(ROTATED);
      const open = async (key: string) =>
        (await rotated.app.request(`/preferences?token=${signSubscriberToken(key, sub.id, sub.tokenVersion)}`)).status;
      expect(await open(ROTATED)).toBe(200);
      expect(await open(APP_SECRET)).toBe(200); // APP_SECRET_PREVIOUS
      expect(await open(oldGenerated)).toBe(200); // mail from before APP_SECRET was set
      expect(await open('some-other-key-nobody-configured-0123456789')).toBe(400);
      // New links (the confirmation page's) are signed with the current key only.
      const keys = await resolveSigningKeys(rotated.db.prisma, { appSecret: ROTATED, previous: APP_SECRET });
      expect(keys.current).toBe(ROTATED);
      expect(keys.accepted).toEqual([ROTATED, APP_SECRET, oldGenerated]);
    } finally {
      await rotated.close();
    }
  });
});
