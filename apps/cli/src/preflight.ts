import net from 'node:net';
import type { RedisTarget } from '@signals/config';

/** Can we open a TCP connection to host:port within timeoutMs? */
export function reachable(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : defaultPort };
}

/**
 * The Redis nodes to try: the one of a single Redis, or a cluster's seed nodes (any one will do).
 * Every host and port of REDIS_URL comes from here: a cluster URL is not a URL `new URL` reads.
 */
export function redisNodes(target: RedisTarget): { host: string; port: number }[] {
  return target.cluster ? target.cluster.nodes : [hostPort(target.url, 6379)];
}

/** The services to check: Postgres by DATABASE_URL, Redis by REDIS_URL; either may be left out. */
export interface Services {
  databaseUrl?: string;
  redis?: RedisTarget;
}

/** Does each given service answer (one TCP connection each, 2 s at most)? Left-out ones count as up. */
export async function probeServices(s: Services): Promise<{ postgres: boolean; redis: boolean }> {
  const pg = s.databaseUrl ? hostPort(s.databaseUrl, 5432) : undefined;
  const [postgres, redis] = await Promise.all([
    pg ? reachable(pg.host, pg.port) : true,
    s.redis
      ? Promise.all(redisNodes(s.redis).map((n) => reachable(n.host, n.port))).then((r) => r.some(Boolean))
      : true,
  ]);
  return { postgres, redis };
}

/**
 * Checks that the given services answer. Returns a paragraph for people (no stack trace) naming
 * what is down and how to start it, or null when all are up.
 */
export async function checkServices(s: Services): Promise<string | null> {
  const up = await probeServices(s);
  if (up.postgres && up.redis) return null;
  const pg = s.databaseUrl ? hostPort(s.databaseUrl, 5432) : undefined;
  const nodes = s.redis ? redisNodes(s.redis).map((n) => `${n.host}:${n.port}`) : [];
  const where = s.redis?.cluster ? `any of the Redis Cluster nodes ${nodes.join(', ')}` : `Redis at ${nodes[0]}`;
  return servicesDownMessage([
    ...(up.postgres || !pg ? [] : [`PostgreSQL at ${pg.host}:${pg.port} (DATABASE_URL)`]),
    ...(up.redis ? [] : [`${where} (REDIS_URL)`]),
  ]);
}

/** The paragraph for services that do not answer, each named with its variable. */
function servicesDownMessage(down: string[]): string {
  return (
    `Cannot reach ${down.join(' and ')}. The service keeps its data in PostgreSQL and its work queue in ` +
    'Redis, and needs both running before it starts. Start the local services (for example ' +
    '`sudo systemctl start postgresql redis-server`, or `pg_ctlcluster <version> main start` and ' +
    '`redis-server --daemonize yes`), or point DATABASE_URL and REDIS_URL at servers that are running, or ' +
    'leave both unset so that `npm start` runs an embedded PostgreSQL and a local redis-server itself ' +
    '(`docker compose up -d` runs the whole service with its own databases instead); then run this command again.'
  );
}
