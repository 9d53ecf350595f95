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
