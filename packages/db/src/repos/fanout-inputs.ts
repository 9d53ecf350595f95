/**
 * Loads what the fan-out plan (@signals/core planFanOut) reads, once per evaluation cycle: the
 * alerts' rules and watchlists, the subscribers and endpoints that could be told, silences,
 * inhibit rules and the firing alerts that may inhibit. One statement for all of it (loadRouting),
 * plus one for the firing alerts when inhibit rules exist and one for resolved notices, whatever the
 * number of alerts; the plan itself is pure.
 */
import {
  type ActiveAlert,
  BASKET_SUBJECT,
  type DeliveryForecast,
  forecastDeliveries,
  NEWS_SUBJECT,
  type Severity,
  sessionCloseMs,
  type FanOutAlert,
  type FanOutInputs,
  type FanOutStage,
  type FanOutEndpoint,
  type FanOutSubscriber,
  type InhibitMatcher,
  type InhibitRuleSpec,
  type Inhibitor,
  type SilenceSpec,
} from '@signals/core';
import type { Prisma } from '../generated/client.ts';
import { INHIBIT_LABELS, type InhibitLabel } from './inhibitions.ts';
import type { Tx } from './outbox.ts';
import { silencesIn } from './silences.ts';

export interface LoadedFanOutInputs {
  inputs: FanOutInputs;
  /** Instrument id per symbol (the alert row links its instrument). */
  instrumentIds: ReadonlyMap<string, string>;
  /** Each loaded rule's own basket symbols (empty: its watchlist's members), for an alert's labels. */
  ruleSymbols: ReadonlyMap<string, readonly string[]>;
}

export interface FanOutLoadOptions {
  now: Date;
  emailGroupWaitMs: number;
  /** When silences are judged (default: wall-clock time, as operators set them, also in a replay). */
  silencesAt?: Date;
  /** Silences already loaded (a caller with many alerts); otherwise read here. */
  silences?: readonly SilenceSpec[];
  /** Inhibit rules already loaded; otherwise read here. */
  inhibitRules?: readonly InhibitRuleSpec[];
  /**
   * Every silence, not only those active at `silencesAt` (a backtest judges each alert at its own
   * time against today's silences).
   */
  allSilences?: boolean;
  /** Active alerts to use instead of the firing ones in Postgres (a backtest brings its own). */
  activeAlerts?: ActiveAlert[];
}

/** Silences active at `at`, as the plan reads them. */
export function loadSilences(tx: Tx, at?: Date): Promise<SilenceSpec[]> {
  return tx.silence.findMany({
    where: at ? silencesIn('active', at) : {},
    select: { id: true, ruleId: true, subject: true, startsAt: true, endsAt: true },
    orderBy: [{ endsAt: 'desc' }, { id: 'asc' }],
  });
}

const matcherWhere = (m: InhibitMatcher): Prisma.AlertWhereInput => ({
  ...(m.ruleId ? { ruleId: m.ruleId } : {}),
  ...(m.severity ? { severity: m.severity } : {}),
  ...(m.watchlistId ? { rule: { watchlistId: m.watchlistId } } : {}),
});

/** Firing alerts that match some inhibit rule's source, with their symbol labels. */
export async function loadActiveAlerts(tx: Tx, rules: readonly InhibitRuleSpec[]): Promise<ActiveAlert[]> {
  if (rules.length === 0) return [];
  const rows = await tx.alert.findMany({
    where: { status: 'firing', OR: rules.map((r) => matcherWhere(r.source)) },
    select: {
      id: true,
      ruleId: true,
      severity: true,
      subject: true,
      firedAt: true,
      rule: {
        select: {
          watchlistId: true,
          symbols: true,
          watchlist: { select: { members: { select: { instrument: { select: { symbol: true } } } } } },
        },
      },
    },
  });
  return rows.map((a) => ({
    id: a.id,
    ruleId: a.ruleId,
    severity: a.severity,
    watchlistId: a.rule.watchlistId,
    firedAt: a.firedAt,
    symbols: activeSymbols(a.subject, a.rule),
  }));
}

/** An alert's `symbol` labels: its subject, and a basket's members (its rule's symbols, else its watchlist's). */
export function activeSymbols(
  subject: string,
  rule: { symbols: readonly string[]; watchlist?: { members: { instrument: { symbol: string } }[] } | null },
): string[] {
  if (subject !== BASKET_SUBJECT) return [subject];
  const members = rule.symbols.length ? rule.symbols : (rule.watchlist?.members.map((m) => m.instrument.symbol) ?? []);
  return [subject, ...members];
}

export async function loadFanOutInputs(
  tx: Tx,
  alerts: readonly Pick<FanOutAlert, 'ruleId' | 'symbol' | 'dedupKey' | 'status'>[],
  o: FanOutLoadOptions,
): Promise<LoadedFanOutInputs> {
  // Operators set silences in real time: judged at wall-clock time, also during a replay.
  const silencesAt = o.silencesAt ?? (o.allSilences ? undefined : new Date());
  const ruleIds = [...new Set(alerts.map((a) => a.ruleId))];
  const symbols = [...new Set(alerts.map((a) => a.symbol).filter((s): s is string => !!s))];
  const resolvedOf = alerts
    .filter((a) => a.status === 'resolved' && a.dedupKey.endsWith(':resolved'))
    .map((a) => a.dedupKey.slice(0, -':resolved'.length));
  const [routing, fired] = await Promise.all([
    loadRouting(tx, ruleIds, symbols, {
      inhibitRules: !o.inhibitRules,
      silences: !o.silences,
      silencesAt: o.allSilences ? null : (silencesAt ?? null),
    }),
    resolvedOf.length
      ? tx.alert.findMany({
          where: { dedupKey: { in: resolvedOf }, inhibitedById: { not: null } },
          select: { dedupKey: true, inhibitedById: true, inhibitRuleId: true },
        })
      : [],
  ]);
  const { rules, instruments, subscribers, endpoints } = routing;
  const inhibitRules = o.inhibitRules ?? routing.inhibitRules;
  const silences = o.silences ?? routing.silences;
  const watchlistsOf = new Map(instruments.map((i) => [i.symbol, i.watchlistIds]));
  const activeAlerts = o.activeAlerts ?? (await loadActiveAlerts(tx, inhibitRules));
  const firedInhibitors = new Map<string, Inhibitor>();
  for (const f of fired)
    if (f.inhibitedById)
      firedInhibitors.set(f.dedupKey, { alertId: f.inhibitedById, inhibitRuleId: f.inhibitRuleId ?? '' });
  return {
    inputs: {
      now: o.now,
      ...(silencesAt ? { silencesAt } : {}),
      emailGroupWaitMs: o.emailGroupWaitMs,
      rules: new Map(
        rules.map((r) => [r.id, { id: r.id, watchlistId: r.watchlistId, notifyResolved: r.notifyResolved }]),
      ),
      watchlistsOf,
      subscribers,
      endpoints,
      silences,
      inhibitRules,
      activeAlerts,
      firedInhibitors,
    },
    instrumentIds: new Map(instruments.map((i) => [i.symbol, i.id])),
    ruleSymbols: new Map(rules.map((r) => [r.id, r.symbols])),
  };
}

interface Routing {
  rules: { id: string; watchlistId: string | null; notifyResolved: boolean; symbols: string[] }[];
  /** The alerts' instruments with the watchlists they are members of. */
  instruments: { id: string; symbol: string; watchlistIds: string[] }[];
  subscribers: FanOutSubscriber[];
  endpoints: FanOutEndpoint[];
  /** As loadInhibitRules reads them (empty when not asked for). */
  inhibitRules: InhibitRuleSpec[];
  /** As loadSilences reads them (empty when not asked for). */
  silences: SilenceSpec[];
}

/**
 * Who could be told, in ONE statement (one round trip for a one-endpoint alert instead of five):
 * the alerts' rules, their instruments and those instruments' watchlists, the active webhook
 * endpoints, and the confirmed subscribers with a subscription to one of the rules or watchlists
 * (the rules' and the instruments'), each with those subscriptions and their confirmed own
 * channels, ordered by id. A popular watchlist has 100,000 subscribers: they come back as ONE JSON
 * text (rows of jsonb cost the driver and Prisma ~1 s to decode one by one), each subscriber an
 * array rather than an object (half the bytes), aggregated from a sorted subquery (json_agg(...
 * ORDER BY) would sort them again), channels joined once rather than looked up per subscriber.
 */
async function loadRouting(
  tx: Tx,
  ruleIds: string[],
  symbols: string[],
  also: { inhibitRules: boolean; silences: boolean; silencesAt: Date | null },
): Promise<Routing> {
  const at = also.silencesAt?.toISOString() ?? null;
  const [row] = await tx.$queryRaw<{ j: string }[]>`
    WITH r AS (
      SELECT id, "watchlistId", "notifyResolved", symbols FROM "Rule" WHERE id = ANY(${ruleIds}::text[])
    ), i AS (
      SELECT i.id, i.symbol,
             ARRAY(SELECT m."watchlistId" FROM "WatchlistMember" m WHERE m."instrumentId" = i.id ORDER BY m."watchlistId") AS w
      FROM "Instrument" i WHERE i.symbol = ANY(${symbols}::text[])
    ), subs AS (
      SELECT x."subscriberId" AS sid,
             json_agg(json_build_array(x."ruleId", x."watchlistId", x."activeIntervals") ORDER BY x.id) AS subscriptions
      FROM "Subscription" x
      WHERE cardinality(${ruleIds}::text[]) > 0
        AND (x."ruleId" = ANY(${ruleIds}::text[])
             OR x."watchlistId" = ANY(ARRAY(SELECT "watchlistId" FROM r WHERE "watchlistId" IS NOT NULL
                                            UNION SELECT unnest(w) FROM i)))
      GROUP BY x."subscriberId"
    ), chans AS (
      SELECT c."subscriberId" AS sid, json_agg(json_build_array(c.id, c.kind::text) ORDER BY c.id) AS channels
      FROM "SubscriberChannel" c
      WHERE c.status = 'confirmed' AND c."subscriberId" IN (SELECT sid FROM subs)
      GROUP BY c."subscriberId"
    )
    SELECT json_build_array(
      (SELECT COALESCE(json_agg(json_build_array(id, "watchlistId", "notifyResolved", symbols)), '[]') FROM r),
      (SELECT COALESCE(json_agg(json_build_array(id, symbol, w)), '[]') FROM i),
      (SELECT COALESCE(json_agg(json_build_array(e.id, e."eventTypes", e."activeIntervals")), '[]')
         FROM "WebhookEndpoint" e WHERE e.status = 'active'),
      (SELECT COALESCE(json_agg(t.r), '[]') FROM (
         SELECT json_build_array(s.id, s.mode::text, s."digestWindowSec", s."timeZone", s."quietHours",
                                 s."quietCriticalBreaksThrough", subs.subscriptions, COALESCE(chans.channels, '[]'::json)) AS r
         FROM subs JOIN "Subscriber" s ON s.id = subs.sid LEFT JOIN chans ON chans.sid = s.id
         WHERE s.status = 'confirmed'
         ORDER BY s.id) t),
      -- loadInhibitRules, oldest first
      (SELECT COALESCE(json_agg(json_build_array(x.id, x."sourceRuleId", x."sourceSeverity", x."sourceWatchlistId",
                                                 x."targetRuleId", x."targetSeverity", x."targetWatchlistId", x.equal)
                                ORDER BY x."createdAt", x.id), '[]')
         FROM "InhibitRule" x WHERE ${also.inhibitRules}::boolean),
      -- loadSilences: active at the time given, or all of them; times as epoch milliseconds
      (SELECT COALESCE(json_agg(json_build_array(x.id, x."ruleId", x.subject,
                                                 round(extract(epoch FROM x."startsAt") * 1000), round(extract(epoch FROM x."endsAt") * 1000))
                                ORDER BY x."endsAt" DESC, x.id), '[]')
         FROM "Silence" x
         WHERE ${also.silences}::boolean
           AND (${at}::text IS NULL OR (x."startsAt" <= ${at}::timestamptz AT TIME ZONE 'UTC'
                                        AND x."endsAt" > ${at}::timestamptz AT TIME ZONE 'UTC')))
    )::text AS j`;
  const [rules, instruments, endpoints, subscribers, inhibitRules, silences] = JSON.parse(row?.j ?? '[]') as [
    [string, string | null, boolean, string[]][],
    [string, string, string[]][],
    [string, string[], unknown][],
    [
      string,
      FanOutSubscriber['mode'],
      number,
      string,
      unknown,
      boolean,
      [string | null, string | null, unknown][],
      [string, FanOutSubscriber['channels'][number]['kind']][],
    ][],
    [string, string | null, Severity | null, string | null, string | null, Severity | null, string | null, string[]][],
    [string, string | null, string | null, number, number][],
  ];
  return {
    inhibitRules: inhibitRules.map(([id, sRule, sSev, sWl, tRule, tSev, tWl, equal]) => ({
      id,
      source: { ruleId: sRule, severity: sSev, watchlistId: sWl },
      target: { ruleId: tRule, severity: tSev, watchlistId: tWl },
      equal: equal.filter((l): l is InhibitLabel => (INHIBIT_LABELS as readonly string[]).includes(l)),
    })),
    silences: silences.map(([id, ruleId, subject, startsAt, endsAt]) => ({
      id,
      ruleId,
      subject,
      startsAt: new Date(startsAt),
      endsAt: new Date(endsAt),
    })),
    rules: rules.map(([id, watchlistId, notifyResolved, symbols]) => ({ id, watchlistId, notifyResolved, symbols })),
    instruments: instruments.map(([id, symbol, watchlistIds]) => ({ id, symbol, watchlistIds })),
    endpoints: endpoints.map(([id, eventTypes, activeIntervals]) => ({ id, eventTypes, activeIntervals })),
    subscribers: subscribers.map(
      ([id, mode, digestWindowSec, timeZone, quietHours, quietCriticalBreaksThrough, subs, chans]) => ({
        id,
        mode,
        digestWindowSec,
        timeZone,
        quietHours,
        quietCriticalBreaksThrough,
        subscriptions: subs.map(([ruleId, watchlistId, activeIntervals]) => ({ ruleId, watchlistId, activeIntervals })),
        channels: chans.map(([id, kind]) => ({ id, kind })),
      }),
    ),
  };
}

/** A backtest alert to forecast: its rule, subject, time (a session date on daily bars, else ISO) and severity. */
export interface BacktestAlertInput {
  ruleId: string;
  subject: string;
  /** YYYY-MM-DD (daily bars: the alert is taken at that session's close) or an ISO instant. */
  at: string;
  severity: Severity;
  status?: 'firing' | 'resolved';
}

/** A rule of the backtest (stored or draft): where its subscribers come from and its basket members. */
export interface BacktestRuleInput {
  id: string;
  watchlistId: string | null;
  symbols: readonly string[];
  notifyResolved?: boolean;
}

/** The instant a backtest alert stands for: a daily bar's session close, or the instant given. */
export function backtestAlertTime(at: string): Date {
  return /^\d{4}-\d{2}-\d{2}$/.test(at) ? new Date(sessionCloseMs(at)) : new Date(at);
}

/**
 * "Who would have been told": loads today's subscribers, endpoints, silences and inhibit rules once
 * and runs the backtest's alerts through the live fan-out plan (@signals/core forecastDeliveries).
 * Reads only.
 */
export async function forecastBacktestDeliveries(
  tx: Tx,
  alerts: readonly BacktestAlertInput[],
  rules: readonly BacktestRuleInput[],
  o: {
    emailGroupWaitMs: number;
    /** The stages to run (default: the live pipeline); a test passes fewer to show a bypass changes the answer. */
    stages?: readonly FanOutStage[];
  },
): Promise<DeliveryForecast> {
  if (alerts.length === 0)
    // Nothing fired: nobody to tell, nothing to read.
    return forecastDeliveries([], {
      emailGroupWaitMs: o.emailGroupWaitMs,
      rules: new Map(),
      watchlistsOf: new Map(),
      subscribers: [],
      endpoints: [],
      silences: [],
      inhibitRules: [],
      firedInhibitors: new Map(),
    });
  const ruleOf = new Map(rules.map((r) => [r.id, r]));
  const members = new Map<string, string[]>();
  for (const r of rules) {
    if (r.symbols.length || !r.watchlistId || members.has(r.watchlistId)) continue;
    const rows = await tx.watchlistMember.findMany({
      where: { watchlistId: r.watchlistId },
      select: { instrument: { select: { symbol: true } } },
    });
    members.set(
      r.watchlistId,
      rows.map((m) => m.instrument.symbol),
    );
  }
  const fanAlerts = alerts.map((a, i) => {
    const rule = ruleOf.get(a.ruleId);
    const basket = a.subject === BASKET_SUBJECT || a.subject === NEWS_SUBJECT;
    return {
      dedupKey: `backtest:${i}`,
      ruleId: a.ruleId,
      subject: a.subject,
      ...(basket ? {} : { symbol: a.subject }),
      status: a.status ?? 'firing',
      severity: a.severity,
      firedAt: backtestAlertTime(a.at),
      symbols: activeSymbols(a.subject, {
        symbols: rule?.symbols ?? [],
        watchlist: rule?.watchlistId
          ? { members: (members.get(rule.watchlistId) ?? []).map((symbol) => ({ instrument: { symbol } })) }
          : null,
      }),
    };
  });
  const { inputs } = await loadFanOutInputs(tx, fanAlerts, {
    now: new Date(),
    emailGroupWaitMs: o.emailGroupWaitMs,
    allSilences: true,
    activeAlerts: [],
  });
  // Draft rules are not stored: they route by their watchlist (nobody subscribes to a draft by id).
  const planRules = new Map(inputs.rules);
  for (const r of rules)
    if (!planRules.has(r.id))
      planRules.set(r.id, { id: r.id, watchlistId: r.watchlistId, notifyResolved: r.notifyResolved ?? false });
  return forecastDeliveries(fanAlerts, { ...inputs, rules: planRules }, o.stages);
}
