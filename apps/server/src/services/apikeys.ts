/**
 * API keys for machines: `sk_` + 32 random bytes, shown once; sha256 at rest, prefix kept for
 * display. Each key has scopes (api/scopes.ts) and may expire. A caller can only make or revoke a
 * key whose scopes it holds itself, so a read key cannot mint a write key or revoke the admin's.
 * A key made by another key never outlives it: its expiry is at most the minter's (the minter's,
 * when none is asked for), and revoking a key revokes every key it made, and theirs.
 */
import { randomBytes } from 'node:crypto';
import { NotFoundError, ValidationError } from '@signals/core';
import { z } from 'zod';
import { SCOPES, type Scope, covers, grantedScopes } from '../api/scopes.ts';
import type { Auth, Runtime } from '../context.ts';
import { text } from '../input.ts';
import { HttpProblem } from '../problem.ts';
import { sha256 } from '../security/session.ts';

/** An expiry further out than this is a mistake more often than a wish (and never a real limit). */
const MAX_EXPIRY_MS = 10 * 365 * 86_400_000;

export const apiKeyCreateSchema = z.strictObject({
  name: text({ min: 1, max: 100 }),
  scopes: z
    .array(z.enum(SCOPES))
    .min(1, 'give at least one scope')
    .max(SCOPES.length)
    .default(['read'])
    .transform((list) => SCOPES.filter((s) => list.includes(s)))
    .describe('read, write and/or admin (default ["read"]); at most the scopes of the key making it'),
  expiresAt: z.iso
    .datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2027-01-31T00:00:00Z' })
    .optional()
    .describe(
      "when the key stops working (unset: never, or, for a key made by an expiring key, that key's expiry); at most the expiry of the key making it",
    ),
});
export type ApiKeyCreate = z.infer<typeof apiKeyCreateSchema>;

type KeyRow = {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  expiresAt: Date | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  mintedById: string | null;
};

export function apiKeyView(k: KeyRow) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    mintedById: k.mintedById,
  };
}

export async function listApiKeys(rt: Runtime, win?: { take: number; skip: number }) {
  const rows = await rt.prisma.apiKey.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], ...win });
  return rows.map(apiKeyView);
}

function beyondCaller(what: 'create' | 'revoke', need: readonly Scope[], have: readonly Scope[]) {
  return new HttpProblem(403, 'Insufficient scope', {
    type: 'https://signals.dev/problems/insufficient-scope',
    detail: `a key can only ${what} keys with scopes it holds itself: this key has ${have.join(', ')}, that key needs ${need.join(', ')}`,
  });
}

/** Who is making a key: an admin session (no `key`) or an API key, with its own scopes and expiry. */
export interface KeyMaker {
  userId: string | null;
  granted: readonly Scope[];
  key?: { id: string; expiresAt: Date | null };
}

/** What a caller may make keys as (auth from the request). */
export function keyMakerOf(auth: Auth | undefined): KeyMaker {
  return {
    userId: auth?.userId ?? null,
    granted: grantedScopes(auth),
    ...(auth?.kind === 'apikey' ? { key: { id: auth.keyId, expiresAt: auth.expiresAt } } : {}),
  };
}

/** Makes a key; `caller.granted` are the caller's own scopes (every scope for an admin session). */
export async function createApiKey(
  rt: Runtime,
  input: { name: string; scopes?: Scope[]; expiresAt?: string | undefined },
  caller: KeyMaker,
) {
  const scopes = input.scopes ?? ['read'];
  if (!covers(caller.granted, scopes)) throw beyondCaller('create', scopes, caller.granted);
  // A key made by an expiring key expires with it at the latest.
  const ceiling = caller.key?.expiresAt ?? null;
  let expiresAt: Date | null = ceiling;
  if (input.expiresAt !== undefined) {
    expiresAt = new Date(input.expiresAt);
    const now = rt.clock.now().getTime();
    if (expiresAt.getTime() <= now)
      throw new ValidationError('Invalid expiry', [{ path: 'expiresAt', message: 'must be in the future' }]);
    if (expiresAt.getTime() > now + MAX_EXPIRY_MS)
      throw new ValidationError('Invalid expiry', [{ path: 'expiresAt', message: 'must be within 10 years' }]);
    if (ceiling && expiresAt.getTime() > ceiling.getTime())
      throw new ValidationError('Invalid expiry', [
        {
          path: 'expiresAt',
          message: `must not be later than the expiry of the key making it (${ceiling.toISOString()})`,
        },
      ]);
  }
  const key = `sk_${randomBytes(32).toString('base64url')}`;
  const row = await rt.prisma.apiKey.create({
    data: {
      name: input.name,
      prefix: key.slice(0, 10),
      keyHash: sha256(key),
      userId: caller.userId,
      scopes,
      expiresAt,
      mintedById: caller.key?.id ?? null,
    },
  });
  return { apiKey: apiKeyView(row), key };
}

/**
 * Revokes a key the caller's scopes cover (an admin session covers every key), and every key made
 * from it, at any depth: a leaked key's minted keys die with it. The number of keys revoked.
 */
export async function revokeApiKey(rt: Runtime, id: string, granted: readonly Scope[]): Promise<number> {
  const row = await rt.prisma.apiKey.findUnique({ where: { id }, select: { scopes: true } });
  if (!row) throw new NotFoundError('API key');
  if (!covers(granted, row.scopes)) throw beyondCaller('revoke', row.scopes, granted);
  try {
    return await rt.prisma.$executeRaw`
    WITH RECURSIVE tree AS (
      SELECT id FROM "ApiKey" WHERE id = ${id}
      UNION
      SELECT k.id FROM "ApiKey" k JOIN tree t ON k."mintedById" = t.id
    )
    UPDATE "ApiKey" SET "revokedAt" = ${rt.clock.now()}
    WHERE id IN (SELECT id FROM tree) AND "revokedAt" IS NULL`;
  } finally {
    // Verified keys are remembered for a few seconds: a revoked one is refused from the next request on.
    rt.apiKeys.invalidate();
  }
}
