/**
 * The client's address, as rate limits and sessions see it. Without TRUST_PROXY it is the peer of
 * the TCP connection and X-Forwarded-For is ignored (anyone can write that header). With
 * TRUST_PROXY (CIDRs of our own reverse proxies) and a peer inside them, it is the right-most
 * address of X-Forwarded-For that is not a trusted proxy: each proxy appends the address it saw,
 * so entries left of the first untrusted one were written by the client and prove nothing.
 */
import net, { BlockList } from 'node:net';

/** `::ffff:1.2.3.4` (a dual-stack socket's view of an IPv4 peer) as `1.2.3.4`; other values as given. */
export function normalizeIp(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return mapped && net.isIPv4(mapped[1] as string) ? (mapped[1] as string) : ip;
}

/** An X-Forwarded-For entry without the port some proxies add (`1.2.3.4:5678`, `[2001:db8::1]:443`). */
function entryIp(entry: string): string | null {
  let s = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracketed) s = bracketed[1] as string;
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  return net.isIP(s) ? normalizeIp(s) : null;
}

export interface TrustedProxies {
  has(ip: string): boolean;
}

/**
 * The trusted proxies of TRUST_PROXY, or null when it is empty (the header is then ignored).
 * The CIDRs were checked by the config schema (address and prefix length per family).
 */
export function trustedProxies(cidrs: readonly string[]): TrustedProxies | null {
  if (cidrs.length === 0) return null;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefix = ''] = cidr.split('/');
    list.addSubnet(address, Number(prefix), net.isIPv4(address) ? 'ipv4' : 'ipv6');
  }
  return {
    has(ip) {
      const v = net.isIP(ip);
      return v !== 0 && list.check(ip, v === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/**
 * The client address of a request whose TCP peer is `peer`. A malformed X-Forwarded-For entry
 * stops the walk: the last trusted hop before it is taken as the client, so garbage cannot pick
 * the address a rate limit counts against.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trusted: TrustedProxies | null,
): string {
  if (!peer) return 'unknown';
  let client = normalizeIp(peer);
  if (!trusted || !forwardedFor || !trusted.has(client)) return client;
  const entries = forwardedFor.split(',');
  for (let i = entries.length - 1; i >= 0; i--) {
    const ip = entryIp(entries[i] as string);
    if (!ip) break;
    client = ip;
    if (!trusted.has(ip)) break;
  }
  return client;
}
