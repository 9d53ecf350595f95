/** Adding a feed whose URL points into our own network answers 422 at `url` (API and admin form). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, api, type Harness, startHarness } from './harness.ts';

let h: Harness;
let call: ReturnType<typeof api>;
beforeAll(async () => {
  // As in a deployment that reads one on-premises feed on this host, and nothing else private.
  h = await startHarness({ env: { FEED_ALLOWED_CIDRS: '127.0.0.1/32' } });
  call = api(h);
});
afterAll(async () => {
  await h?.close();
});

describe('feed URLs into our own network', () => {
  it.each([
    ['http://127.0.0.2:6379/', 'loopback'],
    ['http://10.0.0.5/rss', 'private'],
    ['http://172.16.0.1:5432/', 'private'],
    ['http://192.168.1.1/feed', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local (cloud metadata)'],
    ['http://[::1]:25/', 'loopback'],
    ['http://0.0.0.0:5432/', '"this network"'],
    ['http://[::ffff:10.0.0.1]/', 'private'],
    ['http://2886729729/', 'private'], // 172.16.0.1 written as one number
    ['http://100.64.0.1/', 'carrier-grade NAT'],
    ['http://[fd00::1]/', 'unique local'],
  ])('POST /api/feeds %s -> 422 at url (%s)', async (url, range) => {
    const r = await call('POST', '/feeds', { url, name: 'Internal' });
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(r.json.errors).toEqual([
      { path: 'url', message: `refused: ${range} address (allowed only when FEED_ALLOWED_CIDRS lists it)` },
    ]);
  });

  it('without FEED_ALLOWED_CIDRS: loopback and a name resolving to it are refused too', async () => {
    const plain = await startHarness();
    try {
      const c = api(plain);
      for (const url of ['http://127.0.0.1:6379/', 'http://localhost:8025/']) {
        const r = await c('POST', '/feeds', { url, name: 'Local' });
        expect([r.status, r.json.errors?.[0]?.path]).toEqual([422, 'url']);
      }
    } finally {
      await plain.close();
    }
  });

  it('accepts what FEED_ALLOWED_CIDRS allows, and public names (checked again at every fetch)', async () => {
    expect((await call('POST', '/feeds', { url: 'http://127.0.0.1:8080/rss', name: 'On premises' })).status).toBe(201);
    expect((await call('POST', '/feeds', { url: 'https://feeds.example.org/rss', name: 'Public' })).status).toBe(201);
    expect(await h.db.prisma.feed.count({ where: { name: 'Internal' } })).toBe(0);
  });

  it('the admin form shows the refusal at the URL field, with 422', async () => {
    const s = await adminSession(h);
    const res = await s.post('/admin/feeds', {
      url: 'http://169.254.169.254/latest/',
      name: 'Metadata',
      language: 'en',
    });
    expect(res.status).toBe(422);
    const page = await res.text();
    expect(page).toContain(
      'refused: link-local (cloud metadata) address (allowed only when FEED_ALLOWED_CIDRS lists it)',
    );
    expect(await h.db.prisma.feed.count({ where: { name: 'Metadata' } })).toBe(0);
  });
});
