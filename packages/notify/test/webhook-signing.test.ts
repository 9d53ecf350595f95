import { generateSecret, InvalidWebhookSecretError, secretKey, sign } from '@signals/notify';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';

describe('Standard Webhooks signing', () => {
  it('matches the published Standard Webhooks test vector', () => {
    const signature = sign({
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: 1614265330,
      body: '{"test": 2432232314}',
      secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    });
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('is verified by the standardwebhooks package, and a changed body is not', () => {
    const secret = generateSecret();
    const now = new Date();
    const body = JSON.stringify({ type: 'endpoint.test', note: 'Börsenwert ✓' });
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': sign({ id: 'msg_1', timestamp: now, body, secrets: [secret] }),
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace('✓', 'x'), headers)).toThrow();
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
  });

  it('signs with every secret during a rotation; either secret verifies', () => {
    const [oldS, newS] = [generateSecret(), generateSecret()];
    const now = new Date();
    const body = '{"a":1}';
    const signature = sign({ id: 'msg_2', timestamp: now, body, secrets: [newS, oldS] });
    expect(signature.split(' ')).toHaveLength(2);
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*$/);
    const headers = {
      'webhook-id': 'msg_2',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signature,
    };
    expect(() => new Webhook(oldS).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(newS).verify(body, headers)).not.toThrow();
  });

  it('generates whsec_ secrets of 24 to 64 random bytes', () => {
    const s = generateSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(secretKey(s)).toHaveLength(32);
    expect(secretKey(generateSecret(24))).toHaveLength(24);
    expect(generateSecret()).not.toBe(s);
    expect(() => generateSecret(16)).toThrow(RangeError);
  });

  it('refuses malformed secrets without quoting them', () => {
    const bad = ['s3cr3t-without-prefix', 'whsec_not base64!', `whsec_${Buffer.alloc(8).toString('base64')}`];
    for (const secret of bad) {
      let error: unknown;
      try {
        sign({ id: 'm', timestamp: 1, body: '{}', secrets: [secret] });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(InvalidWebhookSecretError);
      expect(String(error)).not.toContain(secret.replace('whsec_', ''));
    }
    expect(() => sign({ id: 'm', timestamp: 1, body: '{}', secrets: [] })).toThrow(InvalidWebhookSecretError);
  });
});
