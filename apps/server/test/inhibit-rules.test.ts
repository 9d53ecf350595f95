/**
 * Inhibit rules through the API (create, list, get, delete; bad input with field paths; scopes)
 * and the admin page (form errors at the field, create, delete), and `inhibitedBy` on the alert
 * in the API and on the admin alert page. Real Postgres, the app in-process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, api, asKey, type Harness, startHarness } from './harness.ts';

let h: Harness;
let call: ReturnType<typeof api>;
let early = '';
let historic = '';
let wlId = '';

beforeAll(async () => {
  h = await startHarness();
  call = api(h);
  const r = (name: string) =>
    h.db.prisma.rule.create({ data: { name, kind: 'pct_move', params: {} }, select: { id: true } });
  early = (await r('Early warning')).id;
  historic = (await r('At event')).id;
  wlId = (await h.db.prisma.watchlist.create({ data: { slug: 'inh', name: 'Inh list' } })).id;
});
afterAll(async () => {
  await h?.close();
});

function expectProblem(r: { status: number; headers: Headers; json: { status?: number } }, status: number) {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/problem+json');
  expect(r.json.status).toBe(status);
}

describe('API: inhibit rules', () => {
  it('creates one (equal defaults to symbol and session), lists, gets and deletes it', async () => {
    const r = await call('POST', '/inhibit-rules', {
      source: { ruleId: historic },
      target: { ruleId: early, severity: 'warning' },
      comment: 'one event, one message',
    });
    expect(r.status, r.text).toBe(201);
    expect(r.json).toMatchObject({
      source: { ruleId: historic, ruleName: 'At event', severity: null, watchlistId: null },
      target: { ruleId: early, ruleName: 'Early warning', severity: 'warning' },
      equal: ['symbol', 'session'],
      comment: 'one event, one message',
      createdBy: 'API key "tests"',
      inhibitedAlerts: 0,
      seedId: null,
    });
    const id = r.json.id as string;
    const listed = await call('GET', '/inhibit-rules');
    expect(listed.status).toBe(200);
    expect(listed.json.items.map((x: { id: string }) => x.id)).toContain(id);
    expect(listed.json.total).toBeGreaterThanOrEqual(1);
    expect((await call('GET', `/inhibit-rules/${id}`)).json.id).toBe(id);

    const wl = await call('POST', '/inhibit-rules', {
      source: { severity: 'critical', watchlistId: wlId },
      target: { severity: 'info' },
      equal: ['symbol'],
    });
    expect(wl.status, wl.text).toBe(201);
    expect(wl.json).toMatchObject({ source: { watchlistName: 'Inh list' }, equal: ['symbol'], comment: null });

    expect((await call('DELETE', `/inhibit-rules/${id}`)).status).toBe(204);
    expectProblem(await call('GET', `/inhibit-rules/${id}`), 404);
    expectProblem(await call('DELETE', `/inhibit-rules/${id}`), 404);
    expect(await h.db.prisma.rule.count({ where: { id: { in: [early, historic] } } })).toBe(2);
  });

  it('refuses empty matchers, unknown rules and watchlists, self-inhibition and bad labels, at the field', async () => {
    const bad: [Record<string, unknown>, string, RegExp][] = [
      [{ source: {}, target: { ruleId: early } }, 'source.ruleId', /give a rule, a severity or a watchlist/],
      [{ source: { ruleId: historic }, target: {} }, 'target.ruleId', /give a rule/],
      [{ source: { ruleId: 'nope' }, target: { ruleId: early } }, 'source.ruleId', /no such rule/],
      [{ source: { ruleId: historic }, target: { watchlistId: 'nope' } }, 'target.watchlistId', /no such watchlist/],
      [{ source: { ruleId: early }, target: { ruleId: early } }, 'target', /must differ from the source/],
      [{ source: { severity: 'fatal' }, target: { ruleId: early } }, 'source.severity', /./],
      [{ source: { ruleId: historic }, target: { ruleId: early }, equal: ['instrument'] }, 'equal.0', /./],
      [{ source: { ruleId: historic }, target: { ruleId: early }, equal: ['symbol', 'symbol'] }, 'equal', /repeat/],
      [{ source: { ruleId: historic, extra: 1 }, target: { ruleId: early } }, 'source.extra', /unknown field/],
      [{ target: { ruleId: early } }, 'source', /./],
      [{ source: { ruleId: historic }, target: { ruleId: early }, comment: 'x'.repeat(501) }, 'comment', /./],
    ];
    for (const [input, path, message] of bad) {
      const r = await call('POST', '/inhibit-rules', input);
      expectProblem(r, 400);
      const e = r.json.errors.find((x: { path: string }) => x.path === path);
      expect(e?.message, `${JSON.stringify(input)} -> ${JSON.stringify(r.json.errors)}`).toMatch(message);
    }
    for (const raw of ['{"source":', '[1]', 'null'])
      expectProblem(await call('POST', '/inhibit-rules', undefined, { raw }), 400);
    expectProblem(await call('GET', '/inhibit-rules?limit=0'), 400);
    expect(await h.db.prisma.inhibitRule.count({ where: { targetRuleId: early, sourceRuleId: 'nope' } })).toBe(0);
  });

  it('needs write to create and delete, read to list', async () => {
    const mk = async (scopes: string[]) =>
      (await call('POST', '/api-keys', { name: scopes.join('+'), scopes })).json.key as string;
    const reader = await mk(['read']);
    const writer = await mk(['read', 'write']);
    expect((await call('GET', '/inhibit-rules', undefined, asKey(reader))).status).toBe(200);
    const body = { source: { ruleId: historic }, target: { ruleId: early } };
    const refused = await call('POST', '/inhibit-rules', body, asKey(reader));
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toContain('scope="write"');
    const made = await call('POST', '/inhibit-rules', body, asKey(writer));
    expect(made.status).toBe(201);
    expect((await call('DELETE', `/inhibit-rules/${made.json.id}`, undefined, asKey(reader))).status).toBe(403);
    expect((await call('DELETE', `/inhibit-rules/${made.json.id}`, undefined, asKey(writer))).status).toBe(204);
  });

  it('documents the routes with their scopes in the OpenAPI document', async () => {
    const doc = (await call('GET', '/openapi.json', undefined, { auth: false })).json;
    expect(doc.paths['/inhibit-rules'].post['x-scope']).toBe('write');
    expect(doc.paths['/inhibit-rules'].get['x-scope']).toBe('read');
    expect(doc.paths['/inhibit-rules/{id}'].delete['x-scope']).toBe('write');
    expect(doc.components.schemas.InhibitRule).toBeTruthy();
  });

  it('shows inhibitedBy on the held alert in the API and on the admin alert page', async () => {
    const ir = await h.db.prisma.inhibitRule.create({
      data: { sourceRuleId: historic, targetRuleId: early, equal: ['symbol', 'session'], comment: 'held for the test' },
    });
    const base = {
      subject: 'MSFT',
      value: -0.1,
      threshold: -0.05,
      details: {},
      firedAt: new Date('2026-01-29T15:00:00Z'),
    };
    const src = await h.db.prisma.alert.create({
      data: { ...base, dedupKey: 'inh-src', ruleId: historic, severity: 'critical', title: 'MSFT 5 sigma' },
    });
    const held = await h.db.prisma.alert.create({
      data: {
        ...base,
        dedupKey: 'inh-held',
        ruleId: early,
        severity: 'warning',
        title: 'MSFT 3 sigma',
        inhibitedById: src.id,
        inhibitRuleId: ir.id,
      },
    });
    const one = await call('GET', `/alerts/${held.id}`);
    expect(one.json).toMatchObject({
      inhibitedBy: src.id,
      inhibition: { alert: { id: src.id, title: 'MSFT 5 sigma' } },
    });
    expect((await call('GET', `/alerts/${src.id}`)).json.inhibitedBy).toBeNull();
    const listed = await call('GET', '/alerts?symbol=MSFT');
    const row = listed.json.items.find((a: { id: string }) => a.id === held.id);
    expect(row.inhibitedBy).toBe(src.id);

    const { cookie } = await adminSession(h);
    const page = await (await h.app.request(`/admin/alerts/${held.id}`, { headers: { cookie } })).text();
    expect(page).toContain('held back while');
    expect(page).toContain(`href="/admin/alerts/${src.id}"`);
    expect(page).toContain('held for the test');
    const srcPage = await (await h.app.request(`/admin/alerts/${src.id}`, { headers: { cookie } })).text();
    expect(srcPage).not.toContain('held back while');
  });
});

describe('admin inhibit rules page', () => {
  it('shows errors at the field, creates a rule from the form and deletes it', async () => {
    const { cookie, post } = await adminSession(h);
    const empty = await post('/admin/inhibit-rules', { 'target.ruleId': early, equal: 'symbol' });
    expect(empty.status).toBe(400);
    const html = await empty.text();
    expect(html).toMatch(/id="f-source\.ruleId"[^>]*aria-invalid="true"/);
    expect(html).toContain('give a rule, a severity or a watchlist for the source');
    const before = await h.db.prisma.inhibitRule.count();

    const ok = await post('/admin/inhibit-rules', {
      'source.ruleId': historic,
      'target.ruleId': early,
      'target.severity': 'warning',
      equal: 'session',
      comment: 'from the form',
    });
    expect(ok.status).toBe(303);
    const made = await h.db.prisma.inhibitRule.findFirstOrThrow({ where: { comment: 'from the form' } });
    expect(made).toMatchObject({
      sourceRuleId: historic,
      targetRuleId: early,
      targetSeverity: 'warning',
      equal: ['session'],
    });
    expect(await h.db.prisma.inhibitRule.count()).toBe(before + 1);
    const list = await (await h.app.request('/admin/inhibit-rules', { headers: { cookie } })).text();
    expect(list).toContain('from the form');

    expect((await post(`/admin/inhibit-rules/${made.id}/delete`, {})).status).toBe(303);
    expect(await h.db.prisma.inhibitRule.count({ where: { id: made.id } })).toBe(0);
  });
});
