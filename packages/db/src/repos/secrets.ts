/**
 * Subscriber links (unsubscribe, preferences) are signed, not stored: HMAC-SHA256 over the
 * subscriber id and its token version, keyed by APP_SECRET or, when unset, by a random key
 * generated once and kept in the Setting table. Bumping tokenVersion revokes every link sent.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PrismaClient } from '../generated/client.ts';

const KEY = 'app_secret';

export async function getAppSecret(prisma: PrismaClient, fromEnv?: string): Promise<string> {
  if (fromEnv) return fromEnv;
  const existing = await prisma.setting.findUnique({ where: { key: KEY } });
  if (existing) return existing.value;
  // Two processes racing: the first insert wins and both read it back.
  await prisma.setting.createMany({
    data: [{ key: KEY, value: randomBytes(32).toString('base64url') }],
    skipDuplicates: true,
  });
  return (await prisma.setting.findUniqueOrThrow({ where: { key: KEY } })).value;
}

function mac(secret: string, purpose: string, id: string, version: number): string {
  return createHmac('sha256', secret).update(`${purpose}:${id}:${version}`).digest('base64url').slice(0, 32);
}

/** `<subscriberId>.<version>.<mac>`: unforgeable without the secret. */
export function signSubscriberToken(secret: string, subscriberId: string, version: number, purpose = 'manage'): string {
  return `${subscriberId}.${version}.${mac(secret, purpose, subscriberId, version)}`;
}

/** The subscriber id and version a token was signed for, or null when it is not genuine. */
export function verifySubscriberToken(
  secret: string,
  token: string,
  purpose = 'manage',
): { subscriberId: string; version: number } | null {
  const m = /^([A-Za-z0-9_-]{1,64})\.(\d{1,9})\.([A-Za-z0-9_-]{32})$/.exec(token);
  if (!m) return null;
  const [, id, v, given] = m as unknown as [string, string, string, string];
  const expected = mac(secret, purpose, id, Number(v));
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b) ? { subscriberId: id, version: Number(v) } : null;
}
