/**
 * Inhibit rules, as Alertmanager's inhibit_rules: while an alert matching the source matcher
 * fires, alerts matching the target matcher with the same `equal` labels are recorded (with
 * `inhibitedBy`) and not sent. The stage itself lives in @signals/db (repos/inhibitions.ts); this
 * module is the API and admin side: validation, create, list, delete.
 */
import { NotFoundError, ValidationError } from '@signals/core';
import { INHIBIT_LABELS, type Prisma } from '@signals/db';
import { z } from 'zod';
import type { Runtime } from '../context.ts';
import { text } from '../input.ts';
import { pagingFields, windowOf } from './paging.ts';

const SEVERITIES = ['info', 'warning', 'critical'] as const;

const matcherSchema = (side: 'source' | 'target') =>
  z.strictObject({
    ruleId: text({ min: 1, max: 64 })
      .nullish()
      .describe(
        side === 'source'
          ? 'Alerts of this rule inhibit (omit: any rule)'
          : 'Alerts of this rule are held (omit: any rule)',
      ),
    severity: z.enum(SEVERITIES).nullish().describe('Alerts of this severity (omit: any)'),
    watchlistId: text({ min: 1, max: 64 })
      .nullish()
      .describe("Alerts of rules on this watchlist (omit: any). The rule's own watchlist counts."),
  });

export const inhibitRuleCreateSchema = z.strictObject({
  source: matcherSchema('source').describe('Which firing alerts inhibit: at least one matcher'),
  target: matcherSchema('target').describe('Which alerts are held back: at least one matcher'),
  equal: z
    .array(z.enum(INHIBIT_LABELS))
    .max(INHIBIT_LABELS.length)
    .refine((l) => new Set(l).size === l.length, 'must not repeat a label')
    .optional()
    .describe(
      'Labels that must be equal: symbol (a basket alert carries each member symbol) and session (the US market date it fired on). Default: both.',
    ),
  comment: text({ min: 0, max: 500 }).optional().describe('Why: shown on the admin page'),
});
export type InhibitRuleCreate = z.infer<typeof inhibitRuleCreateSchema>;

export const inhibitRuleListSchema = z.strictObject({ ...pagingFields(500) });

const include = {
  sourceRule: { select: { name: true } },
  targetRule: { select: { name: true } },
  sourceWatchlist: { select: { name: true } },
  targetWatchlist: { select: { name: true } },
  _count: { select: { alerts: true } },
} as const;
type Row = Prisma.InhibitRuleGetPayload<{ include: typeof include }>;

export function inhibitRuleView(r: Row) {
  return {
    id: r.id,
    seedId: r.seedId,
    source: {
      ruleId: r.sourceRuleId,
      ruleName: r.sourceRule?.name ?? null,
      severity: r.sourceSeverity,
      watchlistId: r.sourceWatchlistId,
      watchlistName: r.sourceWatchlist?.name ?? null,
    },
    target: {
      ruleId: r.targetRuleId,
      ruleName: r.targetRule?.name ?? null,
      severity: r.targetSeverity,
      watchlistId: r.targetWatchlistId,
      watchlistName: r.targetWatchlist?.name ?? null,
    },
    equal: r.equal,
    comment: r.comment,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    /** Alerts it held back so far. */
    inhibitedAlerts: r._count.alerts,
  };
}

type Matcher = z.infer<ReturnType<typeof matcherSchema>>;
const isEmpty = (m: Matcher) => !m.ruleId && !m.severity && !m.watchlistId;
const same = (a: Matcher, b: Matcher) =>
  (a.ruleId ?? null) === (b.ruleId ?? null) &&
  (a.severity ?? null) === (b.severity ?? null) &&
  (a.watchlistId ?? null) === (b.watchlistId ?? null);

export async function createInhibitRule(rt: Runtime, input: InhibitRuleCreate, createdBy: string | null) {
  const errors: { path: string; message: string }[] = [];
  for (const side of ['source', 'target'] as const) {
    const m = input[side];
    if (isEmpty(m))
      errors.push({ path: `${side}.ruleId`, message: `give a rule, a severity or a watchlist for the ${side}` });
    if (m.ruleId && !(await rt.prisma.rule.findUnique({ where: { id: m.ruleId }, select: { id: true } })))
      errors.push({ path: `${side}.ruleId`, message: 'no such rule' });
    if (
      m.watchlistId &&
      !(await rt.prisma.watchlist.findUnique({ where: { id: m.watchlistId }, select: { id: true } }))
    )
      errors.push({ path: `${side}.watchlistId`, message: 'no such watchlist' });
  }
  if (!errors.length && same(input.source, input.target))
    errors.push({
      path: 'target',
      message: 'the target must differ from the source (alerts would inhibit their own kind)',
    });
  if (errors.length) throw new ValidationError('Inhibit rule refused', errors);
  const r = await rt.prisma.inhibitRule.create({
    data: {
      sourceRuleId: input.source.ruleId ?? null,
      sourceSeverity: input.source.severity ?? null,
      sourceWatchlistId: input.source.watchlistId ?? null,
      targetRuleId: input.target.ruleId ?? null,
      targetSeverity: input.target.severity ?? null,
      targetWatchlistId: input.target.watchlistId ?? null,
      equal: input.equal ?? [...INHIBIT_LABELS],
      comment: input.comment || null,
      createdBy,
    },
    include,
  });
  return inhibitRuleView(r);
}

export async function listInhibitRules(rt: Runtime, q: z.infer<typeof inhibitRuleListSchema>) {
  const [rows, total] = await Promise.all([
    rt.prisma.inhibitRule.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], ...windowOf(q), include }),
    rt.prisma.inhibitRule.count(),
  ]);
  return { items: rows.map(inhibitRuleView), total };
}

export async function getInhibitRule(rt: Runtime, id: string) {
  const r = await rt.prisma.inhibitRule.findUnique({ where: { id }, include });
  if (!r) throw new NotFoundError('Inhibit rule');
  return inhibitRuleView(r);
}

/** Deletes it: alerts raised from now on are sent; those it held keep their record. */
export async function deleteInhibitRule(rt: Runtime, id: string) {
  const { count } = await rt.prisma.inhibitRule.deleteMany({ where: { id } });
  if (!count) throw new NotFoundError('Inhibit rule');
}
