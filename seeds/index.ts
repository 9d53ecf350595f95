/**
 * Loads the default data: two watchlists (the AI core names and the wider set the articles name),
 * their instruments with English and German aliases, default feeds and the article-derived rules.
 * Idempotent: running it again creates what is missing and leaves what operators changed alone.
 */
import type { PrismaClient } from '@signals/db';
import { defaultFeeds, type SeedFeed } from './feeds.ts';
import { seedInhibitRules } from './inhibitions.ts';
import { defaultWatchlists, seedRules } from './rules.ts';

export { defaultFeeds } from './feeds.ts';
export { defaultWatchlists, seedRules } from './rules.ts';
export { seedInhibitRules } from './inhibitions.ts';

export interface SeedResult {
  watchlists: number;
  instruments: number;
  feeds: number;
  rules: number;
  inhibitRules: number;
}

export async function loadSeeds(prisma: PrismaClient, data: { feeds?: SeedFeed[] } = {}): Promise<SeedResult> {
  const feeds = data.feeds ?? defaultFeeds;
  const instruments = new Set<string>();
  const watchlistIds = new Map<string, string>();

  for (const wl of defaultWatchlists) {
    const w = await prisma.watchlist.upsert({
      where: { slug: wl.slug },
      create: { slug: wl.slug, name: wl.name, description: wl.description },
      update: {},
    });
    watchlistIds.set(wl.slug, w.id);
    for (const m of wl.symbols) {
      const inst = await prisma.instrument.upsert({
        where: { symbol: m.symbol },
        create: { symbol: m.symbol, name: m.name, aliases: m.aliases },
        update: {},
      });
      instruments.add(m.symbol);
      await prisma.watchlistMember.upsert({
        where: { watchlistId_instrumentId: { watchlistId: w.id, instrumentId: inst.id } },
        create: { watchlistId: w.id, instrumentId: inst.id },
        update: {},
      });
    }
  }

  for (const f of feeds) {
    await prisma.feed.upsert({
      where: { url: f.url },
      create: { url: f.url, name: f.name, language: f.language, pollIntervalSec: f.pollIntervalSec },
      update: {},
    });
  }

  for (const r of seedRules) {
    const row = {
      seedId: r.seedId,
      name: r.name,
      description: r.description ?? null,
      kind: r.kind,
      params: r.params as object,
      symbols: r.symbols ?? [],
      watchlistId: r.watchlist ? (watchlistIds.get(r.watchlist) ?? null) : null,
      severity: r.severity,
      cooldownSec: r.cooldownSec,
      pendingSec: r.pendingSec ?? null,
      confirmAtClose: r.confirmAtClose ?? false,
      rearmFraction: r.rearmFraction ?? null,
      notifyResolved: r.notifyResolved ?? false,
      sourceArticle: r.sourceArticle,
      sourcePassage: r.sourcePassage,
    };
    await prisma.rule.upsert({ where: { seedId: r.seedId }, create: row, update: {} });
  }

  // Inhibit rules between seed rules; skipped when an operator deleted either rule.
  const ruleIds = new Map(
    (await prisma.rule.findMany({ where: { seedId: { not: null } }, select: { id: true, seedId: true } })).map((r) => [
      r.seedId,
      r.id,
    ]),
  );
  let inhibitRules = 0;
  for (const i of seedInhibitRules) {
    const sourceRuleId = ruleIds.get(i.source);
    const targetRuleId = ruleIds.get(i.target);
    if (!sourceRuleId || !targetRuleId) continue;
    await prisma.inhibitRule.upsert({
      where: { seedId: i.seedId },
      create: { seedId: i.seedId, sourceRuleId, targetRuleId, equal: i.equal, comment: i.comment, createdBy: 'seed' },
      update: {},
    });
    inhibitRules++;
  }

  return {
    watchlists: defaultWatchlists.length,
    instruments: instruments.size,
    feeds: feeds.length,
    rules: seedRules.length,
    inhibitRules,
  };
}
