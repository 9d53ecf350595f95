/**
 * Where may we connect? The guard for every request to a URL someone else chose (webhook
 * endpoints, news feeds): such a URL must not reach our own network. Refused: loopback, private
 * ranges, link-local (cloud metadata at 169.254.169.254), CGNAT, multicast, reserved and
 * documentation ranges, and their IPv6 forms (including IPv4-mapped `::ffff:a.b.c.d`,
 * IPv4-compatible `::a.b.c.d` and NAT64 `64:ff9b::a.b.c.d`, which embed an IPv4 address and are
 * judged by it).
 *
 * The check runs on what the host RESOLVES to, at request time, and the caller then connects to
 * those checked addresses only ({@link pinnedLookup}): a DNS answer that changes between check and
 * connect (rebinding) cannot redirect the request. A caller that follows redirects checks every
 * hop again. `allowedCidrs` re-opens ranges on purpose (tests on 127.0.0.1, an on-premises
 * receiver or feed).
 */
import { promises as dns } from 'node:dns';
import net, { BlockList, type LookupFunction } from 'node:net';
import { DomainError } from '@signals/core';

export type UnsafeUrlReason = 'invalid_url' | 'scheme' | 'credentials' | 'address';

/**
 * The URL may not be called: it must be changed (not retryable). The message is in our words and
 * is what a caller shows (an admin page, a subscriber's form): it names no secret and nothing the
 * caller did not give, so no address a name resolves to. `detail` holds that, for the log only.
 */
export class UnsafeUrlError extends DomainError {
  constructor(
    message: string,
    readonly reason: UnsafeUrlReason,
    /** For `address`: the refused range's name ("loopback", "private", "link-local (cloud metadata)"...). */
    readonly refusal?: string,
    /** For the log, never a page: what the host resolved to ("vm resolves to 127.0.0.1 (loopback)"). */
    readonly detail?: string,
  ) {
    super('url_refused', message);
  }
}

/**
 * The host did not resolve (NXDOMAIN, resolver down): may work later. The message says
 * "unreachable" without the host or the resolver's code; `detail` has both, for the log only.
 */
export class HostResolutionError extends DomainError {
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super('host_unresolved', message, { retryable: true });
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** DNS resolution, injectable for tests; the default is `dns.lookup(host, { all: true })`. */
export type LookupFn = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export interface UrlPolicy {
  /** CIDRs (`127.0.0.1/32`, `fd00::/8`) or single addresses that are allowed although reserved. */
  allowedCidrs?: readonly string[];
  /** The same, already built with {@link allowList} (callers that check many URLs build it once). */
  allowed?: BlockList;
  lookup?: LookupFn;
  /** What the URL is, for messages: "webhook URL", "feed URL" (default "URL"). */
  label?: string;
}

const DENIED_V4: readonly [string, number, string][] = [
  ['0.0.0.0', 8, '"this network"'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

// ::ffff:0:0/96 and 64:ff9b::/96 are not listed: they embed an IPv4 address, judged by it.
const DENIED_V6: readonly [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['::', 96, 'IPv4-compatible'],
  ['::ffff:0:0:0', 96, 'IPv4-translated'],
  ['64:ff9b:1::', 48, 'NAT64 local use'],
  ['100::', 64, 'discard'],
  ['2001::', 32, 'Teredo'],
  ['2001:2::', 48, 'benchmarking'],
  ['2001:10::', 28, 'ORCHID'],
  ['2001:20::', 28, 'ORCHIDv2'],
  ['2001:db8::', 32, 'documentation'],
  ['2002::', 16, '6to4'],
  ['3fff::', 20, 'documentation'],
  ['fc00::', 7, 'unique local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

const DENY_LISTS: readonly { label: string; list: BlockList }[] = [...DENIED_V4, ...DENIED_V6].map(
  ([net_, prefix, label]) => {
    const list = new BlockList();
    list.addSubnet(net_, prefix, net_.includes(':') ? 'ipv6' : 'ipv4');
    return { label, list };
  },
);

/** The eight 16-bit groups of an IPv6 address, or null. Handles `::` and a trailing dotted quad. */
function ipv6Groups(ip: string): number[] | null {
  let s = ip.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!net.isIPv4(tail)) return null;
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string | undefined) => (part ? part.split(':').map((h) => Number.parseInt(h, 16)) : []);
  const head = parse(halves[0]);
  const rest = parse(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (fill < 0) return null;
  const groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return null;
  return groups;
}

/** The IPv4 address embedded in an IPv4-mapped, IPv4-compatible or NAT64 IPv6 address. */
export function embeddedIPv4(ip: string): string | null {
  const g = ipv6Groups(ip);
  if (!g) return null;
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = g;
  const v4 = `${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`;
  const zeroPrefix = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (zeroPrefix && g5 === 0xffff) return v4; // ::ffff:a.b.c.d
  // ::a.b.c.d (deprecated IPv4-compatible); ::, ::1 and the like are judged as IPv6.
  if (zeroPrefix && g5 === 0 && g6 !== 0) return v4;
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return v4; // NAT64
  return null;
}

function parseCidr(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [addr = '', prefixText] = cidr.trim().split('/');
  const v = net.isIP(addr);
  if (v === 0) throw new Error(`allowedCidrs: "${cidr}" is not an address or CIDR`);
  const max = v === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new Error(`allowedCidrs: "${cidr}" has an invalid prefix length`);
  }
  return { address: addr, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** A BlockList holding the allowed CIDRs. Throws on a malformed entry (a configuration error). */
export function allowList(cidrs: readonly string[] = []): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const { address, prefix, family } = parseCidr(c);
    list.addSubnet(address, prefix, family);
  }
  return list;
}

function familyOf(ip: string): 'ipv4' | 'ipv6' | null {
  const v = net.isIP(ip);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : null;
}

/**
 * Why `ip` may not be called (e.g. "loopback"), or null when it may: a public address, or one
 * inside the allow list.
 */
export function refusalReason(ip: string, allowed: BlockList = new BlockList()): string | null {
  const family = familyOf(ip);
  if (!family) return 'not an IP address';
  const v4 = family === 'ipv6' ? embeddedIPv4(ip) : ip;
  if (allowed.check(ip, family) || (v4 && allowed.check(v4, 'ipv4'))) return null;
  if (v4) {
    for (const d of DENY_LISTS) if (d.list.check(v4, 'ipv4')) return d.label;
    return null;
  }
  for (const d of DENY_LISTS) if (d.list.check(ip, 'ipv6')) return d.label;
  return null;
}

/**
 * Static checks on a URL: http(s) only, no credentials in it, a host. Throws
 * {@link UnsafeUrlError}. The message does not repeat the URL (it may carry a token).
 */
export function parseHttpUrl(raw: string, label = 'URL'): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UnsafeUrlError(`${label} is not a valid absolute URL`, 'invalid_url');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UnsafeUrlError(
      `${label} scheme "${u.protocol.replace(/:$/, '')}" is not allowed (http or https only)`,
      'scheme',
    );
  }
  if (u.username || u.password) {
    throw new UnsafeUrlError(`${label} must not contain credentials (user:password@)`, 'credentials');
  }
  if (!u.hostname) throw new UnsafeUrlError(`${label} has no host`, 'invalid_url');
  return u;
}

/** The URL's hostname without IPv6 brackets. */
export function bareHostname(u: URL): string {
  return u.hostname.replace(/^\[(.*)\]$/, '$1');
}

const defaultLookup: LookupFn = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/**
 * Resolves the host and checks every address it resolves to: one refused address refuses the URL
 * (a host that answers with both a public and a private address is either misconfigured or a
 * rebinding attempt). Returns the checked addresses, to connect to them and nothing else.
 */
export async function assertPublicUrl(
  raw: string,
  policy: UrlPolicy = {},
): Promise<{ url: URL; addresses: ResolvedAddress[] }> {
  const label = policy.label ?? 'URL';
  const url = parseHttpUrl(raw, label);
  const allowed = policy.allowed ?? allowList(policy.allowedCidrs);
  const host = bareHostname(url);
  let found: readonly { address: string; family: number }[];
  if (net.isIP(host)) {
    found = [{ address: host, family: net.isIP(host) }];
  } else {
    const unreachable = `${label} unreachable: no address was found for its host name`;
    try {
      found = await (policy.lookup ?? defaultLookup)(host);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new HostResolutionError(
        unreachable,
        `cannot resolve ${host}${typeof code === 'string' ? ` (${code})` : ''}`,
      );
    }
    if (found.length === 0) throw new HostResolutionError(unreachable, `cannot resolve ${host} (no address)`);
  }
  const addresses: ResolvedAddress[] = [];
  for (const a of found) {
    const reason = refusalReason(a.address, allowed);
    if (reason) {
      // An address the caller typed is theirs to see; what a name resolves to stays in the log.
      const message =
        host === a.address
          ? `${label} refused: ${host} is not a public address (${reason})`
          : `${label} refused: its host is not a public address`;
      throw new UnsafeUrlError(message, 'address', reason, `${host} resolves to ${a.address} (${reason})`);
    }
    addresses.push({ address: a.address, family: a.family === 6 ? 6 : 4 });
  }
  return { url, addresses };
}

/**
 * A `lookup` for http(s).request / net.connect that answers with the already checked addresses,
 * whatever DNS says now (Host and TLS SNI keep the URL's hostname).
 */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return ((_hostname: string, opts: { family?: number | string; all?: boolean }, cb: (...args: unknown[]) => void) => {
    const fam = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : opts.family;
    const list = fam === 4 || fam === 6 ? addresses.filter((a) => a.family === fam) : addresses;
    const first = list[0];
    if (!first) {
      const err = Object.assign(new Error('no checked address for the requested family'), { code: 'ENOTFOUND' });
      cb(err, opts.all ? [] : undefined);
      return;
    }
    if (opts.all)
      cb(
        null,
        list.map((a) => ({ address: a.address, family: a.family })),
      );
    else cb(null, first.address, first.family);
  }) as unknown as LookupFunction;
}
