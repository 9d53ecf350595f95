/**
 * The subscriber's side of ntfy and Telegram on the public pages: the preferences page offers both;
 * an ntfy topic is checked (form, SSRF guard) with errors at the field and its token never echoed
 * or stored in clear; a request writes a pending channel and its confirmation delivery; the link
 * confirms only by POST; the Telegram button gives a one-time deep link naming the bot; Stop stops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSealed, resolveSigningKeys, signSubscriberToken } from '@signals/db';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
let token = '';
let subId = '';
const SECRET = 'tk_verySecretNtfyToken42';

const post = (path: string, body: Record<string, string>) =>
  h.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  });

beforeAll(async () => {
  h = await startHarness({
    env: {
      NTFY_ALLOWED_CIDRS: '127.0.0.1/32',
      NTFY_DEFAULT_SERVER: 'http://127.0.0.1:8090',
      TELEGRAM_BOT_TOKEN: '123456:TEST-token-abcdefghijklmnopqrstuvwx',
      TELEGRAM_BOT_USERNAME: 'SignalsTestBot',
    },
  });
  const wl = await h.db.prisma.watchlist.create({ data: { slug: 'ch', name: 'Channels' } });
  const sub = await h.db.prisma.subscriber.create({
    data: { email: 'chat@example.org', status: 'confirmed', subscriptions: { create: [{ watchlistId: wl.id }] } },
  });
  subId = sub.id;
  token = signSubscriberToken((await resolveSigningKeys(h.db.prisma)).current, sub.id, sub.tokenVersion);
});
afterAll(async () => {
  await h?.close();
});

describe('chat channels on the preferences page', () => {
  it('offers ntfy and Telegram', async () => {
    const page = await (await h.app.request(`/preferences?token=${token}`)).text();
    expect(page).toContain('action="/preferences/ntfy?token=');
    expect(page).toContain('Get alerts on Telegram');
  });

  it('refuses a bad topic and a private address at the field, never echoing the token', async () => {
    for (const [topic, message] of [
      ['', /./],
      ['no spaces allowed', /topic name/],
      ['http://10.1.2.3/internal', /refused/],
      ['https://169.254.169.254/latest', /refused/],
    ] as const) {
      const r = await post(`/preferences/ntfy?token=${token}`, { topic, accessToken: SECRET });
      expect(r.status, topic).toBe(400);
      const html = await r.text();
      expect(html).toMatch(/id="f-topic"[^>]*aria-invalid="true"/);
      expect(html).toMatch(message);
      expect(html).not.toContain(SECRET);
    }
    expect(await h.db.prisma.subscriberChannel.count()).toBe(0);
  });

  it('requests a topic: pending channel, token sealed, one confirmation delivery; the link confirms by POST only', async () => {
    const r = await post(`/preferences/ntfy?token=${token}`, { topic: 'my-alerts', accessToken: SECRET });
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('A confirmation was sent to your ntfy topic');
    const ch = await h.db.prisma.subscriberChannel.findFirstOrThrow({ where: { subscriberId: subId, kind: 'ntfy' } });
    expect(ch).toMatchObject({ status: 'pending', topicUrl: 'http://127.0.0.1:8090/my-alerts' });
    expect(ch.tokenSealed).not.toContain(SECRET);
    const keys = await resolveSigningKeys(h.db.prisma);
    expect(openSealed(keys.accepted, ch.tokenSealed as string)).toBe(SECRET);
    const d = await h.db.prisma.delivery.findMany({ where: { channelId: ch.id } });
    expect(d).toMatchObject([{ channel: 'ntfy', eventType: 'channel.confirm', status: 'pending' }]);

    // The worker makes the link when it sends; here it is made as the worker does.
    const link = 'L'.repeat(43);
    const { createHash } = await import('node:crypto');
    await h.db.prisma.subscriberChannel.update({
      where: { id: ch.id },
      data: {
        linkTokenHash: createHash('sha256').update(link).digest('hex'),
        linkExpiresAt: new Date(Date.now() + 60_000),
      },
    });
    const shown = await h.app.request(`/channels/confirm?token=${link}`);
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain('data-testid="confirm-channel"');
    expect((await h.db.prisma.subscriberChannel.findUniqueOrThrow({ where: { id: ch.id } })).status).toBe('pending');
    const done = await post('/channels/confirm', { token: link });
    expect(done.status).toBe(200);
    expect((await h.db.prisma.subscriberChannel.findUniqueOrThrow({ where: { id: ch.id } })).status).toBe('confirmed');
    expect((await post('/channels/confirm', { token: link })).status).toBe(400);
    expect((await h.app.request('/channels/confirm?token=nope')).status).toBe(400);

    const page = await (await h.app.request(`/preferences?token=${token}`)).text();
    expect(page).toContain('data-testid="ntfy-state">on<');
    const stopped = await post(`/preferences/stop?token=${token}`, { kind: 'ntfy' });
    expect(await stopped.text()).toContain('Stopped: no more alerts on ntfy');
    expect((await h.db.prisma.subscriberChannel.findUniqueOrThrow({ where: { id: ch.id } })).status).toBe('stopped');
  });

  it('gives a one-time Telegram deep link naming the bot; a forged manage link gets nothing', async () => {
    const r = await post(`/preferences/telegram?token=${token}`, {});
    expect(r.status).toBe(200);
    const m = /href="https:\/\/t\.me\/SignalsTestBot\?start=([A-Za-z0-9_-]{43})"/.exec(await r.text());
    expect(m).not.toBeNull();
    const ch = await h.db.prisma.subscriberChannel.findFirstOrThrow({
      where: { subscriberId: subId, kind: 'telegram' },
    });
    expect(ch.status).toBe('pending');
    expect(ch.linkTokenHash).not.toBe(m?.[1]);
    expect((await post(`/preferences/telegram?token=${subId}.0.${'A'.repeat(32)}`, {})).status).toBe(400);
  });
});
