/**
 * What ntfy and Telegram share as a subscriber's own channels: the checks on the stored channel
 * and subscriber, and the short message (an alert, several due together, or a topic confirmation).
 */
import type { AlertView } from '../alert-view.ts';
import { refuse } from './classify.ts';
import { renderAlertMessage, renderChannelConfirmMessage, renderDigestMessage } from './short-message.ts';
import type { DeliveryGroup, DeliveryRow, RenderEnv, Rendered, ShortMessage, TargetOf } from './types.ts';

export const OWN_CHANNEL_EVENTS = ['alert.firing', 'alert.resolved', 'channel.confirm'] as const;

/** The stored channel's state allows this event, its sealed token opens: the target; else why not. */
export function ownChannelTarget<T>(
  row: DeliveryRow,
  openSecret: (sealed: string) => string | null,
  make: (token: string | null) => T,
): TargetOf<T> {
  if (!row.channelId || !row.chStatus) return { ok: false, error: 'channel no longer exists' };
  let token: string | null = null;
  if (row.chTokenSealed) {
    token = openSecret(row.chTokenSealed);
    if (token === null) return { ok: false, error: 'the stored access token cannot be opened with the app key' };
  }
  if (row.eventType === 'channel.confirm') {
    if (row.chStatus !== 'pending') return { ok: false, error: `channel is ${row.chStatus}: no confirmation sent` };
  } else if (row.eventType === 'alert.firing' || row.eventType === 'alert.resolved') {
    // Nothing reaches a chat or topic its owner has not confirmed, or after they stopped it.
    if (row.chStatus !== 'confirmed') return { ok: false, error: `channel is ${row.chStatus}: not sent` };
    if (row.subStatus !== 'confirmed') return { ok: false, error: `subscriber is ${row.subStatus}: not sent` };
  } else return { ok: false, error: `unknown ${row.channel} event ${row.eventType}` };
  return { ok: true, target: make(token) };
}

/** The short message for the group; an operator's template for `key` replaces the text of a single alert. */
export async function renderOwnChannel(
  group: DeliveryGroup,
  env: RenderEnv,
  key: 'ntfy' | 'telegram',
  apply: (m: ShortMessage, text: string) => ShortMessage,
): Promise<Rendered<ShortMessage>> {
  if (group.eventType === 'channel.confirm') return { message: renderChannelConfirmMessage(await env.channelLink()) };
  const alerts = await env.alerts();
  if (alerts.length === 0) throw refuse('alert no longer exists');
  if (alerts.length > 1) return { message: renderDigestMessage(alerts) };
  const a = alerts[0] as AlertView;
  const own = await env.template(key, a);
  const message = renderAlertMessage(a);
  return { message: own.text ? apply(message, own.text) : message, ...(own.note ? { note: own.note } : {}) };
}
