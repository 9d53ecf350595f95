import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRuleDefinitions } from '@signals/db';
import { createTestDb, type TestDb } from '@signals/testing';
import { defaultFeeds, defaultWatchlists, loadSeeds, seedRules } from '../index.ts';

describe('seeds', () => {
  // A database per test: one test disables a seed rule, another counts the enabled ones.
  let db: TestDb;
  beforeEach(async () => {
    db = await createTestDb();
  });
  afterEach(async () => {
    await db?.drop();
  });

  it('loads the default watchlists, instruments, feeds and article rules, and loading again changes nothing', async () => {
    const first = await loadSeeds(db.prisma);
    const counts = async () => ({
      watchlists: await db.prisma.watchlist.count(),
      instruments: await db.prisma.instrument.count(),
      members: await db.prisma.watchlistMember.count(),
      feeds: await db.prisma.feed.count(),
      rules: await db.prisma.rule.count(),
    });
    const after1 = await counts();
    await loadSeeds(db.prisma);
    expect(await counts()).toEqual(after1);
    expect(first.watchlists).toBe(2);
    expect(after1.feeds).toBe(defaultFeeds.length);
    expect(after1.rules).toBe(seedRules.length);
    const core = await db.prisma.watchlist.findUniqueOrThrow({
      where: { slug: 'ai-core' },
      include: { members: { include: { instrument: true } } },
    });
    expect(core.members.map((m) => m.instrument.symbol).sort()).toEqual(['CRM', 'MSFT', 'NVDA', 'PLTR']);
    const wider = defaultWatchlists.find((w) => w.slug === 'ai-wider');
    expect(wider?.symbols.length).toBeGreaterThan(3);
  });

  it('stores every seed rule so that the engine accepts it back, with its article and passage', async () => {
    await loadSeeds(db.prisma);
    const loaded = await loadRuleDefinitions(db.prisma);
    expect(loaded).toHaveLength(seedRules.length);
    const rows = await db.prisma.rule.findMany();
    for (const r of rows) {
      expect(r.sourceArticle).toMatch(/^00\d_[0-9a-f]{16}\.txt$/);
      expect(r.sourcePassage?.length).toBeGreaterThan(10);
    }
  });

  it('leaves what an operator changed alone when seeding again', async () => {
    await loadSeeds(db.prisma);
    const r = await db.prisma.rule.findFirstOrThrow({ where: { seedId: { not: null } } });
    await db.prisma.rule.update({ where: { id: r.id }, data: { enabled: false, name: 'my name' } });
    await loadSeeds(db.prisma);
    const back = await db.prisma.rule.findUniqueOrThrow({ where: { id: r.id } });
    expect(back.enabled).toBe(false);
    expect(back.name).toBe('my name');
  });
});
