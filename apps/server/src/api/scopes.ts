/**
 * API key scopes: the one table of which scope each API route needs. The route builder in
 * routes.ts reads it for both the check (a route middleware) and the OpenAPI document (each
 * operation's `security` and `x-scope`), and refuses to build a route missing from it, so the two
 * cannot drift. Scopes are a set, not levels: a key holds exactly the ones it was given.
 *
 *   read   GET of watchlists, instruments, rules, alerts, silences, inhibit rules, endpoints, deliveries, feeds
 *   write  watchlists, rules, silences, inhibit rules, feeds, endpoints, message templates, backtests and previews
 *   admin  API keys, subscribers' addresses, deletions, the admin account (password, sessions)
 *
 * Admin sessions hold every scope.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv, Auth } from '../context.ts';
import { HttpProblem } from '../problem.ts';

import { SCOPES, type Scope } from './scope-names.ts';

export { SCOPES, type Scope };

/** "METHOD /path" as in the OpenAPI document (path relative to /api) -> the scope it needs. */
export const ROUTE_SCOPES = {
  'GET /watchlists': 'read',
  'POST /watchlists': 'write',
  'GET /watchlists/{id}': 'read',
  'PATCH /watchlists/{id}': 'write',
  'DELETE /watchlists/{id}': 'admin',
  'GET /watchlists/{id}/members': 'read',
  'POST /watchlists/{id}/members': 'write',
  // Taking a symbol off a list is an edit of the list (undone by adding it back), not a deletion.
  'DELETE /watchlists/{id}/members/{symbol}': 'write',
  'GET /instruments': 'read',
  'GET /instruments/{symbol}': 'read',

  'GET /rules': 'read',
  'POST /rules': 'write',
  'GET /rules/kinds': 'read',
  'GET /rules/templates': 'read',
  // Previews and backtests change nothing but cost CPU: they come with the right to edit rules.
  'POST /rules/preview': 'write',
  'GET /rules/{id}': 'read',
  'PATCH /rules/{id}': 'write',
  'DELETE /rules/{id}': 'admin',
  'POST /backtest': 'write',

  'GET /alerts': 'read',
  'GET /alerts/{id}': 'read',
  'GET /alerts/{id}/deliveries': 'read',

  'GET /silences': 'read',
  'POST /silences': 'write',
  'GET /silences/{id}': 'read',
  'POST /silences/{id}/expire': 'write',

  'GET /inhibit-rules': 'read',
  'POST /inhibit-rules': 'write',
  'GET /inhibit-rules/{id}': 'read',
  // Like expiring a silence: notifications flow again, nothing is lost (held alerts keep their record).
  'DELETE /inhibit-rules/{id}': 'write',

  // Subscribers are people's email addresses.
  'GET /subscribers': 'admin',
  'GET /subscribers/{id}': 'admin',
  'DELETE /subscribers/{id}': 'admin',
  'POST /subscribers/{id}/reactivate': 'admin',

  'GET /webhook-endpoints': 'read',
  'POST /webhook-endpoints': 'write',
  'GET /webhook-endpoints/{id}': 'read',
  'PATCH /webhook-endpoints/{id}': 'write',
  'DELETE /webhook-endpoints/{id}': 'admin',
  'POST /webhook-endpoints/{id}/rotate': 'write',
  'POST /webhook-endpoints/{id}/test': 'write',
  'GET /webhook-endpoints/{id}/deliveries': 'read',
  'POST /deliveries/{id}/redeliver': 'write',

  'GET /feeds': 'read',
  'POST /feeds': 'write',
  'GET /feeds/{id}': 'read',
  'PATCH /feeds/{id}': 'write',
  'DELETE /feeds/{id}': 'admin',

  // What subscribers and chat channels receive, like an endpoint's format: an edit, undone by another.
  'GET /message-templates': 'read',
  'PUT /message-templates/{key}': 'write',
  'DELETE /message-templates/{key}': 'write',
  'POST /message-templates/{key}/preview': 'write',

  'GET /api-keys': 'admin',
  'POST /api-keys': 'admin',
  'DELETE /api-keys/{id}': 'admin',

  // The account behind the key: as much power as minting keys.
  'GET /account/sessions': 'admin',
  'DELETE /account/sessions': 'admin',
  'POST /account/password': 'admin',
} as const satisfies Record<string, Scope>;

/** The scope a route needs; throws (at start, while routes are built) for a route not in the table. */
export function scopeOf(method: string, path: string): Scope {
  const scope = (ROUTE_SCOPES as Record<string, Scope>)[`${method.toUpperCase()} ${path}`];
  if (!scope) throw new Error(`API route ${method.toUpperCase()} ${path} has no scope in api/scopes.ts`);
  return scope;
}

/** What the caller may do: an admin session everything, a key its own scopes. */
export function grantedScopes(auth: Auth | undefined): readonly Scope[] {
  if (!auth) return [];
  return auth.kind === 'session' ? SCOPES : auth.scopes;
}

/**
 * Subscribers' email addresses are the `admin` scope's to read, also where a mail server quotes
 * one in a delivery error: readers without it get them masked (services/alerts.ts deliveryView).
 */
export function deliveryReaderOf(auth: Auth | undefined): { addresses: boolean } {
  return { addresses: grantedScopes(auth).includes('admin') };
}

/** True when `have` includes every scope of `need` (a key may only hand on what it holds). */
export function covers(have: readonly Scope[], need: readonly Scope[]): boolean {
  return need.every((s) => have.includes(s));
}

/** 403 problem+json unless the authenticated caller holds `scope` (RFC 6750 insufficient_scope). */
export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const have = grantedScopes(c.get('auth'));
    if (!have.includes(scope)) {
      throw new HttpProblem(
        403,
        'Insufficient scope',
        {
          type: 'https://signals.dev/problems/insufficient-scope',
          detail: `this route needs an API key with the "${scope}" scope; this key has: ${have.join(', ') || 'none'}`,
        },
        { 'www-authenticate': `Bearer realm="signals", error="insufficient_scope", scope="${scope}"` },
      );
    }
    return next();
  };
}
