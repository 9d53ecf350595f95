/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): the receiver checks
 * `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` with the key it was given as
 * `whsec_<base64 key>`. Several signatures, space-separated, let an endpoint rotate its secret:
 * during the overlap we sign with both, and a receiver holding either one verifies.
 */
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

/** A secret that is not `whsec_<base64 of 24..64 bytes>`. The message never quotes the secret. */
export class InvalidWebhookSecretError extends Error {
  constructor(reason: string) {
    super(`invalid webhook secret: ${reason}`);
    this.name = 'InvalidWebhookSecretError';
  }
}

/** A new signing secret: `whsec_` + base64 of `bytes` random bytes (default 32, 24..64 allowed). */
export function generateSecret(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES) {
    throw new RangeError(`generateSecret: bytes must be an integer in ${MIN_KEY_BYTES}..${MAX_KEY_BYTES}`);
  }
  return PREFIX + randomBytes(bytes).toString('base64');
}

/** The HMAC key of a `whsec_` secret. Throws {@link InvalidWebhookSecretError}. */
export function secretKey(secret: string): Buffer {
  if (typeof secret !== 'string' || !secret.startsWith(PREFIX)) {
    throw new InvalidWebhookSecretError('expected the whsec_ prefix');
  }
  const b64 = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new InvalidWebhookSecretError('the key is not base64');
  }
  const key = Buffer.from(b64, 'base64');
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    throw new InvalidWebhookSecretError(`the key must be ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes`);
  }
  return key;
}

export interface SignInput {
  /** webhook-id: the message id, the same on every retry. */
  id: string;
  /** webhook-timestamp: Unix seconds, or a Date (truncated to seconds). */
  timestamp: number | Date;
  /** The exact bytes sent as the request body. */
  body: string;
  /** Current secret first, then the previous one during a rotation overlap. */
  secrets: readonly string[];
}

export function unixSeconds(t: number | Date): number {
  return typeof t === 'number' ? Math.floor(t) : Math.floor(t.getTime() / 1000);
}

/** The `webhook-signature` header value: one `v1,<base64>` per secret, space-separated. */
export function sign(input: SignInput): string {
  if (input.secrets.length === 0) throw new InvalidWebhookSecretError('no secret to sign with');
  if (/[\s]/.test(input.id) || input.id.length === 0) {
    throw new Error('sign: webhook id must be non-empty and contain no whitespace');
  }
  const content = `${input.id}.${unixSeconds(input.timestamp)}.${input.body}`;
  const seen = new Set<string>();
  const signatures: string[] = [];
  for (const secret of input.secrets) {
    const sig = createHmac('sha256', secretKey(secret)).update(content, 'utf8').digest('base64');
    if (seen.has(sig)) continue;
    seen.add(sig);
    signatures.push(`v1,${sig}`);
  }
  return signatures.join(' ');
}

/**
 * The secrets an endpoint signs with now: its secret and, during a rotation's overlap, the
 * previous one (receivers still on it keep verifying).
 */
export function signingSecrets(
  ep: { secret: string; previousSecret: string | null; previousSecretUntil: Date | null },
  now: Date,
): string[] {
  return ep.previousSecret && ep.previousSecretUntil && ep.previousSecretUntil.getTime() > now.getTime()
    ? [ep.secret, ep.previousSecret]
    : [ep.secret];
}
