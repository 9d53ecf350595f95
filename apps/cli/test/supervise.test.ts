/**
 * Supervision of the run command's children: the restart policy on its own, then with real child
 * processes (small node programs that run, crash or refuse their configuration).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChildSpec, type CrashPolicy, DEFAULT_CRASH_POLICY, decideCrash, supervise } from '../src/supervise.ts';

describe('the restart policy', () => {
  const p = DEFAULT_CRASH_POLICY;
  const crash = (over: Partial<Parameters<typeof decideCrash>[1]>) =>
    decideCrash(p, {
      name: 'worker',
      exit: 'exit code 1',
      code: 1,
      now: 1e9,
      ranMs: 1000,
      crashes: [],
      streak: 0,
      ...over,
    });

  it('waits 1 s, then twice as long for each crash in a row, up to 30 s', () => {
    let streak = 0;
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      // Crashes spread over hours: never five in five minutes, so only the delay grows.
      const d = crash({ streak, crashes: [] });
      if (d.action !== 'restart') throw new Error('gave up');
      delays.push(d.delayMs);
      streak = d.streak;
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('starts again from 1 s after a process ran a minute without crashing', () => {
    const d = crash({ streak: 4, ranMs: 61_000 });
    expect(d).toMatchObject({ action: 'restart', delayMs: 1000, streak: 1 });
  });

  it('gives up on the fifth crash within five minutes, and not when the earlier ones are older', () => {
    const now = 1e9;
    const four = [now - 280_000, now - 200_000, now - 100_000, now - 10_000];
    const d = crash({ now, crashes: four, streak: 4 });
    expect(d.action).toBe('give-up');
    if (d.action === 'give-up') {
      expect(d.code).toBe(1);
      expect(d.reason).toBe(
        'worker crashed 5 times in 5 minutes (last: exit code 1); stopping the service. The log lines above say why it crashed.',
      );
    }
    const older = [now - 320_000, now - 200_000, now - 100_000, now - 10_000];
    expect(crash({ now, crashes: older, streak: 4 })).toMatchObject({ action: 'restart', crashesInWindow: 4 });
  });

  it('does not restart a process that refused its configuration (exit 78)', () => {
    const d = crash({ code: 78, exit: 'exit code 78' });
    expect(d).toMatchObject({ action: 'give-up', code: 78 });
  });
});

describe('supervise() with real processes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-supervise-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fast: Partial<CrashPolicy> = { backoffMs: 20, maxBackoffMs: 100, windowMs: 120_000 };

  /**
   * A node program: `prelude` runs, then it writes "up <pid>" to its log file, then `body` runs.
   * With `after`, it first waits until that program's log says "up", so a crash or exit 78 can never
   * race a sibling that is still starting (on a loaded machine node takes seconds to start, and a
   * SIGTERM before the handler exists kills without the "graceful stop" line).
   */
  function program(name: string, body: string, opts: { prelude?: string; after?: string } = {}): ChildSpec {
    const log = path.join(dir, `${name}.log`);
    const wait = opts.after
      ? `const other = ${JSON.stringify(path.join(dir, `${opts.after}.log`))};
         const isUp = () => { try { return fs.readFileSync(other, 'utf8').includes('up '); } catch { return false; } };
         await new Promise((r) => { const t = setInterval(() => { if (isUp()) { clearInterval(t); r(); } }, 10); });`
      : '';
    const code = `
      const fs = require('node:fs');
      const log = (s) => fs.appendFileSync(${JSON.stringify(log)}, s + '\\n');
      (async () => {
        ${wait}
        ${opts.prelude ?? ''}
        log('up ' + process.pid);
        ${body}
      })();`;
    return { name, command: process.execPath, args: ['-e', code] };
  }
  // The SIGTERM handler exists before "up" is written: whoever waits for "up" can stop it cleanly.
  const steady = (name: string) =>
    program(name, 'setInterval(() => {}, 1000);', {
      prelude: `process.on('SIGTERM', () => { log('graceful stop'); process.exit(0); });`,
    });
  const lines = (name: string) => {
    try {
      return fs
        .readFileSync(path.join(dir, `${name}.log`), 'utf8')
        .trim()
        .split('\n');
    } catch {
      return [];
    }
  };
  const collect = () => {
    const out: string[] = [];
    return { out, say: (l: string) => out.push(l), warn: (l: string) => out.push(`! ${l}`) };
  };

  it('restarts a crashing process with a line per restart, then stops everything on the fifth crash', async () => {
    const io = collect();
    const sup = supervise([steady('steady1'), program('flaky1', 'process.exit(3);', { after: 'steady1' })], {
      ...io,
      policy: fast,
    });
    const end = await sup.done;
    expect(end.code).toBe(1);
    expect(end.reason).toMatch(/^flaky1 crashed 5 times in 2 minutes \(last: exit code 3\); stopping the service/);
    expect(lines('flaky1').filter((l) => l.startsWith('up '))).toHaveLength(5);
    const restarts = io.out.filter((l) => l.startsWith('! flaky1 exited (exit code 3); restarting in'));
    expect(restarts).toHaveLength(4);
    expect(restarts[0]).toMatch(/restarting in 0\.02 s \(crash 1 of 4 tolerated in 2 min\)/);
    expect(restarts[3]).toMatch(/restarting in 0\.1 s \(crash 4 of 4 tolerated in 2 min\)/); // 20, 40, 80, capped at 100 ms
    expect(io.out.filter((l) => l.startsWith('flaky1 restarted (pid '))).toHaveLength(4);
    // The healthy process was stopped gracefully (SIGTERM), once, and not restarted.
    expect(lines('steady1')).toEqual([expect.stringMatching(/^up \d+$/), 'graceful stop']);
  });

  it('stops everything, without a restart, when a process exits 78 (configuration error)', async () => {
    const io = collect();
    const sup = supervise([steady('steady2'), program('config2', 'process.exit(78);', { after: 'steady2' })], {
      ...io,
      policy: fast,
    });
    const end = await sup.done;
    expect(end.code).toBe(78);
    expect(end.reason).toMatch(/config2 stopped on a configuration error \(exit 78/);
    expect(lines('config2')).toHaveLength(1);
    expect(io.out.some((l) => l.includes('restarting in'))).toBe(false);
    expect(lines('steady2')).toContain('graceful stop');
  });

  it('restarts a SIGKILLed process under a new pid; stop() ends every process gracefully with code 0', async () => {
    const io = collect();
    const sup = supervise([steady('a3'), steady('b3')], { ...io, policy: fast });
    const waitFor = async (cond: () => boolean) => {
      const deadline = Date.now() + 20_000;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out:\n${io.out.join('\n')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitFor(() => lines('a3').length === 1 && lines('b3').length === 1);
    const first = sup.pid('b3') as number;
    process.kill(first, 'SIGKILL');
    await waitFor(() => lines('b3').length === 2);
    expect(io.out).toContain('! b3 exited (SIGKILL); restarting in 0.02 s (crash 1 of 4 tolerated in 2 min)');
    expect(sup.pid('b3')).not.toBe(first);
    expect(lines('b3')[1]).toBe(`up ${sup.pid('b3')}`);
    await sup.stop();
    expect(await sup.done).toEqual({ code: 0 });
    expect(lines('a3')).toEqual([expect.stringMatching(/^up /), 'graceful stop']);
    expect(lines('b3').slice(1)).toEqual([expect.stringMatching(/^up /), 'graceful stop']);
  });

  it('a supervised process stops gracefully when the supervisor itself is SIGKILLed (no orphans)', async () => {
    // A real supervisor process running supervise() over a child that uses the services' own onShutdown.
    const src = path.resolve(import.meta.dirname, '..', 'src', 'supervise.ts');
    const shutdown = path.resolve(import.meta.dirname, '..', '..', '..', 'packages', 'config', 'src', 'shutdown.ts');
    const log = path.join(dir, 'orphan.log');
    const child = path.join(dir, 'orphan-child.ts');
    fs.writeFileSync(
      child,
      `import fs from 'node:fs';
       import { onShutdown } from ${JSON.stringify(shutdown)};
       const log = (s: string) => fs.appendFileSync(${JSON.stringify(log)}, s + '\\n');
       const logger = { info: (_o: unknown, m?: string) => log(String(m ?? _o)), error: (_o: unknown, m?: string) => log(String(m ?? _o)) };
       onShutdown({ logger, what: 'orphan test', timeoutMs: 5000, steps: [async () => log('graceful stop')] });
       setInterval(() => {}, 1000);
       log('up ' + process.pid);`,
    );
    const sup = path.join(dir, 'orphan-supervisor.ts');
    fs.writeFileSync(
      sup,
      `import { supervise } from ${JSON.stringify(src)};
       supervise([{ name: 'child', command: process.execPath, args: ['--import', 'tsx', ${JSON.stringify(child)}] }],
         { say: () => {}, warn: () => {} });`,
    );
    const { spawn } = await import('node:child_process');
    const supervisor = spawn(process.execPath, ['--import', 'tsx', sup], {
      cwd: path.resolve(import.meta.dirname, '..'),
      stdio: 'ignore',
    });
    const read = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
    const waitFor = async (cond: () => boolean, what: string) => {
      const deadline = Date.now() + 60_000;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; log:\n${read()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor(() => /up \d+/.test(read()), 'the child to start');
    const childPid = Number(/up (\d+)/.exec(read())?.[1]);
    supervisor.kill('SIGKILL');
    const alive = () => {
      try {
        process.kill(childPid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      await waitFor(() => !alive(), 'the orphaned child to exit');
    } finally {
      if (alive()) process.kill(childPid, 'SIGKILL');
    }
    expect(read()).toContain('graceful stop');
    expect(read()).toContain('shutting down: orphan test');
  }, 90_000);
});
