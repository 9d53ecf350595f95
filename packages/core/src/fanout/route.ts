/**
 * Stage 3, route per channel: who wants this alert. Confirmed subscribers who asked for its rule,
 * its rule's watchlist or a watchlist of its symbol get an email and a message on each confirmed
 * channel of theirs (ntfy, Telegram); active webhook endpoints that accept the event type get a
 * webhook. A resolved notice goes out only when the rule asks for one.
 */
import type { FanOutAlert, FanOutChannel, FanOutInputs, FanOutRule, FanOutSubscriber } from './types.ts';

/** One recipient on one channel, before the timing stages. */
export interface Recipient {
  channel: FanOutChannel;
  /** `email:<subscriberId>`, `webhook:<endpointId>`, `<kind>:<channelId>` (as the Delivery row's target). */
  target: string;
  subscriber?: FanOutSubscriber;
  channelId?: string;
  endpointId?: string;
  /** The time intervals that limit it (any active is enough; an empty interval list is always active). */
  intervals: readonly unknown[];
  /** Where the intervals are read: the subscriber's zone, or UTC for an endpoint. */
  timeZone: string;
}

interface SubscriberIndex {
  /** Subscribers by the rule (`r:<id>`) or watchlist (`w:<id>`) their subscriptions name. */
  by: Map<string, FanOutSubscriber[]>;
  /** Each subscriber's place in the list as loaded. */
  order: Map<FanOutSubscriber, number>;
}
/** Built once per subscriber list (an evaluation cycle's, a backtest's), not once per alert. */
const indexes = new WeakMap<readonly FanOutSubscriber[], SubscriberIndex>();
function indexOf(subscribers: readonly FanOutSubscriber[]): SubscriberIndex {
  const cached = indexes.get(subscribers);
  if (cached) return cached;
  const idx = new Map<string, FanOutSubscriber[]>();
  for (const s of subscribers) {
    const keys = new Set<string>();
    for (const x of s.subscriptions) {
      if (x.ruleId) keys.add(`r:${x.ruleId}`);
      if (x.watchlistId) keys.add(`w:${x.watchlistId}`);
    }
    for (const k of keys) {
      const list = idx.get(k) ?? [];
      if (list.length === 0) idx.set(k, list);
      list.push(s);
    }
  }
  const index = { by: idx, order: new Map(subscribers.map((s, i) => [s, i] as const)) };
  indexes.set(subscribers, index);
  return index;
}

export function eventTypeOf(alert: Pick<FanOutAlert, 'status'>): 'alert.firing' | 'alert.resolved' {
  return alert.status === 'firing' ? 'alert.firing' : 'alert.resolved';
}

/** Every recipient of the alert, subscribers first (in the order loaded), then endpoints. */
export function routeAlert(alert: FanOutAlert, rule: FanOutRule | undefined, inputs: FanOutInputs): Recipient[] {
  if (alert.status === 'resolved' && !rule?.notifyResolved) return [];
  const watchlists = new Set<string>();
  if (rule?.watchlistId) watchlists.add(rule.watchlistId);
  for (const w of (alert.symbol && inputs.watchlistsOf.get(alert.symbol)) || []) watchlists.add(w);
  const matches = (x: FanOutSubscriber['subscriptions'][number]) =>
    x.ruleId === alert.ruleId || (x.watchlistId !== null && watchlists.has(x.watchlistId));

  const { by, order } = indexOf(inputs.subscribers);
  const lists: FanOutSubscriber[][] = [];
  for (const key of [`r:${alert.ruleId}`, ...[...watchlists].map((w) => `w:${w}`)]) {
    const list = by.get(key);
    if (list?.length) lists.push(list);
  }
  // The order loaded, so the rows are written in the same order whichever index found them. One
  // list (the usual case: one popular watchlist) is in that order already, without repeats.
  let subscribers: readonly FanOutSubscriber[];
  if (lists.length <= 1) subscribers = lists[0] ?? [];
  else {
    const found = new Set<FanOutSubscriber>();
    for (const list of lists) for (const s of list) found.add(s);
    subscribers = [...found].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  }

  const out: Recipient[] = [];
  const channels: Recipient[] = [];
  for (const s of subscribers) {
    const intervals = s.subscriptions.filter(matches).map((x) => x.activeIntervals);
    out.push({ channel: 'email', target: `email:${s.id}`, subscriber: s, intervals, timeZone: s.timeZone });
    for (const ch of s.channels)
      channels.push({
        channel: ch.kind,
        target: `${ch.kind}:${ch.id}`,
        subscriber: s,
        channelId: ch.id,
        intervals,
        timeZone: s.timeZone,
      });
  }
  out.push(...channels);
  const type = eventTypeOf(alert);
  for (const e of inputs.endpoints) {
    if (e.eventTypes.length > 0 && !e.eventTypes.includes(type)) continue;
    out.push({
      channel: 'webhook',
      target: `webhook:${e.id}`,
      endpointId: e.id,
      intervals: [e.activeIntervals],
      timeZone: 'UTC',
    });
  }
  return out;
}
