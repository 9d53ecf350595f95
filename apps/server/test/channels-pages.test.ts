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
const SECRET = 'tk_verySecretNtfyToken42';
const ENV = {
  NTFY_ALLOWED_CIDRS: '127.0.0.1/32',
  NTFY_DEFAULT_SERVER: 'http://127.0.0.1:8090',
  TELEGRAM_BOT_TOKEN: '123456:TEST-token-abcdefghijklmnopqrstuvwx',
  TELEGRAM_BOT_USERNAME: 'SignalsTestBot',
};

const postTo = (hh: Harness, path: string, body: Record<string, string>) =>
  hh.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  });
const post = (path: string, body: Record<string, string>) => postTo(h, path, body);

let seq = 0;
/** A confirmed subscriber of its own (any test order, any test alone) and its signed manage token. */
async function subscriber(hh: Harness = h): Promise<{ subId: string; token: string }> {
  seq++;
  const wl = await hh.db.prisma.watchlist.create({ data: { slug: `ch-${seq}`, name: `Channels ${seq}` } });
  const sub = await hh.db.prisma.subscriber.create({
    data: {
      email: `chat-${seq}@example.org`,
      status: 'confirmed',
      subscriptions: { create: [{ watchlistId: wl.id }] },
    },
  });
  const token = signSubscriberToken((await resolveSigningKeys(hh.db.prisma)).current, sub.id, sub.tokenVersion);
  return { subId: sub.id, token };
}

beforeAll(async () => {
  h = await startHarness({ env: ENV });
});
afterAll(async () => {
  await h?.close();
});

describe('chat channels on the subscribe path (issue 18, item 7)', () => {
  it('the subscribe page offers ntfy and Telegram; the confirmation page has both forms, as preferences does', async () => {
    const subscribePage = await (await h.app.request('/subscribe')).text();
    expect(subscribePage).toContain('data-testid="channel-offer"');
    expect(subscribePage).toMatch(/<strong>ntfy<\/strong>/);
    expect(subscribePage).toMatch(/<strong>Telegram<\/strong>.*@SignalsTestBot/);

    // Subscribe, then confirm with the emailed link (made here as the worker makes it).
    const wl = await h.db.prisma.watchlist.create({ data: { slug: 'sub-path', name: 'Subscribe path' } });
    const email = 'new-reader@example.org';
    const r = await post('/subscribe', { email, watchlistIds: wl.id, mode: 'immediate' });
    expect(r.status).toBe(200);
    const link = 'K'.repeat(43);
    const { createHash } = await import('node:crypto');
    await h.db.prisma.subscriber.update({
      where: { email },
      data: {
        confirmTokenHash: createHash('sha256').update(link).digest('hex'),
        confirmExpiresAt: new Date(Date.now() + 600_000),
      },
    });
    const confirmed = await post('/confirm', { token: link });
    expect(confirmed.status).toBe(200);
    const page = await confirmed.text();
    expect(page).toContain('data-testid="confirmed"');
    const manage = /action="\/preferences\/ntfy\?token=([^"]+)"/.exec(page)?.[1];
    expect(manage).toBeTruthy();
    expect(page).toContain('Get alerts on Telegram');

    // Both work from there: the Telegram button gives the deep link, the topic form a pending channel.
    const tg = await post(`/preferences/telegram?token=${manage}`, {});
    expect(await tg.text()).toMatch(/href="https:\/\/t\.me\/SignalsTestBot\?start=[A-Za-z0-9_-]+"/);
    const nt = await post(`/preferences/ntfy?token=${manage}`, { topic: 'new-reader-alerts' });
    expect(nt.status).toBe(200);
    const sub = await h.db.prisma.subscriber.findUniqueOrThrow({ where: { email }, include: { channels: true } });
    expect(sub.channels.find((c) => c.kind === 'ntfy')).toMatchObject({ status: 'pending' });
  });

  it('without a bot the offer names ntfy only', async () => {
    const bare = await startHarness({ env: { ...ENV, TELEGRAM_BOT_TOKEN: '', TELEGRAM_BOT_USERNAME: '' } });
    try {
      const page = await (await bare.app.request('/subscribe')).text();
      expect(page).toMatch(/<strong>ntfy<\/strong>/);
      expect(page).not.toContain('Telegram');
    } finally {
      await bare.close();
    }
  });
});

describe('chat channels on the preferences page', () => {
  it('offers ntfy and Telegram', async () => {
    const { token } = await subscriber();
    const page = await (await h.app.request(`/preferences?token=${token}`)).text();
    expect(page).toContain('action="/preferences/ntfy?token=');
    expect(page).toContain('Get alerts on Telegram');
  });

  it('refuses a bad topic and a private address at the field, never echoing the token', async () => {
    const { subId, token } = await subscriber();
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
    expect(await h.db.prisma.subscriberChannel.count({ where: { subscriberId: subId } })).toBe(0);
  });

  it('requests a topic: pending channel, token sealed, one confirmation delivery; the link confirms by POST only', async () => {
    const { subId, token } = await subscriber();
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
    const { subId, token } = await subscriber();
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

describe('when to notify: time zone, quiet hours, market window', () => {
  it('refuses a bad zone and half-given quiet hours at the field; saves and keeps the window through a preferences save', async () => {
    const { subId, token } = await subscriber();
    const bad = await post(`/preferences/timing?token=${token}`, { timeZone: 'Mars/Olympus', window: 'any' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/id="f-timeZone"[^>]*aria-invalid="true"/);
    const half = await post(`/preferences/timing?token=${token}`, {
      timeZone: 'Europe/Berlin',
      'quiet.ntfy.start': '22:00',
      window: 'any',
    });
    expect(half.status).toBe(400);
    expect(await half.text()).toMatch(/id="f-quiet\.ntfy\.end"[^>]*aria-invalid="true"/);

    const ok = await post(`/preferences/timing?token=${token}`, {
      timeZone: 'Europe/Berlin',
      'quiet.ntfy.start': '22:00',
      'quiet.ntfy.end': '07:00',
      'quiet.email.start': '23:00',
      'quiet.email.end': '06:30',
      criticalBreaksThrough: 'on',
      window: 'regular',
    });
    expect(ok.status).toBe(200);
    const page = await ok.text();
    expect(page).toContain('Saved: when alerts are sent.');
    expect(page).toMatch(/id="f-window-regular" name="window" value="regular" checked/);
    const sub = await h.db.prisma.subscriber.findUniqueOrThrow({
      where: { id: subId },
      include: { subscriptions: true },
    });
    expect(sub).toMatchObject({
      timeZone: 'Europe/Berlin',
      quietHours: { ntfy: { start: '22:00', end: '07:00' }, email: { start: '23:00', end: '06:30' } },
      quietCriticalBreaksThrough: true,
    });
    expect(sub.subscriptions.map((s) => s.activeIntervals)).toEqual([[{ market: ['regular'] }]]);

    // Changing what one receives keeps when.
    const wl = sub.subscriptions[0]?.watchlistId as string;
    const saved = await post(`/preferences?token=${token}`, { watchlistIds: wl, mode: 'digest' });
    expect(saved.status).toBe(200);
    const after = await h.db.prisma.subscription.findMany({ where: { subscriberId: subId } });
    expect(after.map((s) => s.activeIntervals)).toEqual([[{ market: ['regular'] }]]);
  });

  it('limits a webhook endpoint to time intervals through the API, refusing malformed ones', async () => {
    const call = (method: string, path: string, body?: unknown) =>
      h.app.request(`/api${path}`, {
        method,
        headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const made = await call('POST', '/webhook-endpoints', {
      url: 'http://127.0.0.1:9/h',
      activeIntervals: [{ weekdays: [1, 2, 3, 4, 5], market: ['regular', 'extended'] }],
    });
    expect(made.status).toBe(201);
    const j = (await made.json()) as { endpoint: { id: string; activeIntervals: unknown } };
    expect(j.endpoint.activeIntervals).toEqual([{ weekdays: [1, 2, 3, 4, 5], market: ['regular', 'extended'] }]);
    const bad = await call('PATCH', `/webhook-endpoints/${j.endpoint.id}`, {
      activeIntervals: [{ times: [{ start: '18:00', end: '09:00' }] }],
    });
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { errors: { path: string; message: string }[] };
    expect(problem.errors[0]?.path).toMatch(/^activeIntervals\.0\.times/);
    const cleared = await call('PATCH', `/webhook-endpoints/${j.endpoint.id}`, { activeIntervals: null });
    expect(((await cleared.json()) as { activeIntervals: unknown }).activeIntervals).toEqual([]);
  });
});

describe('abuse', () => {
  it('bounds topic requests per client and hour (each one posts to a topic)', async () => {
    // A server of its own: the limit counts per client address, and the other tests' requests
    // come from the same (in-process) client.
    const own = await startHarness({ env: ENV });
    try {
      const { token } = await subscriber(own);
      const { NTFY_REQUEST_LIMIT } = await import('../src/public/pages.ts');
      const statuses: number[] = [];
      for (let i = 0; i < NTFY_REQUEST_LIMIT + 2; i++) {
        statuses.push((await postTo(own, `/preferences/ntfy?token=${token}`, { topic: `flood-${i}` })).status);
      }
      // Exactly the limit passes, then every request is refused.
      expect(statuses).toEqual([...Array(NTFY_REQUEST_LIMIT).fill(200), 429, 429]);
    } finally {
      await own.close();
    }
  });
});

describe('operators see the channels', () => {
  it('lists a subscriber’s channels and their state in the API and on the admin page, without topics or chats', async () => {
    const { subId, token } = await subscriber();
    expect((await post(`/preferences/ntfy?token=${token}`, { topic: 'ops-alerts' })).status).toBe(200);
    expect((await post(`/preferences/telegram?token=${token}`, {})).status).toBe(200);
    expect(
      (await post(`/preferences/timing?token=${token}`, { timeZone: 'Europe/Berlin', window: 'any' })).status,
    ).toBe(200);
    const r = await h.app.request(`/api/subscribers/${subId}`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    const j = (await r.json()) as { channels: { kind: string; status: string }[]; timeZone: string };
    expect(j.channels.map((c) => c.kind)).toEqual(['ntfy', 'telegram']);
    expect(j.timeZone).toBe('Europe/Berlin');
    expect(JSON.stringify(j)).not.toContain('127.0.0.1:8090');
    const { cookie } = await (await import('./harness.ts')).adminSession(h);
    const page = await (await h.app.request('/admin/subscribers', { headers: { cookie } })).text();
    expect(page).toMatch(
      /email, ntfy <span class="badge badge-\w+">\w+<\/span>, telegram <span class="badge badge-pending">pending<\/span>/,
    );
  });
});
