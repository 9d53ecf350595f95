/**
 * Security headers on every answer: no sniffing, no Referer (confirm and unsubscribe URLs carry
 * tokens), a strict CSP on our own HTML, HSTS when the public URL is https, and `no-store` on
 * everything that can show a key, a secret or an address.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';

const HTML_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The queue dashboard (bull-board) is a React app from its own package: its scripts and styles
 * come from /admin/queues/static, its page sets `<base href>` and inline styles, and it calls its
 * JSON API on our origin. Nothing from elsewhere (its Google Fonts link is blocked: the system
 * font is used), and no page of another site may frame it (clickjacking its retry/clean buttons).
 */
export const QUEUES_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'";

/** One year: browsers remember to use https for that long after one visit. */
export const HSTS_VALUE = 'max-age=31536000';

/**
 * Paths whose answers must never be kept by a browser or shared cache: the admin page and the API
 * (API keys, webhook secrets, subscriber addresses) and the public pages opened with a subscriber's
 * token (they show the address or act for it).
 */
export function isPrivatePath(path: string): boolean {
  if (path.startsWith('/admin/queues/static/')) return false; // the dashboard's own scripts and styles
  return (
    path === '/admin' ||
    path.startsWith('/admin/') ||
    path === '/api' ||
    path.startsWith('/api/') ||
    path === '/confirm' ||
    path === '/preferences' ||
    path.startsWith('/preferences/') ||
    path === '/channels' ||
    path.startsWith('/channels/') ||
    path === '/unsubscribe'
  );
}

export function securityHeaders(opts: { https: boolean }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    c.header('x-content-type-options', 'nosniff');
    // Confirm/unsubscribe URLs carry tokens: never leak them in a Referer.
    c.header('referrer-policy', 'no-referrer');
    if (opts.https) c.header('strict-transport-security', HSTS_VALUE);
    // Every answer to a form post too: a refused subscribe shows the address it was given.
    if (isPrivatePath(c.req.path) || (c.req.method !== 'GET' && c.req.method !== 'HEAD'))
      c.header('cache-control', 'no-store');
    if ((c.res.headers.get('content-type') ?? '').startsWith('text/html')) {
      const queues = c.req.path === '/admin/queues' || c.req.path.startsWith('/admin/queues/');
      c.header('content-security-policy', queues ? QUEUES_CSP : HTML_CSP);
      c.header('x-frame-options', 'DENY');
    }
  };
}
