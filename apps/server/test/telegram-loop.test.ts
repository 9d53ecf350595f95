/**
 * Issue 18, item 7: the Telegram update loop is an optional loop of the liveness catalog. Judged
 * only when the bot is configured (TELEGRAM_BOT_TOKEN): /healthz and the System page then show it,
 * ok while its heartbeat is fresh, overdue (503, named) once it stops; without the bot it is absent,
 * even when an earlier configuration left a heartbeat behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordLoopRun } from '@signals/db';
import { adminSession, type Harness, startHarness } from './harness.ts';

type Health = { status: string; overdue: string[]; loops: Record<string, { state: string; reason: string }> };

const BOT = { TELEGRAM_BOT_TOKEN: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef', TELEGRAM_BOT_USERNAME: 'SignalsTestBot' };

/** Every other loop fresh, so only the telegram loop decides. */
async function freshBeats(h: Harness, at: Date) {
  for (const loop of ['prices', 'news', 'evaluate', 'sweep', 'deliveries'] as const) {
    await recordLoopRun(h.db.prisma, { loop, intervalMs: 60_000, marketHours: false, worker: 'test:1', at });
  }
}

describe('the Telegram loop with the bot configured', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: BOT });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is on /healthz and the System page: ok while it beats, overdue (503, named) when it stops', async () => {
    const now = new Date();
    await freshBeats(h, now);
    await recordLoopRun(h.db.prisma, {
      loop: 'telegram',
      intervalMs: 30_000,
      marketHours: false,
      worker: 'w:1',
      at: now,
    });
    const ok = await h.app.request('/healthz');
    const okBody = (await ok.json()) as Health;
    expect(okBody.loops.telegram?.state).toBe('ok');
    expect(ok.status).toBe(200);

    // Its last round 5 minutes ago (the poller died, or Telegram has been failing since).
    await h.db.prisma.loopHeartbeat.update({
      where: { loop: 'telegram' },
      data: { lastSuccessAt: new Date(now.getTime() - 300_000) },
    });
    const late = await h.app.request('/healthz');
    const lateBody = (await late.json()) as Health;
    expect(late.status).toBe(503);
    expect(lateBody.overdue).toEqual(['telegram']);
    expect(lateBody.loops.telegram?.reason).toMatch(/last ran 30\d s ago, expected every 30 s/);

    const s = await adminSession(h);
    const page = await (await h.app.request('/admin/system', { headers: { cookie: s.cookie } })).text();
    expect(page).toMatch(/<tr data-loop="telegram"><td>Telegram updates<\/td>/);
    expect(page).toMatch(/Overdue: Telegram updates/);
  });
});

describe('the Telegram loop without the bot', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is not judged, even with a stale heartbeat from an earlier configuration', async () => {
    const now = new Date();
    await freshBeats(h, now);
    await recordLoopRun(h.db.prisma, {
      loop: 'telegram',
      intervalMs: 30_000,
      marketHours: false,
      worker: 'w:1',
      at: new Date(now.getTime() - 86_400_000),
    });
    const r = await h.app.request('/healthz');
    const body = (await r.json()) as Health;
    expect(r.status).toBe(200);
    expect(body.loops.telegram).toBeUndefined();
    expect(body.overdue).toEqual([]);
  });
});
