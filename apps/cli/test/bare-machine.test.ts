/**
 * The README's run command on a machine that has only Node (and the installed dependencies): in a
 * network namespace where nothing listens (`unshare -n`, loopback up) there is no PostgreSQL, no
 * Redis and no registry. `npm start` must start an embedded PostgreSQL and a local redis-server,
 * say so, serve /healthz, stop them on SIGTERM and find their data again on the next start. The
 * test process cannot reach a port inside the namespace, so the namespaced shell polls /healthz.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoPaths } from '@signals/db';

const root = repoPaths().root;

/** Why this machine cannot run the test, or undefined when it can. */
function cannotRun(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'unshare -n needs root (CI runs as root); run the tests as root to include it';
  try {
    execFileSync('unshare', ['-n', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'pipe' });
  } catch (err) {
    return `\`unshare -n ip link set lo up\` failed here (${(err as Error).message.split('\n')[0]}): no unshare/ip, or no CAP_SYS_ADMIN`;
  }
  return undefined;
}

/** Polls /healthz inside the namespace until it answers 200 (prints the body) or 300 s pass. */
const POLL_HEALTH = `
  const deadline = Date.now() + 300000;
  (async () => {
    for (;;) {
      try {
        const r = await fetch('http://127.0.0.1:3000/healthz', { signal: AbortSignal.timeout(2000) });
        if (r.ok) { console.log(await r.text()); return; }
      } catch {}
      if (Date.now() > deadline) { console.log('no healthy /healthz within 300 s'); process.exit(1); }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();`;

/** Waits until nothing accepts connections on 5432 and 6379 (exit 0), or 30 s pass (exit 1). */
const WAIT_CLOSED = `
  const net = require('node:net');
  const open = (port) => new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  const deadline = Date.now() + 30000;
  (async () => {
    for (;;) {
      const up = [(await open(5432)) && 5432, (await open(6379)) && 6379].filter(Boolean);
      if (up.length === 0) { console.log('closed'); return; }
      if (Date.now() > deadline) { console.log('still answering: ' + up.join(', ')); process.exit(1); }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();`;

describe('npm start on a bare machine (network namespace: no Postgres, no Redis, no network)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-bare-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('starts an embedded PostgreSQL and a local redis-server, serves /healthz, stops them (also when killed), and keeps their data', async (ctx) => {
    const why = cannotRun();
    if (why) ctx.skip(`skipped: ${why}`);
    // The postgres user (embedded Postgres does not run as root) must reach the data dir.
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    // A PATH without redis-server, for the first round: only node is needed to get that far.
    const noRedisBin = path.join(dir, 'bin');
    fs.mkdirSync(noRedisBin);
    fs.symlinkSync(process.execPath, path.join(noRedisBin, 'node'));

    fs.writeFileSync(path.join(dir, 'poll-health.cjs'), POLL_HEALTH);
    fs.writeFileSync(path.join(dir, 'wait-closed.cjs'), WAIT_CLOSED);
    const script = `
      set -u
      ip link set lo up
      cd ${JSON.stringify(root)}
      # Round 0: no redis-server installed -> the one command that installs it, exit 1.
      PATH=${JSON.stringify(noRedisBin)} node --import tsx apps/cli/src/main.ts start > "$OUT/run0.log" 2>&1
      echo "exit $?" >> "$OUT/run0.log"
      # Rounds 1 and 2: the run command as users type it, in its own process group. Once healthy,
      # round 1 is stopped as Ctrl+C in its terminal would (SIGINT to the whole group); round 2 is
      # killed outright (SIGKILL to the group): the embedded services must stop anyway.
      for round in 1 2; do
        setsid npm start > "$OUT/run$round.log" 2>&1 &
        pid=$!
        node "$OUT/poll-health.cjs" > "$OUT/health$round.txt" 2>&1
        healthy=$?
        if [ $round = 1 ]; then kill -INT -- -$pid; else kill -KILL -- -$pid; fi
        wait $pid
        echo "exit $?" >> "$OUT/run$round.log"
        [ $healthy = 0 ] || exit 91
      done
      # After the kill: nothing may answer on 5432 or 6379 within 30 s.
      node "$OUT/wait-closed.cjs" > "$OUT/closed.txt" 2>&1 || exit 92
    `;
    const env: NodeJS.ProcessEnv = {};
    // Only what a user's shell would have: none of the test run's service URLs.
    for (const k of ['PATH', 'HOME', 'LANG', 'TERM', 'USER']) if (process.env[k]) env[k] = process.env[k];
    Object.assign(env, { OUT: dir, DATA_DIR: dataDir, LOG_LEVEL: 'warn', PORT: '3000' });
    const child = spawn('unshare', ['-n', 'bash', '-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let shell = '';
    child.stdout.on('data', (b: Buffer) => {
      shell += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      shell += b.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8') : '');
    const logs = ['run0.log', 'run1.log', 'health1.txt', 'run2.log', 'health2.txt', 'closed.txt']
      .map((f) => `${f}:\n${read(f)}`)
      .join('\n');
    expect(code, `shell:\n${shell}\n${logs}`).toBe(0);

    const run0 = read('run0.log');
    expect(run0).toMatch(/No Redis answers at 127\.0\.0\.1:6379 and REDIS_URL is unset/);
    expect(run0).toMatch(/Install it with `sudo apt-get install -y redis-server` \(Debian\/Ubuntu\)/);
    expect(run0).toMatch(/exit 1\n$/);
    expect(run0).not.toMatch(/Started/); // nothing is started for a run that cannot work

    const run1 = read('run1.log');
    expect(run1).toContain(
      'No PostgreSQL answers at 127.0.0.1:5432 and DATABASE_URL is unset: starting an embedded one.',
    );
    expect(run1).toContain(`Started PostgreSQL (embedded) on 127.0.0.1:5432, data in ${dataDir}/postgres (new)`);
    expect(run1).toMatch(/No Redis answers at 127\.0\.0\.1:6379 and REDIS_URL is unset: starting \S*redis-server\./);
    expect(run1).toMatch(/Started Redis \(\S+\) on 127\.0\.0\.1:6379, append-only, data in \S+\/redis \(new\)/);
    expect(run1).toMatch(/Created database/);
    expect(run1).toMatch(/Market Signals is running/);
    expect(read('health1.txt')).toMatch(/"ok":true/);
    expect(run1).toContain('Stopped the embedded services (their data is kept).');
    // npm itself reports 130 when Ctrl+C reached it too; the line above is the run command's own end.
    expect(run1).toMatch(/exit (0|130)\n$/);
    // Postgres and Redis outlived the server and the worker: no connection was refused while they stopped.
    expect(run1.slice(run1.indexOf('Market Signals is running'))).not.toMatch(/ECONNREFUSED|Connection terminated/);

    // Second start: the same data, found again.
    const run2 = read('run2.log');
    expect(run2).toContain(`data in ${dataDir}/postgres (kept from an earlier start)`);
    expect(run2).toMatch(/data in \S+\/redis \(kept from an earlier start\)/);
    expect(run2).not.toMatch(/Created database/);
    expect(run2).toMatch(/Database schema is up to date/);
    expect(read('health2.txt')).toMatch(/"ok":true/);
    expect(run2).toMatch(/exit 137\n$/); // killed: no chance to stop anything itself
    // Its keepers saw it die and stopped PostgreSQL and Redis: nothing answers, no server holds the data.
    expect(read('closed.txt')).toBe('closed\n');
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'redis', 'appendonlydir'))).toBe(true);
  }, 600_000);
});
