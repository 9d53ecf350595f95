/**
 * /metrics behind METRICS_TOKEN: Prometheus sends it as `Authorization: Bearer <token>`
 * (`authorization.credentials` in its scrape config). Unset: /metrics stays open, as before, for
 * deployments that keep it on a private network.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';
import { safeEqual, sha256 } from './session.ts';

export function metricsAuth(token: string | undefined): MiddlewareHandler<AppEnv> {
  // Compared as digests: equal lengths, so the comparison time tells nothing about the token's length.
  const expected = token ? sha256(token) : null;
  return async (c, next) => {
    if (!expected) return next();
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    if (m && safeEqual(sha256(m[1] as string), expected)) return next();
    return c.text('Unauthorized: /metrics needs Authorization: Bearer <METRICS_TOKEN>\n', 401, {
      'www-authenticate': 'Bearer realm="metrics"',
    });
  };
}
