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

function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : defaultPort };
}

/** The Redis nodes to try: the one of a single Redis, or a cluster's seed nodes (any one will do). */
function redisNodes(target: RedisTarget): { host: string; port: number }[] {
  return target.cluster ? target.cluster.nodes : [hostPort(target.url, 6379)];
}

/** Does Postgres (and Redis, when given) answer? One TCP connection each, 2 s at most. */
export async function probeServices(
  databaseUrl: string,
  redis?: RedisTarget,
): Promise<{ postgres: boolean; redis: boolean }> {
  const pg = hostPort(databaseUrl, 5432);
  const [postgres, ...nodes] = await Promise.all([
    reachable(pg.host, pg.port),
    ...(redis ? redisNodes(redis).map((n) => reachable(n.host, n.port)) : []),
  ]);
  return { postgres: !!postgres, redis: !redis || nodes.some(Boolean) };
}

/**
 * Checks that Postgres and (when `redis` is given) Redis answer. Returns a paragraph for people
 * (no stack trace) naming what is down and how to start it, or null when all are up.
 */
export async function checkServices(databaseUrl: string, redis?: RedisTarget): Promise<string | null> {
  const pg = hostPort(databaseUrl, 5432);
  const { postgres: pgOk, redis: redisOk } = await probeServices(databaseUrl, redis);
  if (pgOk && redisOk) return null;
  const nodes = redis ? redisNodes(redis).map((n) => `${n.host}:${n.port}`) : [];
  const where = redis?.cluster ? `any of the Redis Cluster nodes ${nodes.join(', ')}` : `Redis at ${nodes[0]}`;
  const down = [
    pgOk ? null : `PostgreSQL at ${pg.host}:${pg.port} (DATABASE_URL)`,
    redisOk ? null : `${where} (REDIS_URL)`,
  ].filter(Boolean);
  return (
    `Cannot reach ${down.join(' and ')}. The service keeps its data in PostgreSQL and its work queue in ` +
    'Redis, and needs both running before it starts. Start them with `docker compose up -d postgres redis` ' +
    'from this folder, or start the local services (for example `sudo systemctl start postgresql redis-server`, ' +
    'or `pg_ctlcluster <version> main start` and `redis-server --daemonize yes`), or point DATABASE_URL and ' +
    'REDIS_URL at servers that are running; then run this command again.'
  );
}
