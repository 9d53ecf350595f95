/**
 * "Who would have been told": the alerts a backtest finds, run through the same plan as live
 * alerts (./pipeline.ts) over today's subscribers, endpoints, silences, inhibit rules, quiet hours
 * and time intervals, each judged at the alert's own time. Nothing is written or sent.
 *
 * How the backtest's alerts stand in for live ones: alerts are planned in time order (sources of
 * inhibition first at the same instant); a backtest alert counts as firing, so as a possible inhibit
 * source, until its US session ends; silences are judged at the alert's time (live judges them at
 * wall-clock time); messages of one recipient and channel due at the same instant count as one, as
 * the delivery worker sends them.
 */
import { US_MARKET_TZ, zonedDate } from '../calendar.ts';
import { countMessages } from './group.ts';
import { sourcesFirst } from './inhibit.ts';
import { FANOUT_STAGES, type FanOutStage, planFanOut } from './pipeline.ts';
import type { ActiveAlert, FanOutAlert, FanOutChannel, FanOutInputs, HoldReason, PlannedDelivery } from './types.ts';

export type ChannelCounts = Record<FanOutChannel, number>;
export type HeldCounts = Record<HoldReason, number>;

export interface ForecastAlert extends FanOutAlert {
  /** Its `symbol` labels for inhibition (the subject; a basket's members too). */
  symbols: readonly string[];
}

export interface AlertForecast {
  ruleId: string;
  subject: string;
  at: string;
  /** Deliveries sent when it fired, per channel. */
  sent: ChannelCounts;
  /** Deliveries held, per reason (quiet hours: sent when they end). */
  held: HeldCounts;
  silenceId?: string;
  inhibitedBy?: { ruleId: string; subject: string; at: string };
}

export interface DeliveryForecast {
  /** Messages sent when the alerts fired, per channel (alerts due together for one recipient: one message). */
  sent: ChannelCounts;
  /** Messages held: silenced, inhibited, muted by time intervals, or waiting for quiet hours to end (then sent). */
  held: HeldCounts & { total: number };
  /** Messages that left when quiet hours ended, per channel (included in held.quiet_hours). */
  afterQuietHours: ChannelCounts;
  perAlert: AlertForecast[];
  /** "would have sent 412 emails, 37 webhooks, 9 Telegram messages; 55 held: 30 quiet hours, 20 inhibited, 5 silenced" */
  text: string;
}

const zeroChannels = (): ChannelCounts => ({ email: 0, webhook: 0, ntfy: 0, telegram: 0 });
const zeroHeld = (): HeldCounts => ({ silenced: 0, inhibited: 0, time_intervals: 0, quiet_hours: 0 });

/**
 * Plans every alert (sorted here by time) against `inputs` (its activeAlerts are the backtest's
 * own, starting empty). `stages` defaults to the live pipeline; a test passes fewer to show a
 * bypassed stage changes the answer.
 */
export function forecastDeliveries(
  alerts: readonly ForecastAlert[],
  inputs: Omit<FanOutInputs, 'now' | 'silencesAt' | 'activeAlerts'>,
  stages: readonly FanOutStage[] = FANOUT_STAGES,
): DeliveryForecast {
  const watchlistOf = (a: ForecastAlert) => inputs.rules.get(a.ruleId)?.watchlistId ?? null;
  const byTime = [...alerts].sort((a, b) => a.firedAt.getTime() - b.firedAt.getTime());
  const ordered: ForecastAlert[] = [];
  for (let i = 0; i < byTime.length; ) {
    let j = i;
    while (j < byTime.length && byTime[j]?.firedAt.getTime() === byTime[i]?.firedAt.getTime()) j++;
    const same = byTime
      .slice(i, j)
      .map((a) => ({ a, ruleId: a.ruleId, severity: a.severity, watchlistId: watchlistOf(a) }));
    ordered.push(...sourcesFirst(inputs.inhibitRules, same).map((x) => x.a));
    i = j;
  }
  let active: (ActiveAlert & { session: string; of: ForecastAlert })[] = [];
  const written: PlannedDelivery[] = [];
  const held = zeroHeld();
  const perAlert: AlertForecast[] = [];
  const firedInhibitors = new Map(inputs.firedInhibitors);
  for (const [i, a] of ordered.entries()) {
    const session = zonedDate(a.firedAt, US_MARKET_TZ);
    active = active.filter((x) => x.session === session);
    const plan = planFanOut(
      a,
      { ...inputs, now: a.firedAt, silencesAt: a.firedAt, activeAlerts: active, firedInhibitors },
      stages,
    );
    if (a.status === 'firing')
      active.push({
        id: `backtest-${i}`,
        ruleId: a.ruleId,
        severity: a.severity,
        watchlistId: watchlistOf(a),
        symbols: a.symbols,
        firedAt: a.firedAt,
        session,
        of: a,
      });
    if (plan.inhibitor && a.status === 'firing') firedInhibitors.set(a.dedupKey, plan.inhibitor);
    written.push(...plan.deliveries);
    const mine: AlertForecast = {
      ruleId: a.ruleId,
      subject: a.subject,
      at: a.firedAt.toISOString(),
      sent: zeroChannels(),
      held: zeroHeld(),
    };
    for (const d of plan.deliveries) if (!d.heldBy) mine.sent[d.channel]++;
    for (const h of plan.held) {
      mine.held[h.reason]++;
      if (h.reason !== 'quiet_hours') held[h.reason]++;
    }
    if (plan.silenceId) mine.silenceId = plan.silenceId;
    const src = plan.inhibitor && active.find((x) => x.id === plan.inhibitor?.alertId)?.of;
    if (src) mine.inhibitedBy = { ruleId: src.ruleId, subject: src.subject, at: src.firedAt.toISOString() };
    perAlert.push(mine);
  }
  const sent = countMessages(written.filter((d) => !d.heldBy));
  const afterQuietHours = countMessages(written.filter((d) => d.heldBy));
  held.quiet_hours = Object.values(afterQuietHours).reduce((s, n) => s + n, 0);
  const total = held.silenced + held.inhibited + held.time_intervals + held.quiet_hours;
  return {
    sent,
    held: { ...held, total },
    afterQuietHours,
    perAlert,
    text: describeForecast(sent, { ...held, total }),
  };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The one-line summary every surface shows (API, CLI, admin preview). */
export function describeForecast(sent: ChannelCounts, held: HeldCounts & { total: number }): string {
  const parts = [
    plural(sent.email, 'email'),
    plural(sent.webhook, 'webhook'),
    ...(sent.ntfy ? [plural(sent.ntfy, 'ntfy message')] : []),
    plural(sent.telegram, 'Telegram message'),
  ];
  const reasons = (
    [
      ['quiet_hours', 'quiet hours'],
      ['inhibited', 'inhibited'],
      ['silenced', 'silenced'],
      ['time_intervals', 'outside time intervals'],
    ] as const
  )
    .filter(([k]) => held[k] > 0)
    .map(([k, label]) => `${held[k]} ${label}`);
  return `would have sent ${parts.join(', ')}; ${held.total} held${reasons.length ? `: ${reasons.join(', ')}` : ''}`;
}
