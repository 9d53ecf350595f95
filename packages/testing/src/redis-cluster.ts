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

export interface RedisClusterOptions {
  masters?: number;
  timeoutMs?: number;
  /**
   * TLS only (`--port 0 --tls-port P --tls-cluster yes`, no client certificates asked): the nodes
   * serve a certificate for 127.0.0.1 from a CA made for this cluster (`caFile` of the result).
   */
  tls?: boolean;
  /**
   * An ACL user with every permission, and the `default` user switched off: a client without these
   * credentials is refused (NOAUTH).
   */
  user?: { name: string; password: string };
}

export interface RedisCluster {
  /**
   * What REDIS_URL takes: `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`, or
   * `rediss+cluster://user:pass@...` with TLS and a user.
   */
  url: string;
  nodes: RedisClusterNode[];
  /** With `tls`: the PEM file of the CA that signed the nodes' certificate (e.g. NODE_EXTRA_CA_CERTS). */
  caFile?: string;
  /**
   * Deletes every key starting with `prefix` on every master (a Redis state loss limited to one
   * test's keys); returns how many were deleted.
   */
  deletePrefix(prefix: string): Promise<number>;
  /** Every key starting with `prefix`, from every master, sorted. */
  keys(prefix: string): Promise<string[]>;
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

interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** A CA and a certificate for 127.0.0.1 signed by it, made with the openssl command in `dir`. */
async function makeCertificates(dir: string): Promise<TlsFiles> {
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args);
  await openssl('genrsa', '-out', f('ca.key'), '2048');
  await openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    f('ca.key'),
    '-days',
    '2',
    '-subj',
    '/CN=signals test CA',
    '-out',
    f('ca.pem'),
  );
  await openssl('genrsa', '-out', f('node.key'), '2048');
  await openssl('req', '-new', '-key', f('node.key'), '-subj', '/CN=127.0.0.1', '-out', f('node.csr'));
  fs.writeFileSync(f('node.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    f('node.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('node.ext'),
    '-out',
    f('node.pem'),
  );
  return { certFile: f('node.pem'), keyFile: f('node.key'), caFile: f('ca.pem') };
}

/** redis-cli's connection flags (TLS and the user). */
function cliFlags(opts: RedisClusterOptions, tls: TlsFiles | undefined): string[] {
  return [
    ...(tls ? ['--tls', '--cacert', tls.caFile] : []),
    ...(opts.user ? ['--user', opts.user.name, '--pass', opts.user.password, '--no-auth-warning'] : []),
  ];
}

async function redisCli(flags: string[], port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...flags, ...args]);
  return stdout;
}

/** Glob-escapes a literal for SCAN MATCH. */
const globLiteral = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = opts.masters ?? 3;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const [dataPorts, busPorts] = await freePorts(masters * 2).then((p) => [p.slice(0, masters), p.slice(masters)]);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-redis-cluster-'));
  const children: ChildProcess[] = [];
  const nodes = (dataPorts as number[]).map((port) => ({ host: '127.0.0.1', port }));
  let tls: TlsFiles | undefined;
  let flags: string[] = [];
  const stop = async () => {
    await Promise.all(
      nodes.map(async (n, i) => {
        const child = children[i];
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        await redisCli(flags, n.port, 'shutdown', 'nosave').catch(() => child.kill('SIGKILL'));
        await exited;
      }),
    );
    fs.rmSync(root, { recursive: true, force: true });
  };
  try {
    tls = opts.tls ? await makeCertificates(root) : undefined;
    flags = cliFlags(opts, tls);
    for (const [i, n] of nodes.entries()) {
      const dir = path.join(root, String(n.port));
      fs.mkdirSync(dir);
      // The bus port is given explicitly: the default (port + 10000) may be taken or out of range.
      const listen = tls
        ? [
            '--port',
            '0',
            '--tls-port',
            String(n.port),
            '--tls-cluster',
            'yes',
            '--tls-cert-file',
            tls.certFile,
            '--tls-key-file',
            tls.keyFile,
            '--tls-ca-cert-file',
            tls.caFile,
            '--tls-auth-clients',
            'no',
          ]
        : ['--port', String(n.port)];
      // ACL rules, one word an argument (redis-server joins the words after an option into its
      // config line): the user may do everything, `default` nothing.
      const acl = opts.user
        ? ['--user', opts.user.name, 'on', `>${opts.user.password}`, '~*', '&*', '+@all', '--user', 'default', 'off']
        : [];
      const child = spawn(
        'redis-server',
        [
          ...listen,
          ...acl,
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
          (await redisCli(flags, n.port, 'ping')).includes('PONG'),
        ),
      ),
    );
    await run('redis-cli', [
      ...flags,
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
          (await redisCli(flags, n.port, 'cluster', 'info')).includes('cluster_state:ok'),
        ),
      ),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const auth = opts.user ? `${encodeURIComponent(opts.user.name)}:${encodeURIComponent(opts.user.password)}@` : '';
  const nodeOptions = {
    ...(tls ? { tls: { ca: fs.readFileSync(tls.caFile) } } : {}),
    ...(opts.user ? { username: opts.user.name, password: opts.user.password } : {}),
  };
  /** SCANs every master for keys starting with `prefix`, one page at a time. */
  const eachKey = async (prefix: string, page: (node: Redis, keys: string[]) => Promise<void>) => {
    for (const n of nodes) {
      const node = new Redis({ host: n.host, port: n.port, lazyConnect: true, ...nodeOptions });
      try {
        await node.connect();
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${globLiteral(prefix)}*`, 'COUNT', 1000);
          cursor = next;
          await page(node, keys);
        } while (cursor !== '0');
      } finally {
        node.disconnect();
      }
    }
  };
  return {
    url: `${tls ? 'rediss' : 'redis'}+cluster://${auth}${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
    nodes,
    ...(tls ? { caFile: tls.caFile } : {}),
    async deletePrefix(prefix) {
      let deleted = 0;
      await eachKey(prefix, async (node, keys) => {
        // One key per command: keys of one SCAN page need not share a slot.
        for (const k of keys) deleted += await node.unlink(k);
      });
      return deleted;
    },
    async keys(prefix) {
      const found: string[] = [];
      await eachKey(prefix, async (_node, keys) => {
        found.push(...keys);
      });
      return found.sort();
    },
    stop,
  };
}
