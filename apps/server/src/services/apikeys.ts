/** API keys for machines: `sk_` + 32 random bytes, shown once; sha256 at rest, prefix kept for display. */
import { randomBytes } from 'node:crypto';
import { NotFoundError } from '@signals/core';
import { z } from 'zod';
import type { Runtime } from '../context.ts';
import { text } from '../input.ts';
import { sha256 } from '../security/session.ts';

export const apiKeyCreateSchema = z.strictObject({ name: text({ min: 1, max: 100 }) });

type KeyRow = {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

export function apiKeyView(k: KeyRow) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}

export async function listApiKeys(rt: Runtime, win?: { take: number; skip: number }) {
  const rows = await rt.prisma.apiKey.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], ...win });
  return rows.map(apiKeyView);
}

export async function createApiKey(rt: Runtime, name: string, userId: string | null) {
  const key = `sk_${randomBytes(32).toString('base64url')}`;
  const row = await rt.prisma.apiKey.create({ data: { name, prefix: key.slice(0, 10), keyHash: sha256(key), userId } });
  return { apiKey: apiKeyView(row), key };
}

export async function revokeApiKey(rt: Runtime, id: string) {
  const r = await rt.prisma.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: rt.clock.now() } });
  if (r.count === 0) {
    const exists = await rt.prisma.apiKey.findUnique({ where: { id }, select: { id: true } });
    if (!exists) throw new NotFoundError('API key');
  }
}
