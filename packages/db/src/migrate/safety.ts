/**
 * The expand/contract check for migrations: statements that would lock a large table for long, or
 * break the previous release while it still runs (a rolling upgrade, a rollback), are refused unless
 * the statement says why it is safe in a comment line just above it:
 *
 *   -- safe: the table is empty on every install (added in this release)
 *   CREATE INDEX "X_idx" ON "QuoteSnapshot"("sourceAt");
 *
 * What the runner does (checked on PostgreSQL 15 and 18 with the WASM schema engine and
 * @prisma/adapter-pg 7.10, see README "Upgrading"): the adapter's executeScript splits a migration
 * on every `;` and sends each piece as its own statement, outside any transaction. So
 * - a migration is NOT atomic: when statement 3 fails, 1 and 2 stay applied and the migration is
 *   recorded as failed (the next start refuses until it is resolved);
 * - CREATE INDEX CONCURRENTLY works, even beside other statements in the same file (write
 *   `DROP INDEX CONCURRENTLY IF EXISTS` before it: a failed concurrent build leaves an invalid index);
 * - a `;` inside a comment or a string literal cuts the statement in two: never write one there;
 * - `SET lock_timeout` in a migration applies to one pooled connection only, not to the next statement.
 */

/** Tables that grow with time (issue 17): on a years-old install they hold millions of rows. */
export const LARGE_TABLES = [
  'QuoteSnapshot',
  'PriceBar',
  'IntradayBar',
  'Delivery',
  'DeliveryAttempt',
  'NewsItem',
  'NewsItemInstrument',
  'SourceEvent',
  'Alert',
  'LoopIncident',
] as const;

/** The last migration of v0.15.0: the check applies to the migrations after it. */
export const BASELINE_MIGRATION = '20261130114020_message_templates';

export interface SafetyFinding {
  migration: string;
  /** The statement, shortened. */
  statement: string;
  problem: string;
}

const MARKER = /^\s*--\s*safe:\s*(.{10,})$/im;

/** The pieces the runner sends, as it cuts them (on every `;`). */
export function runnerStatements(sql: string): string[] {
  return sql
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const withoutComments = (s: string) =>
  s
    .split('\n')
    .filter((l) => !/^\s*--/.test(l))
    .join('\n')
    .replace(/\s+/g, ' ')
    .trim();

/** `"Name"` or Name after `keyword`, unquoted. */
function tableAfter(stmt: string, keyword: RegExp): string | undefined {
  const m = new RegExp(
    `${keyword.source}\\s+(?:IF\\s+EXISTS\\s+)?(?:ONLY\\s+)?(?:"?public"?\\.)?"?([A-Za-z_][A-Za-z0-9_]*)"?`,
    'i',
  ).exec(stmt);
  return m?.[1];
}

/** Risky operations in one statement (comments removed), for its table. */
function problemsOf(stmt: string, large: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const s = stmt.toUpperCase();
  const alterTable = s.startsWith('ALTER TABLE') ? tableAfter(stmt, /ALTER\s+TABLE/) : undefined;
  const big = (t: string | undefined) => t !== undefined && large.has(t);

  if (alterTable) {
    if (/\bALTER\s+(COLUMN\s+)?"?\w+"?\s+(SET\s+DATA\s+)?TYPE\b/i.test(stmt) && big(alterTable))
      out.push(
        `ALTER COLUMN ... TYPE rewrites ${alterTable} under an exclusive lock: add a new column, backfill in batches, switch, drop later`,
      );
    if (/\bSET\s+NOT\s+NULL\b/i.test(stmt) && big(alterTable))
      out.push(
        `SET NOT NULL scans ${alterTable} under an exclusive lock: add a CHECK (... IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL`,
      );
    for (const add of stmt.matchAll(/\bADD\s+COLUMN\s+[^,]*/gi)) {
      const clause = add[0];
      if (/\bNOT\s+NULL\b/i.test(clause) && !/\bDEFAULT\b/i.test(clause))
        out.push(
          `ADD COLUMN ... NOT NULL without a DEFAULT fails on a table with rows and the previous release does not write it: give it a DEFAULT`,
        );
    }
    if (
      /\bADD\s+CONSTRAINT\b.*\b(FOREIGN\s+KEY|CHECK)\b/i.test(stmt) &&
      !/\bNOT\s+VALID\b/i.test(stmt) &&
      big(alterTable)
    )
      out.push(
        `ADD CONSTRAINT without NOT VALID checks every row of ${alterTable} under a lock: add it NOT VALID, then VALIDATE CONSTRAINT`,
      );
    if (/\bDROP\s+COLUMN\b/i.test(stmt))
      out.push(
        `DROP COLUMN: the previous release still reads it during an upgrade and after a rollback; drop it one release after the code stopped using it`,
      );
    if (/\bRENAME\s+(COLUMN\s+)?"?\w+"?\s+TO\b/i.test(stmt) || /\bRENAME\s+TO\b/i.test(stmt))
      out.push(
        `RENAME breaks the previous release, which reads the old name: add the new one, write both, switch reads, drop the old later`,
      );
  }
  if (/^DROP\s+TABLE\b/i.test(stmt))
    out.push(`DROP TABLE: the previous release may still read it; drop it one release after the code stopped using it`);
  if (/^CREATE\s+(UNIQUE\s+)?INDEX\b/i.test(stmt) && !/\bCONCURRENTLY\b/i.test(stmt)) {
    const on = tableAfter(stmt, /\bON/);
    if (big(on))
      out.push(
        `CREATE INDEX without CONCURRENTLY blocks writes to ${on} while it builds: CREATE INDEX CONCURRENTLY (after DROP INDEX CONCURRENTLY IF EXISTS)`,
      );
  }
  return out;
}

/** Findings for one migration's SQL. A `-- safe: <why>` line above a statement accepts its risks. */
export function checkMigrationSafety(
  migration: string,
  sql: string,
  large: ReadonlySet<string> = new Set(LARGE_TABLES),
): SafetyFinding[] {
  const findings: SafetyFinding[] = [];
  // What the runner would cut wrongly, before anything else: not acceptable with a marker.
  for (const line of sql.split('\n')) {
    const comment = line.indexOf('--');
    if (comment !== -1 && line.slice(comment).includes(';'))
      findings.push({
        migration,
        statement: line.trim().slice(0, 80),
        problem: 'a ";" in a comment: the runner splits the script on every ";", so the statement after it breaks',
      });
  }
  for (const piece of runnerStatements(sql)) {
    const stmt = withoutComments(piece);
    if (!stmt) continue;
    if ((stmt.match(/'/g)?.length ?? 0) % 2 === 1 || (stmt.match(/\$\$/g)?.length ?? 0) % 2 === 1)
      findings.push({
        migration,
        statement: stmt.slice(0, 80),
        problem:
          'a ";" inside a string or a $$ body: the runner splits the script on every ";" and sends the halves apart',
      });
    const problems = problemsOf(stmt, large);
    if (problems.length === 0 || MARKER.test(piece)) continue;
    for (const problem of problems) findings.push({ migration, statement: stmt.slice(0, 80), problem });
  }
  return findings;
}
