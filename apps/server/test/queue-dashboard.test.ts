/**
 * The queue dashboard (bull-board) calls its own JSON API without our CSRF token, so its
 * state-changing actions are guarded by origin instead (apps/server/src/app.ts, boardGuard): a
 * cross-origin PUT/POST is refused before it touches a queue, a same-origin one works. Real Redis,
 * the real bull-board routes, a logged-in admin session.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, loginSession, startHarness } from './harness.ts';

let h: Harness;
let cookie: string;
beforeAll(async () => {
  h = await startHarness();
  const s = await loginSession(h.app);
  expect(s.res.status).toBe(303);
  cookie = s.cookie;
});
afterAll(async () => {
  await h?.close();
});

/** What the in-process app sees as its own origin (app.request uses http://localhost). */
const OWN = 'http://localhost';

function board(method: 'PUT' | 'POST', path: string, headers: Record<string, string>, body?: unknown) {
  return h.app.request(`/admin/queues/api${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

const CROSS: [string, Record<string, string>][] = [
  ['another Origin', { origin: 'https://evil.example' }],
  ['an Origin that only starts like ours', { origin: `${OWN}.evil.example` }],
  ['the string "null" as Origin (sandboxed frame)', { origin: 'null' }],
  ['no Origin, Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }],
  ['no Origin, Sec-Fetch-Site same-site (a sibling subdomain)', { 'sec-fetch-site': 'same-site' }],
  ['neither Origin nor Sec-Fetch-Site', {}],
];

describe('queue dashboard actions: same-origin guard', () => {
  // Each test starts from running queues, whatever an earlier (or failed) test left.
  beforeEach(async () => {
    for (const q of h.queues.all()) await q.resume();
  });

  it('refuses a cross-origin pause (403) and leaves the queue running; a same-origin one pauses it', async () => {
    const q = h.queues.get('deliveries');
    expect(await q.isPaused()).toBe(false);
    for (const [what, headers] of CROSS) {
      const r = await board('PUT', `/queues/${q.name}/pause`, { cookie, ...headers });
      expect(r.status, what).toBe(403);
      expect(await r.text(), what).toContain('cross-origin request');
      expect(await q.isPaused(), what).toBe(false);
    }
    const ok = await board('PUT', `/queues/${q.name}/pause`, { cookie, origin: OWN });
    expect(ok.status).toBe(200);
    expect(await q.isPaused()).toBe(true);
    // The dashboard's own fetches may carry only Sec-Fetch-Site: same-origin.
    const resumed = await board('PUT', `/queues/${q.name}/resume`, { cookie, 'sec-fetch-site': 'same-origin' });
    expect(resumed.status).toBe(200);
    expect(await q.isPaused()).toBe(false);
  });

  it('refuses a cross-origin POST that would add a job; a same-origin one adds it', async () => {
    const q = h.queues.get('maintenance');
    const count = async () => (await q.getJobCounts('waiting', 'delayed', 'prioritized')) as Record<string, number>;
    const total = async () => Object.values(await count()).reduce((a, b) => a + b, 0);
    const before = await total();
    const job = { name: 'from-dashboard', data: {}, options: {} };
    for (const [what, headers] of CROSS) {
      const r = await board('POST', `/queues/${q.name}/add`, { cookie, ...headers }, job);
      expect(r.status, what).toBe(403);
      expect(await total(), what).toBe(before);
    }
    const ok = await board('POST', `/queues/${q.name}/add`, { cookie, origin: OWN }, job);
    expect(ok.status).toBeLessThan(300);
    expect(await total()).toBe(before + 1);
    const added = (await q.getJobs(['waiting', 'delayed', 'prioritized'])).find((j) => j.name === 'from-dashboard');
    expect(added).toBeDefined();
    await added?.remove();
  });

  it('a same-origin action still needs the admin session', async () => {
    const q = h.queues.get('deliveries');
    const r = await board('PUT', `/queues/${q.name}/pause`, { origin: OWN });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toMatch(/^\/admin\/login/);
    expect(await q.isPaused()).toBe(false);
  });

  it('reads (GET) need the session but no origin', async () => {
    const list = await h.app.request('/admin/queues/api/queues', { headers: { cookie } });
    expect(list.status).toBe(200);
    const names = ((await list.json()) as { queues: { name: string }[] }).queues.map((x) => x.name);
    expect(names).toContain(h.queues.get('deliveries').name);
    expect((await h.app.request('/admin/queues/api/queues')).status).toBe(303);
  });
});
