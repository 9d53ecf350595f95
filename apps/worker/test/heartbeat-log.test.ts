/**
 * Issue 18, item 5: the README says heartbeat calls are logged. Each call is: a success at info
 * ("heartbeat sent"), a failure at warn, both with the URL's secret path segment masked. A real
 * HTTP checker on 127.0.0.1.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createHeartbeat } from '../src/ops/heartbeat.ts';

const TOKEN = '5b1f3c9e-8d2a-4e6f-9a0b-7c4d2e1f0a93';

describe('heartbeat calls are logged', () => {
  it('logs each successful call and each failure, with the secret masked', async () => {
    let status = 200;
    const server = http.createServer((_req, res) => res.writeHead(status).end('OK'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping/${TOKEN}`;
    const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
    const log = (level: string) => (obj: Record<string, unknown>, msg: string) => lines.push({ level, obj, msg });
    const logger = { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') };
    const hb = createHeartbeat({ url, logger: logger as never, backoffMs: [50] });
    try {
      hb.beat();
      const until = async (ok: () => boolean) => {
        const deadline = Date.now() + 10_000;
        while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      };
      await until(() => hb.counts.ok === 1);
      status = 500;
      hb.beat();
      await until(() => hb.counts.failed >= 1);
      status = 200;
      await until(() => hb.counts.ok === 2);
      const sent = lines.filter((l) => l.msg === 'heartbeat sent');
      expect(sent).toHaveLength(2);
      expect(sent[0]).toMatchObject({ level: 'info', obj: { status: 200 } });
      expect(String(sent[0]?.obj.url)).toContain('/ping/***');
      const failed = lines.filter((l) => l.msg.startsWith('heartbeat call failed'));
      expect(failed.length).toBeGreaterThanOrEqual(1);
      expect(failed[0]).toMatchObject({ level: 'warn' });
      expect(JSON.stringify(lines)).not.toContain(TOKEN);
    } finally {
      await hb.close();
      server.close();
    }
  });
});
