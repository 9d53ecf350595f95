/** An admin can send to a bouncing subscriber again: the API route and the admin page's button. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, api, type Harness, startHarness } from './harness.ts';

let h: Harness;
let call: ReturnType<typeof api>;
beforeAll(async () => {
  h = await startHarness();
  call = api(h);
});
afterAll(async () => {
  await h?.close();
});

const bouncing = (email: string) =>
  h.db.prisma.subscriber.create({ data: { email, status: 'bouncing', bounceCount: 3 } });
const row = (id: string) => h.db.prisma.subscriber.findUniqueOrThrow({ where: { id } });

describe('reactivating a bouncing subscriber', () => {
  it('POST /api/subscribers/{id}/reactivate: bouncing -> confirmed with the count at 0; others 409, unknown 404', async () => {
    const sub = await bouncing('fixed-mailbox@example.org');
    const r = await call('POST', `/subscribers/${sub.id}/reactivate`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: sub.id, status: 'confirmed', bounceCount: 0 });
    expect(await row(sub.id)).toMatchObject({ status: 'confirmed', bounceCount: 0 });

    const again = await call('POST', `/subscribers/${sub.id}/reactivate`);
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.stringify(again.json)).toContain(
      'only a bouncing subscriber can be reactivated (this one is confirmed)',
    );
    const gone = await h.db.prisma.subscriber.create({
      data: { email: 'said-no@example.org', status: 'unsubscribed' },
    });
    expect((await call('POST', `/subscribers/${gone.id}/reactivate`)).status).toBe(409);
    expect((await row(gone.id)).status).toBe('unsubscribed');
    expect((await call('POST', '/subscribers/nope/reactivate')).status).toBe(404);
    expect((await call('GET', '/openapi.json', undefined, { auth: false })).json.paths).toHaveProperty(
      '/subscribers/{id}/reactivate',
    );
  });

  it('the admin subscriber page shows a Reactivate button on bouncing rows only, and it works', async () => {
    const sub = await bouncing('full-inbox@example.org');
    const ok = await h.db.prisma.subscriber.create({ data: { email: 'fine@example.org', status: 'confirmed' } });
    const s = await adminSession(h);
    const page = await (await h.app.request('/admin/subscribers', { headers: { cookie: s.cookie } })).text();
    expect(page).toContain(`action="/admin/subscribers/${sub.id}/reactivate"`);
    expect(page).toContain('Reactivate full-inbox@example.org');
    expect(page).toContain('3 bounce(s)');
    expect(page).not.toContain(`action="/admin/subscribers/${ok.id}/reactivate"`);

    // Without the CSRF token nothing changes.
    const forged = await h.app.request(`/admin/subscribers/${sub.id}/reactivate`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: s.cookie },
      body: '',
    });
    expect(forged.status).toBe(403);
    expect((await row(sub.id)).status).toBe('bouncing');

    const res = await s.post(`/admin/subscribers/${sub.id}/reactivate`, {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/subscribers?done=reactivated');
    expect(await row(sub.id)).toMatchObject({ status: 'confirmed', bounceCount: 0 });
    const after = await (
      await h.app.request('/admin/subscribers?done=reactivated', { headers: { cookie: s.cookie } })
    ).text();
    expect(after).toContain('Reactivated: alerts are sent to this address again.');
  });
});
