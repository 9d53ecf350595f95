/**
 * Operators' own message texts, per channel, in LiquidJS (https://liquidjs.com): a well-kept
 * template language run sandboxed here. No file or network access (templates render from an empty
 * in-memory mapping, so include/render/layout find nothing), own properties only, unknown filters
 * refused, and bounded: template length (parseLimit), render time (renderLimit) and memory
 * (memoryLimit). When no template is set the channel sends today's built-in message; a template
 * that fails at send time falls back to it (the caller logs), so the alert is never lost.
 *
 * Variables: `alert` (see {@link alertVariables}) and `service.url`.
 */
import { Liquid } from 'liquidjs';
import type { AlertView } from '../alert-view.ts';
import { formatTime, formatValue, formatWindow } from '../email/format.ts';
import { alertAdminUrl } from '../links.ts';
import { teamsCard } from '../webhook/chat.ts';

/** The templates an operator can set, one per channel text. */
export const TEMPLATE_KEYS = {
  'email.subject': { label: 'Email subject', channel: 'email', maxLength: 300 },
  'email.body': {
    label: 'Email body (plain text; the HTML part shows the same text)',
    channel: 'email',
    maxLength: 10_000,
  },
  slack: { label: 'Slack message', channel: 'webhook', maxLength: 3000 },
  discord: { label: 'Discord message', channel: 'webhook', maxLength: 2000 },
  teams: { label: 'Microsoft Teams message', channel: 'webhook', maxLength: 3000 },
  telegram: { label: 'Telegram message', channel: 'telegram', maxLength: 4000 },
  ntfy: { label: 'ntfy message body', channel: 'ntfy', maxLength: 4000 },
} as const;
export type TemplateKey = keyof typeof TEMPLATE_KEYS;
export const TEMPLATE_KEY_LIST = Object.keys(TEMPLATE_KEYS) as TemplateKey[];

/** Limits of one template: source characters, render time, memory (LiquidJS's own counters). */
export const TEMPLATE_LIMITS = { parseLimit: 20_000, renderLimitMs: 200, memoryLimit: 2_000_000 } as const;

const engine = new Liquid({
  templates: {}, // never the file system: include, render and layout resolve to nothing
  relativeReference: false,
  dynamicPartials: false,
  strictFilters: true,
  strictVariables: false,
  ownPropertyOnly: true,
  cache: 200,
  parseLimit: TEMPLATE_LIMITS.parseLimit,
  renderLimit: TEMPLATE_LIMITS.renderLimitMs,
  memoryLimit: TEMPLATE_LIMITS.memoryLimit,
});

/** The variables of one alert, as templates see them: plain data, formatted texts beside raw values. */
export function alertVariables(a: AlertView, publicBaseUrl: string) {
  const unit = a.unit ?? 'fraction';
  return {
    alert: {
      id: a.id,
      title: a.title,
      symbol: a.symbol,
      status: a.status,
      severity: a.severity,
      value: a.value,
      threshold: a.threshold,
      unit,
      valueText: formatValue(a.value, unit),
      thresholdText: formatValue(a.threshold, unit),
      firedAt: a.firedAt.toISOString(),
      firedAtText: formatTime(a.firedAt),
      resolvedAt: a.resolvedAt?.toISOString() ?? null,
      window: formatWindow(a.windowStart, a.windowEnd),
      url: alertAdminUrl(publicBaseUrl, a.id),
      rule: {
        name: a.rule.name,
        description: a.rule.description,
        sourceArticle: a.rule.sourceArticle,
        sourcePassage: a.rule.sourcePassage,
      },
      headlines: a.headlines.map((h) => ({
        title: h.title,
        link: h.link,
        publishedAt: h.publishedAt?.toISOString() ?? null,
      })),
    },
    service: { url: publicBaseUrl },
  };
}

/** The variable names, for the admin page's help. */
export const TEMPLATE_VARIABLES = [
  'alert.title',
  'alert.symbol',
  'alert.status',
  'alert.severity',
  'alert.value',
  'alert.valueText',
  'alert.threshold',
  'alert.thresholdText',
  'alert.unit',
  'alert.firedAt',
  'alert.firedAtText',
  'alert.resolvedAt',
  'alert.window',
  'alert.url',
  'alert.rule.name',
  'alert.rule.description',
  'alert.rule.sourceArticle',
  'alert.rule.sourcePassage',
  'alert.headlines[].title / .link / .publishedAt',
  'service.url',
] as const;

export class TemplateError extends Error {}

/** Parse errors of a template source, as one message with its line, or null when it parses. */
export function templateProblem(key: TemplateKey, source: string): string | null {
  if (source.length > TEMPLATE_KEYS[key].maxLength) return `must be at most ${TEMPLATE_KEYS[key].maxLength} characters`;
  try {
    engine.parse(source);
    return null;
  } catch (err) {
    return (err as Error).message.split('\n')[0]?.slice(0, 300) ?? 'does not parse';
  }
}

/**
 * Renders a template against an alert's variables, within the limits. Throws TemplateError (with
 * LiquidJS's message) on a parse or render error, an empty result, or a result over the channel's
 * length.
 */
export async function renderTemplate(key: TemplateKey, source: string, vars: object): Promise<string> {
  let out: string;
  try {
    out = (await engine.parseAndRender(source, vars)).trim();
  } catch (err) {
    throw new TemplateError((err as Error).message.split('\n')[0]?.slice(0, 300) ?? 'render failed');
  }
  if (!out) throw new TemplateError('the template rendered an empty message');
  return out.length > TEMPLATE_KEYS[key].maxLength ? `${out.slice(0, TEMPLATE_KEYS[key].maxLength - 1)}…` : out;
}

/** A chat webhook body (Slack, Discord, Teams) around a template's text. */
export function chatBodyOf(key: 'slack' | 'discord' | 'teams', text: string): string {
  if (key === 'slack') return JSON.stringify({ text });
  if (key === 'discord') return JSON.stringify({ content: text.slice(0, 2000), allowed_mentions: { parse: [] } });
  return JSON.stringify(teamsCard([{ type: 'TextBlock', text, wrap: true }]));
}
