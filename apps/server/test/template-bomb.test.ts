/**
 * Issue 18, item 1, on the server: a template bomb is refused at save (the admin form and the API
 * say why, at the field, and nothing is stored), and previewing one does not stall a real server
 * process: /healthz keeps answering while the preview runs, and the process's memory stays bounded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDb,
  sampleRss,
  type ServiceProcess,
  startServerProcess,
  TEMPLATE_BOMB,
  type TestDb,
} from '@signals/testing';
import { adminSession, api, type Harness, startHarness } from './harness.ts';

const REFUSED = /^the template builds more than 1,000,000 characters/;

describe('saving a template bomb', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is refused on the admin form, at the field, with the reason', async () => {
    const { post } = await adminSession(h);
    const r = await post('/admin/templates/email.body', { 'template-email.body': TEMPLATE_BOMB, action: 'save' });
    expect(r.status).toBe(400);
    const html = await r.text();
    expect(html).toMatch(/id="f-template-email\.body"[^>]*aria-invalid="true"/);
    expect(html).toContain('the template builds more than 1,000,000 characters');
    expect(await h.db.prisma.messageTemplate.count()).toBe(0);
  });

  it('is refused by the API (PUT and preview), at `source`, with the reason', async () => {
    const call = api(h);
    for (const [method, path] of [
      ['PUT', '/message-templates/slack'],
      ['POST', '/message-templates/slack/preview'],
    ] as const) {
      const r = await call(method, path, { source: TEMPLATE_BOMB });
      expect(r.status, path).toBe(400);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      expect(r.json.errors).toEqual([{ path: 'source', message: expect.stringMatching(REFUSED) }]);
    }
    expect(await h.db.prisma.messageTemplate.count()).toBe(0);
    // An ordinary template still saves, and reads back.
    const ok = await call('PUT', '/message-templates/slack', { source: '*{{ alert.symbol }}* {{ alert.title }}' });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ key: 'slack', format: 'slack', source: '*{{ alert.symbol }}* {{ alert.title }}' });
    expect((await call('DELETE', '/message-templates/slack')).status).toBe(204);
    expect(await h.db.prisma.messageTemplate.count()).toBe(0);
  });
});

describe('previewing a template bomb on a running server', () => {
  let db: TestDb;
  let server: ServiceProcess | undefined;
  let base = '';
  const key = `sk_${randomBytes(32).toString('base64url')}`;
  beforeAll(async () => {
    db = await createTestDb();
    await db.prisma.apiKey.create({
      data: {
        name: 'bomb',
        prefix: key.slice(0, 10),
        keyHash: createHash('sha256').update(key).digest('hex'),
        scopes: ['write'],
      },
    });
    ({ server, base } = await startServerProcess('S', db.url, {
      ADMIN_EMAIL: 'admin@example.org',
      ADMIN_PASSWORD: 'a long enough password',
    }));
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it('answers /healthz while the preview runs, refuses the template, and stays within its memory', async () => {
    const proc = server as ServiceProcess;
    for (let i = 0; i < 3; i++) expect((await fetch(`${base}/healthz`)).status).toBe(200); // connections warm
    const before = proc.rssMb() as number;
    const rss = sampleRss(proc.child.pid as number);
    // Events in the order this process saw them: no durations are compared.
    const events: string[] = [];
    let previewDone = false;
    const preview = fetch(`${base}/api/message-templates/email.body/preview`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ source: TEMPLATE_BOMB }),
    }).then(async (r) => {
      events.push('preview answered');
      previewDone = true;
      return { status: r.status, body: await r.json() };
    });
    events.push('preview sent');
    while (!previewDone) {
      const r = await fetch(`${base}/healthz`);
      await r.arrayBuffer();
      if (!previewDone) events.push(`healthz ${r.status}`);
    }
    const res = await preview;
    const { peakMb, samples } = rss.stop();
    console.info(
      `server RSS ${before.toFixed(0)} MB before, peak ${peakMb.toFixed(0)} MB (${samples} samples); ${events.length - 2} /healthz answers during the preview`,
    );
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toMatch(REFUSED);
    // The server answered /healthz (200) several times between the preview's request and its answer.
    const during = events.slice(events.indexOf('preview sent') + 1, events.indexOf('preview answered'));
    expect(during.length).toBeGreaterThanOrEqual(3);
    expect(new Set(during)).toEqual(new Set(['healthz 200']));
    // Rendered in-process, the bomb's string alone is 268 MB; a render thread costs tens of MB.
    expect(peakMb - before).toBeLessThan(160);
    expect(proc.child.exitCode).toBeNull();
  }, 120_000);
});
