import { randomBytes } from 'node:crypto';

/** Test databases live beside the migration runner (@signals/db/testing); re-exported here. */
export { createTestDb, serverUrl, type TestDb, templateDbName } from '@signals/db/testing';

/**
 * A unique BullMQ prefix (and Redis key space) for one test. It is a hash tag, as QUEUE_PREFIX must
 * be on a Redis Cluster, so the same tests run on one Redis and on a cluster.
 */
export function testPrefix(label = 't'): string {
  return `{test:${label}:${process.pid}:${randomBytes(4).toString('hex')}}`;
}

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
