/**
 * Fetches a feed's bytes ourselves (rss-parser's own fetching has no size cap, a 60 s timeout and
 * header-only charsets), through the SSRF guard of @signals/netguard: every hop's host is resolved
 * and checked (loopback, private, link-local, metadata and reserved ranges refused unless allowed),
 * and the socket connects to the checked addresses only, so DNS rebinding cannot move it. Redirects
 * are followed by hand (counted, loops detected), each target checked again. gzip/deflate/br are
 * decoded here (the cap counts decoded bytes, so a gzip bomb stops too); conditional GET; a size
 * cap enforced while streaming; one timeout over every hop; charset detection; a check that the
 * answer still is a feed. Then rss-parser's parseString.
 *
 * Errors are in our words ({@link FeedFetchError}), because admins read them: "refused: loopback
 * address", "connection failed: no HTTP answer", "HTTP 404 Not Found". Never the remote side's
 * banner, status text or errno: a feed URL pointing at an internal Redis, Postgres or SMTP port
 * reads exactly like one pointing at a closed port.
 */
import http from 'node:http';
import https from 'node:https';
import type { BlockList } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import {
  allowList,
  assertPublicUrl,
  HostResolutionError,
  type LookupFn,
  pinnedLookup,
  type ResolvedAddress,
  UnsafeUrlError,
} from '@signals/netguard';
import { decodeFeed } from './decode.ts';
import { FeedFetchError } from './errors.ts';
import { assertFeedDocument, type ParsedFeed, parseFeed } from './parse.ts';

export interface FetchFeedOptions {
  /** Whole exchange, redirects and body included (default 15 s). */
  timeoutMs?: number;
  /** Largest body accepted, after decompression (default 5 MiB). */
  maxBytes?: number;
  /** Redirects followed (default 3). */
  maxRedirects?: number;
  /** Validators from the last 200: sent as If-None-Match / If-Modified-Since. */
  etag?: string | null;
  lastModified?: string | null;
  userAgent?: string;
  /**
   * Ranges a feed may be fetched from although the SSRF guard refuses them (FEED_ALLOWED_CIDRS),
   * e.g. `['127.0.0.1/32']` for a local feed server in tests.
   */
  allowedCidrs?: readonly string[];
  /** The same, already built with netguard's allowList (the ingestor builds it once). */
  allowed?: BlockList;
  /** DNS resolution (default dns.lookup, all addresses); for tests. */
  lookup?: LookupFn;
}

interface FetchedBase {
  url: string;
  /** URL after redirects. */
  finalUrl: string;
  etag: string | null;
  lastModified: string | null;
}

export type FetchFeedResult =
  | (FetchedBase & { status: 'not_modified' })
  | (FetchedBase & { status: 'ok'; bytes: number; charset: string; feed: ParsedFeed });

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Past the response head: a failure now says which part went wrong in our words. */
class BodyFailure extends Error {}

function get(
  url: URL,
  addresses: readonly ResolvedAddress[],
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    // No keep-alive agent: a pooled socket could outlive the address check it was made for.
    const req = mod.request(
      url,
      { method: 'GET', headers, agent: false, lookup: pinnedLookup(addresses), signal },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
}

function header(res: http.IncomingMessage, name: string): string | null {
  const v = res.headers[name];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

function decoderFor(encoding: string | null): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | null | undefined {
  const e = (encoding ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity') return null;
  if (e === 'gzip' || e === 'x-gzip') return zlib.createGunzip();
  if (e === 'deflate') return zlib.createInflate();
  if (e === 'br') return zlib.createBrotliDecompress();
  return undefined;
}

async function readCapped(res: http.IncomingMessage, maxBytes: number, url: string): Promise<Buffer> {
  const encoding = header(res, 'content-encoding');
  const declared = Number(header(res, 'content-length'));
  // A declared length only says something about the encoded body; undecoded it is a floor.
  if (!encoding && Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    throw new FeedFetchError('too_large', `the answer declares ${declared} bytes, over the ${maxBytes}-byte cap`, url);
  }
  const decoder = decoderFor(encoding);
  if (decoder === undefined) {
    res.destroy();
    throw new FeedFetchError('not_a_feed', 'the answer uses a content encoding we do not read', url);
  }
  // pipeline, not pipe: a connection lost mid-body must fail the decoder too, not leave it waiting.
  const stream: Readable = decoder ? pipeline(res, decoder, () => {}) : res;
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        throw new FeedFetchError('too_large', `the answer exceeds the ${maxBytes}-byte cap (stopped reading)`, url);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof FeedFetchError) throw err;
    if (decoder && (err as { code?: unknown }).code?.toString().startsWith('Z_')) {
      throw new FeedFetchError('parse_error', 'the compressed answer is corrupt', url, { cause: err });
    }
    throw new BodyFailure('body', { cause: err });
  } finally {
    res.destroy();
    decoder?.destroy();
  }
  return Buffer.concat(chunks);
}

/** Our words for a refused hop, from the guard's verdict. */
function refused(err: UnsafeUrlError, hop: number): string {
  const target = hop === 0 ? '' : 'redirect to ';
  switch (err.reason) {
    case 'address':
      return `refused: ${target}${err.refusal ?? 'reserved'} address`;
    case 'scheme':
      return `refused: ${target}a URL that is not http or https`;
    case 'credentials':
      return `refused: ${target}a URL with credentials in it`;
    default:
      return `refused: ${target}not a valid URL`;
  }
}

export async function fetchFeed(url: string, opts: FetchFeedOptions = {}): Promise<FetchFeedResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const maxBytes = opts.maxBytes ?? 5 * 1024 * 1024;
  const maxRedirects = opts.maxRedirects ?? 3;
  const allowed = opts.allowed ?? allowList(opts.allowedCidrs);
  const signal = AbortSignal.timeout(timeoutMs);
  const headers: Record<string, string> = {
    accept: 'application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5',
    'accept-encoding': 'gzip, deflate, br',
    'user-agent': opts.userAgent ?? 'market-signals-feed-reader/0.1 (+https://github.com/)',
  };
  if (opts.etag) headers['if-none-match'] = opts.etag;
  if (opts.lastModified) headers['if-modified-since'] = opts.lastModified;

  const visited = new Set<string>();
  let current = url;
  for (let hop = 0; ; hop++) {
    visited.add(current);
    let target: { url: URL; addresses: ResolvedAddress[] };
    try {
      target = await assertPublicUrl(current, {
        allowed,
        label: 'feed URL',
        ...(opts.lookup ? { lookup: opts.lookup } : {}),
      });
    } catch (err) {
      if (err instanceof UnsafeUrlError) throw new FeedFetchError('refused', refused(err, hop), url, { cause: err });
      if (err instanceof HostResolutionError) {
        const what = hop === 0 ? 'the host name' : 'the host name of the redirect target';
        throw new FeedFetchError('dns', `cannot resolve ${what}`, url, { cause: err });
      }
      throw err;
    }
    let res: http.IncomingMessage;
    try {
      res = await get(target.url, target.addresses, headers, signal);
    } catch (err) {
      // Refused, reset, timed out, TLS failure, or something that does not speak HTTP: one answer
      // for all of them, so nobody learns through us what listens where.
      throw new FeedFetchError('network', 'connection failed: no HTTP answer', url, { cause: err });
    }
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status)) {
      res.destroy();
      const loc = header(res, 'location');
      if (!loc) throw new FeedFetchError('http_status', `HTTP ${status} redirect without a Location`, url, { status });
      let next: string;
      try {
        next = new URL(loc, current).href;
      } catch {
        throw new FeedFetchError('http_status', `HTTP ${status} redirect to an invalid URL`, url, { status });
      }
      if (visited.has(next)) throw new FeedFetchError('redirect_loop', 'redirect loop', url, { status });
      if (hop + 1 > maxRedirects) {
        throw new FeedFetchError('redirect_loop', `more than ${maxRedirects} redirects`, url, { status });
      }
      current = next;
      continue;
    }
    const etag = header(res, 'etag');
    const lastModified = header(res, 'last-modified');
    if (status === 304) {
      res.destroy();
      if (!opts.etag && !opts.lastModified) {
        throw new FeedFetchError('http_status', 'HTTP 304 to an unconditional request', url, { status });
      }
      return {
        status: 'not_modified',
        url,
        finalUrl: current,
        etag: etag ?? opts.etag ?? null,
        lastModified: lastModified ?? opts.lastModified ?? null,
      };
    }
    if (status < 200 || status >= 300) {
      res.destroy();
      // Our table's reason phrase, not the server's status text.
      const reason = http.STATUS_CODES[status];
      throw new FeedFetchError('http_status', `HTTP ${status}${reason ? ` ${reason}` : ''}`, url, { status });
    }
    const contentType = header(res, 'content-type');
    let bytes: Buffer;
    try {
      bytes = await readCapped(res, maxBytes, url);
    } catch (err) {
      if (!(err instanceof BodyFailure)) throw err;
      if (signal.aborted) {
        throw new FeedFetchError('timeout', `no complete answer within ${timeoutMs} ms`, url, { cause: err });
      }
      throw new FeedFetchError('network', 'connection lost while reading the answer', url, { cause: err });
    }
    const decoded = decodeFeed(bytes, contentType);
    assertFeedDocument(decoded.text, url);
    const feed = await parseFeed(decoded.text, url);
    return {
      status: 'ok',
      url,
      finalUrl: current,
      etag,
      lastModified,
      bytes: bytes.byteLength,
      charset: decoded.charset,
      feed,
    };
  }
}
