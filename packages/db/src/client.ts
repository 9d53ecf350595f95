import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client.ts';

export type { Prisma } from './generated/client.ts';
export { PrismaClient } from './generated/client.ts';

export interface DbOptions {
  databaseUrl: string;
  /** Pool size per process (default 10). */
  poolSize?: number;
}

/** A Prisma client over node-postgres (Prisma 7 driver adapter: no native engine). */
export function createPrisma(opts: DbOptions): PrismaClient {
  const adapter = new PrismaPg({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
  return new PrismaClient({ adapter });
}

/**
 * True when a Prisma error means PostgreSQL is away (stopped, restarting, unreachable, or it ended
 * the connection), not that the statement is wrong: worth trying again once it is back.
 */
export function isDatabaseAway(err: unknown): boolean {
  const e = err as {
    code?: unknown;
    message?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown; code?: unknown; originalCode?: unknown } } };
  } | null;
  if (!e || typeof e !== 'object') return false;
  // P1001 can't reach the server, P1017 the server closed the connection.
  if (e.code === 'P1001' || e.code === 'P1017') return true;
  const cause = e.meta?.driverAdapterError?.cause;
  if (cause?.kind === 'DatabaseNotReachable' || cause?.kind === 'ConnectionClosed') return true;
  // SQLSTATE class 08 (connection exception) and 57P (shutdown, crash, "starting up").
  const sqlState = String(cause?.originalCode ?? cause?.code ?? '');
  if (/^(08|57P)/.test(sqlState)) return true;
  return /Connection terminated|ECONNREFUSED|ECONNRESET/.test(String(e.message ?? ''));
}
