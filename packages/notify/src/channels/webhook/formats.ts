/**
 * Webhook body formats. `standard` is the versioned event (events.ts, with its JSON Schema): for
 * systems. `slack` and `discord` render the same event as a chat message that a Slack or Discord
 * "incoming webhook" URL posts to a channel as is, so a team can point an endpoint at its channel
 * without a relay in between. Every format is sent with the same Standard Webhooks headers.
 *
 * Text from outside (rule names, headlines from feeds) is escaped for the target's markup, and
 * Discord is told to ping nobody: a headline with "@everyone" must not page a whole server.
 */
import type { AlertPayload, IncidentPayload, WebhookEvent } from './events.ts';
import { serializeEvent } from './events.ts';
import { formatMeasure } from '@signals/core';
import { formatTime, formatWindow, oneLine } from '../../format.ts';

export const WEBHOOK_FORMATS = ['standard', 'slack', 'discord', 'teams'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** The bytes to sign and send to an endpoint of `format`. */
export function renderWebhookBody(event: WebhookEvent, format: WebhookFormat): string {
  switch (format) {
    case 'standard':
      return serializeEvent(event);
    case 'slack':
      return JSON.stringify(slackMessage(event));
    case 'discord':
      return JSON.stringify(discordMessage(event));
    case 'teams':
      return JSON.stringify(teamsMessage(event));
  }
}

const alertOf = (event: WebhookEvent): AlertPayload | null =>
  event.type === 'alert.firing' || event.type === 'alert.resolved'
    ? ((event.data as { alert?: AlertPayload }).alert ?? null)
    : null;

const incidentOf = (event: WebhookEvent): IncidentPayload | null =>
  event.type === 'service.degraded' || event.type === 'service.recovered'
    ? ((event.data as { incident?: IncidentPayload }).incident ?? null)
    : null;

const messageOf = (event: WebhookEvent): string =>
  oneLine(String((event.data as { message?: unknown }).message ?? event.type), 500);

const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const httpUrl = (u: string | null | undefined): string | null => (u && /^https?:\/\/[^\s<>|]+$/i.test(u) ? u : null);

function headline(a: AlertPayload): string {
  const verb = a.status === 'resolved' ? 'Resolved' : a.severity === 'critical' ? 'Critical' : 'Alert';
  return `${verb}: ${oneLine(a.title, 200)}`;
}

function facts(a: AlertPayload): [string, string][] {
  const out: [string, string][] = [
    ['Symbol', a.symbol],
    ['Move', formatMeasure(a.value, a.threshold, a.unit ?? 'fraction')],
    ['Rule', oneLine(a.rule.name, 200)],
  ];
  const window = formatWindow(
    a.windowStart ? new Date(a.windowStart) : null,
    a.windowEnd ? new Date(a.windowEnd) : null,
  );
  if (window) out.push(['Window', window]);
  out.push([a.status === 'resolved' ? 'Resolved' : 'Fired', formatTime(new Date(a.resolvedAt ?? a.firedAt))]);
  return out;
}

/** "Degraded: Rule evaluation has stopped" / "Recovered: Rule evaluation runs again". */
function incidentHeadline(i: IncidentPayload): string {
  return i.status === 'recovered'
    ? `Recovered: ${oneLine(i.name, 100)} runs again`
    : `Degraded: ${oneLine(i.name, 100)} has stopped`;
}

function incidentFacts(i: IncidentPayload): [string, string][] {
  const out: [string, string][] = [
    ['Loop', `${oneLine(i.name, 100)} (${i.loop}), every ${i.intervalSec} s`],
    ['Last success', i.lastSuccessAt ? formatTime(new Date(i.lastSuccessAt)) : 'never'],
    ['Overdue since', formatTime(new Date(i.overdueSince))],
  ];
  if (i.recoveredAt) out.push(['Recovered', formatTime(new Date(i.recoveredAt))]);
  else out.push(['Why', oneLine(i.reason, 300)]);
  return out;
}

/** What a chat message shows: the alert's or the incident's headline, facts and link. */
function summaryOf(event: WebhookEvent): {
  title: string;
  facts: [string, string][];
  url: string | null;
  tone: 'critical' | 'warning' | 'info' | 'resolved';
} | null {
  const a = alertOf(event);
  if (a)
    return { title: headline(a), facts: facts(a), url: a.url, tone: a.status === 'resolved' ? 'resolved' : a.severity };
  const i = incidentOf(event);
  if (i)
    return {
      title: incidentHeadline(i),
      facts: incidentFacts(i),
      url: i.url,
      tone: i.status === 'recovered' ? 'resolved' : 'critical',
    };
  return null;
}

// ---------------------------------------------------------------------------------------------
// Slack: { text, blocks } (Block Kit); mrkdwn needs &, < and > escaped, links are <url|label>.
// ---------------------------------------------------------------------------------------------

const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const slackLink = (url: string | null, label: string) => {
  const safe = httpUrl(url);
  return safe ? `<${slackEscape(safe)}|${slackEscape(label)}>` : slackEscape(label);
};

function slackMessage(event: WebhookEvent) {
  const sum = summaryOf(event);
  if (!sum) {
    const text = slackEscape(messageOf(event));
    return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
  }
  const title = sum.title;
  const blocks: object[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${slackLink(sum.url, title)}*` } },
    {
      type: 'section',
      fields: sum.facts.map(([k, v]) => ({ type: 'mrkdwn', text: cut(`*${k}*\n${slackEscape(v)}`, 2000) })),
    },
  ];
  const a = alertOf(event);
  if (!a) return { text: slackEscape(title), blocks };
  if (a.rule.sourcePassage) {
    blocks.push({
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: cut(`From the article: “${slackEscape(oneLine(a.rule.sourcePassage, 500))}”`, 2000) },
      ],
    });
  }
  if (a.headlines.length) {
    const lines = a.headlines.slice(0, 5).map((h) => `• ${slackLink(h.link, oneLine(h.title, 200))}`);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(`*Headlines*\n${lines.join('\n')}`, 3000) } });
  }
  // `text` is the notification and the fallback where blocks are not shown.
  return { text: slackEscape(title), blocks };
}

// ---------------------------------------------------------------------------------------------
// Discord: { content, embeds, allowed_mentions }. Embed limits: title 256, description 4096,
// 25 fields (name 256, value 1024), 6000 characters in all.
// ---------------------------------------------------------------------------------------------

/** Markdown characters get a backslash ("# ", "> ", "- " only at a line start); no @ pings. */
const discordEscape = (s: string) =>
  s
    .replace(/([\\*_~`|[\]])/g, '\\$1')
    .replace(/^([#>-])(?=\s)/gm, '\\$1')
    .replace(/@/g, '@\u200b');
const COLOR = { critical: 0xd93025, warning: 0xf29900, info: 0x1a73e8, resolved: 0x188038 } as const;

function discordMessage(event: WebhookEvent) {
  const noPings = { parse: [] as string[] };
  const sum = summaryOf(event);
  if (!sum) return { content: cut(discordEscape(messageOf(event)), 2000), allowed_mentions: noPings };
  const a = alertOf(event);
  const description = [
    a?.rule.sourcePassage ? `From the article: “${discordEscape(oneLine(a.rule.sourcePassage, 500))}”` : '',
    ...(a?.headlines ?? []).slice(0, 5).map((h) => {
      const url = httpUrl(h.link);
      const title = discordEscape(oneLine(h.title, 200));
      return url ? `• [${title}](${url})` : `• ${title}`;
    }),
  ]
    .filter(Boolean)
    .join('\n');
  const embed: Record<string, unknown> = {
    title: cut(oneLine(sum.title, 256), 256),
    color: COLOR[sum.tone],
    fields: sum.facts.map(([name, value]) => ({ name, value: cut(discordEscape(value), 1024), inline: true })),
    timestamp: a ? (a.resolvedAt ?? a.firedAt) : event.timestamp,
    footer: { text: 'Market Signals' },
  };
  const url = httpUrl(sum.url);
  if (url) embed.url = url;
  if (description) embed.description = cut(description, 2000);
  return { content: null, embeds: [embed], allowed_mentions: noPings };
}

// ---------------------------------------------------------------------------------------------
// Microsoft Teams (Workflows webhook): a message with one Adaptive Card. Card markdown knows only
// emphasis, links and lists, so only those marks in feed text are escaped (other backslashes show
// as such on Teams mobile); the alert link is a button; "@name" text never mentions anyone.
// ---------------------------------------------------------------------------------------------

const teamsEscape = (s: string) => s.replace(/([\\*_[\]])/g, '\\$1').replace(/^(\s*)([-+]|\d+\.)(\s)/, '$1\\$2$3');

function teamsMessage(event: WebhookEvent) {
  const sum = summaryOf(event);
  const a = alertOf(event);
  const body: object[] = [];
  const actions: object[] = [];
  if (!sum) {
    body.push({ type: 'TextBlock', text: teamsEscape(messageOf(event)), wrap: true });
  } else {
    body.push({
      type: 'TextBlock',
      text: teamsEscape(sum.title),
      weight: 'Bolder',
      size: 'Medium',
      wrap: true,
      color: sum.tone === 'resolved' ? 'Good' : sum.tone === 'info' ? 'Accent' : 'Attention',
    });
    body.push({ type: 'FactSet', facts: sum.facts.map(([title, value]) => ({ title, value: teamsEscape(value) })) });
    if (a?.rule.sourcePassage) {
      body.push({
        type: 'TextBlock',
        text: `From the article: “${teamsEscape(oneLine(a.rule.sourcePassage, 500))}”`,
        isSubtle: true,
        wrap: true,
      });
    }
    for (const h of (a?.headlines ?? []).slice(0, 5)) {
      const url = httpUrl(h.link);
      const title = teamsEscape(oneLine(h.title, 200));
      body.push({ type: 'TextBlock', text: url ? `• [${title}](${url})` : `• ${title}`, wrap: true, spacing: 'Small' });
    }
    const url = httpUrl(sum.url);
    if (url) actions.push({ type: 'Action.OpenUrl', title: a ? 'Open the alert' : 'Open the System page', url });
  }
  return teamsCard(body, actions);
}

/** The Teams Workflows envelope: one Adaptive Card (1.4) with these body elements and actions. */
export function teamsCard(body: readonly object[], actions: readonly object[] = []) {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          ...(actions.length ? { actions } : {}),
        },
      },
    ],
  };
}
