/**
 * Issue 18, item 5 (the server's part): confirmation mail is limited per mailbox and per network,
 * not per spelling of an address; every page that shows an address is `no-store`; refusals of a
 * URL are in our words (no address an internal name resolves to, no resolver error), with the
 * detail in the log; a webhook test event cannot tell a closed port from one that resets.
 */
import net from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@signals/testing';
import { addressRange, normalizedMailbox } from '../src/security/mailbox.ts';
import { CONFIRM_MAILBOX_LIMIT, SUBSCRIBE_RANGE_LIMIT } from '../src/public/pages.ts';
import { createHash } from 'node:crypto';
import { type Harness, startHarness } from './harness.ts';

const logged: string[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk, _enc, cb) {
      logged.push(String(chunk));
      cb();
    },
  }),
);

let h: Harness;
let base = '';
/** The API over the socket (the Host must be the listening one: /api checks it). */
async function call(method: string, path: string, body?: unknown) {
  const r = await fetch(`${base}/api${path}`, {
    method,
    headers: {
      authorization: `Bearer ${h.apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  // biome-ignore lint/suspicious/noExplicitAny: test convenience
  return { status: r.status, text, json: (text ? JSON.parse(text) : undefined) as any };
}
beforeAll(async () => {
  // Over a real socket from 127.0.0.1, a trusted proxy: X-Forwarded-For picks the client address.
  h = await startHarness({ env: { TRUST_PROXY: '127.0.0.1/32' }, logger });
  base = await h.listen();
  await h.db.prisma.watchlist.create({ data: { slug: 'limits', name: 'Limits' } });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

/** A subscribe form post from `ip` (through the trusted proxy) for `email`. */
async function subscribeAs(email: string, ip: string) {
  const wl = await h.db.prisma.watchlist.findFirst();
  const body = new URLSearchParams({ email, mode: 'immediate' });
  if (wl) body.append('watchlistIds', wl.id);
  const r = await fetch(`${base}/subscribe`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
    body: body.toString(),
  });
  return { status: r.status, cacheControl: r.headers.get('cache-control'), html: await r.text() };
}

const confirmations = async (emails: string[]) =>
  h.db.prisma.delivery.count({
    where: { eventType: 'subscriber.confirm', subscriber: { email: { in: emails.map((e) => e.toLowerCase()) } } },
  });

describe('confirmation mail per mailbox and per network', () => {
  it('normalizes the mailbox: case, +tag, and Gmail dots', () => {
    expect(normalizedMailbox('Victim+1@Example.org')).toBe('victim@example.org');
    expect(normalizedMailbox('victim+news+x@example.org')).toBe('victim@example.org');
    expect(normalizedMailbox('v.i.c.t.i.m+2@googlemail.com')).toBe('victim@gmail.com');
    // Dots matter elsewhere, and a leading + is not a tag.
    expect(normalizedMailbox('v.ictim@example.org')).toBe('v.ictim@example.org');
    expect(normalizedMailbox('+x@example.org')).toBe('+x@example.org');
    expect(addressRange('198.51.100.77')).toBe('198.51.100.0/24');
    expect(addressRange('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressRange('2001:db8::1')).toBe('2001:db8:0:0::/64');
  });

  it('victim+1@, victim+2@, Victim@ ... together get at most the limit, from any number of addresses', async () => {
    const spellings = [
      'victim@example.org',
      'victim+1@example.org',
      'Victim+2@Example.org',
      'victim+3@example.org',
      'VICTIM+4@example.org',
      'victim+5@example.org',
      'victim+6@example.org',
      'victim+7@example.org',
    ];
    // Each from its own network: only the per-mailbox limit can stop them.
    const answers = [];
    for (const [i, email] of spellings.entries()) answers.push(await subscribeAs(email, `203.0.${i}.9`));
    const statuses = answers.map((a) => a.status);
    expect(statuses.slice(0, CONFIRM_MAILBOX_LIMIT)).toEqual(Array(CONFIRM_MAILBOX_LIMIT).fill(200));
    expect(statuses.slice(CONFIRM_MAILBOX_LIMIT)).toEqual(Array(spellings.length - CONFIRM_MAILBOX_LIMIT).fill(429));
    expect(await confirmations(spellings)).toBe(CONFIRM_MAILBOX_LIMIT);
    // Another mailbox is not affected.
    expect((await subscribeAs('someone.else@example.org', '203.0.99.9')).status).toBe(200);
  });

  it(`limits one IPv4 /24 to ${SUBSCRIBE_RANGE_LIMIT} an hour, whichever of its addresses ask`, async () => {
    const statuses: number[] = [];
    // Distinct addresses (each under its own per-address limit of 20) and distinct mailboxes.
    for (let i = 0; i <= SUBSCRIBE_RANGE_LIMIT; i++) {
      statuses.push((await subscribeAs(`range${i}@example.net`, `198.51.100.${i + 1}`)).status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(SUBSCRIBE_RANGE_LIMIT);
    expect(statuses.at(-1)).toBe(429);
    // The next network still subscribes.
    expect((await subscribeAs('other-net@example.net', '198.51.101.1')).status).toBe(200);
  }, 120_000);
});

describe('no-store on every page that shows an address', () => {
  it('/channels/confirm, the preferences sub-pages and a refused subscribe are not cached', async () => {
    // A pending ntfy channel with a confirm link, as the worker leaves it after sending the link.
    const email = 'channel-owner@example.org';
    const token = 'C'.repeat(43);
    await h.db.prisma.subscriber.create({
      data: {
        email,
        status: 'confirmed',
        channels: {
          create: {
            kind: 'ntfy',
            status: 'pending',
            topicUrl: 'https://ntfy.example.org/owner',
            linkTokenHash: createHash('sha256').update(token).digest('hex'),
            linkExpiresAt: new Date(Date.now() + 600_000),
          },
        },
      },
    });
    const r = await fetch(`${base}/channels/confirm?token=${token}`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain(email);
    expect(r.headers.get('cache-control')).toBe('no-store');
    // A subscribe refused for a bad field echoes the address back into the form.
    const refused = await fetch(`${base}/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'email=shown%40example.org',
    });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('shown@example.org');
    expect(refused.headers.get('cache-control')).toBe('no-store');
    for (const path of ['/preferences/ntfy', '/preferences/timing', '/preferences/telegram', '/preferences/stop']) {
      const p = await fetch(`${base}${path}?token=junk`, { method: 'POST' });
      expect(p.headers.get('cache-control'), path).toBe('no-store');
    }
  });
});

describe('refusals in our words, details in the log', () => {
  it('a webhook URL whose name does not resolve: "unreachable", without the name or the resolver code', async () => {
    logged.length = 0;
    const r = await call('POST', '/webhook-endpoints', { url: 'http://postgres.invalid:5432/hook' });
    expect(r.status).toBe(400);
    const message = r.json.errors[0].message as string;
    expect(message).toBe('webhook URL unreachable: no address was found for its host name');
    expect(r.text).not.toMatch(/postgres|ENOTFOUND|EAI_AGAIN|resolve/);
    // The operator's log has what happened.
    expect(logged.join('')).toMatch(/cannot resolve postgres\.invalid/);
  });

  it('a literal private address is named as given, with our words for the range', async () => {
    const r = await call('POST', '/webhook-endpoints', { url: 'http://10.1.2.3/hook' });
    expect(r.json.errors[0].message).toBe('webhook URL refused: 10.1.2.3 is not a public address (private)');
  });

  it("a test event to a closed port and to one that resets read the same; the socket's code is logged", async () => {
    const closedPort = await freePort();
    const resetter = net.createServer((s) => s.resetAndDestroy());
    await new Promise<void>((resolve) => resetter.listen(0, '127.0.0.1', () => resolve()));
    const resetPort = (resetter.address() as net.AddressInfo).port;
    try {
      const errors: string[] = [];
      for (const port of [closedPort, resetPort]) {
        const ep = await call('POST', '/webhook-endpoints', { url: `http://127.0.0.1:${port}/hook` });
        expect(ep.status).toBe(201);
        logged.length = 0;
        const t = await call('POST', `/webhook-endpoints/${ep.json.endpoint.id}/test`);
        expect(t.status).toBe(200);
        expect(t.json.ok).toBe(false);
        errors.push(t.json.error);
        expect(t.text).not.toMatch(/ECONN|EPIPE|socket hang up/);
        expect(logged.join('')).toMatch(port === closedPort ? /ECONNREFUSED/ : /ECONNRESET|EPIPE|socket hang up/);
        // The delivery log (API and admin page) shows the same words.
        const d = await h.db.prisma.delivery.findFirstOrThrow({
          where: { endpointId: ep.json.endpoint.id },
        });
        expect(d.lastError).toBe('unreachable: no HTTP answer');
      }
      expect(errors).toEqual(['unreachable: no HTTP answer', 'unreachable: no HTTP answer']);
    } finally {
      resetter.close();
    }
  });
});
