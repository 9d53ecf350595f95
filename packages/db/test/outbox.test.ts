/**
 * The outbox insert on a real database: every column arrives as written whatever the characters
 * (the rows travel as text[] literals), a pair already there is skipped and only the rows written
 * are returned, in the order given, and a pair twice in one call is written once.
 */
import { insertDeliveries, type NewDelivery, type PrismaClient, textArrayLiteral } from '@signals/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../src/test-db.ts';

let db: TestDb;
let prisma: PrismaClient;
let alertId: string;
const subs: string[] = [];

beforeAll(async () => {
  db = await createTestDb();
  prisma = db.prisma;
  const rule = await prisma.rule.create({
    data: { name: 'r', kind: 'pct_move', params: {}, severity: 'warning' },
  });
  const alert = await prisma.alert.create({
    data: {
      dedupKey: 'outbox-test',
      ruleId: rule.id,
      subject: 'NVDA',
      severity: 'warning',
      title: 't',
      value: 1,
      threshold: 1,
      details: {},
      firedAt: new Date('2026-06-01T00:00:00Z'),
    },
  });
  alertId = alert.id;
  for (let i = 0; i < 5; i++) {
    const s = await prisma.subscriber.create({ data: { email: `s${i}@example.com`, status: 'confirmed' } });
    subs.push(s.id);
  }
});
afterAll(async () => {
  await db?.drop();
});

const NOW = new Date('2026-06-01T00:00:00Z');

describe('textArrayLiteral', () => {
  it('round-trips quotes, backslashes, commas, braces, blanks, NULL as a word and nulls through Postgres', async () => {
    const values = ['a"b', 'c\\d', 'e,f', '{g}', ' h ', '', 'NULL', null, 'ü – ✓', 'line\nbreak', '\\"'];
    const [row] = await prisma.$queryRaw<{ v: (string | null)[] }[]>`
      SELECT ${textArrayLiteral(values)}::text::text[] AS v`;
    expect(row?.v).toEqual(values);
  });
});

describe('insertDeliveries', () => {
  it('writes every column as given, including a payload with quotes and backslashes', async () => {
    const payload = { text: 'say "hi" \\ {x, y}', n: 1, nested: { a: [1, null, 'NULL'] } };
    const notBefore = new Date('2026-06-01T00:05:00.123Z');
    const ids = await insertDeliveries(
      prisma,
      [{ channel: 'email', subscriberId: subs[0], alertId, eventType: 'alert.firing', payload, notBefore }],
      NOW,
    );
    expect(ids).toHaveLength(1);
    const row = await prisma.delivery.findUniqueOrThrow({ where: { id: ids[0] } });
    expect(row).toMatchObject({
      alertId,
      channel: 'email',
      subscriberId: subs[0],
      endpointId: null,
      channelId: null,
      eventType: 'alert.firing',
      target: `email:${subs[0]}`,
      groupKey: `${subs[0]}:email`,
      status: 'pending',
      attempts: 0,
      payload,
      nextAttemptAt: notBefore,
    });
    expect(row.messageId).toMatch(/^msg_[A-Za-z0-9_-]{16}$/);
    expect(row.id).toMatch(/^dl[A-Za-z0-9_-]{20}$/);
  });

  it('skips a pair already written and a pair given twice, returning only the rows written, in order', async () => {
    const mk = (i: number): NewDelivery => ({
      channel: 'email',
      subscriberId: subs[i] as string,
      alertId,
      eventType: 'alert.firing',
    });
    // subs[1] is written first (this test's own; subs[0] belongs to the test above, which may run
    // before or after this one); then subs[3] is given twice.
    expect(await insertDeliveries(prisma, [mk(1)], NOW)).toHaveLength(1);
    const ids = await insertDeliveries(prisma, [mk(2), mk(1), mk(3), mk(3), mk(4)], NOW);
    expect(ids).toHaveLength(3);
    const rows = await prisma.delivery.findMany({
      where: { id: { in: ids } },
      select: { id: true, subscriberId: true },
    });
    const subOf = new Map(rows.map((r) => [r.id, r.subscriberId]));
    expect(ids.map((id) => subOf.get(id))).toEqual([subs[2], subs[3], subs[4]]);
    const mine = subs.slice(1) as string[];
    expect(await prisma.delivery.count({ where: { alertId, subscriberId: { in: mine } } })).toBe(4);
    // Due now when no time is given.
    const due = await prisma.delivery.findMany({ where: { id: { in: ids } }, select: { nextAttemptAt: true } });
    for (const d of due) expect(d.nextAttemptAt).toEqual(NOW);
  });
});
