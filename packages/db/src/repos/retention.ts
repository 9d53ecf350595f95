/**
 * Retention for every table that grows with time (issue 17): ONE registry of policies (what is
 * deleted, what is kept and why, the default, the setting) and one runner that every caller (the
 * worker's hourly maintenance job, the soak bench, tests) goes through.
 *
 * How a batch deletes, so a years-old install can prune while it serves:
 * - one statement per batch, `DELETE ... WHERE id IN (SELECT ... ORDER BY <age> LIMIT n FOR UPDATE
 *   SKIP LOCKED)`: its own short transaction, a range of one index, at most `batchSize` rows (plus
 *   the rows that cascade from them: a delivery's attempts, a news item's tags);
 * - no VACUUM FULL, no table rewrite: the space freed is reused by the next inserts (autovacuum);
 * - SKIP LOCKED makes several workers running it at once take disjoint rows, never wait on one
 *   another, never fail on a row another already deleted;
 * - a run stops a policy after `maxBatches` batches (the next hourly run goes on), so one run of a
 *   large backlog stays bounded in time.
 *
 * Two clocks: policies on market data (quotes, news, alerts) age by the market clock (a replay's
 * clock in a replay, so a replay at high speed prunes by replayed time); the others (deliveries,
 * attempts, source events, incidents, sessions, signups) by the wall clock their rows were written
 * with. Intraday bars have their own retention per interval (intraday.ts, INTRADAY_RETENTION_*).
 */
import type { PrismaClient } from '../client.ts';

const DAY_MS = 86_400_000;

/** Days kept per policy (0 where allowed: forever). */
export interface RetentionSettings {
  quotes: number;
  deliveries: number;
  deadLetters: number;
  attempts: number;
  news: number;
  sourceEvents: number;
  incidents: number;
  sessions: number;
  signups: number;
  alerts: number;
}
export type RetentionPolicyId = keyof RetentionSettings;

export interface RetentionPolicy {
  id: RetentionPolicyId;
  /** The table rows are deleted from (cascades named in `deletes`). */
  table: string;
  /** What is deleted, as the README's table says it. */
  deletes: string;
  /** What is never deleted by this policy. */
  keeps: string;
  defaultDays: number;
  /** The environment variable (packages/config) that sets the days. */
  setting: string;
  why: string;
  /** 0 days means "keep forever" (only where that is the default or allowed). */
  zeroIsForever: boolean;
  clock: 'market' | 'wall';
  /** One batch: deletes at most `limit` rows past `cutoff`; returns the rows deleted. */
  batch(prisma: PrismaClient, cutoff: Date, limit: number): Promise<number>;
}

const ts = (d: Date) => d.toISOString();

/** Deletes up to `limit` rows of `table` whose id the (locked, skipped) subquery selects. */
function deleteIds(prisma: PrismaClient, table: string, select: string, ...args: unknown[]): Promise<number> {
  return prisma.$executeRawUnsafe(`DELETE FROM "${table}" WHERE id IN (${select})`, ...args);
}

/**
 * Every policy, in the order a run applies them: children before parents where both are pruned
 * (a parent's cascade then finds little left to do), alerts before news (news an alert past its
 * horizon named can go in the same run).
 */
export const RETENTION_POLICIES: readonly RetentionPolicy[] = [
  {
    id: 'quotes',
    table: 'QuoteSnapshot',
    deletes: 'quote snapshots (one per poll that saw a new price) older than the setting, by price time',
    keeps: "each instrument's newest snapshot, whatever its age; daily bars (PriceBar) are never pruned",
    defaultDays: 14,
    setting: 'RETENTION_QUOTES_DAYS',
    why: 'up to ~960 rows per instrument and day with extended hours; rules look back on daily bars and intraday bars, the snapshots only serve the latest price and recent charts',
    zeroIsForever: false,
    clock: 'market',
    // Per instrument through the existing (instrumentId, sourceAt) index: the largest table gets no
    // second index, and each batch is one index range.
    async batch(prisma, cutoff, limit) {
      const instruments = await prisma.$queryRawUnsafe<{ id: string }[]>(
        `SELECT id FROM "Instrument" i WHERE EXISTS (
           SELECT 1 FROM "QuoteSnapshot" q WHERE q."instrumentId" = i.id AND q."sourceAt" < $1::timestamp(3))`,
        ts(cutoff),
      );
      let deleted = 0;
      for (const { id } of instruments) {
        if (deleted >= limit) break;
        deleted += await deleteIds(
          prisma,
          'QuoteSnapshot',
          `SELECT id FROM "QuoteSnapshot"
            WHERE "instrumentId" = $1
              AND "sourceAt" < LEAST($2::timestamp(3),
                    (SELECT max("sourceAt") FROM "QuoteSnapshot" WHERE "instrumentId" = $1))
            ORDER BY "sourceAt" LIMIT $3 FOR UPDATE SKIP LOCKED`,
          id,
          ts(cutoff),
          limit - deleted,
        );
      }
      return deleted;
    },
  },
  {
    id: 'attempts',
    table: 'DeliveryAttempt',
    deletes: 'the attempt log of deliveries that arrived, older than the setting',
    keeps: 'attempts of deliveries still pending or sending, and of failed/dead ones (kept with their delivery)',
    defaultDays: 90,
    setting: 'RETENTION_ATTEMPTS_DAYS',
    why: 'one row per try (response, error): needed to diagnose an endpoint, not after months',
    zeroIsForever: false,
    clock: 'wall',
    batch: (prisma, cutoff, limit) =>
      deleteIds(
        prisma,
        'DeliveryAttempt',
        `SELECT a.id FROM "DeliveryAttempt" a JOIN "Delivery" d ON d.id = a."deliveryId"
          WHERE a."startedAt" < $1::timestamp(3) AND d.status = 'succeeded'
          ORDER BY a."startedAt" LIMIT $2 FOR UPDATE OF a SKIP LOCKED`,
        ts(cutoff),
        limit,
      ),
  },
  {
    id: 'deliveries',
    table: 'Delivery',
    deletes: 'deliveries that arrived (succeeded), by the time they finished, with their attempts',
    keeps:
      'pending and sending deliveries, always (the outbox); failed and dead ones follow RETENTION_DEAD_LETTERS_DAYS',
    defaultDays: 90,
    setting: 'RETENTION_DELIVERIES_DAYS',
    why: 'the delivery log answers "was it sent?" for the recent past; the alert itself stays',
    zeroIsForever: false,
    clock: 'wall',
    batch: (prisma, cutoff, limit) =>
      deleteIds(
        prisma,
        'Delivery',
        `SELECT id FROM "Delivery" WHERE status = 'succeeded' AND "updatedAt" < $1::timestamp(3)
          ORDER BY "updatedAt" LIMIT $2 FOR UPDATE SKIP LOCKED`,
        ts(cutoff),
        limit,
      ),
  },
  {
    id: 'deadLetters',
    table: 'Delivery',
    deletes: 'deliveries that never arrived (failed: refused for good; dead: out of attempts), with their attempts',
    keeps: 'pending and sending deliveries, always',
    defaultDays: 365,
    setting: 'RETENTION_DEAD_LETTERS_DAYS',
    why: 'the dead letters: an operator may still redeliver them or show what a receiver missed',
    zeroIsForever: false,
    clock: 'wall',
    batch: (prisma, cutoff, limit) =>
      deleteIds(
        prisma,
        'Delivery',
        `SELECT id FROM "Delivery" WHERE status IN ('failed', 'dead') AND "updatedAt" < $1::timestamp(3)
          ORDER BY "updatedAt" LIMIT $2 FOR UPDATE SKIP LOCKED`,
        ts(cutoff),
        limit,
      ),
  },
  {
    id: 'alerts',
    table: 'Alert',
    deletes: 'alerts fired (and resolved) before the setting, with their deliveries',
    keeps: 'everything by default (0: alerts are the record); always alerts with a delivery pending or sending',
    defaultDays: 0,
    setting: 'RETENTION_ALERTS_DAYS',
    why: 'alerts are the record of what happened and what was sent; an operator may still choose a horizon',
    zeroIsForever: true,
    clock: 'market',
    batch: (prisma, cutoff, limit) =>
      deleteIds(
        prisma,
        'Alert',
        `SELECT a.id FROM "Alert" a
          WHERE a."firedAt" < $1::timestamp(3)
            AND (a."resolvedAt" IS NULL OR a."resolvedAt" < $1::timestamp(3))
            AND NOT EXISTS (SELECT 1 FROM "Delivery" d WHERE d."alertId" = a.id AND d.status IN ('pending', 'sending'))
          ORDER BY a."firedAt" LIMIT $2 FOR UPDATE OF a SKIP LOCKED`,
        ts(cutoff),
        limit,
      ),
  },
  {
    id: 'news',
    table: 'NewsItem',
    deletes: 'news items first seen before the setting, with their symbol tags',
    keeps: 'every item an alert that is kept shows as a headline or related news (Alert.details.relatedNews)',
    defaultDays: 180,
    setting: 'RETENTION_NEWS_DAYS',
    why: 'news rules and headlines look back days, not months; an alert keeps its own headlines',
    zeroIsForever: false,
    clock: 'market',
    // The ids kept alerts name are read once per batch (a hashed NOT IN); alerts are few next to news.
    batch: (prisma, cutoff, limit) =>
      deleteIds(
        prisma,
        'NewsItem',
        `SELECT n.id FROM "NewsItem" n
          WHERE n."firstSeenAt" < $1::timestamp(3)
            AND n.id NOT IN (
              SELECT r->>'id' FROM "Alert" a, jsonb_array_elements(
                CASE WHEN jsonb_typeof(a.details->'relatedNews') = 'array' THEN a.details->'relatedNews' ELSE '[]'::jsonb END) r
              WHERE r->>'id' IS NOT NULL)
          ORDER BY n."firstSeenAt" LIMIT $2 FOR UPDATE OF n SKIP LOCKED`,
        ts(cutoff),
        limit,
      ),
  },
  {
    id: 'sourceEvents',
    table: 'SourceEvent',
    deletes: 'source events (degraded, recovered, schema drift, unknown symbol) older than the setting',
    keeps: "each source's newest event (it says whether the source is degraded now)",
    defaultDays: 90,
    setting: 'RETENTION_SOURCE_EVENTS_DAYS',
    why: 'a diagnosis log; a source that drifts writes one per poll',
    zeroIsForever: false,
    clock: 'wall',
    batch: (prisma, cutoff, limit) =>
      deleteIds(
        prisma,
        'SourceEvent',
        `SELECT e.id FROM "SourceEvent" e
          WHERE e."createdAt" < $1::timestamp(3)
            AND e."createdAt" < (SELECT max(s."createdAt") FROM "SourceEvent" s WHERE s.source = e.source)
          ORDER BY e."createdAt" LIMIT $2 FOR UPDATE OF e SKIP LOCKED`,
        ts(cutoff),
        limit,
      ),
  },
  {
    id: 'incidents',
    table: 'LoopIncident',
    deletes: 'loop outages that recovered before the setting',
    keeps: 'open outages (not recovered), whatever their age; the heartbeats (one row per loop)',
    defaultDays: 365,
    setting: 'RETENTION_INCIDENTS_DAYS',
    why: 'a year of outages shows how reliable the install is; older ones tell nothing new',
    zeroIsForever: false,
    clock: 'wall',
    batch: (prisma, cutoff, limit) =>
      deleteIds(
        prisma,
        'LoopIncident',
        `SELECT id FROM "LoopIncident" WHERE "recoveredAt" < $1::timestamp(3)
          ORDER BY "recoveredAt" LIMIT $2 FOR UPDATE SKIP LOCKED`,
        ts(cutoff),
        limit,
      ),
  },
  {
    id: 'sessions',
    table: 'Session',
    deletes: 'admin sessions expired for longer than the setting, and expired first-admin setup tokens',
    keeps: 'sessions that are still valid',
    defaultDays: 1,
    setting: 'RETENTION_SESSIONS_DAYS',
    why: 'an expired session or token opens nothing; keeping it only keeps its IP and user agent',
    zeroIsForever: false,
    clock: 'wall',
    async batch(prisma, cutoff, limit) {
      const sessions = await deleteIds(
        prisma,
        'Session',
        `SELECT id FROM "Session" WHERE "expiresAt" < $1::timestamp(3)
          ORDER BY "expiresAt" LIMIT $2 FOR UPDATE SKIP LOCKED`,
        ts(cutoff),
        limit,
      );
      // Setup tokens are Setting rows `setup_token:<sha256>` whose value is the expiry (setup-tokens.ts).
      const tokens = await prisma.$executeRawUnsafe(
        `DELETE FROM "Setting" WHERE key IN (
           SELECT key FROM "Setting" WHERE key LIKE 'setup\\_token:%' AND value < $1
           LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        ts(cutoff),
        Math.max(0, limit - sessions),
      );
      return sessions + tokens;
    },
  },
  {
    id: 'signups',
    table: 'Subscriber',
    deletes:
      'sign-ups never confirmed (and chat channels never confirmed) whose confirmation link expired longer ago than the setting',
    keeps:
      'confirmed, unsubscribed and bouncing subscribers (the record of consent and of opt-outs); any with a delivery pending or sending',
    defaultDays: 30,
    setting: 'RETENTION_SIGNUPS_DAYS',
    why: 'an address nobody confirmed is not a subscriber; keeping it keeps personal data for nothing',
    zeroIsForever: false,
    clock: 'wall',
    async batch(prisma, cutoff, limit) {
      const busy = (col: string) =>
        `NOT EXISTS (SELECT 1 FROM "Delivery" d WHERE d."${col}" = x.id AND d.status IN ('pending', 'sending'))`;
      const subscribers = await deleteIds(
        prisma,
        'Subscriber',
        `SELECT x.id FROM "Subscriber" x
          WHERE x.status = 'pending' AND x."createdAt" < $1::timestamp(3)
            AND (x."confirmExpiresAt" IS NULL OR x."confirmExpiresAt" < $1::timestamp(3))
            AND ${busy('subscriberId')}
          ORDER BY x."createdAt" LIMIT $2 FOR UPDATE OF x SKIP LOCKED`,
        ts(cutoff),
        limit,
      );
      const channels = await deleteIds(
        prisma,
        'SubscriberChannel',
        `SELECT x.id FROM "SubscriberChannel" x
          WHERE x.status = 'pending' AND x."createdAt" < $1::timestamp(3)
            AND (x."linkExpiresAt" IS NULL OR x."linkExpiresAt" < $1::timestamp(3))
            AND ${busy('channelId')}
          ORDER BY x."createdAt" LIMIT $2 FOR UPDATE OF x SKIP LOCKED`,
        ts(cutoff),
        Math.max(0, limit - subscribers),
      );
      return subscribers + channels;
    },
  },
];

/** The defaults, as the settings' defaults in packages/config (a test keeps the two equal). */
export const DEFAULT_RETENTION: Readonly<RetentionSettings> = Object.fromEntries(
  RETENTION_POLICIES.map((p) => [p.id, p.defaultDays]),
) as unknown as RetentionSettings;

export interface RetentionRunOptions {
  /** Days kept per policy (default DEFAULT_RETENTION). */
  settings?: Partial<RetentionSettings>;
  /** Now on each clock (market: the replay's clock in a replay). */
  now: { market: Date; wall: Date };
  /** Rows per batch (one statement, one short transaction). Default 5000. */
  batchSize?: number;
  /** Batches per policy per run; the next run goes on. Default 200. */
  maxBatches?: number;
  /** Only these policies (default all). */
  only?: readonly RetentionPolicyId[];
}

export interface RetentionRun {
  /** Rows deleted per table (a table with two policies sums them). */
  deleted: Record<string, number>;
  /** Rows deleted per policy. */
  byPolicy: Record<RetentionPolicyId, number>;
  /** Batches run per policy. */
  batches: Record<RetentionPolicyId, number>;
  /** Policies stopped at maxBatches with rows left. */
  unfinished: RetentionPolicyId[];
  ms: number;
}

/** The cutoff of one policy, or null when it keeps everything (0 = forever). */
export function retentionCutoff(policy: RetentionPolicy, days: number, now: { market: Date; wall: Date }): Date | null {
  if (days <= 0 && policy.zeroIsForever) return null;
  return new Date(now[policy.clock].getTime() - days * DAY_MS);
}

/** One batch of one policy (at most `limit` rows). */
export async function pruneOnce(
  prisma: PrismaClient,
  id: RetentionPolicyId,
  o: { days?: number; now: { market: Date; wall: Date }; limit?: number },
): Promise<number> {
  const policy = RETENTION_POLICIES.find((p) => p.id === id);
  if (!policy) throw new Error(`unknown retention policy ${id}`);
  const cutoff = retentionCutoff(policy, o.days ?? policy.defaultDays, o.now);
  return cutoff ? policy.batch(prisma, cutoff, o.limit ?? 5000) : 0;
}

/** Applies every policy in batches; safe to run from several workers at once. */
export async function runRetention(prisma: PrismaClient, o: RetentionRunOptions): Promise<RetentionRun> {
  const started = Date.now();
  const limit = o.batchSize ?? 5000;
  const maxBatches = o.maxBatches ?? 200;
  const settings = { ...DEFAULT_RETENTION, ...o.settings };
  const out: RetentionRun = {
    deleted: {},
    byPolicy: {} as Record<RetentionPolicyId, number>,
    batches: {} as Record<RetentionPolicyId, number>,
    unfinished: [],
    ms: 0,
  };
  for (const policy of RETENTION_POLICIES) {
    if (o.only && !o.only.includes(policy.id)) continue;
    const cutoff = retentionCutoff(policy, settings[policy.id], o.now);
    let total = 0;
    let batches = 0;
    if (cutoff) {
      for (;;) {
        const n = await policy.batch(prisma, cutoff, limit);
        batches++;
        total += n;
        if (n < limit) break;
        if (batches >= maxBatches) {
          out.unfinished.push(policy.id);
          break;
        }
      }
    }
    out.byPolicy[policy.id] = total;
    out.batches[policy.id] = batches;
    out.deleted[policy.table] = (out.deleted[policy.table] ?? 0) + total;
  }
  out.ms = Date.now() - started;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Table sizes (the System page and /metrics)
// ---------------------------------------------------------------------------------------------

/**
 * The tables shown, with how their oldest row is found through an index (never a scan of a large
 * table): a min() over an indexed column, or per instrument / status / interval through a
 * composite index. null: the table has no time of its own (its rows go with their parent).
 */
const STAT_TABLES: readonly { table: string; oldest: string | null }[] = [
  {
    table: 'QuoteSnapshot',
    oldest: `SELECT min(x.t) FROM "Instrument" i CROSS JOIN LATERAL (
      SELECT "sourceAt" t FROM "QuoteSnapshot" q WHERE q."instrumentId" = i.id ORDER BY "sourceAt" LIMIT 1) x`,
  },
  {
    table: 'PriceBar',
    oldest: `SELECT min(x.t)::timestamp(3) FROM "Instrument" i CROSS JOIN LATERAL (
      SELECT date t FROM "PriceBar" b WHERE b."instrumentId" = i.id ORDER BY date LIMIT 1) x`,
  },
  {
    table: 'IntradayBar',
    oldest: `SELECT min(x.t) FROM (VALUES ('1m'), ('5m'), ('15m'), ('1h')) v(iv) CROSS JOIN LATERAL (
      SELECT ts t FROM "IntradayBar" b WHERE b.interval = v.iv ORDER BY ts LIMIT 1) x`,
  },
  {
    table: 'Delivery',
    oldest: `SELECT min(x.t) FROM unnest(enum_range(NULL::"DeliveryStatus")) s(st) CROSS JOIN LATERAL (
      SELECT "updatedAt" t FROM "Delivery" d WHERE d.status = s.st ORDER BY "updatedAt" LIMIT 1) x`,
  },
  { table: 'DeliveryAttempt', oldest: `SELECT min("startedAt") FROM "DeliveryAttempt"` },
  { table: 'Alert', oldest: `SELECT min("firedAt") FROM "Alert"` },
  { table: 'NewsItem', oldest: `SELECT min("firstSeenAt") FROM "NewsItem"` },
  { table: 'NewsItemInstrument', oldest: null },
  { table: 'SourceEvent', oldest: `SELECT min("createdAt") FROM "SourceEvent"` },
  { table: 'LoopIncident', oldest: `SELECT min("degradedAt") FROM "LoopIncident"` },
  { table: 'Session', oldest: `SELECT min("createdAt") FROM "Session"` },
  { table: 'Subscriber', oldest: `SELECT min("createdAt") FROM "Subscriber"` },
];

/** Below this estimate rows are counted exactly (cheap); above it the planner's estimate is shown. */
const EXACT_BELOW = 100_000;

export interface TableStat {
  table: string;
  /** Rows: counted when small, else pg_class.reltuples (as of the last ANALYZE). */
  rows: number;
  rowsExact: boolean;
  /** pg_total_relation_size: table, indexes and TOAST. */
  bytes: number;
  /** The oldest row's time (null: empty, or a table without a time of its own). */
  oldest: Date | null;
}

/** Rows, bytes and the oldest row of every table that grows with time. */
export async function tableStats(prisma: PrismaClient): Promise<TableStat[]> {
  const sizes = await prisma.$queryRawUnsafe<{ name: string; est: number; bytes: bigint }[]>(
    `SELECT c.relname AS name, c.reltuples::float8 AS est, pg_total_relation_size(c.oid) AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY($1::text[])`,
    STAT_TABLES.map((t) => t.table),
  );
  const byName = new Map(sizes.map((s) => [s.name, s]));
  return Promise.all(
    STAT_TABLES.map(async ({ table, oldest }) => {
      const s = byName.get(table);
      const est = s?.est ?? -1;
      // reltuples is -1 before the first ANALYZE: count then, and whenever the table is small.
      const exact = est < EXACT_BELOW;
      const rows = exact
        ? Number((await prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM "${table}"`))[0]?.n ?? 0)
        : Math.round(est);
      const first = oldest ? (await prisma.$queryRawUnsafe<{ min: Date | null }[]>(oldest))[0] : undefined;
      const min = first ? (Object.values(first)[0] as Date | null) : null;
      return { table, rows, rowsExact: exact, bytes: Number(s?.bytes ?? 0), oldest: min ?? null };
    }),
  );
}
