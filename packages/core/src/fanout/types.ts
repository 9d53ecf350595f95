/**
 * The fan-out's plain inputs and its result. Everything here is data loaded once per evaluation
 * cycle (packages/db/src/repos/fanout-inputs.ts) or built by a backtest; the stages
 * (./pipeline.ts) are pure functions over it.
 */

import type { Severity } from '../domain.ts';

export type { Severity };

/** Where a message goes: email and webhooks, and the subscribers' own channels (ntfy, Telegram). */
export type FanOutChannel = 'email' | 'webhook' | 'ntfy' | 'telegram';
/** The subscriber-owned channels beside email (not Slack/Discord/Teams, which are webhook formats). */
export type SubscriberChannelKind = 'ntfy' | 'telegram';

/** The alert being fanned out (what the engine raised). */
export interface FanOutAlert {
  dedupKey: string;
  ruleId: string;
  subject: string;
  symbol?: string | undefined;
  status: 'firing' | 'resolved';
  severity: Severity;
  firedAt: Date;
}

/** What the fan-out needs of the alert's rule. */
export interface FanOutRule {
  id: string;
  watchlistId: string | null;
  notifyResolved: boolean;
}

/** A confirmed subscriber with the subscriptions that could match and its confirmed channels. */
export interface FanOutSubscriber {
  id: string;
  mode: 'immediate' | 'digest';
  digestWindowSec: number;
  timeZone: string;
  /** Stored quiet hours per channel (JSON as stored; malformed: never quiet). */
  quietHours: unknown;
  quietCriticalBreaksThrough: boolean;
  subscriptions: readonly { ruleId: string | null; watchlistId: string | null; activeIntervals: unknown }[];
  /** Confirmed ntfy / Telegram channels only. */
  channels: readonly { id: string; kind: SubscriberChannelKind }[];
}

/** An active webhook endpoint. */
export interface FanOutEndpoint {
  id: string;
  /** Event types it wants (empty: all). */
  eventTypes: readonly string[];
  activeIntervals: unknown;
}

/** A silence: null matchers match anything. */
export interface SilenceSpec {
  id: string;
  ruleId: string | null;
  subject: string | null;
  startsAt: Date;
  endsAt: Date;
}

export const INHIBIT_LABELS = ['symbol', 'session'] as const;
export type InhibitLabel = (typeof INHIBIT_LABELS)[number];

export interface InhibitMatcher {
  ruleId: string | null;
  severity: Severity | null;
  watchlistId: string | null;
}

/** An inhibit rule (Alertmanager's inhibit_rules), oldest first. */
export interface InhibitRuleSpec {
  id: string;
  source: InhibitMatcher;
  target: InhibitMatcher;
  equal: readonly InhibitLabel[];
}

/** A firing alert that may inhibit others. */
export interface ActiveAlert {
  id: string;
  ruleId: string;
  severity: Severity;
  watchlistId: string | null;
  /** Its `symbol` labels: the subject, and for a basket alert each member's symbol. */
  symbols: readonly string[];
  firedAt: Date;
}

export interface Inhibitor {
  alertId: string;
  inhibitRuleId: string;
}

export interface FanOutInputs {
  /** The instant the plan is for: time intervals, quiet hours, group wait and digest windows. */
  now: Date;
  /** When silences are judged (live: wall-clock time, also during a replay; a backtest: the alert's time). Default `now`. */
  silencesAt?: Date;
  /** Email grouping wait for immediate subscribers (Alertmanager group_wait), ms. */
  emailGroupWaitMs: number;
  rules: ReadonlyMap<string, FanOutRule>;
  /** Watchlists each symbol belongs to. */
  watchlistsOf: ReadonlyMap<string, readonly string[]>;
  subscribers: readonly FanOutSubscriber[];
  endpoints: readonly FanOutEndpoint[];
  silences: readonly SilenceSpec[];
  inhibitRules: readonly InhibitRuleSpec[];
  /** Firing alerts that may be inhibit sources; the caller appends each alert it writes. */
  activeAlerts: ActiveAlert[];
  /** For resolved notices (`<dedupKey>:resolved`): the inhibitor of the alert that fired, by its dedup key. */
  firedInhibitors: ReadonlyMap<string, Inhibitor>;
}

/** A delivery row to write. */
export interface PlannedDelivery {
  channel: FanOutChannel;
  subscriberId?: string;
  channelId?: string;
  endpointId?: string;
  eventType: 'alert.firing' | 'alert.resolved';
  /** When the first attempt is due. */
  notBefore: Date;
  /** Deliveries with the same key that are due together leave as one message (null: alone). */
  groupKey: string | null;
  /** Set when quiet hours moved it later. */
  heldBy?: 'quiet_hours';
}

export type HoldReason = 'silenced' | 'inhibited' | 'time_intervals' | 'quiet_hours';

/** A message not sent now, and why. Quiet-hours messages are still written, due when quiet hours end. */
export interface HeldMessage {
  reason: HoldReason;
  channel: FanOutChannel;
  /** `email:<subscriberId>`, `webhook:<endpointId>`, `ntfy:<channelId>`, `telegram:<channelId>`. */
  target: string;
}

export interface FanOutPlan {
  silenceId?: string;
  inhibitor?: Inhibitor;
  /** Rows to write (empty when silenced or inhibited). */
  deliveries: PlannedDelivery[];
  held: HeldMessage[];
}
