/**
 * Sends one signed webhook request (Standard Webhooks headers) and classifies the outcome.
 *
 * - 2xx: delivered.
 * - 410 Gone: {@link WebhookPermanentError}; the caller disables the endpoint.
 * - Every other status, including other 4xx and 3xx: {@link WebhookTransientError}, retried on the
 *   schedule. This is what Svix and the other field leaders do: a 404 or 401 is most often a
 *   receiver being deployed or misconfigured for a while, and dropping the alert would be worse
 *   than retrying it. Endpoints that keep failing are disabled by time (see shouldDisableEndpoint).
 * - 429 and 503 carry the receiver's Retry-After as `retryAfterMs`.
 * - Redirects are not followed: a 3xx is a failure (the redirect target was never checked).
 * - Timeouts, refused or reset connections, TLS errors: transient.
 * - A URL refused by the SSRF guard ({@link WebhookUrlRefusedError}), or an invalid secret:
 *   permanent; a host that does not resolve: transient.
 *
 * The host is resolved and checked before connecting, and the socket connects only to the checked
 * addresses (a pinned lookup), while Host and TLS SNI keep the URL's hostname: no DNS rebinding.
 * The response body is read up to `maxResponseBytes` and kept only as an opaque snippet.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import {
  type Clock,
  type Logger,
  PermanentDeliveryError,
  silentLogger,
  systemClock,
  TransientDeliveryError,
} from '@signals/core';
import { redactSecrets, redactUrl } from '../../redact.ts';
import { parseRetryAfter } from '../../retry.ts';
import { InvalidWebhookSecretError, sign, unixSeconds } from './signing.ts';
import {
  allowList,
  assertPublicUrl,
  HostResolutionError,
  type LookupFn,
  pinnedLookup,
  type ResolvedAddress,
  UnsafeUrlError,
} from '@signals/netguard';

export interface WebhookSenderOptions {
  /** Whole request budget: DNS, connect, TLS, response headers and capped body (default 10 s). */
  timeoutMs?: number;
  /** Reserved ranges that may be called anyway, e.g. `['127.0.0.1/32']` in tests. */
  allowedCidrs?: readonly string[];
  logger?: Logger;
  /** User-Agent header (default `market-signals-webhooks/1`). */
  userAgent?: string;
  /** Source of webhook-timestamp (default the system clock). */
  clock?: Clock;
  /** Response bytes kept (default 4096); the rest is not read. */
  maxResponseBytes?: number;
  /** DNS resolution (default dns.lookup, all addresses). */
  lookup?: LookupFn;
}

export interface WebhookSendInput {
  url: string;
  /** webhook-id: the delivery's message id, identical on every retry so receivers can dedupe. */
  messageId: string;
  /** Current secret first, then the previous one during a rotation overlap. */
  secrets: readonly string[];
  /** The JSON body, exactly as it will be signed and sent. */
  body: string;
}

export interface WebhookSendResult {
  status: number;
  durationMs: number;
  /** Start of the response body, control characters removed. Foreign text: display only. */
  responseSnippet: string;
  /** The webhook-timestamp sent (Unix seconds). */
  timestamp: number;
}

export interface WebhookSender {
  send(input: WebhookSendInput): Promise<WebhookSendResult>;
}

/** What is known about a failed attempt, for the delivery log. */
export interface AttemptDetails {
  durationMs: number;
  responseSnippet?: string;
}

export class WebhookTransientError extends TransientDeliveryError {
  readonly durationMs: number;
  readonly responseSnippet: string | undefined;
  constructor(message: string, details: AttemptDetails & { statusCode?: number; retryAfterMs?: number }) {
    super(message, details.statusCode, details.retryAfterMs);
    this.durationMs = details.durationMs;
    this.responseSnippet = details.responseSnippet;
  }
}

export class WebhookPermanentError extends PermanentDeliveryError {
  readonly durationMs: number;
  readonly responseSnippet: string | undefined;
  constructor(message: string, details: AttemptDetails & { statusCode?: number }) {
    super(message, details.statusCode);
    this.durationMs = details.durationMs;
    this.responseSnippet = details.responseSnippet;
  }
}

/** The SSRF guard refused the endpoint's URL (@signals/netguard): it must be changed. */
export class WebhookUrlRefusedError extends PermanentDeliveryError {
  constructor(
    message: string,
    readonly reason: UnsafeUrlError['reason'],
  ) {
    super(message);
  }
}

class RequestTimeout extends Error {}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Keep-alive agents, one per endpoint origin AND its checked addresses: connections are reused
 * between deliveries to the same receiver (a fan-out sends many), but only to addresses the SSRF
 * guard accepted; a DNS change gives a new agent. Bounded: the least recently used is dropped.
 */
const agents = new Map<string, http.Agent>();
function agentFor(url: URL, addresses: readonly ResolvedAddress[]): http.Agent {
  const key = `${url.protocol}//${url.host}|${addresses.map((a) => a.address).join(',')}`;
  let agent = agents.get(key);
  if (agent) {
    agents.delete(key);
    agents.set(key, agent);
    return agent;
  }
  const opts = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: 32, maxFreeSockets: 8, timeout: 15_000 };
  agent = url.protocol === 'https:' ? new https.Agent(opts) : new http.Agent(opts);
  agents.set(key, agent);
  if (agents.size > 256) {
    const oldest = agents.keys().next().value as string;
    agents.get(oldest)?.destroy();
    agents.delete(oldest);
  }
  return agent;
}

function post(
  url: URL,
  addresses: readonly ResolvedAddress[],
  headers: http.OutgoingHttpHeaders,
  body: string,
  maxBytes: number,
  signal: AbortSignal,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const agent = agentFor(url, addresses);
    const req = mod.request(url, { method: 'POST', headers, agent, lookup: pinnedLookup(addresses) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      // The status line is what counts: a body cut short (cap, reset, timeout) still answers.
      const finish = () => {
        if (done) return;
        done = true;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).subarray(0, maxBytes),
        });
      };
      res.on('data', (chunk: Buffer) => {
        if (done) return;
        chunks.push(chunk);
        size += chunk.length;
        if (size >= maxBytes) {
          finish();
          res.destroy();
        }
      });
      res.on('end', finish);
      res.on('error', finish);
      res.on('close', finish);
    });
    const onAbort = () => req.destroy(new RequestTimeout());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal.removeEventListener('abort', onAbort));
    req.on('error', reject);
    req.end(body);
  });
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new RequestTimeout());
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function snippetOf(body: Buffer, max: number, secrets: readonly string[]): string {
  const text = body
    .toString('utf8')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
    .slice(0, max);
  return redactSecrets(text, secrets);
}

export function createWebhookSender(options: WebhookSenderOptions = {}): WebhookSender {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxResponseBytes ?? 4096;
  const clock = options.clock ?? systemClock;
  const userAgent = options.userAgent ?? 'market-signals-webhooks/1';
  const allowed = allowList(options.allowedCidrs);
  const log = (options.logger ?? silentLogger).child({ component: 'webhook' });

  return {
    async send(input) {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const timestamp = unixSeconds(clock.now());
      // Only a log line needs the shown URL: redacting parses the URL, which a delivered message
      // (debug, off by default) does not pay for.
      const ctx = () => ({ url: redactUrl(input.url), messageId: input.messageId });

      /** Logs and returns `err`; `detail` (a socket error code, what a name resolved to) is for the log only. */
      const fail = (
        err: WebhookTransientError | WebhookPermanentError | PermanentDeliveryError | TransientDeliveryError,
        detail?: string,
      ) => {
        log.warn(
          {
            ...ctx(),
            statusCode: err.statusCode,
            durationMs: elapsed(),
            outcome: err instanceof PermanentDeliveryError ? 'failed' : 'retry',
            err: err.message,
            ...(detail ? { detail } : {}),
          },
          'webhook not delivered',
        );
        return err;
      };

      let signature: string;
      try {
        signature = sign({ id: input.messageId, timestamp, body: input.body, secrets: input.secrets });
      } catch (err) {
        const reason = err instanceof InvalidWebhookSecretError ? err.message : 'cannot sign the message';
        throw fail(new WebhookPermanentError(redactSecrets(reason, input.secrets), { durationMs: elapsed() }));
      }

      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), timeoutMs);
      try {
        const { url, addresses } = await abortable(
          assertPublicUrl(input.url, {
            allowed,
            label: 'webhook URL',
            ...(options.lookup ? { lookup: options.lookup } : {}),
          }),
          ac.signal,
        ).catch((err: unknown) => {
          // The guard's verdicts, as delivery outcomes: a refused URL never works, a name may resolve later.
          if (err instanceof UnsafeUrlError)
            throw fail(new WebhookUrlRefusedError(err.message, err.reason), err.detail);
          if (err instanceof HostResolutionError) throw fail(new TransientDeliveryError(err.message), err.detail);
          throw err;
        });
        const res = await post(
          url,
          addresses,
          {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(input.body, 'utf8'),
            'user-agent': userAgent,
            'webhook-id': input.messageId,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signature,
          },
          input.body,
          maxBytes,
          ac.signal,
        );
        const durationMs = elapsed();
        const responseSnippet = snippetOf(res.body, maxBytes, input.secrets);
        const status = res.status;
        if (status >= 200 && status < 300) {
          if (log.isLevelEnabled?.('debug') ?? true)
            log.debug({ ...ctx(), statusCode: status, durationMs, outcome: 'ok' }, 'webhook delivered');
          return { status, durationMs, responseSnippet, timestamp };
        }
        const details = { statusCode: status, durationMs, responseSnippet };
        if (status === 410) {
          throw fail(new WebhookPermanentError('endpoint answered 410 Gone: it asks to be disabled', details));
        }
        if (status >= 300 && status < 400) {
          throw fail(new WebhookTransientError(`endpoint answered ${status} redirect, which is not followed`, details));
        }
        const retryAfterMs =
          status === 429 || status === 503 ? parseRetryAfter(res.headers['retry-after'], clock.now()) : undefined;
        throw fail(
          new WebhookTransientError(`endpoint answered ${status}`, {
            ...details,
            ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
          }),
        );
      } catch (err) {
        // Already classified and logged (ours, or the SSRF guard's).
        if (err instanceof PermanentDeliveryError || err instanceof TransientDeliveryError) throw err;
        if (err instanceof RequestTimeout) {
          throw fail(new WebhookTransientError(`timed out after ${timeoutMs} ms`, { durationMs: elapsed() }));
        }
        // Refused, reset, TLS failure, no HTTP: one answer for all, so a test event or a delivery
        // log cannot tell an open port from a closed one. The socket's code goes to the log.
        const code = (err as { code?: unknown }).code;
        throw fail(
          new WebhookTransientError('unreachable: no HTTP answer', { durationMs: elapsed() }),
          typeof code === 'string' ? code : (err as Error).message,
        );
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
