/**
 * The REST API under /api: JSON in, JSON out, every error as problem+json. Requests are validated
 * by the same zod schemas the OpenAPI 3.1 document (/api/openapi.json) is generated from.
 * Each resource registers its routes from its own module under api/routes/; this file composes
 * them in a fixed order (the order of the document's paths, and /rules/kinds before /rules/{id}).
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv, Runtime } from '../context.ts';
import { cleanJsonBody, limitBody } from '../input.ts';
import { fieldErrors, validationProblem } from '../problem.ts';
import { apiAuth } from '../security/auth.ts';
import { registerAccountRoutes } from './routes/account.ts';
import { registerAlertRoutes } from './routes/alerts.ts';
import { registerApiKeyRoutes } from './routes/api-keys.ts';
import { registerBacktestRoutes } from './routes/backtest.ts';
import { registerEndpointRoutes } from './routes/endpoints.ts';
import { registerFeedRoutes } from './routes/feeds.ts';
import { registerInhibitRuleRoutes } from './routes/inhibit-rules.ts';
import { registerInstrumentRoutes } from './routes/instruments.ts';
import { registerMessageTemplateRoutes } from './routes/message-templates.ts';
import { registerRuleRoutes } from './routes/rules.ts';
import { registerSilenceRoutes } from './routes/silences.ts';
import { registerSubscriberRoutes } from './routes/subscribers.ts';
import { registerWatchlistRoutes } from './routes/watchlists.ts';

export function createApi(rt: Runtime) {
  const api = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const prefix = result.target === 'json' ? [] : [result.target === 'param' ? 'path' : result.target];
        return validationProblem(c, fieldErrors(result.error, prefix));
      }
    },
  });
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'API key (sk_...), created on the admin page or with POST /api/api-keys',
  });
  api.openAPIRegistry.registerComponent('securitySchemes', 'session', {
    type: 'apiKey',
    in: 'cookie',
    name: 'signals_session',
    description: 'Admin session; state-changing requests also need the X-CSRF-Token header',
  });

  api.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Market Signals API',
      version: '1.0.0',
      license: { name: 'MIT', url: 'https://opensource.org/license/mit' },
      description: 'Watchlists, rules, backtests, alerts, subscribers, webhook endpoints, feeds and API keys.',
    },
    servers: [{ url: rt.baseUrl }],
  });

  api.use('*', async (c, next) => {
    // The document alone is public: exactly this path, not anything ending like it.
    if (c.req.path === '/api/openapi.json') return next();
    return apiAuth(rt)(c, next);
  });
  api.use('*', limitBody, cleanJsonBody);

  registerWatchlistRoutes(api, rt);
  registerInstrumentRoutes(api, rt);
  registerRuleRoutes(api, rt);
  registerBacktestRoutes(api, rt);
  registerAlertRoutes(api, rt);
  registerSilenceRoutes(api, rt);
  registerInhibitRuleRoutes(api, rt);
  registerSubscriberRoutes(api, rt);
  registerEndpointRoutes(api, rt);
  registerFeedRoutes(api, rt);
  registerMessageTemplateRoutes(api, rt);
  registerApiKeyRoutes(api, rt);
  registerAccountRoutes(api, rt);

  return api;
}
