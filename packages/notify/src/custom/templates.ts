/**
 * Operators' own message texts, per channel, in LiquidJS (https://liquidjs.com): a well-kept
 * template language run sandboxed here. No file or network access (templates render from an empty
 * in-memory mapping, so include/render/layout find nothing), own properties only, unknown filters
 * refused, and bounded: template length (parseLimit), render time (renderLimit), LiquidJS's own
 * allocation counter (memoryLimit), and our build budget: every character a render writes (its
 * output and every `{% capture %}`, at any depth) and every string or list a filter returns (so
 * what `{% assign %}` stores) counts against TEMPLATE_LIMITS.buildLimit, because LiquidJS counts
 * neither what a capture writes nor some filter results (url_encode, slugify...): a 103-character
 * template doubling a capture 26 times built 268 million characters within its limits (issue 18).
 * Renders run in worker threads (custom/pool.ts) with a hard time and memory cap on top.
 *
 * Chat templates (Slack, Discord, Teams) escape what `{{ ... }}` prints for their format
 * (custom/escape.ts); `{{ x | raw }}` prints it as it is. When no template is set the channel
 * sends today's built-in message; a template that fails at send time falls back to it (the caller
 * logs and notes it), so the alert is never lost.
 *
 * Variables: `alert` (see {@link alertVariables}) and `service.url`.
 */
import { createRequire } from 'node:module';
import type { Context, Liquid, Template } from 'liquidjs';
import type { AlertView } from '../alert-view.ts';
import { formatTime, formatValue, formatWindow } from '../format.ts';
import { alertAdminUrl } from '../links.ts';
import { teamsCard } from '../channels/webhook/formats.ts';
import { ESCAPERS, type TextFormat } from './escape.ts';

/** The templates an operator can set, one per channel text, with the format its variables are escaped for. */
export const TEMPLATE_KEYS = {
  'email.subject': { label: 'Email subject', channel: 'email', maxLength: 300, format: 'text' },
  'email.body': {
    label: 'Email body (plain text; the HTML part shows the same text)',
    channel: 'email',
    maxLength: 10_000,
    format: 'text',
  },
  slack: { label: 'Slack message', channel: 'webhook', maxLength: 3000, format: 'slack' },
  discord: { label: 'Discord message', channel: 'webhook', maxLength: 2000, format: 'discord' },
  teams: { label: 'Microsoft Teams message', channel: 'webhook', maxLength: 3000, format: 'teams' },
  telegram: { label: 'Telegram message', channel: 'telegram', maxLength: 4000, format: 'text' },
  ntfy: { label: 'ntfy message body', channel: 'ntfy', maxLength: 4000, format: 'text' },
} as const satisfies Record<string, { label: string; channel: string; maxLength: number; format: TextFormat }>;
export type TemplateKey = keyof typeof TEMPLATE_KEYS;
export const TEMPLATE_KEY_LIST = Object.keys(TEMPLATE_KEYS) as TemplateKey[];

/**
 * Limits of one template: source characters, render time and allocations (LiquidJS's own
 * counters), and buildLimit: characters a render may write and filters may return, in all.
 * renderLimitMs is wall-clock time: it was 200 ms when renders ran on the caller's thread; in a
 * render thread, with the build budget and the pool's hard limit behind it, 1 s spares ordinary
 * templates on a loaded machine (200 ms refused a plain loop there) and still stops a runaway loop.
 */
export const TEMPLATE_LIMITS = {
  parseLimit: 20_000,
  renderLimitMs: 1000,
  memoryLimit: 2_000_000,
  buildLimit: 1_000_000,
} as const;

export class TemplateError extends Error {}

/** Thrown inside a render past the build budget (LiquidJS wraps it with the line; the message survives). */
const BUILD_MESSAGE = `the template builds more than ${TEMPLATE_LIMITS.buildLimit.toLocaleString('en-US')} characters (a loop that doubles a string?)`;

/** Per render: characters built so far, and the texts captures produced (already escaped). */
interface Budget {
  used: number;
  captured: Set<string>;
}
const budgets = new WeakMap<Context, Budget>();
function budgetOf(ctx: Context): Budget {
  let b = budgets.get(ctx);
  if (!b) {
    b = { used: 0, captured: new Set() };
    budgets.set(ctx, b);
  }
  return b;
}
function charge(ctx: Context, n: number) {
  const b = budgetOf(ctx);
  if (b.used + n > TEMPLATE_LIMITS.buildLimit) throw new Error(BUILD_MESSAGE);
  b.used += n;
}
/** Characters (or items) a value stands for; arrays by their items, which were charged when built. */
function sizeOf(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) return v.length;
  return 0;
}
function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(textOf).join('');
  return String(v);
}
const isIterator = (v: unknown): v is Iterator<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as Iterator<unknown>).next === 'function' && 'throw' in v;

/** An emitter (where a render or a capture writes) that charges every write before making it. */
class CountingEmitter {
  buffer = '';
  constructor(private readonly ctx: Context) {}
  write(html: unknown) {
    const s = textOf(html);
    charge(this.ctx, s.length);
    this.buffer += s;
  }
}

type FilterHandler = (this: { context: Context }, ...args: unknown[]) => unknown;

/** LiquidJS loads with the first engine: a process that renders no custom template never holds it. */
let liquid: typeof import('liquidjs') | undefined;
const loadLiquid = () => {
  liquid ??= createRequire(import.meta.url)('liquidjs') as typeof import('liquidjs');
  return liquid;
};

function sandboxEngine(format: TextFormat): Liquid {
  const escapeFor = format === 'text' ? undefined : ESCAPERS[format];
  const engine = new (loadLiquid().Liquid)({
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
    // What {{ }} prints, escaped for the chat format, except a capture's text printed again (its
    // variables were escaped when it was captured) and `| raw`.
    ...(escapeFor
      ? {
          outputEscape(this: { context: Context }, v: unknown) {
            const s = textOf(v);
            return budgetOf(this.context).captured.has(s) ? s : escapeFor(s);
          },
        }
      : {}),
  });
  // Every write of a render, its captures included, goes through a counting emitter.
  const renderer = engine.renderer as unknown as {
    renderTemplates(t: Template[], ctx: Context, emitter?: unknown): Generator<unknown, string, unknown>;
  };
  const renderTemplates = renderer.renderTemplates.bind(renderer);
  renderer.renderTemplates = function* (templates, ctx, emitter) {
    if (emitter) return yield* renderTemplates(templates, ctx, emitter);
    const out = yield* renderTemplates(templates, ctx, new CountingEmitter(ctx));
    budgetOf(ctx).captured.add(out);
    return out;
  };
  // Every filter's result counts too, whether or not LiquidJS counts it (raw keeps its flag).
  for (const [name, f] of Object.entries(
    engine.filters as Record<string, FilterHandler | { raw?: boolean; handler: FilterHandler }>,
  )) {
    const handler = typeof f === 'function' ? f : f.handler;
    const counted: FilterHandler = function (...args) {
      const r = handler.apply(this, args);
      if (!isIterator(r)) {
        charge(this.context, sizeOf(r));
        return r;
      }
      const ctx = this.context;
      return (function* (): Generator<unknown, unknown, unknown> {
        const v = yield r;
        charge(ctx, sizeOf(v));
        return v;
      })();
    };
    engine.registerFilter(name, typeof f === 'function' ? counted : { raw: !!f.raw, handler: counted });
  }
  return engine;
}

const engines = new Map<TextFormat, Liquid>();
function engineFor(key: TemplateKey): Liquid {
  const format = TEMPLATE_KEYS[key].format;
  let e = engines.get(format);
  if (!e) {
    e = sandboxEngine(format);
    engines.set(format, e);
  }
  return e;
}

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

/** Parse errors of a template source, as one message with its line, or null when it parses. */
export function templateProblem(key: TemplateKey, source: string): string | null {
  if (source.length > TEMPLATE_KEYS[key].maxLength) return `must be at most ${TEMPLATE_KEYS[key].maxLength} characters`;
  try {
    engineFor(key).parse(source);
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
    out = (await engineFor(key).parseAndRender(source, vars)).trim();
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
