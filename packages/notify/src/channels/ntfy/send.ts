/**
 * ntfy (https://ntfy.sh or a self-hosted server): one JSON publish to the server root with the
 * topic in the body, as ntfy documents for JSON publishing, with priority and tags from severity
 * and `Authorization: Bearer <token>` for protected topics. The topic URL is subscriber-given:
 * the SSRF guard resolves and checks it, the socket connects only to the checked addresses, no
 * redirect is followed. 429 and 503 carry Retry-After; other 4xx are permanent (a wrong topic or
 * token does not fix itself), 5xx and network failures transient.
 */
import http from 'node:http';
import https from 'node:https';
import { PermanentDeliveryError, TransientDeliveryError } from '@signals/core';
import {
  allowList,
  assertPublicUrl,
  HostResolutionError,
  type LookupFn,
  pinnedLookup,
  UnsafeUrlError,
} from '@signals/netguard';
import { redactSecrets } from '../../redact.ts';
import { parseRetryAfter } from '../../retry.ts';
import type { ShortMessage } from '../types.ts';

export interface NtfyOptions {
  /** Reserved ranges that may be called anyway (tests: 127.0.0.1/32). */
  allowedCidrs?: readonly string[];
  /** Whole request budget (default 10 s). */
  timeoutMs?: number;
  lookup?: LookupFn;
}

/** Splits a topic URL into the server base and the topic (the last path segment). */
export function splitTopicUrl(raw: string): { server: string; topic: string } | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  const parts = u.pathname.split('/').filter(Boolean);
  const topic = parts.pop();
  if (!topic || !/^[A-Za-z0-9_-]{1,64}$/.test(topic)) return null;
  const base = `${u.origin}${parts.length ? `/${parts.join('/')}` : ''}`;
  return { server: base, topic };
}

/** Where an ntfy message goes: the topic URL and its access token (opened from its sealed form; never logged). */
export interface NtfyTarget {
  topicUrl: string | null;
  token: string | null;
}

export interface NtfySender {
  send(target: NtfyTarget, message: ShortMessage): Promise<{ status: number; response: string }>;
}

export function createNtfySender(options: NtfyOptions = {}): NtfySender {
  const allowed = allowList(options.allowedCidrs);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async send(target, message) {
      const split = target.topicUrl ? splitTopicUrl(target.topicUrl) : null;
      if (!split) throw new PermanentDeliveryError('ntfy topic URL missing or malformed');
      const secrets = [target.token];
      let checked: Awaited<ReturnType<typeof assertPublicUrl>>;
      try {
        checked = await assertPublicUrl(split.server, {
          allowed,
          label: 'ntfy URL',
          ...(options.lookup ? { lookup: options.lookup } : {}),
        });
      } catch (err) {
        if (err instanceof UnsafeUrlError) throw new PermanentDeliveryError(err.message);
        if (err instanceof HostResolutionError) throw new TransientDeliveryError(err.message);
        throw err;
      }
      const body = JSON.stringify({
        topic: split.topic,
        title: message.title,
        message: message.body,
        priority: message.priority,
        tags: message.tags,
        ...(message.click ? { click: message.click } : {}),
      });
      const headers: http.OutgoingHttpHeaders = {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': 'market-signals-ntfy/1',
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
      };
      const res = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>(
        (resolve, reject) => {
          const mod = checked.url.protocol === 'https:' ? https : http;
          const req = mod.request(
            checked.url,
            { method: 'POST', headers, lookup: pinnedLookup(checked.addresses), timeout: timeoutMs },
            (r) => {
              const chunks: Buffer[] = [];
              let size = 0;
              r.on('data', (c: Buffer) => {
                if (size < 4096) chunks.push(c);
                size += c.length;
              });
              r.on('end', () =>
                resolve({
                  status: r.statusCode ?? 0,
                  headers: r.headers,
                  text: Buffer.concat(chunks).toString('utf8').slice(0, 500),
                }),
              );
              r.on('error', reject);
            },
          );
          const timer = setTimeout(() => req.destroy(new Error('timeout')), timeoutMs);
          req.on('close', () => clearTimeout(timer));
          req.on('timeout', () => req.destroy(new Error('timeout')));
          req.on('error', reject);
          req.end(body);
        },
      ).catch((err: Error & { code?: string }) => {
        throw new TransientDeliveryError(
          err.message === 'timeout'
            ? `ntfy timed out after ${timeoutMs} ms`
            : // One answer for refused, reset and the rest: a topic URL cannot map which ports are open.
              'ntfy unreachable: no HTTP answer',
        );
      });
      const response = redactSecrets(res.text, secrets);
      if (res.status >= 200 && res.status < 300) return { status: res.status, response };
      if (res.status === 429 || res.status === 503 || res.status >= 500) {
        const retryAfterMs =
          res.status === 429 || res.status === 503
            ? parseRetryAfter(res.headers['retry-after'], new Date())
            : undefined;
        throw new TransientDeliveryError(`ntfy answered ${res.status}`, res.status, retryAfterMs);
      }
      throw new PermanentDeliveryError(`ntfy answered ${res.status}: ${response.slice(0, 200)}`, res.status);
    },
  };
}
