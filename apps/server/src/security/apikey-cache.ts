/**
 * Verified API keys, remembered for a few seconds so that a client calling the API many times a
 * second costs one key lookup per key and {@link API_KEY_CACHE_MS}, not one per request (issue 20,
 * item 4). Keyed by the key's sha256 (what is stored at rest; the key itself is never kept or
 * logged). Only keys that were valid when read are kept; expiry is judged again on every request.
 *
 * Revoking a key in this server (API or admin page) empties the cache at once, so the next request
 * with it is refused. A change this server does not make itself (a second server process, or a row
 * edited straight in the database) is seen at the latest API_KEY_CACHE_MS later.
 * A lookup that started before a revocation does not put its (now stale) row back: every
 * invalidation starts a new generation, and a lookup of an older generation is not kept.
 */
import type { Scope } from '../api/scope-names.ts';

/** How long a verified key is trusted without asking the database again (the bound on revocation from elsewhere). */
export const API_KEY_CACHE_MS = 5_000;
/** At most this many keys are remembered; the oldest is forgotten first. */
const MAX_KEYS = 10_000;

export interface VerifiedKey {
  id: string;
  userId: string | null;
  scopes: Scope[];
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

export interface ApiKeyCache {
  /** The key with this hash if it was verified less than API_KEY_CACHE_MS ago (by `nowMs`). */
  get(keyHash: string, nowMs: number): VerifiedKey | undefined;
  /** The generation to pass to {@link set}: read it before the database lookup. */
  generation(): number;
  /** Remembers a key read from the database, unless the cache was invalidated since `generation`. */
  set(keyHash: string, key: VerifiedKey, nowMs: number, generation: number): void;
  /** Forgets every key (after a revocation). */
  invalidate(): void;
}

export function createApiKeyCache(ttlMs = API_KEY_CACHE_MS): ApiKeyCache {
  const entries = new Map<string, { key: VerifiedKey; until: number }>();
  let gen = 0;
  return {
    get(keyHash, nowMs) {
      const e = entries.get(keyHash);
      if (!e) return undefined;
      if (e.until <= nowMs) {
        entries.delete(keyHash);
        return undefined;
      }
      return e.key;
    },
    generation: () => gen,
    set(keyHash, key, nowMs, generation) {
      if (generation !== gen) return;
      entries.delete(keyHash);
      if (entries.size >= MAX_KEYS) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(keyHash, { key, until: nowMs + ttlMs });
    },
    invalidate() {
      gen++;
      entries.clear();
    },
  };
}
