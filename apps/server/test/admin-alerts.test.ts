/** The admin alerts list: filters and pages that continue from the last alert shown. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, loginSession, startHarness } from './harness.ts';

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
