import { PermanentDeliveryError, TransientDeliveryError } from '@signals/core';
import {
  buildAlertEvent,
  createWebhookSender,
  generateSecret,
  serializeEvent,
  WebhookUrlRefusedError,
  type WebhookSenderOptions,
  WebhookPermanentError,
  WebhookTransientError,
} from '@signals/notify';
import { startWebhookReceiver, type WebhookReceiver, type WebhookReceiverOptions } from '@signals/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger, nvdaShock, PUBLIC_BASE_URL } from './fixtures.ts';

const receivers: WebhookReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver(options);
  receivers.push(r);
  return r;
}

function sender(options: WebhookSenderOptions = {}) {
  return createWebhookSender({
    timeoutMs: 5000,
    allowedCidrs: ['127.0.0.1/32'],
    userAgent: 'signals-test/1',
    ...options,
  });
}

const alert = nvdaShock();
const body = serializeEvent(
  buildAlertEvent(alert, { type: 'alert.firing', timestamp: alert.firedAt, publicBaseUrl: PUBLIC_BASE_URL }),
);

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the send to fail');
}

describe('webhook sender', () => {
  it('sends a request that standardwebhooks verifies', async () => {
    const secret = generateSecret();
    const r = await receiver({ secret });
    const res = await sender().send({ url: r.url, messageId: 'msg_001', secrets: [secret], body });
    expect(res.status).toBe(200);
    expect(res.responseSnippet).toBe('answered 200');
    const [req] = await r.waitFor(1);
    expect(req?.verified).toBe(true);
    expect(req?.verifyError).toBeUndefined();
    expect(req?.id).toBe('msg_001');
    expect(req?.timestamp).toBe(String(res.timestamp));
    expect(req?.rawBody).toBe(body);
    expect(req?.body).toMatchObject({ type: 'alert.firing', version: 1, data: { alert: { id: alert.id } } });
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/hooks');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['user-agent']).toBe('signals-test/1');
  });

  it('during a rotation, a receiver holding only the old or only the new secret verifies', async () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const onOld = await receiver({ secret: oldSecret });
    const onNew = await receiver({ secret: newSecret });
    const elsewhere = await receiver({ secret: generateSecret() });
    const s = sender();
    for (const r of [onOld, onNew]) {
      await s.send({ url: r.url, messageId: 'msg_rot', secrets: [newSecret, oldSecret], body });
      const [req] = await r.waitFor(1);
      expect(req?.verified).toBe(true);
      expect(req?.signature?.split(' ')).toHaveLength(2);
    }
    // Control: a receiver with neither secret refuses (401), which is a retryable failure.
    const err = await failure(
      s.send({ url: elsewhere.url, messageId: 'msg_rot', secrets: [newSecret, oldSecret], body }),
    );
    expect(err).toBeInstanceOf(TransientDeliveryError);
    expect((err as TransientDeliveryError).statusCode).toBe(401);
    expect(elsewhere.requests[0]?.verified).toBe(false);
  });

  it('500 is transient; the retry keeps the webhook-id and succeeds', async () => {
    const secret = generateSecret();
    const r = await receiver({ secret, script: [500, 200] });
    const s = sender();
    const err = await failure(s.send({ url: r.url, messageId: 'msg_500', secrets: [secret], body }));
    expect(err).toBeInstanceOf(WebhookTransientError);
    expect((err as WebhookTransientError).statusCode).toBe(500);
    expect((err as WebhookTransientError).responseSnippet).toBe('answered 500');
    expect((err as WebhookTransientError).retryAfterMs).toBeUndefined();
    const res = await s.send({ url: r.url, messageId: 'msg_500', secrets: [secret], body });
    expect(res.status).toBe(200);
    expect(r.requests.map((q) => [q.id, q.status, q.verified])).toEqual([
      ['msg_500', 500, true],
      ['msg_500', 200, true],
    ]);
  });

  it('410 Gone is permanent', async () => {
    const secret = generateSecret();
    const r = await receiver({ secret, script: [410] });
    const err = await failure(sender().send({ url: r.url, messageId: 'msg_410', secrets: [secret], body }));
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err).toBeInstanceOf(WebhookPermanentError);
    expect((err as WebhookPermanentError).statusCode).toBe(410);
  });

  it('other 4xx are retried (documented choice)', async () => {
    const secret = generateSecret();
    const r = await receiver({ secret, script: [404, 400] });
    for (const status of [404, 400]) {
      const err = await failure(sender().send({ url: r.url, messageId: `msg_${status}`, secrets: [secret], body }));
      expect(err).toBeInstanceOf(TransientDeliveryError);
      expect((err as TransientDeliveryError).statusCode).toBe(status);
    }
  });

  it('429 and 503 carry Retry-After (seconds or HTTP-date)', async () => {
    const secret = generateSecret();
    const r429 = await receiver({ secret, script: [429], retryAfter: 120 });
    const err = await failure(sender().send({ url: r429.url, messageId: 'msg_429', secrets: [secret], body }));
    expect(err).toBeInstanceOf(TransientDeliveryError);
    expect((err as TransientDeliveryError).statusCode).toBe(429);
    expect((err as TransientDeliveryError).retryAfterMs).toBe(120_000);

    // The sender reads "now" from its clock: stopped on a whole second (an HTTP-date's resolution),
    // the delay is exactly the ten minutes the receiver asked for.
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const at = new Date(now.getTime() + 10 * 60_000);
    const r503 = await receiver({ secret, script: [503], retryAfter: at.toUTCString() });
    const err2 = await failure(
      sender({ clock: { now: () => now } }).send({ url: r503.url, messageId: 'msg_503', secrets: [secret], body }),
    );
    expect((err2 as TransientDeliveryError).statusCode).toBe(503);
    expect((err2 as TransientDeliveryError).retryAfterMs).toBe(10 * 60_000);
  });

  it('does not follow redirects', async () => {
    const secret = generateSecret();
    const target = await receiver({ secret });
    const r = await receiver({ secret, script: [{ status: 302, headers: { location: target.url } }] });
    const err = await failure(sender().send({ url: r.url, messageId: 'msg_302', secrets: [secret], body }));
    expect(err).toBeInstanceOf(TransientDeliveryError);
    expect((err as TransientDeliveryError).statusCode).toBe(302);
    expect((err as Error).message).toContain('not followed');
    expect(target.requests).toHaveLength(0);
  });

  it('a slow receiver times out: transient', async () => {
    const secret = generateSecret();
    const r = await receiver({ secret, delayMs: 3000 });
    const err = await failure(
      sender({ timeoutMs: 200 }).send({ url: r.url, messageId: 'msg_slow', secrets: [secret], body }),
    );
    expect(err).toBeInstanceOf(WebhookTransientError);
    expect((err as Error).message).toBe('timed out after 200 ms');
    expect((err as WebhookTransientError).statusCode).toBeUndefined();
  });

  it('a receiver that is down is transient, and is reached once it is back', async () => {
    const secret = generateSecret();
    const r = await receiver({ secret });
    await r.setDown(true);
    const err = await failure(sender().send({ url: r.url, messageId: 'msg_down', secrets: [secret], body }));
    expect(err).toBeInstanceOf(TransientDeliveryError);
    // Our words, the same as for a reset (below): the socket's code is in the log only.
    expect((err as Error).message).toBe('unreachable: no HTTP answer');
    await r.setDown(false);
    const res = await sender().send({ url: r.url, messageId: 'msg_down', secrets: [secret], body });
    expect(res.status).toBe(200);
    expect(r.requests).toHaveLength(1);
  });

  it('reads at most maxResponseBytes of the answer', async () => {
    const secret = generateSecret();
    const r = await receiver({ secret, script: [{ status: 200, body: 'x'.repeat(200_000) }] });
    const res = await sender({ maxResponseBytes: 1024 }).send({
      url: r.url,
      messageId: 'msg_big',
      secrets: [secret],
      body,
    });
    expect(res.status).toBe(200);
    expect(res.responseSnippet).toBe('x'.repeat(1024));
  });

  it('refuses loopback without an allow list, before sending anything', async () => {
    const secret = generateSecret();
    const r = await receiver({ secret });
    const err = await failure(
      createWebhookSender({ timeoutMs: 5000 }).send({ url: r.url, messageId: 'msg_ssrf', secrets: [secret], body }),
    );
    expect(err).toBeInstanceOf(WebhookUrlRefusedError);
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(r.requests).toHaveLength(0);
  });

  it('connects to the checked address while keeping the hostname in Host', async () => {
    const secret = generateSecret();
    const r = await receiver({ secret });
    let calls = 0;
    const lookup = async (host: string) => {
      calls++;
      // A rebinding resolver: first answer is the allowed address, later ones are not.
      if (host !== 'hooks.customer.test') throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
      return calls === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.9.9.9', family: 4 }];
    };
    const url = r.url.replace('127.0.0.1', 'hooks.customer.test');
    const res = await sender({ lookup }).send({ url, messageId: 'msg_pin', secrets: [secret], body });
    expect(res.status).toBe(200);
    expect(calls).toBe(1);
    expect(r.requests[0]?.headers.host).toBe(`hooks.customer.test:${r.port}`);
    // The next send resolves again and is refused.
    const err = await failure(sender({ lookup }).send({ url, messageId: 'msg_pin2', secrets: [secret], body }));
    expect(err).toBeInstanceOf(WebhookUrlRefusedError);
    expect(r.requests).toHaveLength(1);
  });

  it('never writes a secret to logs or error messages', async () => {
    const [secret, previous] = [generateSecret(), generateSecret()];
    const logger = captureLogger();
    const s = sender({ logger, timeoutMs: 300 });
    const ok = await receiver({ secret, script: [200, 500, 410, 429] });
    const slow = await receiver({ secret, delayMs: 2000 });
    const errors: unknown[] = [];
    const attempt = async (url: string, secrets = [secret, previous]) => {
      try {
        await s.send({ url: `${url}?token=${secret}`, messageId: 'msg_log', secrets, body });
      } catch (err) {
        errors.push(err);
      }
    };
    for (let i = 0; i < 4; i++) await attempt(ok.url);
    await attempt(slow.url);
    await attempt('http://10.0.0.1/hook');
    await attempt(`http://user:${secret}@example.com/`);
    await attempt(ok.url, [secret.slice(0, 20)]);
    // A chat webhook's secret is in its path (Slack, Discord): failures must not log it either.
    const pathToken = 'Xq7ZbN2pLm4Rt8Vw1Ys3Kd9F';
    try {
      await s.send({
        url: `http://10.0.0.2/services/T0ABCDEF1/B0ABCDEF2/${pathToken}`,
        messageId: 'msg_log',
        secrets: [secret],
        body,
      });
    } catch (err) {
      errors.push(err);
    }
    expect(errors).toHaveLength(8);
    expect(logger.lines.length).toBeGreaterThanOrEqual(8);
    const text = [
      ...logger.lines,
      ...errors.map((e) => `${String(e)} ${JSON.stringify(e)} ${(e as Error).stack ?? ''}`),
    ].join('\n');
    for (const s of [secret, previous]) {
      expect(text).not.toContain(s);
      expect(text).not.toContain(s.slice('whsec_'.length));
      expect(text).not.toContain(encodeURIComponent(s.slice('whsec_'.length)));
    }
    expect(text).toContain('token=***');
    expect(text).not.toContain(pathToken);
    expect(text).toContain('/services/T0ABCDEF1/B0ABCDEF2/***');
  });
});
