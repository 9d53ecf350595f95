/**
 * Fetches a feed's bytes ourselves (rss-parser's own fetching has no size cap, a 60 s timeout and
 * header-only charsets): manual redirects (counted, loops detected), gzip/deflate (decoded by
 * fetch; the cap counts decoded bytes, so a gzip bomb stops too), conditional GET, a size cap
 * enforced while streaming, one timeout over headers and body, charset detection, and a check
 * that the answer still is a feed. Then rss-parser's parseString.
 */
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
  fetch?: typeof fetch;
  userAgent?: string;
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

async function readCapped(res: Response, maxBytes: number, url: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length'));
  // A declared length only says something about the encoded body; undecoded it is a floor.
  if (!res.headers.get('content-encoding') && Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new FeedFetchError('too_large', `${url}: Content-Length ${declared} exceeds the ${maxBytes}-byte cap`, url);
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new FeedFetchError(
        'too_large',
        `${url}: body exceeds the ${maxBytes}-byte cap (stopped reading at ${total} bytes)`,
        url,
      );
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

export async function fetchFeed(url: string, opts: FetchFeedOptions = {}): Promise<FetchFeedResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const maxBytes = opts.maxBytes ?? 5 * 1024 * 1024;
  const maxRedirects = opts.maxRedirects ?? 3;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const signal = AbortSignal.timeout(timeoutMs);
  const headers: Record<string, string> = {
    accept: 'application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5',
    'accept-encoding': 'gzip, deflate',
    'user-agent': opts.userAgent ?? 'market-signals-feed-reader/0.1 (+https://github.com/)',
  };
  if (opts.etag) headers['if-none-match'] = opts.etag;
  if (opts.lastModified) headers['if-modified-since'] = opts.lastModified;

  const visited = new Set<string>();
  let current = url;
  try {
    for (let hop = 0; ; hop++) {
      visited.add(current);
      const res = await doFetch(current, { method: 'GET', headers, redirect: 'manual', signal });
      if (REDIRECTS.has(res.status)) {
        await res.body?.cancel().catch(() => {});
        const loc = res.headers.get('location');
        if (!loc)
          throw new FeedFetchError('http_status', `${current}: ${res.status} without a Location`, url, {
            status: res.status,
          });
        const next = new URL(loc, current).href;
        if (visited.has(next)) {
          throw new FeedFetchError('redirect_loop', `${url}: redirect loop (${[...visited, next].join(' -> ')})`, url, {
            status: res.status,
          });
        }
        if (hop + 1 > maxRedirects) {
          throw new FeedFetchError(
            'redirect_loop',
            `${url}: more than ${maxRedirects} redirects (last to ${next})`,
            url,
            { status: res.status },
          );
        }
        current = next;
        continue;
      }
      const etag = res.headers.get('etag');
      const lastModified = res.headers.get('last-modified');
      if (res.status === 304) {
        await res.body?.cancel().catch(() => {});
        if (!opts.etag && !opts.lastModified) {
          throw new FeedFetchError('http_status', `${current}: 304 to an unconditional request`, url, { status: 304 });
        }
        return {
          status: 'not_modified',
          url,
          finalUrl: current,
          etag: etag ?? opts.etag ?? null,
          lastModified: lastModified ?? opts.lastModified ?? null,
        };
      }
      if (res.status < 200 || res.status >= 300) {
        await res.body?.cancel().catch(() => {});
        throw new FeedFetchError('http_status', `${current}: HTTP ${res.status} ${res.statusText}`.trim(), url, {
          status: res.status,
        });
      }
      const contentType = res.headers.get('content-type');
      const bytes = await readCapped(res, maxBytes, url);
      const decoded = decodeFeed(bytes, contentType);
      assertFeedDocument(decoded.text, url, contentType);
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
  } catch (err) {
    if (err instanceof FeedFetchError) throw err;
    if (signal.aborted)
      throw new FeedFetchError('timeout', `${url}: no complete answer within ${timeoutMs} ms`, url, { cause: err });
    const e = err as Error & { cause?: Error };
    throw new FeedFetchError('network', `${url}: ${e.cause?.message ?? e.message ?? String(err)}`, url, { cause: err });
  }
}
