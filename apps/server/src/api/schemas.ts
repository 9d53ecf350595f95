/** Response and parameter schemas of the API (requests reuse the services' schemas). */
import { INTRADAY_INTERVALS, RULE_KINDS, UNIT_DESCRIPTIONS, UNITS } from '@signals/core';
import { z } from '@hono/zod-openapi';
import { WEBHOOK_FORMATS } from '@signals/notify';
import { text } from '../input.ts';
import { SCOPES } from './scopes.ts';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const IdParam = z.object({
  id: text({ min: 1, max: 64 }).openapi({ param: { name: 'id', in: 'path' } }),
});
export const IdSymbolParam = z.object({
  id: text({ min: 1, max: 64 }).openapi({ param: { name: 'id', in: 'path' } }),
  symbol: text({ min: 1, max: 24 }).openapi({ param: { name: 'symbol', in: 'path' }, example: 'NVDA' }),
});
export const SymbolParam = z.object({
  symbol: text({ min: 1, max: 24 }).openapi({ param: { name: 'symbol', in: 'path' }, example: 'NVDA' }),
});

const iso = z.string().openapi({ format: 'date-time' });

export const InstrumentSchema = z
  .looseObject({
    symbol: z.string(),
    name: z.string().nullable(),
    status: z.string(),
    freshness: z.string(),
    lastPrice: z.number().nullable(),
    prevClose: z.number().nullable(),
    dayMove: z.number().nullable().openapi({ description: 'fraction, 0.012 = +1.2 %' }),
    lastSourceAt: iso.nullable(),
  })
  .openapi('Instrument');

export const WatchlistSummarySchema = z
  .looseObject({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    memberCount: z.number().int(),
  })
  .openapi('WatchlistSummary');

export const WatchlistSchema = z
  .looseObject({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    members: z.array(InstrumentSchema),
  })
  .openapi('Watchlist');

export const RuleSchema = z
  .looseObject({
    id: z.string(),
    seedId: z.string().nullable(),
    name: z.string(),
    kind: z.string().openapi({ description: `the rule kind: ${RULE_KINDS.join(', ')}` }),
    params: z.unknown(),
    symbols: z.array(z.string()),
    watchlistId: z.string().nullable(),
    severity: z.string(),
    cooldownSec: z.number().int(),
    enabled: z.boolean(),
    summary: z.string().nullable(),
  })
  .openapi('Rule');

export const BacktestHitSchema = z
  .object({
    ruleId: z.string(),
    ruleName: z.string(),
    symbol: z.string(),
    at: z
      .string()
      .openapi({ description: 'session date (YYYY-MM-DD) on daily bars; ISO start of the bar on intraday bars' }),
    value: z.number(),
    threshold: z.number(),
    unit: z.enum(UNITS).openapi({
      description: Object.entries(UNIT_DESCRIPTIONS)
        .map(([u, d]) => `${u}: ${d}`)
        .join('; '),
    }),
    valueText: z.string().openapi({ description: 'the value as every surface renders it, e.g. "-10.8 sd"' }),
    thresholdText: z.string(),
  })
  .openapi('BacktestHit');

const channelCounts = z.object({
  email: z.number().int(),
  webhook: z.number().int(),
  ntfy: z.number().int(),
  telegram: z.number().int(),
});
const heldCounts = z.object({
  silenced: z.number().int(),
  inhibited: z.number().int(),
  time_intervals: z.number().int(),
  quiet_hours: z.number().int(),
});

export const DeliveryForecastSchema = z
  .object({
    sent: channelCounts.openapi({
      description:
        'messages sent when the alerts fired (alerts due together for one recipient and channel: one message)',
    }),
    held: heldCounts.extend({ total: z.number().int() }).openapi({
      description:
        'messages held: silenced, inhibited, muted outside time intervals (per recipient), and those that waited for quiet hours to end (then sent)',
    }),
    afterQuietHours: channelCounts.openapi({ description: 'messages that left when quiet hours ended' }),
    perAlert: z.array(
      z.object({
        ruleId: z.string(),
        subject: z.string(),
        at: z.string().openapi({ description: 'the instant the alert is taken at (a daily bar: its session close)' }),
        sent: channelCounts,
        held: heldCounts,
        silenceId: z.string().optional(),
        inhibitedBy: z.object({ ruleId: z.string(), subject: z.string(), at: z.string() }).optional(),
      }),
    ),
    text: z.string().openapi({
      description:
        'e.g. "would have sent 412 emails, 37 webhooks, 9 Telegram messages; 55 held: 30 quiet hours, 20 inhibited, 5 silenced"',
    }),
  })
  .openapi('DeliveryForecast');

export const BacktestOutcomeSchema = z
  .object({
    alerts: z.array(BacktestHitSchema),
    deliveries: DeliveryForecastSchema.optional().openapi({
      description: 'who would have been told (with `deliveries: true`); nothing was written or sent',
    }),
    summary: z.looseObject({
      from: z.string(),
      to: z.string(),
      symbols: z.array(z.string()),
      barsUsed: z.number().int(),
      total: z.number().int(),
      byRule: z.array(z.object({ ruleId: z.string(), ruleName: z.string(), fired: z.number().int() })),
      resolution: z.object({ interval: z.enum(['1d', ...INTRADAY_INTERVALS]), reason: z.string() }).openapi({
        description:
          'The bars the backtest ran on ("1d" daily, else intraday) and why. On intraday bars an alert\'s `at` is the ISO start of its bar; on daily bars the session date (YYYY-MM-DD).',
      }),
    }),
  })
  .openapi('BacktestOutcome');

export const RulePreviewSchema = z
  .object({
    description: z.string(),
    symbols: z.array(z.string()),
    fired: z.number().int(),
    backtest: BacktestOutcomeSchema.nullable(),
    note: z.string().nullable(),
    deliveries: DeliveryForecastSchema.nullable()
      .optional()
      .openapi({ description: "who the preview's alerts would have told (null without a backtest)" }),
  })
  .openapi('RulePreview');

export const DeliverySchema = z
  .looseObject({
    id: z.string(),
    channel: z.string(),
    eventType: z.string(),
    status: z.string(),
    attempts: z.number().int(),
    attemptLog: z.array(
      z.looseObject({ startedAt: z.string(), outcome: z.string(), statusCode: z.number().nullable() }),
    ),
  })
  .openapi('Delivery');

export const AlertSummarySchema = z
  .looseObject({
    id: z.string(),
    ruleId: z.string(),
    subject: z.string(),
    status: z.string(),
    value: z.number(),
    threshold: z.number(),
    unit: z.enum(UNITS),
    valueText: z.string(),
    thresholdText: z.string(),
    firedAt: iso,
    silenceId: z.string().nullable().openapi({ description: 'set when a silence held its notifications back' }),
    inhibitedBy: z
      .string()
      .nullable()
      .openapi({ description: 'id of the firing alert whose inhibit rule held its notifications back' }),
  })
  .openapi('AlertSummary');

export const AlertSchema = z
  .looseObject({
    id: z.string(),
    subject: z.string(),
    status: z.string(),
    firedAt: iso,
    unit: z.enum(UNITS),
    valueText: z.string(),
    thresholdText: z.string(),
    bars: z.array(z.looseObject({ time: z.string(), close: z.number() })),
    headlines: z.array(z.looseObject({ title: z.string() })),
    deliveries: z.array(DeliverySchema),
    inhibitedBy: z
      .string()
      .nullable()
      .openapi({ description: 'id of the firing alert whose inhibit rule held its notifications back' }),
  })
  .openapi('Alert');

export const SilenceSchema = z
  .object({
    id: z.string(),
    ruleId: z.string().nullable(),
    ruleName: z.string().nullable(),
    subject: z.string().nullable(),
    startsAt: iso,
    endsAt: iso,
    state: z.enum(['pending', 'active', 'expired']),
    comment: z.string(),
    createdBy: z.string().nullable(),
    createdAt: iso,
    silencedAlerts: z.number().int().openapi({ description: 'alerts it held back so far' }),
  })
  .openapi('Silence');

const InhibitMatcherSchema = z.object({
  ruleId: z.string().nullable(),
  ruleName: z.string().nullable(),
  severity: z.enum(['info', 'warning', 'critical']).nullable(),
  watchlistId: z.string().nullable(),
  watchlistName: z.string().nullable(),
});

export const InhibitRuleSchema = z
  .object({
    id: z.string(),
    seedId: z.string().nullable().openapi({ description: 'set for the default rules loaded by the seeds' }),
    source: InhibitMatcherSchema,
    target: InhibitMatcherSchema,
    equal: z.array(z.string()),
    comment: z.string().nullable(),
    createdBy: z.string().nullable(),
    createdAt: iso,
    inhibitedAlerts: z.number().int().openapi({ description: 'alerts it held back so far' }),
  })
  .openapi('InhibitRule');

export const SubscriberSchema = z
  .looseObject({ id: z.string(), email: z.string(), status: z.string(), mode: z.string() })
  .openapi('Subscriber');

export const EndpointSchema = z
  .looseObject({
    id: z.string(),
    url: z.string(),
    status: z.string(),
    eventTypes: z.array(z.string()),
    format: z.enum(WEBHOOK_FORMATS).openapi({
      description: 'standard: the versioned event; slack / discord / teams: a chat message for a channel webhook URL',
    }),
    activeIntervals: z.array(z.looseObject({})).openapi({
      description: 'time intervals it is sent during (weekdays, times, months, market, location); empty: always',
    }),
  })
  .openapi('WebhookEndpoint');

export const EndpointWithSecretSchema = z
  .object({
    endpoint: EndpointSchema,
    secret: z.string().openapi({ description: 'whsec_ signing secret: shown only in this answer' }),
  })
  .openapi('WebhookEndpointWithSecret');

export const TestResultSchema = z
  .object({
    deliveryId: z.string(),
    ok: z.boolean(),
    status: z.number().int().nullable(),
    durationMs: z.number(),
    responseSnippet: z.string(),
    error: z.string().nullable(),
  })
  .openapi('WebhookTestResult');

export const FeedSchema = z
  .looseObject({ id: z.string(), url: z.string(), name: z.string(), enabled: z.boolean(), status: z.string() })
  .openapi('Feed');

export const ApiKeySchema = z
  .looseObject({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    expiresAt: z.string().nullable().openapi({ description: 'null: never expires' }),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    mintedById: z
      .string()
      .nullable()
      .openapi({ description: 'the key that made this one (revoking it revokes this one); null: an admin made it' }),
  })
  .openapi('ApiKey');

export const ApiKeyWithSecretSchema = z
  .object({ apiKey: ApiKeySchema, key: z.string().openapi({ description: 'sk_ key: shown only in this answer' }) })
  .openapi('ApiKeyWithSecret');

export const RuleKindSchema = z
  .looseObject({
    kind: z.string(),
    label: z.string(),
    params: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the params (bounds included)' }),
    form: z.array(z.looseObject({ id: z.string(), path: z.string(), fields: z.array(z.unknown()) })),
    unit: z.enum(UNITS),
    template: z.looseObject({ label: z.string(), params: z.record(z.string(), z.unknown()) }),
  })
  .openapi('RuleKind');

export const TemplateSchema = z
  .looseObject({ id: z.string(), label: z.string(), source: z.enum(['seed', 'kind']), input: z.unknown() })
  .openapi('RuleTemplate');
