/**
 * A real Redis Cluster for drills: three masters from the installed `redis-server`
 * (`--cluster-enabled yes`, each with its own temp dir and spare ports), joined with
 * `redis-cli --cluster create ... --cluster-replicas 0`, ready once every node says
 * `cluster_state:ok`. Nothing is shared with the machine's Redis; `stop()` shuts every node down
 * without saving and removes the dirs.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePorts } from './ports.ts';

const run = promisify(execFile);

export interface RedisClusterNode {
  host: string;
  port: number;
}

export interface RedisCluster {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`: what REDIS_URL takes. */
  url: string;
  nodes: RedisClusterNode[];
  /**
   * Deletes every key starting with `prefix` on every master (a Redis state loss limited to one
   * test's keys); returns how many were deleted.
   */
  deletePrefix(prefix: string): Promise<number>;
  /** Shuts every node down without saving, and removes their dirs. */
  stop(): Promise<void>;
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Redis Cluster: ${what} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout;
}

/** Glob-escapes a literal for SCAN MATCH. */
const globLiteral = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

export async function startRedisCluster(opts: { masters?: number; timeoutMs?: number } = {}): Promise<RedisCluster> {
  const masters = opts.masters ?? 3;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const [dataPorts, busPorts] = await freePorts(masters * 2).then((p) => [p.slice(0, masters), p.slice(masters)]);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-redis-cluster-'));
  const children: ChildProcess[] = [];
  const nodes = (dataPorts as number[]).map((port) => ({ host: '127.0.0.1', port }));
  const stop = async () => {
    await Promise.all(
      nodes.map(async (n, i) => {
        const child = children[i];
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        await redisCli(n.port, 'shutdown', 'nosave').catch(() => child.kill('SIGKILL'));
        await exited;
      }),
    );
    fs.rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const [i, n] of nodes.entries()) {
      const dir = path.join(root, String(n.port));
      fs.mkdirSync(dir);
      // The bus port is given explicitly: the default (port + 10000) may be taken or out of range.
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(n.port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-port',
          String(busPorts?.[i]),
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--maxmemory-policy',
          'noeviction',
          '--daemonize',
          'no',
          '--logfile',
          path.join(dir, 'redis.log'),
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
    }
    await Promise.all(
      nodes.map((n) =>
        waitFor(`node ${n.port} did not answer PING`, timeoutMs, async () =>
          (await redisCli(n.port, 'ping')).includes('PONG'),
        ),
      ),
    );
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await Promise.all(
      nodes.map((n) =>
        waitFor(`node ${n.port} did not reach cluster_state:ok`, timeoutMs, async () =>
          (await redisCli(n.port, 'cluster', 'info')).includes('cluster_state:ok'),
        ),
      ),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `redis+cluster://${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
    nodes,
    async deletePrefix(prefix) {
      let deleted = 0;
      for (const n of nodes) {
        const node = new Redis({ host: n.host, port: n.port, lazyConnect: true });
        try {
          await node.connect();
          let cursor = '0';
          do {
            const [next, keys] = await node.scan(cursor, 'MATCH', `${globLiteral(prefix)}*`, 'COUNT', 1000);
            cursor = next;
            // One key per command: keys of one SCAN page need not share a slot.
            for (const k of keys) deleted += await node.unlink(k);
          } while (cursor !== '0');
        } finally {
          node.disconnect();
        }
      }
      return deleted;
    },
    stop,
  };
}
