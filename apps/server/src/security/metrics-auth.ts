/**
 * /metrics behind METRICS_TOKEN: Prometheus sends it as `Authorization: Bearer <token>`
 * (`authorization.credentials` in its scrape config). Unset: open in development; closed (403)
 * with NODE_ENV=production, where an open /metrics would tell anyone on the internet the queue
 * depths, rules and traffic. Closed rather than refusing to start: an install that does not scrape
 * needs no token, and a warning at start says how to open it.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';
import { safeEqual, sha256 } from './session.ts';

export function metricsAuth(token: string | undefined, opts: { production: boolean }): MiddlewareHandler<AppEnv> {
  // Compared as digests: equal lengths, so the comparison time tells nothing about the token's length.
  const expected = token ? sha256(token) : null;
  return async (c, next) => {
    if (!expected) {
      if (!opts.production) return next();
      return c.text('Forbidden: /metrics is closed in production until METRICS_TOKEN is set\n', 403);
    }
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    if (m && safeEqual(sha256(m[1] as string), expected)) return next();
    return c.text('Unauthorized: /metrics needs Authorization: Bearer <METRICS_TOKEN>\n', 401, {
      'www-authenticate': 'Bearer realm="metrics"',
    });
  };
}
