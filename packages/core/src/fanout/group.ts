/**
 * Stage 6, group: the one place that says which deliveries leave together. Alert messages to a
 * subscriber on one channel (email, ntfy, Telegram) share a group key, and the delivery worker
 * claims every due row of a group at once (repos/outbox.ts claimDeliveries reads the stored key):
 * the alerts of a sector-wide sell-off, or those held by quiet hours, leave as one message.
 * Webhooks, confirmations and service notices leave alone.
 */
import type { FanOutChannel } from './types.ts';

const GROUPED_CHANNELS: ReadonlySet<string> = new Set<FanOutChannel>(['email', 'ntfy', 'telegram']);
const GROUPED_EVENTS: ReadonlySet<string> = new Set(['alert.firing', 'alert.resolved']);

/** True for an alert message to a subscriber (the kind of delivery that is grouped). */
export function isAlertMessage(d: { channel: string; eventType: string }): boolean {
  return GROUPED_CHANNELS.has(d.channel) && GROUPED_EVENTS.has(d.eventType);
}

/** The group key stored on a delivery row, or null when it leaves alone. */
export function groupKeyOf(d: {
  channel: string;
  eventType: string;
  subscriberId?: string | null | undefined;
}): string | null {
  return isAlertMessage(d) && d.subscriberId ? `${d.subscriberId}:${d.channel}` : null;
}

/**
 * How many messages a set of deliveries makes: rows of one group due at the same instant leave as
 * one message; every other row is a message of its own.
 */
export function countMessages(
  deliveries: readonly { groupKey: string | null; notBefore: Date; channel: FanOutChannel }[],
): Record<FanOutChannel, number> {
  const out: Record<FanOutChannel, number> = { email: 0, webhook: 0, ntfy: 0, telegram: 0 };
  const seen = new Set<string>();
  for (const d of deliveries) {
    if (d.groupKey) {
      const k = `${d.groupKey}@${d.notBefore.getTime()}`;
      if (seen.has(k)) continue;
      seen.add(k);
    }
    out[d.channel]++;
  }
  return out;
}
