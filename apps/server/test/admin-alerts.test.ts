/** Admin pages in-process: the alerts list (filters, cursor pages), silences, endpoint events. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, type Harness, loginSession, startHarness } from './harness.ts';

describe('admin alerts list', () => {
  let h: Harness;
  let cookie: string;
  const get = async (path: string) => {
    const res = await h.app.request(path, { headers: { cookie } });
    expect(res.status).toBe(200);
    return res.text();
  };
  const titles = (page: string) =>
    [...page.matchAll(/<a href="\/admin\/alerts\/[^"]+">(Paged \d+)<\/a>/g)].map((m) => m[1]);
  const olderLink = (page: string) =>
    /<a href="([^"]+)" rel="next">Older alerts/.exec(page)?.[1]?.replaceAll('&amp;', '&') ?? null;

  beforeAll(async () => {
    h = await startHarness();
    cookie = (await loginSession(h.app)).cookie;
    const rule = await h.db.prisma.rule.create({ data: { name: 'Paged rule', kind: 'pct_move', params: {} } });
    // 230 alerts, one a day, newest last: three pages of 100, 100 and 30.
    await h.db.prisma.alert.createMany({
      data: Array.from({ length: 230 }, (_, i) => ({
        dedupKey: `paged-${i}`,
        ruleId: rule.id,
        subject: 'PGD',
        severity: 'info' as const,
        title: `Paged ${i}`,
        value: -0.1,
        threshold: -0.05,
        details: {},
        firedAt: new Date(Date.UTC(2024, 0, 1 + i, 21)),
      })),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('pages from the newest with "Older alerts" links that keep the filters', async () => {
    const first = await get('/admin/alerts?symbol=PGD');
    expect(first).toContain('230 alert(s), 100 shown');
    expect(titles(first)[0]).toBe('Paged 229');
    expect(titles(first)).toHaveLength(100);
    expect(first).not.toContain('Newest alerts');
    const next = olderLink(first);
    expect(next).toMatch(/^\/admin\/alerts\?symbol=PGD&cursor=[A-Za-z0-9_-]+$/);

    const second = await get(next as string);
    expect(titles(second)[0]).toBe('Paged 129');
    expect(titles(second)).toHaveLength(100);
    expect(second).toContain('href="/admin/alerts?symbol=PGD">← Newest alerts');
    const third = await get(olderLink(second) as string);
    expect(titles(third)).toEqual(Array.from({ length: 30 }, (_, i) => `Paged ${29 - i}`));
    expect(olderLink(third)).toBeNull();
  });

  it('starts from the newest when a page link was mangled', async () => {
    const page = await get('/admin/alerts?symbol=PGD&cursor=bm90LWEtY3Vyc29y');
    expect(titles(page)[0]).toBe('Paged 229');
  });
});

describe('admin silences form', () => {
  let h: Harness;
  let form: Awaited<ReturnType<typeof adminSession>>['post'];
  beforeAll(async () => {
    h = await startHarness();
    form = (await adminSession(h)).post;
  });
  afterAll(async () => {
    await h?.close();
  });
  const post = (body: Record<string, string>) => form('/admin/silences', body);

  it('puts each refusal under its field and keeps what was typed; saves nothing', async () => {
    const none = await post({ ruleId: '', subject: '', durationMin: '60', comment: 'why not' });
    expect(none.status).toBe(400);
    const html = await none.text();
    expect(html).toMatch(/id="f-ruleId-err"[^>]*>[\s\S]*give a rule, a subject or both/);
    expect(html).toContain('value="why not"');
    const noReason = await post({ subject: 'NVDA', durationMin: '60', comment: '  ' });
    expect(noReason.status).toBe(400);
    expect(await noReason.text()).toMatch(/id="f-comment-err"/);
    const odd = await post({ subject: 'NVDA', durationMin: '99999', comment: 'x' });
    expect(odd.status).toBe(400);
    expect(await odd.text()).toMatch(/id="f-durationMin-err"/);
    expect(await h.db.prisma.silence.count()).toBe(0);
    const ok = await post({ subject: 'nvda', durationMin: '60', comment: 'fine' });
    expect(ok.status).toBe(303);
    expect(await h.db.prisma.silence.findFirstOrThrow()).toMatchObject({
      subject: 'NVDA',
      ruleId: null,
      comment: 'fine',
    });
  });
});

describe('admin endpoint form', () => {
  let h: Harness;
  let session: Awaited<ReturnType<typeof adminSession>>;
  beforeAll(async () => {
    h = await startHarness();
    session = await adminSession(h);
  });
  afterAll(async () => {
    await h?.close();
  });
  const post = (pairs: [string, string][]) =>
    h.app.request('/admin/endpoints', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session.cookie },
      body: new URLSearchParams([['_csrf', session.csrf], ...pairs]).toString(),
    });

  it('limits an endpoint to the ticked events (none ticked: all), and keeps the ticks on an error', async () => {
    const some = await post([
      ['url', 'http://127.0.0.1:9/firing-only'],
      ['format', 'slack'],
      ['eventTypes', 'alert.firing'],
      ['eventTypes', 'endpoint.test'],
    ]);
    expect(some.status).toBe(201);
    expect(await some.text()).toMatch(/<dt>Events<\/dt><dd>alert\.firing, endpoint\.test<\/dd>/);
    const all = await post([['url', 'http://127.0.0.1:9/everything']]);
    expect(all.status).toBe(201);
    const rows = await h.db.prisma.webhookEndpoint.findMany({ orderBy: { createdAt: 'asc' } });
    expect(rows.map((r) => [r.url, r.format, r.eventTypes])).toEqual([
      ['http://127.0.0.1:9/firing-only', 'slack', ['alert.firing', 'endpoint.test']],
      ['http://127.0.0.1:9/everything', 'standard', []],
    ]);

    const bad = await post([
      ['url', 'http://10.9.8.7/private'],
      ['eventTypes', 'alert.resolved'],
    ]);
    expect(bad.status).toBe(400);
    const page = await bad.text();
    expect(page).toMatch(/id="f-event-alert\.resolved"[^>]* checked/);
    expect(page).not.toMatch(/id="f-event-alert\.firing"[^>]* checked/);
    const unknown = await post([
      ['url', 'http://127.0.0.1:9/x'],
      ['eventTypes', 'alert.exploded'],
    ]);
    expect(unknown.status).toBe(400);
    expect(await h.db.prisma.webhookEndpoint.count()).toBe(2);
  });
});
