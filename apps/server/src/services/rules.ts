/**
 * Rules: stored as Rule rows, validated by @signals/core's rule definition schema (field-level
 * issues), created from scratch or from templates (the article-derived seed rules, one per kind),
 * previewed with a backtest over the last year of stored history before saving.
 */
import {
  kindModule,
  NotFoundError,
  RULE_KINDS,
  type RuleDefinition,
  ruleNeedsPrices,
  ValidationError,
  describeRule,
  validateRuleDefinition,
} from '@signals/core';
import type { Prisma } from '@signals/db';
import { z } from 'zod';
import type { Runtime } from '../context.ts';
import { text } from '../input.ts';
import { type BacktestOutcome, watchedSymbols } from './backtest.ts';
import { backtestDeliveries, type DeliveryForecast } from './backtest-deliveries.ts';
import { writeOr } from './util.ts';

const severity = z.enum(['info', 'warning', 'critical']);

const ruleFields = {
  name: text({ min: 1, max: 200 }),
  description: text({ max: 2000 }).nullish(),
  kind: z.enum(RULE_KINDS),
  params: z.record(z.string(), z.unknown()),
  symbols: z
    .array(text({ min: 1, max: 24 }))
    .max(1000)
    .optional(),
  watchlistId: text({ min: 1, max: 64 }).nullish(),
  severity: severity.optional(),
  cooldownSec: z
    .number()
    .int()
    .min(0)
    .max(90 * 86_400)
    .optional(),
  pendingSec: z.number().int().min(0).max(86_400).nullish(),
  confirmAtClose: z.boolean().optional(),
  rearmFraction: z.number().min(0).max(1).nullish(),
  notifyResolved: z.boolean().optional(),
  enabled: z.boolean().optional(),
};

/** Body of POST /api/rules and of the preview. */
export const ruleInputSchema = z.strictObject(ruleFields);
/** Body of PATCH /api/rules/{id}: any subset. */
export const ruleUpdateSchema = z.strictObject(
  Object.fromEntries(Object.entries(ruleFields).map(([k, v]) => [k, v.optional()])) as {
    [K in keyof typeof ruleFields]: z.ZodOptional<(typeof ruleFields)[K]>;
  },
);
export type RuleInput = z.infer<typeof ruleInputSchema>;
export type RuleUpdate = z.infer<typeof ruleUpdateSchema>;

type RuleRow = Prisma.RuleGetPayload<{ include: { watchlist: { select: { name: true; slug: true } } } }>;

export function ruleView(r: RuleRow) {
  return {
    id: r.id,
    seedId: r.seedId,
    name: r.name,
    description: r.description,
    kind: r.kind,
    params: r.params,
    symbols: r.symbols,
    watchlistId: r.watchlistId,
    watchlist: r.watchlist ? { name: r.watchlist.name, slug: r.watchlist.slug } : null,
    severity: r.severity,
    cooldownSec: r.cooldownSec,
    pendingSec: r.pendingSec,
    confirmAtClose: r.confirmAtClose,
    rearmFraction: r.rearmFraction,
    notifyResolved: r.notifyResolved,
    enabled: r.enabled,
    sourceArticle: r.sourceArticle,
    sourcePassage: r.sourcePassage,
    summary: summarize(r),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/**
 * Summaries by everything they are computed from: the rule list and the public pages ask for the
 * same rules' summaries on every request, and validating each definition again (zod) was most of
 * the CPU of GET /api/rules. Bounded: cleared when it holds more than SUMMARY_CACHE_MAX entries.
 */
const summaries = new Map<string, string | null>();
const SUMMARY_CACHE_MAX = 2000;

function summarize(r: {
  id: string;
  kind: string;
  params: unknown;
  symbols: string[];
  name: string;
  severity: string;
  cooldownSec: number;
}) {
  const key = JSON.stringify([r.id, r.name, r.kind, r.params, r.symbols, r.severity, r.cooldownSec]);
  const hit = summaries.get(key);
  if (hit !== undefined || summaries.has(key)) return hit ?? null;
  if (summaries.size >= SUMMARY_CACHE_MAX) summaries.clear();
  const summary = summarizeNow(r);
  summaries.set(key, summary);
  return summary;
}

function summarizeNow(r: {
  id: string;
  kind: string;
  params: unknown;
  symbols: string[];
  name: string;
  severity: string;
  cooldownSec: number;
}) {
  const v = validateRuleDefinition({
    id: r.id,
    name: r.name,
    kind: r.kind,
    params: r.params,
    ...(r.symbols.length ? { symbols: r.symbols } : {}),
    severity: r.severity,
    cooldownSec: r.cooldownSec,
  });
  return v.ok ? describeRule(v.rule) : null;
}

/**
 * The engine's definition of an input, or field-level issues. `id` is the row id (or `draft`).
 * Paths are those of the input (`params.thresholdPct`, `symbols.1`).
 */
export function toDefinition(input: RuleInput, id: string): RuleDefinition {
  const v = validateRuleDefinition({
    id,
    name: input.name,
    ...(input.description ? { description: input.description } : {}),
    kind: input.kind,
    params: input.params,
    ...(input.symbols?.length ? { symbols: input.symbols } : {}),
    severity: input.severity ?? 'warning',
    cooldownSec: input.cooldownSec ?? 86_400,
    ...(input.pendingSec != null ? { pendingSec: input.pendingSec } : {}),
    ...(input.confirmAtClose !== undefined ? { confirmAtClose: input.confirmAtClose } : {}),
    ...(input.rearmFraction != null ? { rearmFraction: input.rearmFraction } : {}),
    ...(input.notifyResolved !== undefined ? { notifyResolved: input.notifyResolved } : {}),
  });
  if (!v.ok) {
    const issues = v.issues.map((i) => ({ path: i.path === '(root)' ? '' : i.path, message: i.message }));
    throw new ValidationError('Invalid rule', issues);
  }
  return v.rule;
}

async function checkWatchlist(rt: Runtime, watchlistId: string | null | undefined) {
  if (!watchlistId) return;
  const w = await rt.prisma.watchlist.findUnique({ where: { id: watchlistId }, select: { id: true } });
  if (!w) throw new ValidationError('Unknown watchlist', [{ path: 'watchlistId', message: 'no such watchlist' }]);
}

function rowData(input: RuleInput, def: RuleDefinition) {
  return {
    name: def.name,
    description: input.description ?? null,
    kind: def.kind,
    params: def.params as Prisma.InputJsonValue,
    symbols: def.symbols ?? [],
    watchlistId: input.watchlistId ?? null,
    severity: def.severity,
    cooldownSec: def.cooldownSec,
    pendingSec: def.pendingSec ?? null,
    confirmAtClose: def.confirmAtClose ?? false,
    rearmFraction: def.rearmFraction ?? null,
    notifyResolved: def.notifyResolved ?? false,
    enabled: input.enabled ?? true,
  };
}

const include = { watchlist: { select: { name: true, slug: true } } } as const;

type RuleFilter = { enabled?: boolean; kind?: string };
const ruleWhere = (opts: RuleFilter) => ({
  ...(opts.enabled !== undefined ? { enabled: opts.enabled } : {}),
  ...(opts.kind ? { kind: opts.kind } : {}),
});

export async function listRules(rt: Runtime, opts: RuleFilter = {}, win?: { take: number; skip: number }) {
  const rows = await rt.prisma.rule.findMany({
    where: ruleWhere(opts),
    include,
    orderBy: [{ name: 'asc' }, { id: 'asc' }],
    ...win,
  });
  return rows.map(ruleView);
}

/**
 * One page of rules and the count of every match in one SQL statement (issue 20, item 4): the
 * rows with their watchlist's name and slug and `count(*) OVER ()`, instead of three Prisma
 * queries (rules, their watchlists, the count). A page past the end has no row to carry the
 * count: then it is counted on its own.
 */
export async function rulesPage(rt: Runtime, opts: RuleFilter, win: { take: number; skip: number }) {
  const conds: string[] = [];
  const args: unknown[] = [];
  if (opts.enabled !== undefined) {
    args.push(opts.enabled);
    conds.push(`r.enabled = $${args.length}`);
  }
  if (opts.kind) {
    args.push(opts.kind);
    conds.push(`r.kind = $${args.length}`);
  }
  const where = conds.length ? `WHERE ${conds.join(' AND ')}` : '';
  const rows = await rt.prisma.$queryRawUnsafe<
    (Omit<RuleRow, 'watchlist'> & { wName: string | null; wSlug: string | null; total: number })[]
  >(
    `SELECT r.id, r."seedId", r.name, r.description, r.kind, r.params, r.symbols, r."watchlistId",
        r.severity::text AS severity, r."cooldownSec", r."pendingSec", r."confirmAtClose", r."rearmFraction",
        r."notifyResolved", r.enabled, r."sourceArticle", r."sourcePassage", r."createdAt", r."updatedAt",
        w.name AS "wName", w.slug AS "wSlug", count(*) OVER ()::int AS total
      FROM "Rule" r LEFT JOIN "Watchlist" w ON w.id = r."watchlistId"
      ${where}
      ORDER BY r.name ASC, r.id ASC
      LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
    ...args,
    win.take,
    win.skip,
  );
  const total = rows[0]?.total ?? (win.skip > 0 ? await countRules(rt, opts) : 0);
  return {
    items: rows.map(({ wName, wSlug, total: _, ...r }) =>
      ruleView({ ...r, watchlist: r.watchlistId && wName !== null ? { name: wName, slug: wSlug ?? '' } : null }),
    ),
    total,
  };
}

export const countRules = (rt: Runtime, opts: RuleFilter = {}) => rt.prisma.rule.count({ where: ruleWhere(opts) });

export async function getRule(rt: Runtime, id: string) {
  const r = await rt.prisma.rule.findUnique({ where: { id }, include });
  if (!r) throw new NotFoundError('Rule');
  return ruleView(r);
}

export async function createRule(rt: Runtime, input: RuleInput) {
  const def = toDefinition(input, 'draft');
  await checkWatchlist(rt, input.watchlistId);
  const r = await rt.prisma.rule.create({ data: rowData(input, def), include });
  return ruleView(r);
}

/** The stored rule as input (for edits and templates). */
export function inputOf(r: ReturnType<typeof ruleView>): RuleInput {
  return {
    name: r.name,
    description: r.description,
    kind: r.kind as RuleInput['kind'],
    params: (r.params ?? {}) as Record<string, unknown>,
    symbols: r.symbols,
    watchlistId: r.watchlistId,
    severity: r.severity,
    cooldownSec: r.cooldownSec,
    pendingSec: r.pendingSec,
    confirmAtClose: r.confirmAtClose,
    rearmFraction: r.rearmFraction,
    notifyResolved: r.notifyResolved,
    enabled: r.enabled,
  };
}

export async function updateRule(rt: Runtime, id: string, patch: RuleUpdate) {
  const current = await getRule(rt, id);
  const merged: RuleInput = { ...inputOf(current), ...stripUndefined(patch) };
  const def = toDefinition(merged, id);
  await checkWatchlist(rt, merged.watchlistId);
  const r = await writeOr('Rule', '', () =>
    rt.prisma.rule.update({ where: { id }, data: rowData(merged, def), include }),
  );
  return ruleView(r);
}

export async function setRuleEnabled(rt: Runtime, id: string, enabled: boolean) {
  await writeOr('Rule', '', () => rt.prisma.rule.update({ where: { id }, data: { enabled } }));
}

export async function deleteRule(rt: Runtime, id: string) {
  await writeOr('Rule', '', () => rt.prisma.rule.delete({ where: { id } }));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---------------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------------

export interface RuleTemplate {
  id: string;
  label: string;
  source: 'seed' | 'kind';
  input: RuleInput;
  sourceArticle?: string | null;
  sourcePassage?: string | null;
}

/**
 * A starting point per kind, with thresholds of the size the articles talk about: from the kind
 * registry (each kind module carries its own template).
 */
export const KIND_TEMPLATES: RuleTemplate[] = RULE_KINDS.map((k) => {
  const t = kindModule(k).template;
  return {
    id: `kind:${k}`,
    label: t.label,
    source: 'kind',
    input: {
      name: t.input.name,
      kind: k,
      params: t.input.params as Record<string, unknown>,
      ...(t.input.symbols ? { symbols: t.input.symbols } : {}),
    },
  };
});

export async function listTemplates(rt: Runtime): Promise<RuleTemplate[]> {
  const seeds = await rt.prisma.rule.findMany({ where: { seedId: { not: null } }, include, orderBy: { name: 'asc' } });
  const fromSeeds: RuleTemplate[] = seeds.map((r) => {
    const v = ruleView(r);
    return {
      id: `seed:${r.seedId}`,
      label: r.name,
      source: 'seed',
      input: { ...inputOf(v), name: `${r.name} (copy)`, enabled: true },
      sourceArticle: r.sourceArticle,
      sourcePassage: r.sourcePassage,
    };
  });
  return [...fromSeeds, ...KIND_TEMPLATES];
}

export async function getTemplate(rt: Runtime, id: string): Promise<RuleTemplate> {
  const t = (await listTemplates(rt)).find((x) => x.id === id);
  if (!t) throw new NotFoundError('Template');
  return t;
}

// ---------------------------------------------------------------------------------------------
// Preview
// ---------------------------------------------------------------------------------------------

export const YEAR_MS = 365 * 86_400_000;

export interface RulePreview {
  description: string;
  symbols: string[];
  fired: number;
  backtest: BacktestOutcome | null;
  /** Why there is no backtest (no history stored, engine unavailable). */
  note: string | null;
  /** Who the alerts found would have told (backtest-deliveries.ts); null without a backtest. */
  deliveries?: DeliveryForecast | null;
}

/**
 * Validates a draft and runs it over the last year of stored bars of its symbols, in a backtest
 * thread within PREVIEW_TIMEOUT_SEC (a rule too heavy for that is a 422, not a stalled server).
 */
export async function previewRule(rt: Runtime, input: RuleInput, id = 'draft'): Promise<RulePreview> {
  const def = toDefinition(input, id);
  const symbols = await watchedSymbols(rt, { symbols: def.symbols, watchlistId: input.watchlistId ?? null });
  const to = rt.clock.now();
  const from = new Date(to.getTime() - YEAR_MS);
  const description = describeRule(def);
  const { outcome, anyBars } = await rt.backtests.run(
    { rules: [{ def, name: input.name }], symbols, from, to },
    'preview',
  );
  // A pure news rule can be previewed without price history; a price rule cannot.
  if (!anyBars && ruleNeedsPrices(def)) {
    return {
      description,
      symbols,
      fired: 0,
      backtest: null,
      note: 'no stored price history for these symbols yet',
      deliveries: null,
    };
  }
  const deliveries = await backtestDeliveries(rt, outcome, [{ def, watchlistId: input.watchlistId ?? null }]);
  return { description, symbols, fired: outcome.summary.total, backtest: outcome, note: null, deliveries };
}
