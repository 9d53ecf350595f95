/**
 * Issue 18, item 3: a key made by a key never outlives or outranks it (expiry at most the minter's,
 * scopes a subset, revoked with it), and a key without the `admin` scope does not read subscribers'
 * addresses through the mail server's words in a delivery log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClock } from '@signals/testing';
import { SCOPES, type Scope } from '../src/api/scopes.ts';
import { createApiKey } from '../src/services/apikeys.ts';
import { api, asKey, type Harness, startHarness } from './harness.ts';

let h: Harness;
let call: ReturnType<typeof api>;
const clock = testClock();
beforeAll(async () => {
  h = await startHarness({ clock });
  call = api(h);
});
afterAll(async () => {
  await h?.close();
});
/** A key an admin made (no minter), optionally expiring. */
async function adminKey(scopes: Scope[], expiresAt?: Date) {
  const r = await createApiKey(
    h.rt,
    { name: 'by admin', scopes, ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}) },
    { userId: null, granted: SCOPES },
  );
  return { id: r.apiKey.id, key: r.key };
}
/** A key made through the API by `minter`. */
async function mint(minter: string, body: { scopes?: Scope[]; expiresAt?: string }) {
  return call('POST', '/api-keys', { name: 'minted', ...body }, asKey(minter));
}

describe('a minted key never outlives its minter', () => {
  it('expires with a minter that expires in 70 s, and cannot be made to expire later', async () => {
    const now = clock.freeze();
    try {
      const minterExpiry = new Date(now.getTime() + 70_000);
      const minter = await adminKey([...SCOPES], minterExpiry);
      // No expiry asked for: the minter's.
      const child = await mint(minter.key, { scopes: [...SCOPES] });
      expect(child.status, child.text).toBe(201);
      expect(child.json.apiKey.expiresAt).toBe(minterExpiry.toISOString());
      expect(child.json.apiKey.mintedById).toBe(minter.id);
      // Later than the minter: refused, saying why.
      const later = await mint(minter.key, { expiresAt: new Date(now.getTime() + 3_600_000).toISOString() });
      expect(later.status).toBe(400);
      expect(later.json.errors).toEqual([
        {
          path: 'expiresAt',
          message: `must not be later than the expiry of the key making it (${minterExpiry.toISOString()})`,
        },
      ]);
      // Earlier: as asked.
      const sooner = await mint(minter.key, { expiresAt: new Date(now.getTime() + 10_000).toISOString() });
      expect(sooner.status).toBe(201);
      expect(sooner.json.apiKey.expiresAt).toBe(new Date(now.getTime() + 10_000).toISOString());

      expect((await call('GET', '/rules', undefined, asKey(child.json.key))).status).toBe(200);
      clock.advance(70_001); // the minter's expiry passes
      expect((await call('GET', '/rules', undefined, asKey(minter.key))).status).toBe(401);
      expect((await call('GET', '/rules', undefined, asKey(child.json.key))).status).toBe(401);
    } finally {
      clock.thaw();
    }
  });

  it('keeps no more scopes than its minter', async () => {
    const minter = await adminKey(['read', 'admin']);
    expect((await mint(minter.key, { scopes: ['read', 'write'] })).status).toBe(403);
    expect((await mint(minter.key, { scopes: ['read'] })).status).toBe(201);
  });

  it('is revoked with its minter, at any depth; keys made by others stay', async () => {
    const minter = await adminKey([...SCOPES]);
    const child = await mint(minter.key, { scopes: [...SCOPES] });
    const grandchild = await mint(child.json.key, { scopes: ['read'] });
    const other = await adminKey(['read']);
    expect((await call('GET', '/rules', undefined, asKey(grandchild.json.key))).status).toBe(200);
    expect((await call('DELETE', `/api-keys/${minter.id}`)).status).toBe(204);
    for (const k of [minter.key, child.json.key, grandchild.json.key]) {
      expect((await call('GET', '/rules', undefined, asKey(k))).status).toBe(401);
    }
    expect((await call('GET', '/rules', undefined, asKey(other.key))).status).toBe(200);
  });
});

describe('delivery logs hide subscribers’ addresses from keys without the admin scope', () => {
  const BOUNCE = '550 5.1.1 <victim.person+tag@example.com>: Recipient address rejected: User unknown';

  it('masks the address in a bounce for read and write keys, shows it to admin keys', async () => {
    const rule = await h.db.prisma.rule.create({ data: { name: 'Bounce rule', kind: 'pct_move', params: {} } });
    const sub = await h.db.prisma.subscriber.create({
      data: { email: 'victim.person+tag@example.com', status: 'confirmed' },
    });
    const endpoint = await h.db.prisma.webhookEndpoint.create({
      data: { url: 'https://hooks.example.com/x', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    });
    const alert = await h.db.prisma.alert.create({
      data: {
        ruleId: rule.id,
        dedupKey: `bounce-${Date.now()}`,
        subject: 'NVDA',
        title: 'NVDA fell',
        severity: 'critical',
        value: -0.2,
        threshold: -0.1,
        details: {},
        firedAt: new Date(),
      },
    });
    const failed = (target: string, extra: object) =>
      h.db.prisma.delivery.create({
        data: {
          alertId: alert.id,
          channel: target.startsWith('email') ? 'email' : 'webhook',
          target,
          eventType: 'alert.firing',
          messageId: `msg_${target}_${alert.id}`,
          status: 'failed',
          attempts: 1,
          lastError: BOUNCE,
          ...extra,
          attemptLog: {
            create: {
              startedAt: new Date(),
              durationMs: 12,
              outcome: 'failed',
              statusCode: 550,
              error: BOUNCE,
              response: `250 2.1.0 <alerts@signals.example> ok; 550 for <victim.person+tag@example.com>`,
              worker: 'test',
            },
          },
        },
      });
    const mail = await failed(`email:${sub.id}`, { subscriberId: sub.id });
    await failed(`webhook:${endpoint.id}`, { endpointId: endpoint.id });

    const read = await adminKey(['read']);
    const write = await adminKey(['read', 'write']);
    const admin = await adminKey(['read', 'admin']);

    const texts = (body: unknown) => JSON.stringify(body);
    for (const k of [read, write]) {
      const list = await call('GET', `/alerts/${alert.id}/deliveries`, undefined, asKey(k.key));
      expect(list.status).toBe(200);
      const email = list.json.items.find((d: { channel: string }) => d.channel === 'email');
      expect(email.lastError).toBe('550 5.1.1 <[address hidden]>: Recipient address rejected: User unknown');
      expect(email.attemptLog[0].error).toBe(email.lastError);
      expect(email.attemptLog[0].response).toBe('250 2.1.0 <[address hidden]> ok; 550 for <[address hidden]>');
      // Every other route that returns delivery logs.
      const detail = await call('GET', `/alerts/${alert.id}`, undefined, asKey(k.key));
      const ofEndpoint = await call('GET', `/webhook-endpoints/${endpoint.id}/deliveries`, undefined, asKey(k.key));
      for (const r of [list, detail, ofEndpoint]) {
        expect(r.status).toBe(200);
        expect(texts(r.json)).not.toContain('@example.com');
        expect(texts(r.json)).toContain('[address hidden]');
      }
    }
    // Redelivering (write) answers the delivery: masked too.
    const again = await call('POST', `/deliveries/${mail.id}/redeliver`, undefined, asKey(write.key));
    expect(again.status).toBe(200);
    expect(texts(again.json)).not.toContain('victim.person');

    // A key that may read subscribers reads the server's words as they were.
    const full = await call('GET', `/alerts/${alert.id}/deliveries`, undefined, asKey(admin.key));
    expect(texts(full.json)).toContain('victim.person+tag@example.com');
  });
});
