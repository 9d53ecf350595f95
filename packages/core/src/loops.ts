/**
 * The service's loops (what runs forever) and when one is overdue. One catalog for every surface
 * that reports liveness: /healthz of the server and of each worker, /metrics, the System page and
 * the degraded/recovered events. Pure: the caller loads the recorded heartbeats and passes the time.
 *
 * A loop is overdue when its last success is older than {@link OVERDUE_FACTOR} times its interval
 * (at least {@link MIN_OVERDUE_MS}), with two exceptions:
 * - price polling and evaluation follow the market: while the US market is closed they are not
 *   judged (unless a replay runs, which has no closed hours), and a session that just opened gives
 *   them a full overdue period from the open;
 * - deliveries may be idle for days: they are overdue only when work is due and nothing was
 *   delivered for the overdue period (due work older than it, no progress since).
 */
import { isMarketOpen, sessionFor, zonedDate } from './calendar.ts';

export const LOOP_IDS = ['prices', 'news', 'evaluate', 'sweep', 'deliveries', 'telegram'] as const;
export type LoopId = (typeof LOOP_IDS)[number];

export interface LoopDefinition {
  id: LoopId;
  /** What operators read on the System page and in degraded emails. */
  name: string;
  description: string;
  /** The worker queue whose jobs run this loop (WORKER_QUEUES names). */
  queue: 'prices' | 'news' | 'evaluate' | 'maintenance' | 'deliveries';
  /** Judged only while the US market is open (outside a replay). */
  marketHours: boolean;
  /**
   * Runs only where a feature is configured (the Telegram bot): judged only when the judge expects
   * it (its settings have the feature), never from a heartbeat left by an earlier configuration.
   */
  optional?: true;
}

export const LOOPS: Readonly<Record<LoopId, LoopDefinition>> = {
  prices: {
    id: 'prices',
    name: 'Price polling',
    description: 'polls quotes of the watched symbols and extends their daily history',
    queue: 'prices',
    marketHours: true,
  },
  news: {
    id: 'news',
    name: 'News polling',
    description: 'fetches the news feeds that are due',
    queue: 'news',
    marketHours: false,
  },
  evaluate: {
    id: 'evaluate',
    name: 'Rule evaluation',
    description: 'runs every rule over the stored prices and news and writes alerts',
    queue: 'evaluate',
    marketHours: true,
  },
  sweep: {
    id: 'sweep',
    name: 'Delivery sweep',
    description: 're-enqueues deliveries from Postgres that have no job (after a Redis loss or a killed worker)',
    queue: 'maintenance',
    marketHours: false,
  },
  deliveries: {
    id: 'deliveries',
    name: 'Deliveries',
    description: 'sends the emails and webhooks written by alerts',
    queue: 'deliveries',
    marketHours: false,
  },
  telegram: {
    id: 'telegram',
    name: 'Telegram updates',
    description: "reads the bot's messages (/start links a chat, /stop, /status): only where TELEGRAM_BOT_TOKEN is set",
    queue: 'deliveries',
    marketHours: false,
    optional: true,
  },
};

/** A loop is overdue after this many intervals without a success... */
export const OVERDUE_FACTOR = 3;
/**
 * ...and never sooner than this: replays tick every 2 s and a poll that backfills history can take
 * longer than three ticks on a loaded machine; a page for that would be noise.
 */
export const MIN_OVERDUE_MS = 10_000;

/** A loop's recorded liveness (a LoopHeartbeat row), written by whichever worker ran it. */
export interface LoopBeat {
  loop: LoopId;
  /** The interval of the worker that wrote it (its own settings, so every judge agrees). */
  intervalMs: number;
  /** False during a replay: the market-hours exception does not apply. */
  marketHours: boolean;
  lastSuccessAt: Date | null;
  lastErrorAt?: Date | null;
  lastError?: string | null;
  /** host:pid of the process that last ran it. */
  worker?: string | null;
}

export type LoopState = 'ok' | 'overdue' | 'idle' | 'starting';

export interface LoopStatus {
  loop: LoopId;
  name: string;
  intervalMs: number;
  lastSuccessAt: Date | null;
  lastErrorAt: Date | null;
  lastError: string | null;
  worker: string | null;
  state: LoopState;
  /** When the loop became overdue (set only when state is overdue). */
  overdueSince: Date | null;
  /** One line for people: why the state is what it is. */
  reason: string;
}

export interface JudgeInput {
  beats: readonly LoopBeat[];
  now: Date;
  /**
   * Interval and market-hours flag to assume for a loop that has no heartbeat yet (the judge's own
   * settings). Loops left out are not judged.
   */
  expected: Partial<Record<LoopId, { intervalMs: number; marketHours: boolean }>>;
  /** When the judge started watching: a loop that never ran is overdue one period after it. */
  watchingSince: Date;
  /** Since when the longest-waiting due delivery has been due (null: nothing due). */
  oldestPendingDelivery: Date | null;
}

/** How long a loop of this interval may go without a success. */
export function overdueAfterMs(intervalMs: number): number {
  return Math.max(MIN_OVERDUE_MS, OVERDUE_FACTOR * intervalMs);
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** The state of every expected loop (in catalog order), plus any other loop that has a heartbeat. */
export function judgeLoops(input: JudgeInput): LoopStatus[] {
  const now = input.now.getTime();
  const beats = new Map(input.beats.map((b) => [b.loop, b]));
  const out: LoopStatus[] = [];
  for (const id of LOOP_IDS) {
    const beat = beats.get(id);
    const expected = input.expected[id];
    if (!beat && !expected) continue;
    if (LOOPS[id].optional && !expected) continue;
    const intervalMs = beat?.intervalMs ?? expected?.intervalMs ?? 0;
    const marketHours = LOOPS[id].marketHours && (beat?.marketHours ?? expected?.marketHours ?? true);
    const limit = overdueAfterMs(intervalMs);
    const last = beat?.lastSuccessAt?.getTime() ?? null;
    const base = {
      loop: id,
      name: LOOPS[id].name,
      intervalMs,
      lastSuccessAt: beat?.lastSuccessAt ?? null,
      lastErrorAt: beat?.lastErrorAt ?? null,
      lastError: beat?.lastError ?? null,
      worker: beat?.worker ?? null,
    };
    const overdue = (since: number, reason: string): LoopStatus => ({
      ...base,
      state: 'overdue',
      overdueSince: new Date(since),
      reason,
    });
    const fine = (state: LoopState, reason: string): LoopStatus => ({ ...base, state, overdueSince: null, reason });

    if (id === 'deliveries') {
      const due = input.oldestPendingDelivery?.getTime() ?? null;
      if (due === null || due > now - limit) {
        out.push(fine(last !== null && last > now - limit ? 'ok' : 'idle', 'no delivery waiting longer than allowed'));
        continue;
      }
      if (last !== null && last > now - limit) {
        out.push(fine('ok', 'delivering'));
        continue;
      }
      out.push(
        overdue(
          Math.max(due, last ?? Number.NEGATIVE_INFINITY) + limit,
          `deliveries due since ${new Date(due).toISOString()} and none sent for ${seconds(limit)}`,
        ),
      );
      continue;
    }

    // The clock this is judged on is the wall clock: a replay has no closed hours (marketHours false).
    let from = last ?? input.watchingSince.getTime();
    if (marketHours) {
      if (!isMarketOpen(input.now)) {
        out.push(fine('idle', 'not judged while the US market is closed'));
        continue;
      }
      const open = sessionFor(zonedDate(input.now))?.open.getTime();
      if (open !== undefined) from = Math.max(from, open);
    }
    if (from + limit > now) {
      out.push(
        last === null
          ? fine('starting', 'has not run yet')
          : fine('ok', `ran ${seconds(now - last)} ago (every ${seconds(intervalMs)})`),
      );
      continue;
    }
    out.push(
      overdue(
        from + limit,
        last === null
          ? `has never run (expected every ${seconds(intervalMs)})`
          : `last ran ${seconds(now - last)} ago, expected every ${seconds(intervalMs)}`,
      ),
    );
  }
  return out;
}
