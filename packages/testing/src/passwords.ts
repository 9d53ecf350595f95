/**
 * A password hash in the product's stored format (`scrypt$N$r$p$salt$hash`, base64url) at a low
 * cost. verifyPassword reads N, r and p from the stored hash (so they can be raised later), so a
 * test whose subject is not the hashing itself (rate limits, slow-downs, sessions) can give its
 * accounts this hash and check each login in a millisecond instead of a 128 MiB, second-long scrypt
 * on a loaded machine. The real cost is tested where hashing is the subject (apps/server/test/
 * auth-public.test.ts checks the stored N=2^17, r=8, p=1).
 */
import { randomBytes, scryptSync } from 'node:crypto';

export function fastPasswordHash(password: string, n = 1024, r = 8, p = 1): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFC'), salt, 32, { N: n, r, p });
  return `scrypt$${n}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}
