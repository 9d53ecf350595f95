/**
 * A worker process's own /metrics (WORKER_METRICS_PORT), after it has run jobs, checked with
 * Prometheus' linter `promtool check metrics` (issue 18 item 8; the server's /metrics is checked
 * in apps/server/test/openapi-clients.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDb,
  fixturePath,
  freePort,
  promtoolCheckMetrics,
  startWorkerProcess,
  TEST_REDIS_URL,
  type TestDb,
  testPrefix,
  type WorkerProcess,
} from '@signals/testing';

describe('worker /metrics', () => {
  let db: TestDb;
  let w: WorkerProcess | undefined;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    await w?.stop();
    await db?.drop();
  });

  it('is clean under `promtool check metrics` once jobs have run', async () => {
    const port = await freePort();
    w = startWorkerProcess('W', {
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: testPrefix('promtool'),
      PRICE_SOURCE: `replay:${fixturePath('yahoo')}`,
      SWEEP_INTERVAL_SEC: '1',
      WORKER_METRICS_PORT: String(port),
      HOST: '127.0.0.1',
    });
    await w.started(120_000);
    // Labelled series exist only once something happened: wait for finished jobs (the 1 s sweep).
    const deadline = Date.now() + 60_000;
    let body = '';
    while (!/^signals_worker_jobs_total\{queue="[^"]+",outcome="completed"\} \d+$/m.test(body)) {
      if (Date.now() > deadline) throw new Error(`no completed job on /metrics:\n${body.slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 250));
      body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    }
    expect(body).toMatch(/^signals_worker_job_duration_seconds_bucket\{/m);
    expect(await promtoolCheckMetrics(body)).toEqual({ code: 0, findings: '' });
  }, 180_000);
});
