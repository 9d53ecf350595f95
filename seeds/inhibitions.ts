/**
 * Default inhibit rules (Alertmanager's inhibit_rules) over the seed rules of rules.ts, so that one
 * market event gives one message:
 *
 * - Each at-event rule (`<event>-historic`) inhibits its early warning (`<event>-early`) on the
 *   same symbol and session: when Microsoft has its 5-sigma day, the 3-sigma warning of that day
 *   says nothing more.
 * - A basket alert inhibits its members' own alerts of the same family (the same article event)
 *   that session: the basket at event level holds back the members' early and at-event alerts,
 *   the basket's early warning only the members' early warnings (a sector warning must not hide a
 *   critical single-name move).
 */
import { seedRules } from './rules.ts';

export type InhibitLabel = 'symbol' | 'session';

export interface SeedInhibitRule {
  /** Stable id (the InhibitRule row's seedId). */
  seedId: string;
  /** seedId of the rule whose firing alert inhibits. */
  source: string;
  /** seedId of the rule whose alerts are held back. */
  target: string;
  equal: InhibitLabel[];
  comment: string;
}

/** Families of a basket rule and its members' single-name rules, by level. */
const FAMILIES: { basket: { early: string; historic: string }; members: { early: string[]; historic: string[] } }[] = [
  {
    basket: { early: 'deepseek-sector-early', historic: 'deepseek-sector-historic' },
    members: { early: ['deepseek-nvda-drop-early'], historic: ['deepseek-nvda-drop-historic'] },
  },
  {
    basket: { early: 'saas-selloff-early', historic: 'saas-selloff-historic' },
    // The single-name 20 % week is a critical, event-level rule: only the basket at event level holds it.
    members: { early: [], historic: ['saas-name-down-20pct-week'] },
  },
];

function build(): SeedInhibitRule[] {
  const ids = new Set(seedRules.map((r) => r.seedId));
  const out: SeedInhibitRule[] = [];
  for (const id of ids) {
    if (!id.endsWith('-early')) continue;
    const historic = `${id.slice(0, -'-early'.length)}-historic`;
    if (!ids.has(historic)) continue;
    out.push({
      seedId: `inhibit:${historic}>${id}`,
      source: historic,
      target: id,
      equal: ['symbol', 'session'],
      comment: 'The at-event alert inhibits its own early warning on the same symbol and session.',
    });
  }
  for (const f of FAMILIES) {
    const pairs: [string, string][] = [
      ...[...f.members.early, ...f.members.historic].map((t): [string, string] => [f.basket.historic, t]),
      ...f.members.early.map((t): [string, string] => [f.basket.early, t]),
    ];
    for (const [source, target] of pairs) {
      out.push({
        seedId: `inhibit:${source}>${target}`,
        source,
        target,
        equal: ['symbol', 'session'],
        comment: "A basket alert inhibits its members' alerts of the same family that session.",
      });
    }
  }
  return out;
}

export const seedInhibitRules: SeedInhibitRule[] = build();
