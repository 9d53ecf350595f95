/**
 * Liveness as an operator sees it, with real worker PROCESSES: while a worker runs every loop the
 * server's /healthz (and the worker's own) answers 200 and /metrics carries each loop's last
 * success; when a loop stops (its queue paused, or every worker stopped) /healthz answers 503
 * naming the overdue loop(s), the System page says so, and it is 200 again once a worker runs.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, startWorkerProcess, TEST_REDIS_URL, type WorkerProcess } from '@signals/testing';
import { adminSession, type Harness, startHarness } from './harness.ts';

type Health = { status: string; overdue: string[]; loops: Record<string, { state: string; reason: string }> };

async function until<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, label: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });

describe('loop liveness on /healthz, /metrics and the System page', () => {
  let h: Harness;
  const procs: WorkerProcess[] = [];
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    for (const p of procs) await p.stop();
    await h?.close();
  });

  it('answers 503 naming the overdue loop when a loop stops, and 200 again once a worker runs it', async () => {
    const testStartedAt = Math.floor(Date.now() / 1000) * 1000; // metrics carry seconds
    const logs: string[] = [];
    const start = async (name: string) => {
      const port = await freePort();
      const w = startWorkerProcess(
        name,
        {
          DATABASE_URL: h.db.url,
          REDIS_URL: TEST_REDIS_URL,
          QUEUE_PREFIX: h.prefix,
          // A replay judges price polling and evaluation at any hour, so the test does not depend on it.
          PRICE_SOURCE: `replay:${fixturePath('yahoo')}`,
          SWEEP_INTERVAL_SEC: '1',
          NEWS_POLL_SEC: '5',
          EVALUATE_INTERVAL_SEC: '5',
          SELF_CHECK_SEC: '1',
          WORKER_METRICS_PORT: String(port),
          HOST: '127.0.0.1',
        },
        { logs },
      );
      procs.push(w);
      await w.started(120_000);
      return { w, url: `http://127.0.0.1:${port}` };
    };
    const serverHealth = async () => {
      const res = await h.app.request('/healthz');
      return { status: res.status, body: (await res.json()) as Health };
    };
    const workerHealth = async (url: string) => {
      const res = await fetch(`${url}/healthz`);
      return { status: res.status, body: (await res.json()) as Health };
    };
    const running = ['prices', 'news', 'evaluate', 'sweep'];

    const w1 = await start('W1');
    const healthy = await until(
      async () => {
        const r = await serverHealth();
        return r.status === 200 && running.every((l) => r.body.loops[l]?.state === 'ok') ? r : undefined;
      },
      60_000,
      'every loop ok on the server',
    );
    expect(healthy.body.overdue).toEqual([]);
    expect(Object.keys(healthy.body.loops).sort()).toEqual(['deliveries', 'evaluate', 'news', 'prices', 'sweep']);
    expect((await workerHealth(w1.url)).status).toBe(200);
    const workerMetrics = await (await fetch(`${w1.url}/metrics`)).text();
    const sweptAt = Number(
      /^signals_loop_last_success_timestamp_seconds\{loop="sweep"\} (\S+)$/m.exec(workerMetrics)?.[1],
    );
    // A sweep of this worker's: recorded after the test began (no window around Date.now()).
    expect(sweptAt * 1000).toBeGreaterThanOrEqual(testStartedAt);
    expect(workerMetrics).toMatch(/^signals_loop_overdue\{loop="sweep"\} 0$/m);
    const serverMetrics = await (await h.app.request('/metrics')).text();
    expect(serverMetrics).toMatch(/^signals_loop_last_success_timestamp_seconds\{loop="evaluate"\} \d+(\.\d+)?$/m);

    // Someone pauses the maintenance queue (bull-board has the button): sweeps stop, the worker is
    // alive. Its own /healthz and the server's name the sweep.
    await h.queues.get('maintenance').pause();
    const paused = await until(
      async () => {
        const r = await workerHealth(w1.url);
        return r.status === 503 ? r : undefined;
      },
      60_000,
      'the worker /healthz to go 503',
    );
    expect(paused.body.overdue).toContain('sweep');
    expect(paused.body.loops.sweep?.reason).toMatch(/last ran \d+ s ago, expected every 1 s/);
    const serverPaused = await serverHealth();
    expect(serverPaused.status).toBe(503);
    expect(serverPaused.body.overdue).toContain('sweep');
    expect(await (await h.app.request('/metrics')).text()).toMatch(/^signals_loop_overdue\{loop="sweep"\} 1$/m);
    await h.queues.get('maintenance').resume();
    await until(async () => (await workerHealth(w1.url)).status === 200, 60_000, 'the worker /healthz back to 200');
    await until(async () => (await serverHealth()).status === 200, 60_000, 'the server /healthz back to 200');

    // Every worker stops: nothing runs any loop, the server says which ones are late.
    await w1.w.stop();
    const down = await until(
      async () => {
        const r = await serverHealth();
        return r.status === 503 && r.body.overdue.includes('sweep') && r.body.overdue.includes('prices')
          ? r
          : undefined;
      },
      60_000,
      'the server /healthz to go 503',
    );
    expect(down.body.status).toBe('unavailable');
    expect(down.body.overdue).not.toContain('deliveries'); // nothing is waiting to be sent
    const admin = await adminSession(h);
    const page = await (await h.app.request('/admin/system', { headers: { cookie: admin.cookie } })).text();
    expect(page).toMatch(/Overdue: [^<]*Delivery sweep/);
    for (const name of ['Price polling', 'News polling', 'Rule evaluation', 'Delivery sweep', 'Deliveries'])
      expect(page).toContain(name);
    // Endpoints can subscribe to the service events from the admin page.
    const endpoints = await (await h.app.request('/admin/endpoints', { headers: { cookie: admin.cookie } })).text();
    expect(endpoints).toContain('value="service.degraded"');
    expect(endpoints).toContain('value="service.recovered"');
    expect(page).toMatch(
      /<tr data-loop="sweep"><td>Delivery sweep<\/td><td class="num">1 s<\/td><td>\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/td><td><span class="badge badge-failed">overdue<\/span>/,
    );

    // A worker runs again: 200.
    const w2 = await start('W2');
    const back = await until(
      async () => {
        const r = await serverHealth();
        return r.status === 200 ? r : undefined;
      },
      60_000,
      'the server /healthz back to 200 with a new worker',
    );
    expect(back.body.overdue).toEqual([]);
    expect((await workerHealth(w2.url)).status).toBe(200);
  }, 420_000);
});
