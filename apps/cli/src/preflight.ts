import net from 'node:net';

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

/**
 * Checks that Postgres and (when `redisUrl` is given) Redis answer. Returns a paragraph for people
 * (no stack trace) naming what is down and how to start it, or null when all are up.
 */
export async function checkServices(databaseUrl: string, redisUrl?: string): Promise<string | null> {
  const pg = hostPort(databaseUrl, 5432);
  const rd = redisUrl === undefined ? undefined : hostPort(redisUrl, 6379);
  const [pgOk, redisOk] = await Promise.all([
    reachable(pg.host, pg.port),
    rd ? reachable(rd.host, rd.port) : Promise.resolve(true),
  ]);
  if (pgOk && redisOk) return null;
  const down = [
    pgOk ? null : `PostgreSQL at ${pg.host}:${pg.port} (DATABASE_URL)`,
    redisOk || !rd ? null : `Redis at ${rd.host}:${rd.port} (REDIS_URL)`,
  ].filter(Boolean);
  return (
    `Cannot reach ${down.join(' and ')}. The service keeps its data in PostgreSQL and its work queue in ` +
    'Redis, and needs both running before it starts. Start them with `docker compose up -d postgres redis` ' +
    'from this folder, or start the local services (for example `sudo systemctl start postgresql redis-server`, ' +
    'or `pg_ctlcluster <version> main start` and `redis-server --daemonize yes`), or point DATABASE_URL and ' +
    'REDIS_URL at servers that are running; then run this command again.'
  );
}
