import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../src/test-db.ts';
import { resolveSigningKeys, signSubscriberToken, verifySubscriberToken } from '../src/index.ts';

const A = 'a-configured-app-secret-of-32-chars-or-more';
const B = 'the-previous-app-secret-of-32-chars-or-more';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

describe('resolveSigningKeys', () => {
  it('with APP_SECRET: signs with it and generates nothing; APP_SECRET_PREVIOUS is accepted too', async () => {
    // A database of its own: the next test generates a key in the shared one (tests run in any order).
    const fresh = await createTestDb();
    try {
      const keys = await resolveSigningKeys(fresh.prisma, { appSecret: A, previous: B });
      expect(keys).toEqual({ current: A, accepted: [A, B] });
      expect(await fresh.prisma.setting.count()).toBe(0);
    } finally {
      await fresh.drop();
    }
  });

  it('without APP_SECRET: one generated key, the same for every caller, kept in Postgres', async () => {
    const [x, y] = await Promise.all([resolveSigningKeys(db.prisma), resolveSigningKeys(db.prisma)]);
    expect(x.current).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(y.current).toBe(x.current);
    expect(x.accepted).toEqual([x.current]);
    // Setting APP_SECRET later keeps the generated key acceptable (links already mailed), not signing.
    const later = await resolveSigningKeys(db.prisma, { appSecret: A });
    expect(later).toEqual({ current: A, accepted: [A, x.current] });
  });

  it('verifies a token under any accepted key and refuses other keys and tampering', () => {
    const token = signSubscriberToken(B, 'sub_1', 3);
    expect(verifySubscriberToken([A, B], token)).toEqual({ subscriberId: 'sub_1', version: 3 });
    expect(verifySubscriberToken([A], token)).toBeNull();
    expect(verifySubscriberToken([A, B], token.replace('.3.', '.4.'))).toBeNull();
    expect(verifySubscriberToken([A, B], signSubscriberToken(B, 'sub_1', 3, 'other-purpose'))).toBeNull();
  });
});
