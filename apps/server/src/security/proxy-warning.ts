/**
 * A server behind a reverse proxy without TRUST_PROXY sees every visitor as the proxy's address:
 * one visitor's wrong logins then lock out everyone (the admin included), and 20 subscribes an
 * hour block all of them. Nothing can be told at start; the first request that arrives with
 * X-Forwarded-For or Forwarded tells. This watches for it, warns in the log (at once, then at
 * most hourly) and keeps the finding for the System page's banner.
 */
import type { Logger } from 'pino';

export interface ProxyHeaderWatch {
  /** Called for every request with its forwarding headers. */
  observe(forwardedFor: string | undefined, forwarded: string | undefined): void;
  /** The first forwarded request this process saw while TRUST_PROXY is unset, or null. */
  finding(): { since: Date; header: string; count: number } | null;
}

const LOG_EVERY_MS = 3_600_000;

export function proxyHeaderWatch(opts: {
  trustProxySet: boolean;
  logger: Pick<Logger, 'warn'>;
  now?: () => number;
}): ProxyHeaderWatch {
  const now = opts.now ?? Date.now;
  let first: { since: Date; header: string; count: number } | null = null;
  let loggedAt = Number.NEGATIVE_INFINITY;
  return {
    observe(forwardedFor, forwarded) {
      if (opts.trustProxySet || (!forwardedFor && !forwarded)) return;
      const header = forwardedFor ? 'X-Forwarded-For' : 'Forwarded';
      const t = now();
      if (!first) first = { since: new Date(t), header, count: 0 };
      first.count++;
      if (t - loggedAt >= LOG_EVERY_MS) {
        loggedAt = t;
        opts.logger.warn(
          { header, requests: first.count },
          `requests arrive with ${header} but TRUST_PROXY is unset: every client behind the proxy counts as the proxy's address (rate limits, login limits). Set TRUST_PROXY to the proxy's CIDR (see "Behind a reverse proxy" in the README)`,
        );
      }
    },
    finding: () => (first ? { ...first } : null),
  };
}
