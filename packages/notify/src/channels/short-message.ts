/**
 * Short message texts for a subscriber's own channels (ntfy, Telegram): short plain text, the same for both, built from the
 * alert view with the email's value and time formatting so every surface reads the same.
 */
import type { AlertView } from '../alert-view.ts';
import { formatTime, formatValue } from '../format.ts';
import type { ShortMessage } from './types.ts';

const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** ntfy priority and tags by severity: critical is urgent (5), warning high (4), info default (3). */
export function severityStyle(a: Pick<AlertView, 'severity' | 'status'>): Pick<ShortMessage, 'priority' | 'tags'> {
  if (a.status === 'resolved') return { priority: 3, tags: ['white_check_mark', 'resolved'] };
  if (a.severity === 'critical') return { priority: 5, tags: ['rotating_light', 'critical'] };
  if (a.severity === 'warning') return { priority: 4, tags: ['warning', 'warning'] };
  return { priority: 3, tags: ['information_source', 'info'] };
}

export function renderAlertMessage(a: AlertView): ShortMessage {
  const unit = a.unit ?? 'fraction';
  const lines = [
    `${a.symbol}: ${formatValue(a.value, unit)} (threshold ${formatValue(a.threshold, unit)})`,
    `Rule: ${a.rule.name}`,
    `${a.status === 'resolved' ? 'Resolved' : 'Fired'}: ${formatTime(a.status === 'resolved' ? (a.resolvedAt ?? a.firedAt) : a.firedAt)}`,
  ];
  const news = a.headlines
    .slice(0, 3)
    .map((h) => `- ${cut(h.title, 140)}${h.link && /^https?:\/\//i.test(h.link) ? ` ${h.link}` : ''}`);
  if (news.length) lines.push('', 'Headlines:', ...news);
  const first = a.headlines.find((h) => h.link && /^https?:\/\//i.test(h.link));
  return {
    title: cut(`${a.status === 'resolved' ? 'Resolved: ' : ''}${a.title}`, 200),
    body: cut(lines.join('\n'), 3500),
    ...severityStyle(a),
    ...(first?.link ? { click: first.link } : {}),
  };
}

/** The confirmation sent to a new ntfy topic: alerts flow only once its owner opens the link. */
export function renderChannelConfirmMessage(link: string): ShortMessage {
  return {
    title: 'Confirm Market Signals alerts on this topic',
    body: `Someone asked for Market Signals alerts on this topic. If that was you, open this link and press Confirm:\n${link}\nNothing else is sent here until then.`,
    priority: 3,
    tags: ['envelope'],
    click: link,
  };
}

/** Several alerts due together (a sell-off across names, or held by quiet hours) as one message. */
export function renderDigestMessage(alerts: readonly AlertView[]): ShortMessage {
  const rank = { critical: 3, warning: 2, info: 1 } as const;
  const top = [...alerts].sort((a, b) => rank[b.severity] - rank[a.severity])[0] as AlertView;
  const lines = alerts.map((a) => {
    const unit = a.unit ?? 'fraction';
    return `- ${a.status === 'resolved' ? 'Resolved: ' : ''}${cut(a.title, 160)} (${formatValue(a.value, unit)}, ${formatTime(a.firedAt)})`;
  });
  return {
    title: `${alerts.length} Market Signals alerts`,
    body: cut(lines.join('\n'), 3500),
    ...severityStyle(top),
  };
}
