/**
 * Dead man's switch (what Prometheus' always-firing Watchdog alert is to Alertmanager): after each
 * successful evaluation cycle the worker calls HEARTBEAT_URL (healthchecks.io, Dead Man's Snitch,
 * Cronitor, an uptime checker...). The checker alerts when the calls stop, which is the one failure
 * the service cannot report itself: every worker down, the host gone, Postgres unreachable.
 *
 * Never awaited by the cycle: beat() returns at once. Calls do not pile up: while one is in flight
 * or waiting to retry, further beats only ask for one more call after it. Each call is logged with
 * the URL redacted (such URLs carry their secret in the path): a success at info, a failure at
 * warn, then retried with backoff.
 */
import type { Logger } from '@signals/core';
import { redactSecrets, redactUrl } from '@signals/notify';

export interface HeartbeatOptions {
  url: string;
  logger: Logger;
  /** Per call (default 5 s): a hung checker must not hold a call open. */
  timeoutMs?: number;
  /** Waits before each retry of a failed call, the last repeated (default 1 s, 2 s, 5 s, 15 s, 30 s, 60 s). */
  backoffMs?: readonly number[];
}

export interface Heartbeat {
  /** One successful cycle: call the URL (now, or after the call in flight). Never throws, never waits. */
  beat(): void;
  /** Stops retrying and waits for a call in flight to end. */
  close(): Promise<void>;
  /** Calls answered 2xx and calls that failed, since start. */
  readonly counts: { ok: number; failed: number };
}

const DEFAULT_BACKOFF = [1000, 2000, 5000, 15_000, 30_000, 60_000] as const;

export function createHeartbeat(o: HeartbeatOptions): Heartbeat {
  const shown = redactUrl(o.url);
  const backoff = o.backoffMs?.length ? o.backoffMs : DEFAULT_BACKOFF;
  const counts = { ok: 0, failed: 0 };
  let wanted = false;
  let running: Promise<void> | null = null;
  let closed = false;
  let wake: (() => void) | null = null;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    }).finally(() => {
      wake = null;
    });

  async function call(): Promise<boolean> {
    try {
      const res = await fetch(o.url, { method: 'GET', signal: AbortSignal.timeout(o.timeoutMs ?? 5000) });
      await res.body?.cancel();
      if (res.ok) {
        // Every call is logged (README "Operations"), so the log shows the switch is being fed.
        o.logger.info({ url: shown, status: res.status }, 'heartbeat sent');
        return true;
      }
      throw new Error(`answered HTTP ${res.status}`);
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.cause?.code ?? e.cause?.message ?? e.message;
      o.logger.warn({ url: shown, err: redactSecrets(String(why), [o.url]) }, 'heartbeat call failed; retrying');
      return false;
    }
  }

  async function run() {
    let failures = 0;
    while (wanted && !closed) {
      wanted = false;
      if (await call()) {
        counts.ok++;
        failures = 0;
        continue;
      }
      counts.failed++;
      wanted = true; // this beat is still owed to the checker
      await sleep(backoff[Math.min(failures, backoff.length - 1)] as number);
      failures++;
    }
  }

  function start() {
    running = run().finally(() => {
      running = null;
      if (wanted && !closed) start(); // a beat that came as the loop ended
    });
  }

  return {
    counts,
    beat() {
      if (closed) return;
      wanted = true;
      if (!running) start();
    },
    async close() {
      closed = true;
      wake?.();
      await running;
    },
  };
}
