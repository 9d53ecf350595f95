/**
 * The fan-out, as one ordered list of small stages (Alertmanager's notify/notify.go
 * PipelineBuilder): read FANOUT_STAGES top to bottom to see what happens to an alert between the
 * engine and the outbox. Each stage is a pure function over the state the previous one left and
 * the inputs loaded once per cycle (packages/db/src/repos/fanout-inputs.ts). The database code
 * writes what {@link planFanOut} returns, in the same transaction as the alert; a backtest runs
 * the same plan to say who would have been told, and writes nothing.
 */
import { findInhibitor } from './inhibit.ts';
import { isActiveRecipient } from './intervals.ts';
import { dueTime } from './quiet-hours.ts';
import { eventTypeOf, type Recipient, routeAlert } from './route.ts';
import { groupKeyOf } from './group.ts';
import { matchSilence } from './silence.ts';
import type {
  FanOutAlert,
  FanOutInputs,
  FanOutPlan,
  HeldMessage,
  HoldReason,
  Inhibitor,
  PlannedDelivery,
} from './types.ts';

/** What flows from stage to stage. */
export interface PlanState {
  readonly alert: FanOutAlert;
  readonly inputs: FanOutInputs;
  silenceId?: string;
  inhibitor?: Inhibitor;
  /** Who is told, once routed (stage 3); narrowed by the time intervals. */
  recipients: readonly Recipient[];
  /** Rows to write, once timed (stage 5). */
  deliveries: readonly PlannedDelivery[];
  held: readonly HeldMessage[];
}

export interface FanOutStage {
  readonly name: string;
  /** One line a newcomer reads in the README and the admin preview. */
  readonly does: string;
  run(s: PlanState): PlanState;
}

const RESOLVED_SUFFIX = ':resolved';
const hold = (reason: HoldReason, rs: readonly Recipient[]): HeldMessage[] =>
  rs.map((r) => ({ reason, channel: r.channel, target: r.target }));

export const FANOUT_STAGES: readonly FanOutStage[] = [
  {
    name: 'silence',
    does: 'an active silence that matches the rule and subject holds every message of the alert',
    run: (s) => {
      const hit = matchSilence(s.inputs.silences, s.alert, s.inputs.silencesAt ?? s.inputs.now);
      return hit ? { ...s, silenceId: hit.id } : s;
    },
  },
  {
    name: 'inhibit',
    does: 'a firing alert matching an inhibit rule source (same symbol / session) holds the target alert',
    run: (s) => {
      const { alert, inputs } = s;
      const rule = inputs.rules.get(alert.ruleId);
      let inhibitor = findInhibitor(inputs.inhibitRules, inputs.activeAlerts, {
        ...alert,
        watchlistId: rule?.watchlistId ?? null,
      });
      // Nobody was told it fired, so nobody is told it resolved: a resolved notice of an inhibited
      // alert is held by the same source (the engine keys notices `<dedupKey>:resolved`).
      if (!inhibitor && alert.status === 'resolved' && alert.dedupKey.endsWith(RESOLVED_SUFFIX))
        inhibitor = inputs.firedInhibitors.get(alert.dedupKey.slice(0, -RESOLVED_SUFFIX.length));
      return inhibitor ? { ...s, inhibitor } : s;
    },
  },
  {
    name: 'route',
    does: 'subscribers of the rule or its watchlists get email plus their ntfy/Telegram; endpoints that accept the event get a webhook',
    run: (s) => {
      const recipients = routeAlert(s.alert, s.inputs.rules.get(s.alert.ruleId), s.inputs);
      // A silenced or inhibited alert is recorded; the messages it would have made are held.
      const muted: HoldReason | undefined = s.silenceId ? 'silenced' : s.inhibitor ? 'inhibited' : undefined;
      if (muted) return { ...s, recipients: [], held: [...s.held, ...hold(muted, recipients)] };
      return { ...s, recipients };
    },
  },
  {
    name: 'time_intervals',
    does: "recipients outside their subscription's or endpoint's active time intervals are muted",
    run: (s) => {
      const live: Recipient[] = [];
      const muted: Recipient[] = [];
      for (const r of s.recipients) (isActiveRecipient(r, s.inputs.now) ? live : muted).push(r);
      return { ...s, recipients: live, held: [...s.held, ...hold('time_intervals', muted)] };
    },
  },
  {
    name: 'quiet_hours',
    does: 'each delivery is due after the group wait or digest window, moved to the end of quiet hours',
    run: (s) => {
      const eventType = eventTypeOf(s.alert);
      const quiet: Recipient[] = [];
      const deliveries = s.recipients.map((r): PlannedDelivery => {
        const due = dueTime(r, s.alert.severity, s.inputs);
        if (due.quiet) quiet.push(r);
        return {
          channel: r.channel,
          ...(r.subscriber ? { subscriberId: r.subscriber.id } : {}),
          ...(r.channelId ? { channelId: r.channelId } : {}),
          ...(r.endpointId ? { endpointId: r.endpointId } : {}),
          eventType,
          notBefore: due.at,
          groupKey: null,
          ...(due.quiet ? { heldBy: 'quiet_hours' as const } : {}),
        };
      });
      return { ...s, deliveries, held: [...s.held, ...hold('quiet_hours', quiet)] };
    },
  },
  {
    name: 'group',
    does: "a subscriber's alert messages on one channel that are due together leave as one message",
    run: (s) => ({ ...s, deliveries: s.deliveries.map((d) => ({ ...d, groupKey: groupKeyOf(d) })) }),
  },
];

/**
 * Runs the alert through every stage, in order. Pure: the same inputs give the same plan. `stages`
 * is for tests that show what a bypassed stage would change.
 */
export function planFanOut(
  alert: FanOutAlert,
  inputs: FanOutInputs,
  stages: readonly FanOutStage[] = FANOUT_STAGES,
): FanOutPlan {
  let s: PlanState = { alert, inputs, recipients: [], deliveries: [], held: [] };
  for (const stage of stages) s = stage.run(s);
  return {
    ...(s.silenceId ? { silenceId: s.silenceId } : {}),
    ...(s.inhibitor ? { inhibitor: s.inhibitor } : {}),
    deliveries: [...s.deliveries],
    held: [...s.held],
  };
}
