/**
 * Issue 10, item 5: API keys have scopes (read, write, admin) and may expire. A key never makes or
 * revokes a key with more scope than itself; the OpenAPI document states each route's scope from
 * the same table the check reads; keys made before scopes keep full power.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoPaths } from '@signals/db';
import { captured, createTestDb, testClock } from '@signals/testing';
import { ROUTE_SCOPES, SCOPES, type Scope } from '../src/api/scopes.ts';
import { API_KEY_CACHE_MS } from '../src/security/apikey-cache.ts';
import { adminSession, api, asKey, type Harness, startHarness } from './harness.ts';

let h: Harness;
let call: ReturnType<typeof api>;
/** The app's clock: real time, stopped by a test that checks a time the app computes from it. */
const clock = testClock();
beforeAll(async () => {
  h = await startHarness({ clock });
  call = api(h);
});
afterAll(async () => {
  await h?.close();
});

/** A new key with `scopes`, made by the harness's full-power key. */
async function keyWith(scopes: Scope[], name = scopes.join('+')): Promise<{ id: string; key: string }> {
  const r = await call('POST', '/api-keys', { name, scopes });
  expect(r.status, r.text).toBe(201);
  expect(r.json.apiKey.scopes).toEqual(scopes);
  return { id: r.json.apiKey.id, key: r.json.key };
}

function expectInsufficient(r: { status: number; headers: Headers; json: { type?: string } }, scope: string) {
  expect(r.status).toBe(403);
  expect(r.headers.get('content-type')).toBe('application/problem+json');
  expect(r.json.type).toBe('https://signals.dev/problems/insufficient-scope');
  expect(r.headers.get('www-authenticate')).toContain(`scope="${scope}"`);
}

describe('scopes per route', () => {
  it('a read key reads but cannot write, see addresses, delete or touch keys', async () => {
    const { key } = await keyWith(['read']);
    expect((await call('GET', '/watchlists', undefined, asKey(key))).status).toBe(200);
    expect((await call('GET', '/alerts', undefined, asKey(key))).status).toBe(200);
    expectInsufficient(await call('POST', '/watchlists', { name: 'Nope' }, asKey(key)), 'write');
    expectInsufficient(
      await call('POST', '/rules/preview', { name: 'x', kind: 'pct_move', params: {} }, asKey(key)),
      'write',
    );
    expectInsufficient(await call('GET', '/subscribers', undefined, asKey(key)), 'admin');
    expectInsufficient(await call('GET', '/api-keys', undefined, asKey(key)), 'admin');
    expectInsufficient(await call('POST', '/api-keys', { name: 'mine' }, asKey(key)), 'admin');
    expect(await h.db.prisma.watchlist.count({ where: { name: 'Nope' } })).toBe(0);
  });

  it('a write key changes things but deletes nothing and cannot see addresses', async () => {
    const { key } = await keyWith(['read', 'write']);
    const wl = await call('POST', '/watchlists', { name: 'Written', slug: 'written' }, asKey(key));
    expect(wl.status).toBe(201);
    expect((await call('PATCH', `/watchlists/${wl.json.id}`, { name: 'Rewritten' }, asKey(key))).status).toBe(200);
    const sil = await call('POST', '/silences', { subject: 'NVDA', durationMin: 60, comment: 'c' }, asKey(key));
    expect(sil.status).toBe(201);
    expectInsufficient(await call('DELETE', `/watchlists/${wl.json.id}`, undefined, asKey(key)), 'admin');
    expectInsufficient(await call('GET', '/subscribers', undefined, asKey(key)), 'admin');
    expect(await h.db.prisma.watchlist.count({ where: { id: wl.json.id } })).toBe(1);
  });

  it('scopes are a set: an admin-only key manages keys and subscribers but does not read watchlists', async () => {
    const { key } = await keyWith(['admin']);
    expect((await call('GET', '/subscribers', undefined, asKey(key))).status).toBe(200);
    expect((await call('GET', '/api-keys', undefined, asKey(key))).status).toBe(200);
    expectInsufficient(await call('GET', '/watchlists', undefined, asKey(key)), 'read');
  });
});

describe('keys making and revoking keys', () => {
  it('defaults to read, and never hands on a scope the caller lacks', async () => {
    const plain = await call('POST', '/api-keys', { name: 'default scopes' });
    expect(plain.status).toBe(201);
    expect(plain.json.apiKey.scopes).toEqual(['read']);

    const { key } = await keyWith(['read', 'admin']);
    const ok = await call('POST', '/api-keys', { name: 'narrower', scopes: ['read'] }, asKey(key));
    expect(ok.status).toBe(201);
    for (const scopes of [['write'], ['read', 'write'], ['read', 'write', 'admin']]) {
      const r = await call('POST', '/api-keys', { name: 'wider', scopes }, asKey(key));
      expect(r.status, scopes.join()).toBe(403);
      expect(r.json.detail).toContain('only create keys with scopes it holds');
    }
    expect(await h.db.prisma.apiKey.count({ where: { name: 'wider' } })).toBe(0);
  });

  it("cannot revoke a key with more scope (the admin's), can revoke one it covers", async () => {
    const full = await keyWith([...SCOPES], 'admin’s full key');
    const { key } = await keyWith(['read', 'admin']);
    const r = await call('DELETE', `/api-keys/${full.id}`, undefined, asKey(key));
    expect(r.status).toBe(403);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect((await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: full.id } })).revokedAt).toBeNull();
    expect((await call('GET', '/api-keys', undefined, asKey(full.key))).status).toBe(200);
    const narrow = await keyWith(['read']);
    expect((await call('DELETE', `/api-keys/${narrow.id}`, undefined, asKey(key))).status).toBe(204);
    expect((await call('GET', '/watchlists', undefined, asKey(narrow.key))).status).toBe(401);
  });

  it('refuses unknown scopes and past expiries with field errors', async () => {
    const bad = await call('POST', '/api-keys', { name: 'x', scopes: ['superuser'] });
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0].path).toMatch(/^scopes/);
    const none = await call('POST', '/api-keys', { name: 'x', scopes: [] });
    expect(none.status).toBe(400);
    const past = await call('POST', '/api-keys', { name: 'x', expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    expect(past.json.errors).toContainEqual({ path: 'expiresAt', message: 'must be in the future' });
    const garbled = await call('POST', '/api-keys', { name: 'x', expiresAt: 'tomorrow' });
    expect(garbled.status).toBe(400);
    expect(garbled.json.errors[0].path).toBe('expiresAt');
  });

  it('refuses an expired key like a revoked one', async () => {
    const at = new Date(Date.now() + 3600_000).toISOString();
    const r = await call('POST', '/api-keys', { name: 'short', scopes: ['read'], expiresAt: at });
    expect(r.status).toBe(201);
    expect(r.json.apiKey.expiresAt).toBe(at);
    expect((await call('GET', '/watchlists', undefined, asKey(r.json.key))).status).toBe(200);
    await h.db.prisma.apiKey.update({
      where: { id: r.json.apiKey.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    // Changed straight in the database, not through this server: seen once the verified key's
    // cache entry is API_KEY_CACHE_MS old (apikey-cache.test.ts).
    clock.advance(API_KEY_CACHE_MS);
    const after = await call('GET', '/watchlists', undefined, asKey(r.json.key));
    expect(after.status).toBe(401);
    expect(after.json.detail).toContain('expired');
  });

  it('an admin session holds every scope', async () => {
    const s = await adminSession(h);
    const r = await h.app.request('/api/api-keys', {
      method: 'POST',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'from the session', scopes: ['read', 'write', 'admin'] }),
    });
    expect(r.status).toBe(201);
  });
});

describe('the admin page', () => {
  it('shows scope, expiry and last use, and makes keys with the chosen scopes and expiry', async () => {
    const s = await adminSession(h);
    const used = await keyWith(['read', 'write'], 'used key');
    await call('GET', '/watchlists', undefined, asKey(used.key));
    // Stopped while the key is made: "30 days" is exactly 30 days from the moment of the request.
    const madeAt = clock.freeze();
    const created = await s.post('/admin/api-keys', { name: 'page key', scopes: 'write', expiry: '30' });
    clock.thaw();
    expect(created.status).toBe(201);
    const row = await h.db.prisma.apiKey.findFirstOrThrow({ where: { name: 'page key' } });
    expect(row.scopes).toEqual(['write']);
    expect(row.expiresAt?.getTime()).toBe(madeAt.getTime() + 30 * 86_400_000);

    const page = await (await h.app.request('/admin/api-keys', { headers: { cookie: s.cookie } })).text();
    /** The cells of a key's row: name, prefix, scopes, created, expires, last used, state, actions. */
    const cells = (id: string) => {
      const row = captured(new RegExp(`<tr data-testid="key-${id}">([\\s\\S]*?)</tr>`), page, `row of key ${id}`);
      return [...row.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => m[1] as string);
    };
    const made = cells(row.id);
    expect(made[2]).toBe('write');
    expect(made[4]).not.toBe('never');
    expect(made[5]).toBe('never');
    const usedCells = cells(used.id);
    expect(usedCells[2]).toBe('read, write');
    expect(usedCells[4]).toBe('never');
    expect(usedCells[5]).not.toBe('never');
    expect(page).toContain('name="scopes" value="admin"');
    expect(page).toContain('name="expiry"');

    const none = await s.post('/admin/api-keys', { name: 'no scope' });
    expect(none.status).toBe(400);
    expect(await none.text()).toContain('give at least one scope');
  });
});

describe('the OpenAPI document states each route’s scope', () => {
  it('from the same table the check reads, with no route missing and no stale entry', async () => {
    const doc = (await call('GET', '/openapi.json', undefined, { auth: false })).json;
    const seen = new Set<string>();
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const k = `${method.toUpperCase()} ${p}`;
        const scope = (ROUTE_SCOPES as Record<string, string>)[k];
        expect(scope, k).toBeDefined();
        expect(op['x-scope'], k).toBe(scope);
        expect(op.security, k).toEqual([{ bearer: [scope] }, { session: [] }]);
        expect(op.description, k).toContain(`\`${scope}\` scope`);
        seen.add(k);
      }
    }
    expect([...seen].sort()).toEqual(Object.keys(ROUTE_SCOPES).sort());
    expect(Object.keys(doc.components.schemas.ApiKey.properties)).toEqual(
      expect.arrayContaining(['scopes', 'expiresAt', 'lastUsedAt']),
    );
  });
});

describe('the migration', () => {
  it('gives keys made before scopes all three (they were full-power keys made by admins)', async () => {
    const db = await createTestDb();
    const sql = (q: string) => db.prisma.$executeRawUnsafe(q);
    const scopesOf = async (id: string) =>
      (
        await db.prisma.$queryRawUnsafe<{ scopes: string[] }[]>(
          `SELECT scopes::text[] AS scopes FROM "ApiKey" WHERE id = '${id}'`,
        )
      )[0]?.scopes;
    try {
      // Back to the schema before the migration, with one key in it, then the migration as written.
      await sql('ALTER TABLE "ApiKey" DROP COLUMN "scopes", DROP COLUMN "expiresAt"');
      await sql('DROP TYPE "ApiScope"');
      await sql(`INSERT INTO "ApiKey" (id, name, prefix, "keyHash") VALUES ('old', 'old key', 'sk_old', 'h')`);
      const dir = fs.readdirSync(repoPaths().migrationsDir).find((d) => d.endsWith('_api_key_scopes')) as string;
      const migration = fs.readFileSync(path.join(repoPaths().migrationsDir, dir, 'migration.sql'), 'utf8');
      for (const statement of migration.split(/;\s*\n/)) {
        const code = statement.replace(/^--.*$/gm, '').trim();
        if (code) await sql(code);
      }
      expect(await scopesOf('old')).toEqual(['read', 'write', 'admin']);
      await sql(`INSERT INTO "ApiKey" (id, name, prefix, "keyHash") VALUES ('new', 'n', 'sk_new', 'h2')`);
      expect(await scopesOf('new')).toEqual(['read']);
    } finally {
      await db.drop();
    }
  });
});
