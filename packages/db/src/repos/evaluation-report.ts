/**
 * What the last evaluation cycle could not evaluate and why, where people look for it: an
 * incomplete basket (its members with data below the rule's minimum coverage) is named with its
 * missing members on the rule's page and the System page. One Setting row, rewritten each cycle.
 */
import type { PrismaClient } from '../generated/client.ts';
import type { Tx } from './outbox.ts';

const KEY = 'evaluation:incomplete';

export interface IncompleteRule {
  ruleId: string;
  subject: string;
  /** "members without data: AMD, AVGO (coverage 71 %)". */
  detail: string;
}

export interface EvaluationReport {
  at: string;
  incomplete: IncompleteRule[];
}

/** Replaces the report with this cycle's (one statement). */
export async function saveEvaluationReport(prisma: PrismaClient | Tx, at: Date, incomplete: IncompleteRule[]) {
  const value = JSON.stringify({ at: at.toISOString(), incomplete: incomplete.slice(0, 500) });
  // One round trip (Prisma's upsert may read first).
  await prisma.$executeRaw`INSERT INTO "Setting" (key, value) VALUES (${KEY}, ${value})
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`;
}

/** The last cycle's report (empty before the first cycle). */
export async function loadEvaluationReport(prisma: PrismaClient): Promise<EvaluationReport> {
  const row = await prisma.setting.findUnique({ where: { key: KEY } });
  if (!row) return { at: '', incomplete: [] };
  try {
    const r = JSON.parse(row.value) as EvaluationReport;
    return { at: String(r.at ?? ''), incomplete: Array.isArray(r.incomplete) ? r.incomplete : [] };
  } catch {
    return { at: '', incomplete: [] };
  }
}
