/**
 * The rate limiter on a real Redis Cluster (three private nodes on spare ports, started and
 * stopped here): no command spans two keys, so it works whatever QUEUE_PREFIX's hash tag, and
 * its keys stay under the prefix.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@signals/testing';
import { createRateLimiter, keyOf, rateLimitKey } from '../src/security/ratelimit.ts';

const run = promisify(execFile);

describe('rate limiter on Redis Cluster', () => {
  const nodes: { port: number; child: ChildProcess }[] = [];
  let dir = '';
  let cluster: Cluster;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-cluster-'));
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const nodeDir = path.join(dir, String(port));
      fs.mkdirSync(nodeDir);
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
        ],
        { cwd: nodeDir, stdio: 'ignore' },
      );
      nodes.push({ port, child });
    }
    for (const n of nodes) {
      for (let i = 0; ; i++) {
        const pong = await run('redis-cli', ['-p', String(n.port), 'ping']).catch(() => ({ stdout: '' }));
        if (pong.stdout.trim() === 'PONG') break;
        if (i > 100) throw new Error(`redis node ${n.port} did not start`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (let i = 0; ; i++) {
      const info = await run('redis-cli', ['-p', String(nodes[0]?.port), 'cluster', 'info']);
      if (info.stdout.includes('cluster_state:ok')) break;
      if (i > 100) throw new Error('the cluster did not come up');
      await new Promise((r) => setTimeout(r, 100));
    }
    cluster = new Cluster(nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
  }, 60_000);

  afterAll(async () => {
    cluster?.disconnect();
    for (const n of nodes) {
      n.child.kill('SIGTERM');
      await new Promise((r) => n.child.once('exit', r));
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('counts limits whose keys sit on different slots, passes at N and refuses at N+1, resets', async () => {
    // No hash tag in the prefix: the two keys of one attempt land on different slots.
    const rl = createRateLimiter(cluster, 'signals');
    const ip = keyOf('203.0.113.1');
    const limits = [
      { key: `login:ip:${ip}`, max: 3, windowSec: 60 },
      { key: `login:account-ip:${keyOf('a@example.org')}:${ip}`, max: 5, windowSec: 60 },
    ];
    const slots = await Promise.all(limits.map((l) => cluster.cluster('KEYSLOT', rateLimitKey('signals', l.key))));
    expect(slots[0]).not.toBe(slots[1]);
    for (let i = 1; i <= 3; i++) expect(await rl.hit(limits), `hit ${i}`).toBeNull();
    const over = await rl.hit(limits);
    expect(over?.limit.key).toBe(limits[0]?.key);
    expect(over?.retryAfterSec).toBeGreaterThan(0);
    expect(await rl.count(limits[1]?.key as string)).toBe(4);
    expect(await cluster.get(`signals:rl:${limits[0]?.key}`)).toBe('4');
    await rl.reset(limits.map((l) => l.key));
    expect(await rl.count(limits[0]?.key as string)).toBe(0);
    expect(await rl.hit(limits)).toBeNull();
  });
});
