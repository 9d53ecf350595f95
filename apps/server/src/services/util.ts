import { ConflictError, NotFoundError } from '@signals/core';

/** Prisma's unique-constraint violation. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 'P2002';
}

/** Prisma's "record to update/delete not found". */
export function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 'P2025';
}

/** Runs a write, turning unique violations into 409 and missing rows into 404. */
export async function writeOr<T>(what: string, conflict: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(conflict);
    if (isNotFound(err)) throw new NotFoundError(what);
    throw err;
  }
}

export function slugify(s: string): string {
  return (
    s
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'list'
  );
}

export const num = (d: { toNumber(): number } | null | undefined): number | null => (d == null ? null : d.toNumber());

/** Day move as a fraction (0.012 = +1.2 %), when both prices are known. */
export function dayMove(last: number | null, prev: number | null): number | null {
  return last != null && prev != null && prev !== 0 ? last / prev - 1 : null;
}
