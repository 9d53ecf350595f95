import type { Severity, Unit } from '@signals/core';

/** A headline the alert was drawn with (news that moved the instrument, or the matching item). */
export interface HeadlineView {
  title: string;
  /** Article link; only http(s) links are rendered as links. */
  link: string | null;
  publishedAt: Date | null;
}

/** The rule behind an alert, with the passage of the article its threshold comes from. */
export interface RuleView {
  /** Rule id; used to group alerts in digests (falls back to the name). */
  id?: string;
  name: string;
  description: string | null;
  /** Article file the rule was drawn from. */
  sourceArticle: string | null;
  /** The passage of that article that sets the threshold. */
  sourcePassage: string | null;
}

/**
 * How `value` and `threshold` read: the rule kind's unit (@signals/core units.ts): `fraction` a move
 * (-0.169 = -16.9 %), `sd` standard deviations, `multiple` (3.2 = 3.2x the average), `count`
 * (news items), `price` a price level.
 */
export type ValueUnit = Unit;

/** What templates and webhook payloads need to know about one alert: a snapshot, no I/O. */
export interface AlertView {
  id: string;
  title: string;
  /** Instrument symbol, or the basket key for basket rules. */
  symbol: string;
  status: 'firing' | 'resolved';
  severity: Severity;
  /** Measured value (see {@link ValueUnit}). */
  value: number;
  /** The threshold the value crossed. */
  threshold: number;
  /** Defaults to `fraction`. */
  unit?: ValueUnit;
  windowStart: Date | null;
  windowEnd: Date | null;
  firedAt: Date;
  resolvedAt?: Date | null;
  rule: RuleView;
  headlines: HeadlineView[];
}
