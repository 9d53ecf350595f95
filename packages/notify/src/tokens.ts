import { createHash, randomBytes } from 'node:crypto';

/**
 * An unguessable token for confirmation, unsubscribe and preference links: 32 random bytes,
 * base64url (43 characters, URL-safe, no padding). Only its {@link hashToken} is stored, so a
 * leaked database cannot be turned into working links.
 */
export function createToken(): string {
  return randomBytes(32).toString('base64url');
}

/** sha256 hex of a token: the form stored in the database and looked up on click. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
