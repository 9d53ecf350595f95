import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDeliveries } from '@signals/db';
import { startWebhookReceiver, type WebhookReceiver } from '@signals/testing';
import { Webhook } from 'standardwebhooks';
import { api, type Harness, startHarness, syntheticBars } from './harness.ts';

let h: Harness;
let call: ReturnType<typeof api>;

beforeAll(async () => {
  h = await startHarness();
  call = api(h);
});
afterAll(async () => {
  await h?.close();
});

function expectProblem(r: { status: number; headers: Headers; json: unknown }, status: number) {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/problem+json');
  expect((r.json as { status: number }).status).toBe(status);
}

describe('API: auth', () => {
  it('refuses calls without credentials, with a bad key, and a revoked key', async () => {
    expectProblem(await call('GET', '/watchlists', undefined, { auth: false }), 401);
    expectProblem(
      await call('GET', '/watchlists', undefined, { auth: false, headers: { authorization: 'Bearer sk_nope' } }),
      401,
    );
    const created = await call('POST', '/api-keys', { name: 'short-lived' });
    expect(created.status).toBe(201);
    expect(created.json.key).toMatch(/^sk_/);
    expect(created.json.apiKey.prefix).toBe(created.json.key.slice(0, 10));
    const other = created.json.key as string;
    const ok = await call('GET', '/watchlists', undefined, {
      auth: false,
      headers: { authorization: `Bearer ${other}` },
    });
    expect(ok.status).toBe(200);
    expect((await call('DELETE', `/api-keys/${created.json.apiKey.id}`)).status).toBe(204);
    expectProblem(
      await call('GET', '/watchlists', undefined, { auth: false, headers: { authorization: `Bearer ${other}` } }),
      401,
    );
    const keyRow = await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: created.json.apiKey.id } });
    expect(keyRow.keyHash).not.toContain(other);
    expect(keyRow.keyHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('serves an OpenAPI 3.1 document generated from the request schemas, without auth', async () => {
    const r = await call('GET', '/openapi.json', undefined, { auth: false });
    expect(r.status).toBe(200);
    expect(r.json.openapi).toBe('3.1.0');
    for (const p of [
      '/watchlists',
      '/watchlists/{id}/members',
      '/rules/preview',
      '/backtest',
      '/alerts',
      '/subscribers',
      '/webhook-endpoints/{id}/rotate',
      '/feeds',
      '/api-keys',
    ]) {
      expect(Object.keys(r.json.paths)).toContain(p);
    }
    const body = r.json.paths['/watchlists'].post.requestBody.content['application/json'].schema;
    expect(body.additionalProperties).toBe(false);
    expect(body.required).toContain('name');
  });
});

describe('API: watchlists and instruments', () => {
  it('creates, renames, refuses a duplicate slug with 409', async () => {
    const r = await call('POST', '/watchlists', { name: 'AI core', slug: 'ai-core' });
    expect(r.status).toBe(201);
    const id = r.json.id as string;
    const dup = await call('POST', '/watchlists', { name: 'Other', slug: 'ai-core' });
    expectProblem(dup, 409);
    const ren = await call('PATCH', `/watchlists/${id}`, { name: 'AI core names' });
    expect(ren.status).toBe(200);
    expect(ren.json.name).toBe('AI core names');
    expectProblem(await call('GET', '/watchlists/nope'), 404);
  });

  it('adds a symbol known to the price source, refuses an unknown one and a duplicate', async () => {
    // Its own watchlist: tests run in any order, or alone.
    const wl = await call('POST', '/watchlists', { name: 'Members', slug: 'members' });
    expect(wl.status).toBe(201);
    const id = wl.json.id as string;
    const added = await call('POST', `/watchlists/${id}/members`, { symbol: 'aapl' });
    expect(added.status).toBe(201);
    expect(added.json.symbol).toBe('AAPL');
    expect(added.json.lastPrice).toBeGreaterThan(0);
    expect(added.json.lastSourceAt).toMatch(/^\d{4}-/);
    const unknown = await call('POST', `/watchlists/${id}/members`, { symbol: 'ZZZZQ' });
    expectProblem(unknown, 400);
    expect(unknown.json.errors[0].path).toBe('symbol');
    expect(unknown.json.errors[0].message).toMatch(/unknown symbol/);
    expectProblem(await call('POST', `/watchlists/${id}/members`, { symbol: 'AAPL' }), 409);
    const members = await call('GET', `/watchlists/${id}/members`);
    expect(members.json.items.map((m: { symbol: string }) => m.symbol)).toEqual(['AAPL']);
    const inst = await call('GET', '/instruments/AAPL');
    expect(inst.status).toBe(200);
    expectProblem(await call('GET', '/instruments/NOPE'), 404);
    expect((await call('DELETE', `/watchlists/${id}/members/AAPL`)).status).toBe(204);
    expectProblem(await call('DELETE', `/watchlists/${id}/members/AAPL`), 404);
  });

  it('stores SQL and HTML verbatim and escapes them on the admin page', async () => {
    const name = `Robert'); DROP TABLE "Watchlist";-- <script>alert(1)</script>`;
    const r = await call('POST', '/watchlists', { name, slug: 'xss-test' });
    expect(r.status).toBe(201);
    expect(r.json.name).toBe(name);
    expect((await h.db.prisma.watchlist.findUniqueOrThrow({ where: { id: r.json.id } })).name).toBe(name);
    const cookie = await loginCookie();
    const page = await h.app.request('/admin/watchlists', { headers: { cookie } });
    const html = await page.text();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('normalizes strings to NFC', async () => {
    const r = await call('POST', '/watchlists', { name: 'Cafe\u0301 list', slug: 'cafe' });
    expect(r.status).toBe(201);
    expect(r.json.name).toBe('Caf\u00e9 list');
  });
});

describe('API: rules, preview and backtest', () => {
  const bars = syntheticBars({ start: '2024-01-02', days: 300, dropDate: '2024-09-03', dropPct: 15 });

  it('creates a rule and refuses bad params with field paths', async () => {
    const ok = await call('POST', '/rules', {
      name: 'Big fall',
      kind: 'pct_move',
      params: { sessions: 1, thresholdPct: 10, direction: 'down' },
      symbols: ['NVDA'],
      severity: 'critical',
    });
    expect(ok.status).toBe(201);
    expect(ok.json.summary).toMatch(/NVDA/);
    const bad = await call('POST', '/rules', {
      name: 'x',
      kind: 'pct_move',
      params: { thresholdPct: -1, direction: 'down', bogus: 1 },
    });
    expectProblem(bad, 400);
    const paths = bad.json.errors.map((e: { path: string }) => e.path);
    expect(paths).toContain('params.thresholdPct');
    const off = await call('PATCH', `/rules/${ok.json.id}`, { enabled: false });
    expect(off.status).toBe(200);
    expect(off.json.enabled).toBe(false);
    expectProblem(
      await call('PATCH', `/rules/${ok.json.id}`, { params: { thresholdPct: 'ten', direction: 'down' } }),
      400,
    );
    expectProblem(await call('GET', '/rules/nope'), 404);
    const tpl = await call('GET', '/rules/templates');
    expect(tpl.json.items.length).toBeGreaterThanOrEqual(8);
  });

  it('backtests posted bars and lists every alert that would have fired', async () => {
    const r = await call('POST', '/backtest', {
      rules: [
        {
          name: 'Fall 10 %',
          kind: 'pct_move',
          params: { sessions: 1, thresholdPct: 10, direction: 'down' },
          symbols: ['NVDA'],
        },
      ],
      bars: { NVDA: bars },
      from: '2024-01-02',
      to: '2025-03-01',
    });
    expect(r.status).toBe(200);
    expect(r.json.summary.total).toBe(1);
    expect(r.json.alerts[0]).toMatchObject({ symbol: 'NVDA', at: '2024-09-03', threshold: expect.any(Number) });
    expect(r.json.alerts[0].value).toBeCloseTo(-0.15, 3);
    const none = await call('POST', '/backtest', { bars: { NVDA: bars } });
    expectProblem(none, 400);
    expect(none.json.errors[0].path).toBe('rules');
  });

  it('previews a draft over stored PriceBar history', async () => {
    const inst = await h.db.prisma.instrument.upsert({
      where: { symbol: 'NVDA' },
      create: { symbol: 'NVDA' },
      update: {},
    });
    const now = new Date();
    const recent = syntheticBars({
      start: new Date(now.getTime() - 360 * 86_400_000).toISOString().slice(0, 10),
      days: 240,
      dropDate: '',
      dropPct: 0,
    });
    recent[150] = { ...(recent[150] as (typeof recent)[number]) };
    const drop = recent[150] as (typeof recent)[number];
    await h.db.prisma.priceBar.createMany({
      data: recent.map((b, i) => {
        const close = i === 150 ? (recent[149] as typeof b).close * 0.85 : i > 150 ? b.close * 0.85 : b.close;
        return {
          instrumentId: inst.id,
          date: new Date(`${b.date}T00:00:00Z`),
          open: close,
          high: close,
          low: close,
          close,
          volume: BigInt(b.volume),
          sourceAt: new Date(`${b.date}T21:00:00Z`),
          fetchedAt: now,
        };
      }),
    });
    const r = await call('POST', '/rules/preview', {
      name: 'Fall 10 %',
      kind: 'pct_move',
      params: { sessions: 1, thresholdPct: 10, direction: 'down' },
      symbols: ['NVDA'],
    });
    expect(r.status).toBe(200);
    expect(r.json.fired).toBe(1);
    expect(r.json.backtest.alerts[0].at).toBe(drop.date);
  });
});

describe('API: alerts and subscribers', () => {
  it('lists alerts with filters and shows one with its deliveries', async () => {
    const rule = await h.db.prisma.rule.create({
      data: { name: 'R', kind: 'pct_move', params: { thresholdPct: 10, direction: 'down' } },
    });
    const a = await h.db.prisma.alert.create({
      data: {
        dedupKey: 'k1',
        ruleId: rule.id,
        subject: 'NVDA',
        severity: 'critical',
        title: 'NVDA fell 15 %',
        value: -0.15,
        threshold: -0.1,
        details: {},
        firedAt: new Date('2025-01-27T21:00:00Z'),
      },
    });
    const list = await call('GET', '/alerts?symbol=NVDA&status=firing&from=2025-01-01&to=2025-01-31');
    expect(list.status).toBe(200);
    expect(list.json.total).toBe(1);
    const none = await call('GET', '/alerts?from=2025-02-01');
    expect(none.json.total).toBe(0);
    const one = await call('GET', `/alerts/${a.id}`);
    expect(one.json.title).toBe('NVDA fell 15 %');
    expect((await call('GET', `/alerts/${a.id}/deliveries`)).json.items).toEqual([]);
    const bad = await call('GET', '/alerts?limit=lots&status=burning');
    expectProblem(bad, 400);
    expect(bad.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(['query.limit', 'query.status']);
  });

  it('lists and removes subscribers', async () => {
    const s = await h.db.prisma.subscriber.create({ data: { email: 'x@example.org' } });
    const list = await call('GET', '/subscribers?status=pending');
    expect(list.json.items.map((x: { email: string }) => x.email)).toContain('x@example.org');
    expect((await call('GET', `/subscribers/${s.id}`)).json.status).toBe('pending');
    expect((await call('DELETE', `/subscribers/${s.id}`)).status).toBe(204);
    expectProblem(await call('DELETE', `/subscribers/${s.id}`), 404);
  });
});

describe('API: silences', () => {
  it('silences a rule on a symbol for a while, lists it, records who, and expires it', async () => {
    const rule = await h.db.prisma.rule.create({ data: { name: 'Silenced rule', kind: 'pct_move', params: {} } });
    const r = await call('POST', '/silences', {
      ruleId: rule.id,
      subject: 'pltr',
      durationMin: 240,
      comment: 'earnings call tonight',
    });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      ruleId: rule.id,
      ruleName: 'Silenced rule',
      subject: 'PLTR',
      state: 'active',
      comment: 'earnings call tonight',
      createdBy: 'API key "tests"',
      silencedAlerts: 0,
    });
    expect(Date.parse(r.json.endsAt) - Date.parse(r.json.startsAt)).toBe(240 * 60_000);
    const id = r.json.id as string;
    const listed = await call('GET', '/silences');
    expect(listed.json.items.map((x: { id: string }) => x.id)).toContain(id);
    expect((await call('GET', '/silences?state=expired')).json.items.map((x: { id: string }) => x.id)).not.toContain(
      id,
    );

    const pending = await call('POST', '/silences', {
      subject: 'NVDA',
      startsAt: new Date(Date.now() + 86_400_000).toISOString(),
      endsAt: new Date(Date.now() + 2 * 86_400_000).toISOString(),
      comment: 'index rebalance',
    });
    expect(pending.json.state).toBe('pending');
    expect((await call('GET', '/silences?state=pending')).json.items.map((x: { id: string }) => x.id)).toEqual([
      pending.json.id,
    ]);

    const expired = await call('POST', `/silences/${id}/expire`);
    expect(expired.status).toBe(200);
    expect(expired.json.state).toBe('expired');
    expect((await call('GET', '/silences?state=expired')).json.items.map((x: { id: string }) => x.id)).toContain(id);
    expect((await call('POST', `/silences/${id}/expire`)).json.endsAt).toBe(expired.json.endsAt); // no change
    expectProblem(await call('GET', '/silences/nope'), 404);
    expectProblem(await call('POST', '/silences/nope/expire'), 404);
  });

  it('refuses a silence of everything, of an unknown rule, in the past, too long, or with both end forms', async () => {
    const bad: [Record<string, unknown>, string, RegExp][] = [
      [{ durationMin: 60, comment: 'x' }, 'ruleId', /give a rule, a subject or both/],
      [{ ruleId: 'nope', durationMin: 60, comment: 'x' }, 'ruleId', /no such rule/],
      [{ subject: 'NVDA', comment: 'x' }, 'endsAt', /either endsAt or durationMin/],
      [{ subject: 'NVDA', durationMin: 120, endsAt: '2030-01-01T00:00:00Z', comment: 'x' }, 'endsAt', /either/],
      [{ subject: 'NVDA', endsAt: '2020-01-01T00:00:00Z', comment: 'x' }, 'endsAt', /in the future/],
      [{ subject: 'NVDA', endsAt: '2099-01-01T00:00:00Z', comment: 'x' }, 'endsAt', /at most 90 days/],
      [{ subject: 'NVDA', endsAt: '2099-01-01', comment: 'x' }, 'endsAt', /ISO timestamp/],
      [{ subject: 'NVDA', durationMin: 0, comment: 'x' }, 'durationMin', /at least 60/],
      // "An hour to 90 days" (issue 18, item 5): a minute, or an end 5 minutes away, is refused.
      [{ subject: 'NVDA', durationMin: 1, comment: 'x' }, 'durationMin', /at least 60 \(a silence lasts an hour/],
      [{ subject: 'NVDA', durationMin: 59, comment: 'x' }, 'durationMin', /at least 60/],
      [
        { subject: 'NVDA', endsAt: new Date(Date.now() + 5 * 60_000).toISOString(), comment: 'x' },
        'endsAt',
        /at least an hour/,
      ],
      [{ subject: 'NVDA', durationMin: 1.5, comment: 'x' }, 'durationMin', /whole number/],
      [{ subject: 'NVDA', durationMin: 60 }, 'comment', /./],
    ];
    for (const [input, path, message] of bad) {
      const r = await call('POST', '/silences', input);
      expectProblem(r, 400);
      const e = r.json.errors.find((x: { path: string }) => x.path === path);
      expect(e?.message, JSON.stringify(input)).toMatch(message);
    }
  });
});

describe('API: webhook endpoints', () => {
  let receiver: WebhookReceiver;
  afterAll(async () => {
    await receiver?.close();
  });

  it('refuses private addresses outside WEBHOOK_ALLOWED_CIDRS', async () => {
    const r = await call('POST', '/webhook-endpoints', { url: 'http://10.1.2.3/hook' });
    expectProblem(r, 400);
    expect(r.json.errors[0].path).toBe('url');
    const s = await call('POST', '/webhook-endpoints', { url: 'ftp://example.org/x' });
    expectProblem(s, 400);
  });

  it('creates an endpoint in a chat format, changes it, and refuses an unknown format', async () => {
    const r = await call('POST', '/webhook-endpoints', { url: 'http://127.0.0.1:9/services/T/B/x', format: 'slack' });
    expect(r.status).toBe(201);
    expect(r.json.endpoint.format).toBe('slack');
    const id = r.json.endpoint.id as string;
    const changed = await call('PATCH', `/webhook-endpoints/${id}`, { format: 'discord' });
    expect(changed.json.format).toBe('discord');
    expect((await h.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id } })).format).toBe('discord');
    const plain = await call('POST', '/webhook-endpoints', { url: 'http://127.0.0.1:9/plain' });
    expect(plain.json.endpoint.format).toBe('standard');
    const bad = await call('POST', '/webhook-endpoints', { url: 'http://127.0.0.1:9/t', format: 'telegram' });
    expectProblem(bad, 400);
    expect(bad.json.errors).toEqual([{ path: 'format', message: 'must be one of standard, slack, discord, teams' }]);
    expectProblem(await call('PATCH', `/webhook-endpoints/${id}`, { format: 7 }), 400);
    await h.db.prisma.webhookEndpoint.deleteMany({ where: { id: { in: [id, plain.json.endpoint.id] } } });
  });

  it('creates (secret once), sends a test event, rotates, redelivers', async () => {
    receiver = await startWebhookReceiver({
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      rejectUnverified: false,
    });
    const r = await call('POST', '/webhook-endpoints', { url: `${receiver.url}/hook`, description: 'test' });
    expect(r.status).toBe(201);
    const secret = r.json.secret as string;
    expect(secret).toMatch(/^whsec_/);
    const id = r.json.endpoint.id as string;
    const again = await call('GET', `/webhook-endpoints/${id}`);
    expect(again.text).not.toContain(secret);

    const t = await call('POST', `/webhook-endpoints/${id}/test`);
    expect(t.status).toBe(200);
    expect(t.json).toMatchObject({ ok: true, status: 200 });
    const [got] = await receiver.waitFor(1);
    expect(got).toBeDefined();
    const verified = new Webhook(secret).verify(got?.rawBody ?? '', {
      'webhook-id': String(got?.id),
      'webhook-timestamp': String(got?.timestamp),
      'webhook-signature': String(got?.signature),
    }) as { type: string };
    expect(verified.type).toBe('endpoint.test');

    const log = await call('GET', `/webhook-endpoints/${id}/deliveries`);
    expect(log.json.items[0]).toMatchObject({ eventType: 'endpoint.test', status: 'succeeded', attempts: 1 });
    expect(log.json.items[0].attemptLog[0]).toMatchObject({ outcome: 'ok', statusCode: 200 });

    const rot = await call('POST', `/webhook-endpoints/${id}/rotate`);
    expect(rot.json.secret).not.toBe(secret);
    const row = await h.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id } });
    expect(row.previousSecret).toBe(secret);
    expect(row.previousSecretUntil?.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);

    const deliveryId = log.json.items[0].id as string;
    expectProblem(await call('POST', `/deliveries/${deliveryId}/redeliver`), 409);
    await h.db.prisma.delivery.update({ where: { id: deliveryId }, data: { status: 'dead' } });
    const re = await call('POST', `/deliveries/${deliveryId}/redeliver`);
    expect(re.status).toBe(200);
    expect(re.json.status).toBe('pending');
    const jobs = await h.queues.get('deliveries').getJobs(['waiting', 'delayed', 'prioritized']);
    expect(jobs.map((j) => j.data)).toContainEqual({ deliveryId, attempt: 1 });
  });
});

describe('API: feeds', () => {
  it('adds a feed, refuses a duplicate, disables it', async () => {
    const r = await call('POST', '/feeds', { url: 'https://example.org/rss', name: 'Example' });
    expect(r.status).toBe(201);
    expectProblem(await call('POST', '/feeds', { url: 'https://example.org/rss', name: 'Again' }), 409);
    const off = await call('PATCH', `/feeds/${r.json.id}`, { enabled: false });
    expect(off.json.enabled).toBe(false);
    // Other tests add feeds too (in any order): this one is listed once, disabled.
    const listed = (await call('GET', '/feeds?limit=100')).json.items.filter(
      (x: { url: string }) => x.url === 'https://example.org/rss',
    );
    expect(listed.map((x: { id: string; enabled: boolean }) => [x.id, x.enabled])).toEqual([[r.json.id, false]]);
  });

  it('deletes a feed with its news items (204), 404 for an unknown one', async () => {
    const other = await call('POST', '/feeds', { url: 'https://example.org/stays.xml', name: 'Stays' });
    expect(other.status).toBe(201);
    const feedIds = async () => (await h.db.prisma.feed.findMany({ select: { id: true } })).map((x) => x.id).sort();
    const before = await feedIds();
    const f = await call('POST', '/feeds', { url: 'https://example.org/gone.xml', name: 'Gone' });
    expect(f.status).toBe(201);
    const inst = await h.db.prisma.instrument.upsert({
      where: { symbol: 'NVDA' },
      create: { symbol: 'NVDA' },
      update: {},
    });
    for (const k of ['a', 'b']) {
      await h.db.prisma.newsItem.create({
        data: {
          feedId: f.json.id,
          dedupKey: k,
          title: `Item ${k}`,
          contentHash: k,
          instruments: { create: { instrumentId: inst.id, matched: 'NVDA' } },
        },
      });
    }
    expect((await call('GET', `/feeds/${f.json.id}`)).json.items).toHaveLength(2);
    const del = await call('DELETE', `/feeds/${f.json.id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect(await h.db.prisma.newsItem.count({ where: { feedId: f.json.id } })).toBe(0);
    expect(await h.db.prisma.newsItemInstrument.count({ where: { instrumentId: inst.id } })).toBe(0);
    expectProblem(await call('GET', `/feeds/${f.json.id}`), 404);
    expectProblem(await call('DELETE', `/feeds/${f.json.id}`), 404);
    expectProblem(await call('DELETE', '/feeds/none'), 404);
    expectProblem(await call('DELETE', `/feeds/${'x'.repeat(500)}`), 400);
    expectProblem(await call('DELETE', '/feeds/%00'), 400);
    // Every other feed is untouched.
    expect(await feedIds()).toEqual(before.filter((id) => id !== f.json.id));
    expect((await call('GET', `/feeds/${other.json.id}`)).status).toBe(200);
    const doc = await call('GET', '/openapi.json', undefined, { auth: false });
    expect(Object.keys(doc.json.paths['/feeds/{id}'])).toContain('delete');
  });
});

describe('API: paging of list endpoints', () => {
  const PAGED = [
    '/watchlists',
    '/rules',
    '/feeds',
    '/webhook-endpoints',
    '/api-keys',
    '/instruments',
    '/alerts',
    '/subscribers',
    '/silences',
  ];
  let epId = '';
  beforeAll(async () => {
    for (const n of ['Paging A', 'Paging B', 'Paging C']) {
      expect((await call('POST', '/watchlists', { name: n })).status).toBe(201);
      expect(
        (await call('POST', '/feeds', { url: `https://example.org/${n.replace(' ', '-')}.xml`, name: n })).status,
      ).toBe(201);
    }
    epId = (await h.db.prisma.webhookEndpoint.create({ data: { url: 'https://example.org/p', secret: 'whsec_p' } })).id;
  });

  /** Walks every page of `path` with `limit` and returns the ids in order (checking total on each page). */
  async function walk(path: string, limit: number) {
    const ids: string[] = [];
    let total = -1;
    for (let offset = 0; total < 0 || offset < total; offset += limit) {
      const sep = path.includes('?') ? '&' : '?';
      const r = await call('GET', `${path}${sep}limit=${limit}&offset=${offset}`);
      expect(r.status).toBe(200);
      if (total >= 0) expect(r.json.total).toBe(total);
      total = r.json.total;
      expect(r.json.items.length).toBe(Math.min(limit, total - offset));
      ids.push(...r.json.items.map((x: { id: string }) => x.id));
      if (total === 0) break;
    }
    return { ids, total };
  }

  it('pages watchlists and feeds with limit and offset, stable and complete', async () => {
    for (const [path, count] of [
      ['/watchlists', () => h.db.prisma.watchlist.count()],
      ['/feeds', () => h.db.prisma.feed.count()],
    ] as const) {
      const all = await call('GET', path);
      expect(all.json.total).toBe(await count());
      expect(all.json.total).toBeGreaterThanOrEqual(3);
      const first = await call('GET', `${path}?limit=2`);
      expect(first.json.items).toHaveLength(2);
      expect(first.json.total).toBe(all.json.total);
      const next = await call('GET', `${path}?limit=2&offset=2`);
      expect(next.json.items[0].id).toBe(all.json.items[2].id);
      const { ids, total } = await walk(path, 2);
      expect(ids).toEqual(all.json.items.map((x: { id: string }) => x.id));
      expect(new Set(ids).size).toBe(total);
      const past = await call('GET', `${path}?offset=${total + 10}`);
      expect(past.json).toEqual({ items: [], total });
    }
  });

  it('pages rules with their filters, api keys, endpoints and an endpoint’s deliveries', async () => {
    for (const name of ['Paging rule 1', 'Paging rule 2', 'Paging rule 3']) {
      await h.db.prisma.rule.create({ data: { name, kind: 'pct_move', params: {}, enabled: false } });
    }
    const disabled = await h.db.prisma.rule.count({ where: { enabled: false } });
    const off = await walk('/rules?enabled=false', 2);
    expect(off.total).toBe(disabled);
    expect(off.ids).toHaveLength(disabled);
    expect((await walk('/api-keys', 1)).total).toBe(await h.db.prisma.apiKey.count());
    expect((await walk('/webhook-endpoints', 1)).total).toBe(await h.db.prisma.webhookEndpoint.count());
    expect((await walk('/instruments', 1)).total).toBe(await h.db.prisma.instrument.count());
    const d = await call('GET', `/webhook-endpoints/${epId}/deliveries?limit=5`);
    expect(d.json).toEqual({ items: [], total: 0, nextCursor: null });
    expectProblem(await call('GET', '/webhook-endpoints/none/deliveries?limit=5'), 404);
  });

  it('pages alerts by cursor, newest first, with no repeat or gap while new alerts arrive', async () => {
    const rule = await h.db.prisma.rule.create({ data: { name: 'Cursor rule', kind: 'pct_move', params: {} } });
    const alert = (i: number, day: string) =>
      h.db.prisma.alert.create({
        data: {
          dedupKey: `cursor-${i}`,
          ruleId: rule.id,
          subject: 'CUR',
          severity: 'info',
          title: `Cursor ${i}`,
          value: -0.1,
          threshold: -0.05,
          details: {},
          firedAt: new Date(`${day}T21:00:00Z`),
        },
      });
    // Seven alerts on three days; alerts of one evaluation cycle share their firing time.
    const days = ['2024-03-01', '2024-03-01', '2024-03-01', '2024-03-04', '2024-03-04', '2024-03-05', '2024-03-05'];
    for (const [i, day] of days.entries()) await alert(i, day);
    const all = await call('GET', `/alerts?ruleId=${rule.id}`);
    expect(all.json.total).toBe(7);
    expect(all.json.nextCursor).toBeNull();
    const firedAts = all.json.items.map((a: { firedAt: string }) => a.firedAt);
    expect(firedAts).toEqual([...firedAts].sort().reverse());

    const first = await call('GET', `/alerts?ruleId=${rule.id}&limit=2`);
    expect(first.json.items.map((a: { id: string }) => a.id)).toEqual(
      all.json.items.slice(0, 2).map((a: { id: string }) => a.id),
    );
    expect(first.json.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    // A new alert arrives between two pages: an offset would now show the second item again...
    const late = await alert(7, '2024-03-06');
    const byOffset = await call('GET', `/alerts?ruleId=${rule.id}&limit=2&offset=2`);
    expect(byOffset.json.items[0].id).toBe(all.json.items[1].id);
    // ...the cursor continues exactly after it, to the last page, whose nextCursor is null.
    const ids: string[] = first.json.items.map((a: { id: string }) => a.id);
    let cursor: string | null = first.json.nextCursor;
    while (cursor) {
      const r = await call('GET', `/alerts?ruleId=${rule.id}&limit=2&cursor=${cursor}`);
      expect(r.status).toBe(200);
      expect(r.json.total).toBe(8);
      ids.push(...r.json.items.map((a: { id: string }) => a.id));
      cursor = r.json.nextCursor;
    }
    expect(ids).toEqual(all.json.items.map((a: { id: string }) => a.id));
    expect(ids).not.toContain(late.id);

    const both = await call('GET', `/alerts?limit=2&offset=2&cursor=${first.json.nextCursor}`);
    expectProblem(both, 400);
    expect(both.json.errors).toEqual([{ path: 'query.cursor', message: 'give either cursor or offset, not both' }]);
    const forged = Buffer.from('12.x y', 'utf8').toString('base64url');
    expectProblem(await call('GET', `/alerts?cursor=${forged}`), 400);
  });

  it('lists each alert with the count of its own deliveries and the list fields only', async () => {
    const rule = await h.db.prisma.rule.create({ data: { name: 'Count rule', kind: 'pct_move', params: {} } });
    const mk = (i: number) =>
      h.db.prisma.alert.create({
        data: {
          dedupKey: `count-${i}`,
          ruleId: rule.id,
          subject: 'CNT',
          severity: 'warning',
          title: `Count ${i}`,
          value: -0.12,
          threshold: -0.1,
          details: { unit: 'fraction', headlines: [{ title: 'x', link: 'https://example.com/x' }] },
          firedAt: new Date(Date.UTC(2024, 4, 1 + i)),
        },
      });
    const [a0, a1, a2] = [await mk(0), await mk(1), await mk(2)];
    const deliveries = (alertId: string, n: number) =>
      h.db.prisma.delivery.createMany({
        data: Array.from({ length: n }, (_, k) => ({
          alertId,
          channel: 'webhook' as const,
          eventType: 'alert.firing',
          target: `webhook:count-${k}`,
          messageId: `msg_${alertId}_${k}`,
        })),
      });
    await deliveries(a0.id, 3);
    await deliveries(a2.id, 1);
    const r = await call('GET', `/alerts?ruleId=${rule.id}`);
    expect(r.status).toBe(200);
    const byId = new Map(r.json.items.map((a: { id: string }) => [a.id, a]));
    expect((byId.get(a0.id) as { deliveryCount: number }).deliveryCount).toBe(3);
    expect((byId.get(a1.id) as { deliveryCount: number }).deliveryCount).toBe(0);
    expect((byId.get(a2.id) as { deliveryCount: number }).deliveryCount).toBe(1);
    expect(byId.get(a0.id)).toEqual({
      id: a0.id,
      ruleId: rule.id,
      ruleName: 'Count rule',
      subject: 'CNT',
      status: 'firing',
      severity: 'warning',
      title: 'Count 0',
      value: -0.12,
      threshold: -0.1,
      unit: 'fraction',
      valueText: expect.any(String),
      thresholdText: expect.any(String),
      firedAt: '2024-05-01T00:00:00.000Z',
      resolvedAt: null,
      silenceId: null,
      inhibitedBy: null,
      deliveryCount: 3,
    });
    // A page that holds only some of the alerts counts only theirs.
    const one = await call('GET', `/alerts?ruleId=${rule.id}&limit=1&offset=2`);
    expect(one.json.items.map((a: { id: string; deliveryCount: number }) => [a.id, a.deliveryCount])).toEqual([
      [a0.id, 3],
    ]);
  });

  it('pages an endpoint’s deliveries by cursor', async () => {
    const ids = await insertDeliveries(
      h.db.prisma,
      Array.from({ length: 5 }, () => ({ channel: 'webhook' as const, endpointId: epId, eventType: 'endpoint.test' })),
      new Date(),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await call('GET', `/webhook-endpoints/${epId}/deliveries?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.json.total).toBe(5);
      seen.push(...r.json.items.map((d: { id: string }) => d.id));
      cursor = r.json.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect([...seen].sort()).toEqual([...ids].sort());
    await h.db.prisma.delivery.deleteMany({ where: { id: { in: ids } } });
  });

  it('refuses bad limit and offset with 400 and field errors on every paged endpoint', async () => {
    const bad: [string, string][] = [
      ['limit=0', 'query.limit'],
      ['limit=-1', 'query.limit'],
      ['limit=lots', 'query.limit'],
      ['limit=2.5', 'query.limit'],
      ['limit=1e9', 'query.limit'],
      ['limit=', 'query.limit'],
      ['limit=%00', 'query.limit'],
      ['offset=-1', 'query.offset'],
      ['offset=abc', 'query.offset'],
      ['offset=1.5', 'query.offset'],
      ['offset=2000000', 'query.offset'],
      ['cursor=abc', 'query.cursor'],
    ];
    for (const path of [...PAGED, `/webhook-endpoints/${epId}/deliveries`]) {
      for (const [q, field] of bad) {
        const r = await call('GET', `${path}?${q}`);
        expectProblem(r, 400);
        expect(
          r.json.errors.map((e: { path: string }) => e.path),
          `${path}?${q}`,
        ).toContain(field);
      }
      const both = await call('GET', `${path}?limit=0&offset=-5`);
      expectProblem(both, 400);
      expect(both.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(['query.limit', 'query.offset']);
    }
  });

  it('documents limit, offset and total in the OpenAPI document', async () => {
    const doc = (await call('GET', '/openapi.json', undefined, { auth: false })).json;
    for (const path of [...PAGED, '/webhook-endpoints/{id}/deliveries']) {
      const get = doc.paths[path].get;
      const names = get.parameters.filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name);
      expect(names, path).toEqual(expect.arrayContaining(['limit', 'offset']));
      const schema = get.responses['200'].content['application/json'].schema;
      expect(schema.required, path).toEqual(expect.arrayContaining(['items', 'total']));
    }
    for (const path of ['/alerts', '/webhook-endpoints/{id}/deliveries']) {
      const get = doc.paths[path].get;
      const names = get.parameters.filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name);
      expect(names, path).toContain('cursor');
      expect(get.responses['200'].content['application/json'].schema.required, path).toContain('nextCursor');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Bad input, endpoint by endpoint: always 4xx problem+json with field paths, never 500.
// ---------------------------------------------------------------------------------------------

interface Case {
  method: string;
  /** The route as the OpenAPI document names it ("/watchlists/{id}"): the table is checked against it. */
  route: string;
  path: () => string;
  valid: Record<string, unknown>;
  /** A field to give the wrong type. */
  typed: string;
}

let wlId = '';
let ruleId = '';
let epId = '';
let feedId = '';

const cases: Case[] = [
  {
    method: 'POST',
    route: '/silences',
    path: () => '/silences',
    valid: { subject: 'NVDA', durationMin: 60, comment: 'c' },
    typed: 'comment',
  },
  {
    method: 'POST',
    route: '/inhibit-rules',
    path: () => '/inhibit-rules',
    valid: { comment: 'c', source: { severity: 'critical' }, target: { severity: 'warning' } },
    typed: 'equal',
  },
  { method: 'POST', route: '/watchlists', path: () => '/watchlists', valid: { name: 'N' }, typed: 'name' },
  {
    method: 'PATCH',
    route: '/watchlists/{id}',
    path: () => `/watchlists/${wlId}`,
    valid: { name: 'N' },
    typed: 'name',
  },
  {
    method: 'POST',
    route: '/watchlists/{id}/members',
    path: () => `/watchlists/${wlId}/members`,
    valid: { symbol: 'AAPL' },
    typed: 'symbol',
  },
  {
    method: 'POST',
    route: '/rules',
    path: () => '/rules',
    valid: { name: 'r', kind: 'pct_move', params: {} },
    typed: 'cooldownSec',
  },
  { method: 'PATCH', route: '/rules/{id}', path: () => `/rules/${ruleId}`, valid: { name: 'r' }, typed: 'enabled' },
  {
    method: 'POST',
    route: '/rules/preview',
    path: () => '/rules/preview',
    valid: { name: 'r', kind: 'pct_move', params: {} },
    typed: 'symbols',
  },
  { method: 'POST', route: '/backtest', path: () => '/backtest', valid: { ruleIds: [] }, typed: 'from' },
  {
    method: 'POST',
    route: '/webhook-endpoints',
    path: () => '/webhook-endpoints',
    valid: { url: 'https://example.org/h' },
    typed: 'url',
  },
  {
    method: 'PATCH',
    route: '/webhook-endpoints/{id}',
    path: () => `/webhook-endpoints/${epId}`,
    valid: { description: 'd' },
    typed: 'status',
  },
  {
    method: 'POST',
    route: '/feeds',
    path: () => '/feeds',
    valid: { url: 'https://example.org/f', name: 'f' },
    typed: 'pollIntervalSec',
  },
  { method: 'PATCH', route: '/feeds/{id}', path: () => `/feeds/${feedId}`, valid: { name: 'f' }, typed: 'enabled' },
  { method: 'POST', route: '/api-keys', path: () => '/api-keys', valid: { name: 'k' }, typed: 'name' },
  {
    method: 'PUT',
    route: '/message-templates/{key}',
    path: () => '/message-templates/ntfy',
    valid: { source: '{{ alert.symbol }}' },
    typed: 'source',
  },
  {
    method: 'POST',
    route: '/message-templates/{key}/preview',
    path: () => '/message-templates/ntfy/preview',
    valid: { source: '{{ alert.symbol }}' },
    typed: 'source',
  },
  {
    method: 'POST',
    route: '/account/password',
    path: () => '/account/password',
    valid: { currentPassword: 'the current one', newPassword: 'a new long password' },
    typed: 'newPassword',
  },
];

const firstStringField = (valid: Record<string, unknown>) =>
  Object.entries(valid).find(([, v]) => typeof v === 'string')?.[0] ?? 'name';

describe('API: bad input table', () => {
  beforeAll(async () => {
    wlId = (await call('POST', '/watchlists', { name: 'Bad input', slug: 'bad-input' })).json.id;
    ruleId = (await call('POST', '/rules', { name: 'r', kind: 'drawdown', params: { sessions: 20, thresholdPct: 20 } }))
      .json.id;
    epId = (await h.db.prisma.webhookEndpoint.create({ data: { url: 'https://example.org/h', secret: 'whsec_x' } })).id;
    feedId = (await h.db.prisma.feed.create({ data: { url: 'https://example.org/bad', name: 'b' } })).id;
  });

  for (const c of cases) {
    const name = `${c.method} ${c.route}`;
    it(`${name}: malformed JSON, wrong types, unknown fields, huge body, NUL, lone surrogates`, async () => {
      const path = c.path();
      const malformed = await call(c.method, path, undefined, { raw: '{"name": "x",' });
      expectProblem(malformed, 400);
      expect(malformed.json.errors[0].message).toMatch(/malformed JSON/);

      const notObject = await call(c.method, path, undefined, { raw: '[1,2,3]' });
      expectProblem(notObject, 400);

      const wrongType = await call(c.method, path, { ...c.valid, [c.typed]: { nested: [1] } });
      expectProblem(wrongType, 400);
      expect(wrongType.json.errors.map((e: { path: string }) => e.path)).toContain(c.typed);

      const unknown = await call(c.method, path, { ...c.valid, isAdmin: true });
      expectProblem(unknown, 400);
      expect(unknown.json.errors).toContainEqual({ path: 'isAdmin', message: 'unknown field' });

      const huge = await call(c.method, path, { ...c.valid, blob: 'x'.repeat(70 * 1024) });
      expectProblem(huge, 413);

      const field = firstStringField(c.valid);
      const nul = await call(c.method, path, { ...c.valid, [field]: 'a\u0000b' });
      expectProblem(nul, 400);
      expect(nul.json.errors[0]).toMatchObject({ path: field, message: expect.stringMatching(/NUL/) });

      const lone = await call(c.method, path, undefined, {
        raw: JSON.stringify({ ...c.valid, [field]: 'PLACEHOLDER' }).replace('PLACEHOLDER', '\\ud800'),
      });
      expectProblem(lone, 400);
      expect(lone.json.errors[0].message).toMatch(/surrogate/);

      const wrongCt = await call(c.method, path, undefined, {
        raw: 'name=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(wrongCt.status).toBeGreaterThanOrEqual(400);
      expect(wrongCt.status).toBeLessThan(500);
    });
  }

  it('SQL and HTML strings in every text field are accepted as data, never a 500', async () => {
    const evil = `'; DROP TABLE "Rule"; -- <img src=x onerror=alert(1)>`;
    for (const c of cases) {
      const field = firstStringField(c.valid);
      const r = await call(c.method, c.path(), { ...c.valid, [field]: evil });
      expect(r.status, `${c.method} ${c.path()}`).toBeLessThan(500);
    }
    expect(await h.db.prisma.rule.count()).toBeGreaterThan(0);
  });

  it('refuses deep nesting, odd numbers, odd URLs and odd queries without a 500', async () => {
    const deep = `{"name":"x","params":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const r = await call('POST', '/rules', undefined, { raw: deep });
    expectProblem(r, 400);
    expect(r.json.errors[0].message).toMatch(/nested more than/);
    expectProblem(await call('POST', '/watchlists', undefined, { raw: '{"name": 1e400}' }), 400);
    expectProblem(
      await call('POST', '/feeds', { url: 'https://example.org/z', name: 'z', pollIntervalSec: 1e12 }),
      400,
    );
    expectProblem(await call('POST', '/feeds', { url: 'javascript:alert(1)', name: 'z' }), 400);
    expectProblem(await call('POST', '/watchlists', undefined, { raw: '\u0000' }), 400);
    expectProblem(await call('POST', '/watchlists', undefined, { raw: '' }), 400);
    expectProblem(await call('POST', '/watchlists', undefined, { raw: 'null' }), 400);
    for (const path of [
      '/watchlists/%E0%A4%A',
      '/watchlists/%00',
      `/watchlists/${'x'.repeat(500)}`,
      '/alerts?from=2025-13-45',
      '/alerts?limit=1e9&offset=-1',
      '/alerts?symbol=%00',
      '/alerts?unknown=1',
      '/subscribers?status=%27%20OR%201%3D1--',
    ]) {
      const res = await call('GET', path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
    }
    const bin = await h.app.request('/api/watchlists', {
      method: 'POST',
      headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' },
      body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    });
    expect(bin.status).toBe(400);
    expect((await bin.json()).errors[0].message).toMatch(/UTF-8/);
  });

  /** Every operation of the OpenAPI document: method, path template, whether it takes a body, its parameters. */
  async function documentedOperations() {
    const doc = (await call('GET', '/openapi.json', undefined, { auth: false })).json as {
      paths: Record<
        string,
        Record<string, { requestBody?: unknown; parameters?: { name: string; in: string; required?: boolean }[] }>
      >;
    };
    const ops = Object.entries(doc.paths).flatMap(([route, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        method: method.toUpperCase(),
        route,
        body: op.requestBody !== undefined,
        pathParams: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
      })),
    );
    expect(ops.length).toBeGreaterThan(40);
    return ops;
  }

  it('has a row in the table for every route of the OpenAPI document that takes a body', async () => {
    const ops = await documentedOperations();
    const withBody = ops.filter((o) => o.body).map((o) => `${o.method} ${o.route}`);
    expect(withBody.length).toBeGreaterThanOrEqual(cases.length);
    const inTable = new Set(cases.map((c) => `${c.method} ${c.route}`));
    // A new route with a body fails here, by name, until the table has a row for it.
    expect(
      withBody.filter((r) => !inTable.has(r)),
      'routes with a body but no row in the bad-input table',
    ).toEqual([]);
    // And the table names only documented routes (a renamed route is not silently skipped).
    expect(
      [...inTable].filter((r) => !withBody.includes(r)),
      'rows of the table that are not a documented route with a body',
    ).toEqual([]);
  });

  it('refuses bad path and query parameters of every documented route with 4xx problem+json, never 500', async () => {
    const ops = await documentedOperations();
    const byRoute = new Map(cases.map((c) => [`${c.method} ${c.route}`, c]));
    const seen: string[] = [];
    for (const o of ops) {
      const name = `${o.method} ${o.route}`;
      const body = byRoute.get(name)?.valid;
      const fill = (value: string) => o.route.replace(/\{[^}]+\}/g, value);
      if (o.pathParams.length) {
        seen.push(name);
        for (const [bad, status] of [
          ['%00', 400],
          ['x'.repeat(500), 400],
          ['none', 404],
        ] as const) {
          const r = await call(o.method, fill(bad), body);
          expect.soft(r.status, `${name} with ${bad.slice(0, 8)}: ${r.text.slice(0, 200)}`).toBe(status);
          expect.soft(r.headers.get('content-type'), name).toBe('application/problem+json');
        }
      }
      if (o.queryParams.length) {
        seen.push(name);
        const base = fill('none');
        for (const q of o.queryParams) {
          const r = await call(o.method, `${base}?${q}=%00`, body);
          expect.soft(r.status, `${name} ?${q}=%00: ${r.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
          expect(r.status, `${name} ?${q}=%00`).toBeLessThan(500);
        }
      }
    }
    expect(seen.length).toBeGreaterThan(20);
  });

  it('answers unknown ids with 404 and bad path params with 400', async () => {
    expectProblem(await call('PATCH', '/watchlists/none', { name: 'x' }), 404);
    expectProblem(await call('PATCH', '/feeds/none', { name: 'x' }), 404);
    expectProblem(await call('POST', '/webhook-endpoints/none/test'), 404);
    expectProblem(await call('GET', `/instruments/${encodeURIComponent('<b>')}`), 400);
  });
});

async function loginCookie(): Promise<string> {
  const { loginSession } = await import('./harness.ts');
  const { res, cookie } = await loginSession(h.app);
  expect(res.status).toBe(303);
  return cookie;
}
