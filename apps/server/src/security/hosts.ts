/**
 * Host check on /admin and /api. A DNS-rebinding page (evil.example resolving first to its own
 * server, then to 127.0.0.1) makes the victim's browser talk to a server on localhost as a
 * same-origin request: the browser still sends `Host: evil.example`. Answering only the hosts this
 * server is known by (PUBLIC_BASE_URL's host and port, ALLOWED_HOSTS) closes that door. When the
 * public host is a loopback name, the other loopback names on the same port are accepted too:
 * a rebinding page cannot present those, since its own origin is its own name.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';
import { problem } from '../problem.ts';

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

/** `host[:port]` as a URL of this scheme spells it: lower case, default port dropped. */
function normalHost(hostPort: string, protocol: string): string | null {
  try {
    const u = new URL(`${protocol}//${hostPort}`);
    // Anything beyond host[:port] (a path, credentials) means this was not a Host value.
    if (u.username || u.password || u.pathname !== '/' || u.search || u.hash) return null;
    return u.host;
  } catch {
    return null;
  }
}

/** The Host values /admin and /api answer: the base URL's host, its loopback aliases, ALLOWED_HOSTS. */
export function allowedHosts(baseUrl: string, extra: readonly string[]): Set<string> {
  const base = new URL(baseUrl);
  const out = new Set<string>([base.host]);
  if (LOOPBACK.includes(base.hostname)) {
    for (const name of LOOPBACK) out.add(base.port ? `${name}:${base.port}` : name);
  }
  for (const h of extra) {
    const n = normalHost(h, base.protocol);
    if (n) out.add(n);
  }
  return out;
}

/**
 * Refuses (421 Misdirected Request, problem+json) a request whose Host header, or the host of an
 * absolute request target, is not one of `allowed`.
 */
export function hostGuard(baseUrl: string, allowed: Set<string>): MiddlewareHandler<AppEnv> {
  const protocol = new URL(baseUrl).protocol;
  return async (c, next) => {
    // The request URL's host comes from the Host header, or from an absolute request target.
    const given = [c.req.header('host'), new URL(c.req.url).host].filter((h): h is string => !!h);
    const bad = given.find((h) => {
      const n = normalHost(h, protocol);
      return !n || !allowed.has(n);
    });
    if (bad === undefined) return next();
    return problem(c, 421, 'Misdirected Request', {
      type: 'https://signals.dev/problems/unknown-host',
      detail:
        `This server does not answer /admin and /api for the host "${bad.slice(0, 100)}". ` +
        `Open ${baseUrl} instead, or add the host to ALLOWED_HOSTS.`,
    });
  };
}
