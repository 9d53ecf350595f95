/**
 * REDIS_URL names either one Redis (`redis://`, `rediss://`, as ioredis reads them) or a Redis
 * Cluster: `redis+cluster://[user:pass@]host1:port1,host2:port2` (`rediss+cluster://` for TLS). A
 * cluster URL lists seed nodes; the client discovers the others from them.
 */

/** One seed node of a cluster. */
export interface RedisNode {
  host: string;
  port: number;
}

/**
 * Where the queues live, as `createRedis` in @signals/queue accepts it: `url` is what the operator
 * wrote (for messages; redact it before logging), `cluster` is set for a Redis Cluster.
 */
export interface RedisTarget {
  url: string;
  cluster?: {
    nodes: RedisNode[];
    username?: string;
    password?: string;
    /** rediss+cluster:// */
    tls: boolean;
  };
}

const CLUSTER = /^(rediss?)\+cluster:\/\/(.*)$/i;

/** Parses REDIS_URL. Throws an Error whose message says what is wrong (no secrets in it). */
export function parseRedisUrl(value: string): RedisTarget {
  const m = CLUSTER.exec(value);
  if (!m) {
    let protocol: string;
    try {
      protocol = new URL(value).protocol;
    } catch {
      throw new Error(
        'must be a URL: redis://host:port, rediss://host:port or redis+cluster://host1:port1,host2:port2',
      );
    }
    if (protocol !== 'redis:' && protocol !== 'rediss:')
      throw new Error('must start with redis://, rediss://, redis+cluster:// or rediss+cluster://');
    return { url: value };
  }
  const tls = (m[1] as string).toLowerCase() === 'rediss';
  let rest = m[2] as string;
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(':');
    try {
      username = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth) || undefined;
      password = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) || undefined : undefined;
    } catch {
      throw new Error('the user or password is not valid URL encoding (encode "@", ":", "/" and "%")');
    }
  }
  // Only database 0 exists in a cluster; anything after the node list is a mistake worth naming.
  const end = rest.search(/[/?#]/);
  if (end >= 0) {
    const tail = rest.slice(end);
    if (tail !== '/' && tail !== '/0') throw new Error('a cluster URL takes no path, database number or options');
    rest = rest.slice(0, end);
  }
  const nodes = rest.split(',').map((part, i) => parseNode(part.trim(), i + 1));
  return { url: value, cluster: { nodes, tls, ...(username ? { username } : {}), ...(password ? { password } : {}) } };
}

function parseNode(part: string, n: number): RedisNode {
  // [::1]:7000 for IPv6, host:port otherwise; the port defaults to 6379.
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(part);
  if (!m) throw new Error(`node ${n} ("${part}") is not host:port`);
  const port = m[2] === undefined ? 6379 : Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`node ${n} has port ${m[2]}, outside 1-65535`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

/** True when `prefix` holds a non-empty hash tag (`{...}`), which keeps every key on one cluster slot. */
export function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  if (open < 0) return false;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1;
}
