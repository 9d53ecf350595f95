import { SourceUnavailableError } from '@signals/core';
import type { RequestBudget } from '../budget.ts';

/** Yahoo's hosts as yahoo-finance2 builds them (crumb step included). */
const YAHOO_HOSTS = /^https:\/\/(?:query1\.|query2\.)?finance\.yahoo\.com/;

export interface YahooFetchOptions {
  source: string;
  /** Route every Yahoo request here (a local server in tests: YAHOO_BASE_URL). */
  baseUrl?: string;
  fetch: typeof fetch;
  timeoutMs: number;
  budget?: RequestBudget;
  /** Receives every answered body (for SchemaDriftError's raw payload). */
  onBody?: (key: string, text: string) => void;
}

const NULL_BODY = new Set([101, 204, 205, 304]);

function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

export function snippet(text: string, n = 120): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** Key under which a response body is remembered: path plus the symbols asked for. */
export function bodyKey(url: string): string {
  try {
    const u = new URL(url);
    const syms = u.searchParams.get('symbols');
    return syms ? `${u.pathname}?symbols=${syms}` : u.pathname;
  } catch {
    return url;
  }
}

/**
 * The fetch given to yahoo-finance2. It (1) rewrites Yahoo's hosts to `baseUrl`, (2) takes one
 * request from the shared budget, (3) bounds the whole exchange (headers and body) with a timeout,
 * and (4) turns 429/5xx and network failures into SourceUnavailableError before yahoo-finance2
 * sees them (it would otherwise try to parse an HTML 429 page as JSON). Other answers are handed
 * back as a fresh Response over the already-read body.
 */
export function createYahooFetch(o: YahooFetchOptions): typeof fetch {
  const base = o.baseUrl?.replace(/\/+$/, '');
  const yahooFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const original = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const url = base ? original.replace(YAHOO_HOSTS, base) : original;
    let path = original;
    try {
      path = new URL(original).pathname;
    } catch {
      /* keep the string */
    }
    if (o.budget) await o.budget.take();
    const timeout = AbortSignal.timeout(o.timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    let res: Response;
    let text: string;
    try {
      res = await o.fetch(url, { ...init, signal });
      text = await res.text();
    } catch (err) {
      if (timeout.aborted) {
        throw new SourceUnavailableError(o.source, `timeout after ${o.timeoutMs} ms: GET ${path}`, { cause: err });
      }
      const msg = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new SourceUnavailableError(o.source, `network error on GET ${path}: ${msg}`, { cause: err });
    }
    if (res.status === 429 || res.status >= 500) {
      throw new SourceUnavailableError(
        o.source,
        `HTTP ${res.status} ${res.statusText} on GET ${path}: ${snippet(text)}`,
        {
          status: res.status,
          retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
        },
      );
    }
    o.onBody?.(bodyKey(original), text);
    return new Response(NULL_BODY.has(res.status) ? null : text, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  };
  return yahooFetch as typeof fetch;
}
