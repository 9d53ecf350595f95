/**
 * A customer's webhook endpoint over a real socket: node:http on 127.0.0.1 (random port) that
 * verifies every request with the `standardwebhooks` package, as a customer would, and answers
 * from a script (e.g. 500 then 200). Unverified requests get 401 unless `rejectUnverified: false`.
 * `setDown(true)` closes the listener (connections are refused) until `setDown(false)`.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export type ScriptedResponse =
  | number
  | { status: number; headers?: Record<string, string>; body?: string; delayMs?: number };

export interface WebhookReceiverOptions {
  /** The endpoint's `whsec_` secret. */
  secret: string;
  /** Answers for the 1st, 2nd, ... request; after the list, 200. */
  script?: ScriptedResponse[];
  /** Wait this long before answering every request (a slow receiver). */
  delayMs?: number;
  /** Retry-After header value added to 429 and 503 answers (seconds or an HTTP-date). */
  retryAfter?: string | number;
  /** Answer 401 to requests whose signature does not verify (default true). */
  rejectUnverified?: boolean;
}

export interface ReceivedWebhook {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  verified: boolean;
  verifyError: string | undefined;
  /** Parsed JSON body (undefined when not JSON). */
  body: unknown;
  rawBody: string;
  headers: http.IncomingHttpHeaders;
  method: string;
  path: string;
  /** Status answered. */
  status: number;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  requests: ReceivedWebhook[];
  /** Requests received whose answer is still held back by a delay (not yet in `requests`). */
  readonly held: number;
  /** Resolves with the requests once at least `n` have been answered. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  setDown(down: boolean): Promise<void>;
  close(): Promise<void>;
}

function header(h: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const wh = new Webhook(options.secret);
  const script = [...(options.script ?? [])];
  const requests: ReceivedWebhook[] = [];
  const events = new EventEmitter();
  const timers = new Set<NodeJS.Timeout>();
  let seen = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = seen++;
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const scripted = script[index] ?? 200;
      const entry = typeof scripted === 'number' ? { status: scripted } : scripted;
      let verified = false;
      let verifyError: string | undefined;
      try {
        wh.verify(rawBody, {
          'webhook-id': header(req.headers, 'webhook-id') ?? '',
          'webhook-timestamp': header(req.headers, 'webhook-timestamp') ?? '',
          'webhook-signature': header(req.headers, 'webhook-signature') ?? '',
        });
        verified = true;
      } catch (err) {
        verifyError = err instanceof Error ? err.message : String(err);
      }
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      const status = !verified && options.rejectUnverified !== false ? 401 : entry.status;
      const headers: Record<string, string> = { 'content-type': 'text/plain', ...(entry.headers ?? {}) };
      if ((status === 429 || status === 503) && options.retryAfter !== undefined && !('retry-after' in headers)) {
        headers['retry-after'] = String(options.retryAfter);
      }
      const record: ReceivedWebhook = {
        id: header(req.headers, 'webhook-id'),
        timestamp: header(req.headers, 'webhook-timestamp'),
        signature: header(req.headers, 'webhook-signature'),
        verified,
        verifyError,
        body,
        rawBody,
        headers: req.headers,
        method: req.method ?? '',
        path: req.url ?? '',
        status,
      };
      const answer = () => {
        requests.push(record);
        events.emit('request', record);
        if (res.destroyed) return;
        res.writeHead(status, headers);
        res.end(entry.body ?? (verified ? `answered ${status}` : `signature rejected: ${verifyError}`));
      };
      const delay = ('delayMs' in entry ? entry.delayMs : undefined) ?? options.delayMs ?? 0;
      if (delay > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          answer();
        }, delay);
        timers.add(t);
      } else answer();
    });
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });

  await listen(0);
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    requests,
    get held() {
      return timers.size;
    },
    waitFor(n, timeoutMs = 5000) {
      if (requests.length >= n) return Promise.resolve(requests.slice());
      return new Promise((resolve, reject) => {
        const onRequest = () => {
          if (requests.length < n) return;
          clearTimeout(timer);
          events.off('request', onRequest);
          resolve(requests.slice());
        };
        const timer = setTimeout(() => {
          events.off('request', onRequest);
          reject(new Error(`webhook receiver: ${requests.length} of ${n} requests within ${timeoutMs} ms`));
        }, timeoutMs);
        events.on('request', onRequest);
      });
    },
    async setDown(down) {
      if (down) await stop();
      else if (!server.listening) await listen(port);
    },
    close: stop,
  };
}
