/**
 * Supervision for the run command: the server and the worker run as child processes; one that
 * exits on its own is started again after a delay (1 s, doubling to 30 s), with a log line naming
 * it and its exit. A child that exits 78 (configuration error) would fail the same way again, and
 * one that crashes 5 times in 5 minutes is not getting better: both stop everything with a message
 * and a non-zero exit code. `stop()` (SIGTERM/SIGINT) stops the children gracefully.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** One supervised process. */
export interface ChildSpec {
  /** Name used in log lines ("worker"). */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface CrashPolicy {
  /** Delay before the first restart (default 1 s); doubles with each crash in a row. */
  backoffMs: number;
  /** Longest delay between restarts (default 30 s). */
  maxBackoffMs: number;
  /** This many crashes of one process within `windowMs` stop everything (default 5). */
  maxCrashes: number;
  /** Default 5 minutes. */
  windowMs: number;
  /** A process that ran this long before crashing starts again from the first delay (default 60 s). */
  stableAfterMs: number;
}

export const DEFAULT_CRASH_POLICY: CrashPolicy = {
  backoffMs: 1000,
  maxBackoffMs: 30_000,
  maxCrashes: 5,
  windowMs: 5 * 60_000,
  stableAfterMs: 60_000,
};

/** EX_CONFIG: the process refused its configuration (see @signals/config). */
export const EXIT_CONFIG = 78;

/** What a crash leads to. `streak` counts the crashes in a row (reset by a stable run). */
export type CrashDecision =
  | { action: 'restart'; delayMs: number; crashesInWindow: number; streak: number }
  | { action: 'give-up'; code: number; reason: string };

/**
 * The decision for one crash of `name`, from its exit, the times of its earlier crashes (pruned to
 * the window by the caller's next call) and how long it ran. Pure: tested without processes.
 */
export function decideCrash(
  policy: CrashPolicy,
  c: { name: string; exit: string; code: number | null; now: number; ranMs: number; crashes: number[]; streak: number },
): CrashDecision {
  if (c.code === EXIT_CONFIG) {
    return {
      action: 'give-up',
      code: EXIT_CONFIG,
      reason: `${c.name} stopped on a configuration error (exit 78; its message is above): restarting it would fail the same way. Fix the variable it names and start again.`,
    };
  }
  const recent = c.crashes.filter((t) => c.now - t < policy.windowMs);
  const inWindow = recent.length + 1;
  if (inWindow >= policy.maxCrashes) {
    const minutes = Math.round(policy.windowMs / 60_000);
    return {
      action: 'give-up',
      code: 1,
      reason: `${c.name} crashed ${inWindow} times in ${minutes} minutes (last: ${c.exit}); stopping the service. The log lines above say why it crashed.`,
    };
  }
  const streak = c.ranMs >= policy.stableAfterMs ? 1 : c.streak + 1;
  const delayMs = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (streak - 1));
  return { action: 'restart', delayMs, crashesInWindow: inWindow, streak };
}

export interface Supervisor {
  /** Resolves once supervision ended: after stop() (code 0) or when it gave up (code and reason). */
  done: Promise<{ code: number; reason?: string }>;
  /** Current pid of a child (undefined while it waits for a restart). */
  pid(name: string): number | undefined;
  /** SIGTERM to every child, resolves when all exited. Exits from now on are not crashes. */
  stop(): Promise<void>;
}

export function supervise(
  specs: ChildSpec[],
  opts: { policy?: Partial<CrashPolicy>; say: (line: string) => void; warn: (line: string) => void },
): Supervisor {
  const policy = { ...DEFAULT_CRASH_POLICY, ...opts.policy };
  let stopping = false;
  let finish: (r: { code: number; reason?: string }) => void = () => {};
  const done = new Promise<{ code: number; reason?: string }>((resolve) => {
    finish = resolve;
  });
  const state = new Map<
    string,
    { child?: ChildProcess; startedAt: number; crashes: number[]; streak: number; timer?: NodeJS.Timeout }
  >();

  const exitOf = (code: number | null, signal: NodeJS.Signals | null) => (signal ? signal : `exit code ${code}`);

  const launch = (spec: ChildSpec, restart: boolean) => {
    const s = state.get(spec.name) ?? { startedAt: 0, crashes: [], streak: 0 };
    state.set(spec.name, s);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      // The IPC channel is the child's lifeline: when this process dies (even by SIGKILL) it closes,
      // and the child stops gracefully instead of running on unsupervised (see onShutdown).
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    s.child = child;
    s.startedAt = Date.now();
    opts.say(`${spec.name} ${restart ? 'restarted' : 'started'} (pid ${child.pid})`);
    child.once('error', (err) => opts.warn(`${spec.name} could not be started: ${err.message}`));
    child.once('exit', (code, signal) => {
      s.child = undefined;
      if (stopping) return;
      const now = Date.now();
      const d = decideCrash(policy, {
        name: spec.name,
        exit: exitOf(code, signal),
        code,
        now,
        ranMs: now - s.startedAt,
        crashes: s.crashes,
        streak: s.streak,
      });
      s.crashes = [...s.crashes.filter((t) => now - t < policy.windowMs), now];
      if (d.action === 'give-up') {
        opts.warn(d.reason);
        void stopAll().then(() => finish({ code: d.code, reason: d.reason }));
        return;
      }
      s.streak = d.streak;
      opts.warn(
        `${spec.name} exited (${exitOf(code, signal)}); restarting in ${d.delayMs / 1000} s ` +
          `(crash ${d.crashesInWindow} of ${policy.maxCrashes - 1} tolerated in ${Math.round(policy.windowMs / 60_000)} min)`,
      );
      s.timer = setTimeout(() => {
        s.timer = undefined;
        if (!stopping) launch(spec, true);
      }, d.delayMs);
    });
  };

  const stopAll = async () => {
    stopping = true;
    await Promise.all(
      [...state.values()].map(async (s) => {
        if (s.timer) clearTimeout(s.timer);
        const c = s.child;
        // No pid: it never started (spawn error), so no exit event will come.
        if (!c || c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
        c.kill('SIGTERM');
        await exited;
      }),
    );
  };

  for (const spec of specs) launch(spec, false);
  return {
    done,
    pid: (name) => state.get(name)?.child?.pid,
    async stop() {
      if (stopping) return;
      await stopAll();
      finish({ code: 0 });
    },
  };
}
