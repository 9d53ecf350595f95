/**
 * The release version, written once in the root package.json, is what /healthz answers, what the
 * System page shows and what the webhook User-Agent names (with the install's public URL).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appVersion, userAgent } from '@signals/config';
import { repoPaths } from '@signals/db';
import { startWebhookReceiver } from '@signals/testing';
import { adminSession, api, type Harness, startHarness } from './harness.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
/** Read here independently of the module under test. */
const packageVersion = (
  JSON.parse(fs.readFileSync(path.join(repoPaths().root, 'package.json'), 'utf8')) as { version: string }
).version;

describe('the release version', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is a semantic version in the root package.json, and the module that reads it agrees', () => {
    expect(packageVersion).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(appVersion()).toBe(packageVersion);
    expect(userAgent('https://signals.example.com')).toBe(
      `market-signals/${packageVersion} (+https://signals.example.com)`,
    );
  });

  it('is in /healthz and on the System page', async () => {
    const res = await h.app.request('/healthz');
    expect(((await res.json()) as { version?: string }).version).toBe(packageVersion);
    const { cookie } = await adminSession(h);
    const page = await (await h.app.request('/admin/system', { headers: { cookie } })).text();
    expect(page).toContain(`Market Signals ${packageVersion}`);
  });

  it('names the release and the install in the webhook User-Agent (an endpoint test send)', async () => {
    // The endpoint's secret is made by the server: the receiver records without verifying.
    const receiver = await startWebhookReceiver({ secret: SECRET, rejectUnverified: false });
    try {
      const call = api(h);
      const created = await call('POST', '/webhook-endpoints', { url: `${receiver.url}/hook` });
      expect(created.status).toBe(201);
      const t = await call('POST', `/webhook-endpoints/${created.json.endpoint.id}/test`);
      expect(t.json).toMatchObject({ ok: true, status: 200 });
      const [req] = await receiver.waitFor(1);
      expect(req?.headers['user-agent']).toBe(`market-signals/${packageVersion} (+${h.rt.baseUrl})`);
    } finally {
      await receiver.close();
    }
  });
});
