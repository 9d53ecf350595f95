/**
 * Subscriber links (unsubscribe, preferences) are signed, not stored: HMAC-SHA256 over the
 * subscriber id and its token version. Bumping tokenVersion revokes every link sent.
 *
 * The key comes from ONE place, {@link resolveSigningKeys}, called by the worker (which signs the
 * links in alert and digest emails) and by the server (which signs the links on its pages and
 * verifies every link). Two callers resolving the key differently is how every emailed link once
 * answered 400.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PrismaClient } from '../generated/client.ts';

const KEY = 'app_secret';

/** The keys for subscriber links: sign with `current`, accept a link signed with any of `accepted`. */
export interface SigningKeys {
  /** Signs every new link: APP_SECRET, else the key generated once and kept in Postgres. */
  current: string;
  /** `current` first, then the keys links already sent may carry (no duplicates). */
  accepted: readonly string[];
}

/** What the operator configured (both optional). */
export interface SigningKeyConfig {
  /** APP_SECRET: the key to sign with. Unset: a random key generated once and kept in Postgres. */
  appSecret?: string | undefined;
  /** APP_SECRET_PREVIOUS: the key before a rotation, still accepted so links already sent work. */
  previous?: string | undefined;
}

/** The generated key kept in the Setting table, made on first use. */
async function generatedKey(prisma: PrismaClient): Promise<string> {
  const existing = await prisma.setting.findUnique({ where: { key: KEY } });
  if (existing) return existing.value;
  // Two processes racing: the first insert wins and both read it back.
  await prisma.setting.createMany({
    data: [{ key: KEY, value: randomBytes(32).toString('base64url') }],
    skipDuplicates: true,
  });
  return (await prisma.setting.findUniqueOrThrow({ where: { key: KEY } })).value;
}

/**
 * Resolves the signing keys for subscriber links, the same way in every process.
 *
 * - current: `appSecret` when set, else the generated key in Postgres (created on first use).
 * - accepted: current, `previous` when set, and, when `appSecret` is set and a generated key exists
 *   from before, that generated key too. An operator who sets APP_SECRET on a running service thus
 *   does not break the unsubscribe links in mail already sent (people must be able to unsubscribe
 *   from any email they got). To retire the generated key, delete the `app_secret` row of the
 *   Setting table; to revoke every link at once, bump the subscribers' tokenVersion.
 */
export async function resolveSigningKeys(prisma: PrismaClient, config: SigningKeyConfig = {}): Promise<SigningKeys> {
  let current: string;
  let legacy: string | undefined;
  if (config.appSecret) {
    current = config.appSecret;
    // Read only: with APP_SECRET set no key is generated.
    legacy = (await prisma.setting.findUnique({ where: { key: KEY } }))?.value;
  } else {
    current = await generatedKey(prisma);
  }
  const accepted = [...new Set([current, config.previous, legacy].filter((k): k is string => !!k))];
  return { current, accepted };
}

function mac(secret: string, purpose: string, id: string, version: number): string {
  return createHmac('sha256', secret).update(`${purpose}:${id}:${version}`).digest('base64url').slice(0, 32);
}

/** `<subscriberId>.<version>.<mac>`: unforgeable without the secret. Sign with {@link SigningKeys.current}. */
export function signSubscriberToken(secret: string, subscriberId: string, version: number, purpose = 'manage'): string {
  return `${subscriberId}.${version}.${mac(secret, purpose, subscriberId, version)}`;
}

/**
 * The subscriber id and version a token was signed for, or null when it is not genuine under any
 * of `secrets` (pass {@link SigningKeys.accepted}).
 */
export function verifySubscriberToken(
  secrets: string | readonly string[],
  token: string,
  purpose = 'manage',
): { subscriberId: string; version: number } | null {
  const m = /^([A-Za-z0-9_-]{1,64})\.(\d{1,9})\.([A-Za-z0-9_-]{32})$/.exec(token);
  if (!m) return null;
  const [, id, v, given] = m as unknown as [string, string, string, string];
  const a = Buffer.from(given);
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    const b = Buffer.from(mac(secret, purpose, id, Number(v)));
    if (a.length === b.length && timingSafeEqual(a, b)) return { subscriberId: id, version: Number(v) };
  }
  return null;
}

/**
 * Secrets a subscriber gives us that we must use in clear later (an ntfy access token): sealed
 * with AES-256-GCM under a key derived from the app key, so a database dump alone does not reveal
 * them. `v1.<iv>.<tag>.<ciphertext>`, base64url.
 */
const sealKey = (appKey: string) => createHash('sha256').update(`seal:v1:${appKey}`, 'utf8').digest();

export function sealSecret(appKey: string, plaintext: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', sealKey(appKey), iv);
  const enc = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), enc.toString('base64url')].join('.');
}

/** The clear text under any of `appKeys` (pass SigningKeys.accepted, so a key rotation keeps them working), or null. */
export function openSealed(appKeys: string | readonly string[], sealed: string): string | null {
  const [v, iv, tag, enc] = sealed.split('.');
  if (v !== 'v1' || !iv || !tag || enc === undefined) return null;
  for (const key of typeof appKeys === 'string' ? [appKeys] : appKeys) {
    try {
      const d = createDecipheriv('aes-256-gcm', sealKey(key), Buffer.from(iv, 'base64url'));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(enc, 'base64url')), d.final()]).toString('utf8');
    } catch {
      // not this key
    }
  }
  return null;
}
