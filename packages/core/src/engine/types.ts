/**
 * The engine's public types: states, alerts, skips, the input and output of one evaluation, and
 * the keys that name a state and an event. Plain JSON where stored (states, alert details).
 */
import type { Clock, NewsItem, Severity } from '../domain.ts';
import type { SkipReason } from '../kinds/signal.ts';
import type { RuleDefinition, RuleKind } from '../rules.ts';
import type { SymbolSeries } from '../series.ts';
import type { Unit } from '../units.ts';

export type { SkipReason } from '../kinds/signal.ts';

export type AlertPhase = 'inactive' | 'pending' | 'firing' | 'resolved' | 'cooldown';

/** Engine-private part of a state (stored as JSON in RuleState.data). */
export interface RuleStateData {
  /** Dedup key of the current or last event. */
  eventKey?: string;
  /** Session date (or `n-<itemId>`) the current, pending or last event started at. */
  eventStart?: string;
  /** Last session date the condition held during the current event. */
  lastQualDate?: string;
  /** Direction of the current event: 1 up, -1 down. */
  sign?: number;
  /** News rules: firstSeenAt (epoch ms) and id of the newest item handled. */
  lastItemAt?: number;
  lastItemId?: string;
  /** news_price confirmation, while pending: the item, the reference price and the deadline (epoch ms). */
  itemId?: string;
  itemTitle?: string;
  itemAt?: number;
  refPrice?: number;
  deadline?: number;
}

/** State of one (rule, subject): plain JSON (ISO strings, numbers), stored in Postgres. */
export interface RuleStateSnapshot {
  ruleId: string;
  subject: string;
  phase: AlertPhase;
  /** When the phase was entered (ISO). */
  since: string | null;
  lastValue: number | null;
  /** Most extreme value of the current/last event. */
  peakValue: number | null;
  lastFiredAt: string | null;
  cooldownUntil: string | null;
  data: RuleStateData;
}

export interface RelatedNews {
  id: string;
  title: string;
  link?: string;
  publishedAt?: string;
  firstSeenAt: string;
  symbols: string[];
  topics: string[];
}

/** Plain JSON attached to an alert (templates, webhooks, the alert page). */
export interface AlertDetails {
  ruleName: string;
  description: string;
  kind: RuleKind;
  severity: Severity;
  /** Prices behind the value (current, reference, high/low, volume ...), by name. */
  prices: Record<string, number | string | null>;
  /** Basket members and their moves. */
  members?: { symbol: string; move: number; marketCap?: number }[];
  /** Basket members without data, left out of the measure. */
  missing?: string[];
  /** The alert's headlines, best first (headlines.ts); stored as details.headlines by the worker. */
  relatedNews: RelatedNews[];
  /** Rule description text of the wrapped rule, for confirmations. */
  note?: string;
}

export interface AlertCandidate {
  /** Unique per event: `${ruleId}:${subject}:${eventStart}` (resolved notices: `...:resolved`). */
  dedupKey: string;
  ruleId: string;
  subject: string;
  /** The instrument, when the subject is one. */
  symbol?: string;
  status: 'firing' | 'resolved';
  severity: Severity;
  /** Measured value: a fraction for moves (-0.169 = -16.9 %), z for vol_scaled_move, a multiple for volume_spike, a price for price_cross. */
  value: number;
  /** Threshold in the same unit, signed like the move. */
  threshold: number;
  /** Unit of value and threshold (from the rule's kind); render with formatValue/formatThreshold. */
  unit: Unit;
  /** ISO instants: start of the measured window (session open or news time) and the observation. */
  windowStart: string;
  windowEnd: string;
  /** ISO instant of the evaluation that raised it. */
  firedAt: string;
  /** Session date (or `n-<newsItemId>`) the event started. */
  eventStart: string;
  title: string;
  details: AlertDetails;
}

export interface SkippedEvaluation {
  ruleId: string;
  subject: string;
  reason: SkipReason;
  /** Why, in words, when the reason alone does not say (an incomplete basket names its missing members). */
  detail?: string;
}

export interface EvaluateInput {
  rules: readonly RuleDefinition[];
  /** Series by symbol (see {@link SymbolSeries}). */
  series: ReadonlyMap<string, SymbolSeries>;
  /**
   * Recent news (at least the confirmation window, e.g. the last day). Items already handled are
   * recognised from the state (newest firstSeenAt per rule and subject), so passing an item twice
   * is harmless.
   */
  news?: readonly NewsItem[];
  /** Current states by {@link stateKey}; missing ones are inactive. Not mutated. */
  states: ReadonlyMap<string, RuleStateSnapshot>;
  clock: Clock;
}

export interface EvaluateOutput {
  /** Alerts to write (in the same transaction as the states). */
  alerts: AlertCandidate[];
  /** Only the states that changed, by {@link stateKey}. */
  states: Map<string, RuleStateSnapshot>;
  /** Pairs not evaluated, and why (stale data, bad prices, too little history). */
  skipped: SkippedEvaluation[];
}

export const BASKET_SUBJECT = '__basket__';
export const NEWS_SUBJECT = '__news__';

/** Key of a state in the maps: `${ruleId}:${subject}`. */
export function stateKey(ruleId: string, subject: string): string {
  return `${ruleId}:${subject}`;
}

/** Dedup key of an event. */
export function dedupKey(ruleId: string, subject: string, eventStart: string): string {
  return `${ruleId}:${subject}:${eventStart}`;
}
