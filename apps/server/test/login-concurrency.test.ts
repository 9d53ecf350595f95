/**
 * Issue 18, item 4: each password check (scrypt) takes 128 MiB, and anyone can ask for one. A real
 * server process gets 20 wrong logins at once: one check runs at a time and a few wait, the rest
 * are refused at once (503 with Retry-After) before anything is computed, and the process's memory
 * (sampled from /proc) stays within two checks' worth. The admin logs in afterwards as usual.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, sampleRss, type ServiceProcess, startServerProcess, type TestDb } from '@signals/testing';
import { PASSWORD_CHECKS_AT_ONCE, PASSWORD_CHECKS_WAITING } from '@signals/db';
import { ADMIN_EMAIL, ADMIN_PASSWORD, loginSession, preSessionForm } from './harness.ts';

/** One scrypt check holds 128 MiB: two checks' worth of headroom (without the bound, libuv runs four). */
const RSS_BOUND_MB = 256;
const LOGINS = 20;

let db: TestDb;
let server: ServiceProcess | undefined;
let base = '';
/** The spawned server, as harness helpers call an app. */
const app = { request: (path: string, init?: RequestInit) => fetch(`${base}${path}`, { ...init, redirect: 'manual' }) };

beforeAll(async () => {
  db = await createTestDb();
  ({ server, base } = await startServerProcess('S', db.url, { ADMIN_EMAIL, ADMIN_PASSWORD }));
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe('concurrent password checks', () => {
  it(`runs ${PASSWORD_CHECKS_AT_ONCE} at a time, refuses the excess with 503, and stays within ${RSS_BOUND_MB} MB`, async () => {
    const proc = server as ServiceProcess;
    const form = await preSessionForm(app);
    const before = proc.rssMb() as number;
    const rss = sampleRss(proc.child.pid as number);
    // Different (unknown) accounts, so no per-account limit or slow-down steps in: only the bound.
    const answers = await Promise.all(
      Array.from({ length: LOGINS }, async (_, i) => {
        const r = await app.request('/admin/login', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie },
          body: new URLSearchParams({
            email: `guess${i}@example.org`,
            password: 'wrong',
            _csrf: form.token,
          }).toString(),
        });
        return { status: r.status, retryAfter: r.headers.get('retry-after'), html: await r.text() };
      }),
    );
    const { peakMb, samples } = rss.stop();
    const statuses = answers.map((a) => a.status);
    console.info(
      `server RSS ${before.toFixed(0)} MB before, peak ${peakMb.toFixed(0)} MB (${samples} samples); statuses ${statuses.join(',')}`,
    );
    expect(new Set(statuses)).toEqual(new Set([401, 503]));
    const refused = answers.filter((a) => a.status === 503);
    // At most one running and PASSWORD_CHECKS_WAITING waiting when they arrive together.
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(LOGINS - refused.length).toBeGreaterThanOrEqual(PASSWORD_CHECKS_AT_ONCE + PASSWORD_CHECKS_WAITING);
    for (const a of refused) {
      expect(a.retryAfter).toBe('2');
      expect(a.html).toContain('The server is busy checking other logins');
    }
    expect(peakMb - before).toBeLessThan(RSS_BOUND_MB);

    // Nothing stuck: the admin gets in.
    const { res } = await loginSession(app);
    expect(res.status).toBe(303);
  }, 120_000);
});
