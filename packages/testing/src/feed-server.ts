/**
 * A local feed host over a real socket: serves the recorded feeds in ../shared/fixtures/rss (and
 * feeds set at run time) with ETag/Last-Modified and 304, gzip/deflate, right or wrong charsets,
 * and the faults feeds show in the wild.
 *
 * Routes:
 *   GET /feeds/<file>[?charset=<name>|none][&gzip=1|&deflate=1][&type=<content-type>]
 *        a fixture file. By default the Content-Type carries the file's true charset
 *        (ISO-8859-1 for encoding.rss, heraldsun.rss, uolNoticias.rss; utf-8 otherwise);
 *        `charset=` overrides it (a wrong one, or none at all).
 *   GET /dyn/<name>        a feed set with setFeed() (edit it between polls).
 *   GET /redirect/<n>/<path>  n hops of 302, then <path>.
 *   GET /loop/a, /loop/b   302 to each other forever.
 * Faults per path prefix (setFault): oversize (chunked, no length, streams until the client
 * gives up), oversize-declared (a Content-Length past any cap), redirect-loop (302 to itself),
 * html (the feed turned into an HTML page), hang, 500.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { faultPlan, requestLog } from './faults.ts';
import path from 'node:path';
import zlib from 'node:zlib';
import { fixturePath } from './fixtures.ts';

export type FeedFault = 'oversize' | 'oversize-declared' | 'redirect-loop' | 'html' | 'hang' | '500';

export interface FeedRequestLog {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** Status sent (undefined while hanging). */
  status?: number;
}

export interface FeedServer {
  /** http://127.0.0.1:<port> */
  url: string;
  requests: FeedRequestLog[];
  count(prefix?: string): number;
  setFault(pathPrefix: string, fault: FeedFault | null, opts?: { times?: number }): void;
  clearFaults(): void;
  /** Serves `body` at `path` (e.g. "/dyn/news.rss"); calling it again edits the feed. */
  setFeed(path: string, body: string | Buffer, opts?: { contentType?: string }): void;
  resetRequests(): void;
  close(): Promise<void>;
}

const LATIN1_FILES = new Set(['encoding.rss', 'heraldsun.rss', 'uolNoticias.rss']);
const FIXED_LAST_MODIFIED = 'Wed, 03 Jan 2018 14:11:52 GMT';
const HTML_PAGE =
  '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>We moved!</title></head>' +
  '<body><h1>Our news now lives on our new website</h1><p>Please visit <a href="/">the homepage</a>.</p></body></html>';

function typeFor(file: string): string {
  if (file.endsWith('.atom')) return 'application/atom+xml';
  if (file.endsWith('.rss')) return 'application/rss+xml';
  return 'application/xml';
}

const etagOf = (b: Buffer) => `"${createHash('sha1').update(b).digest('hex').slice(0, 20)}"`;

export async function startFeedServer(opts: { fixturesDir?: string } = {}): Promise<FeedServer> {
  const dir = opts.fixturesDir ?? fixturePath('rss');
  const log = requestLog<FeedRequestLog>();
  const { requests } = log;
  const plan = faultPlan<FeedFault>();
  const dyn = new Map<string, { body: Buffer; type: string; lastModified: string }>();
  const open = new Set<http.ServerResponse>();
  let dynClock = Date.parse(FIXED_LAST_MODIFIED);

  function serveBody(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    log: FeedRequestLog,
    body: Buffer,
    contentType: string,
    lastModified: string,
    q: URLSearchParams,
  ) {
    const etag = etagOf(body);
    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    const notModified =
      inm !== undefined ? inm.split(',').some((t) => t.trim() === etag) : ims !== undefined && ims === lastModified;
    if (notModified) {
      log.status = 304;
      res.writeHead(304, { etag, 'last-modified': lastModified });
      res.end();
      return;
    }
    const accept = String(req.headers['accept-encoding'] ?? '');
    const headers: http.OutgoingHttpHeaders = { 'content-type': contentType, etag, 'last-modified': lastModified };
    let out = body;
    if (q.get('gzip') === '1' && /\bgzip\b/.test(accept)) {
      out = zlib.gzipSync(body);
      headers['content-encoding'] = 'gzip';
    } else if (q.get('deflate') === '1' && /\bdeflate\b/.test(accept)) {
      out = zlib.deflateSync(body);
      headers['content-encoding'] = 'deflate';
    }
    headers['content-length'] = out.length;
    log.status = 200;
    res.writeHead(200, headers);
    res.end(out);
  }

  function streamOversize(res: http.ServerResponse, log: FeedRequestLog, declared: boolean) {
    log.status = 200;
    const head = Buffer.from(
      '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Endless</title>',
    );
    const item = Buffer.from(`<item><title>Filler</title><description>${'x'.repeat(4000)}</description></item>`);
    const limit = 64 * 1024 * 1024;
    res.writeHead(200, {
      'content-type': 'application/rss+xml; charset=utf-8',
      ...(declared ? { 'content-length': 50 * 1024 * 1024 } : {}),
    });
    let sent = 0;
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    res.write(head);
    const pump = () => {
      while (!closed && sent < limit) {
        sent += item.length;
        if (!res.write(item)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!closed) res.end('</channel></rss>');
    };
    pump();
  }

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://local');
    const p = u.pathname;
    const log: FeedRequestLog = {
      method: req.method ?? 'GET',
      path: p,
      query: Object.fromEntries(u.searchParams),
      headers: req.headers,
    };
    requests.push(log);
    open.add(res);
    res.on('close', () => open.delete(res));
    const redirect = (to: string) => {
      log.status = 302;
      res.writeHead(302, { location: to, 'content-length': 0 });
      res.end();
    };

    const fault = plan.take(p);
    switch (fault) {
      case 'hang':
        return;
      case '500':
        log.status = 500;
        res.writeHead(500, { 'content-type': 'text/plain' });
        return res.end('Internal Server Error');
      case 'html':
        log.status = 200;
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-length': Buffer.byteLength(HTML_PAGE),
        });
        return res.end(HTML_PAGE);
      case 'redirect-loop':
        return redirect(p);
      case 'oversize':
      case 'oversize-declared':
        return streamOversize(res, log, fault === 'oversize-declared');
      case undefined:
        break;
    }

    if (p === '/loop/a') return redirect('/loop/b');
    if (p === '/loop/b') return redirect(`${server.url}/loop/a`);
    const rm = /^\/redirect\/(\d+)\/(.+)$/.exec(p);
    if (rm) {
      const n = Number(rm[1]);
      return redirect(n <= 1 ? `/${rm[2]}${u.search}` : `/redirect/${n - 1}/${rm[2]}${u.search}`);
    }
    const d = dyn.get(p);
    if (d) return serveBody(req, res, log, d.body, d.type, d.lastModified, u.searchParams);
    const fm = /^\/feeds\/([\w.-]+)$/.exec(p);
    if (fm) {
      const file = fm[1] as string;
      const full = path.join(dir, file);
      if (!fs.existsSync(full)) {
        log.status = 404;
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('Not Found');
      }
      const body = fs.readFileSync(full);
      const cs = u.searchParams.get('charset') ?? (LATIN1_FILES.has(file) ? 'ISO-8859-1' : 'utf-8');
      const type = u.searchParams.get('type') ?? typeFor(file);
      return serveBody(
        req,
        res,
        log,
        body,
        cs === 'none' ? type : `${type}; charset=${cs}`,
        FIXED_LAST_MODIFIED,
        u.searchParams,
      );
    }
    log.status = 404;
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('Not Found');
  }) as http.Server & { url?: string };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  server.url = url;

  return {
    url,
    requests,
    count: log.count,
    setFault: plan.setFault,
    clearFaults: plan.clearFaults,
    setFeed(p, body, o = {}) {
      dynClock += 60_000;
      dyn.set(p, {
        body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
        type: o.contentType ?? 'application/rss+xml; charset=utf-8',
        lastModified: new Date(dynClock).toUTCString(),
      });
    },
    resetRequests: log.resetRequests,
    async close() {
      for (const r of open) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
