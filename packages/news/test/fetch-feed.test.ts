import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { fixturePath, startFeedServer, type FeedServer } from '@signals/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeFeed, type FetchFeedOptions, fetchFeed as fetchAny, parseFeed } from '../src/index.ts';
import { failure } from './helpers.ts';

/** The feed server listens on 127.0.0.1, which the SSRF guard refuses unless allowed (FEED_ALLOWED_CIDRS). */
const fetchFeed = (url: string, opts: FetchFeedOptions = {}) =>
  fetchAny(url, { allowedCidrs: ['127.0.0.1/32'], ...opts });

let server: FeedServer;
beforeAll(async () => {
  server = await startFeedServer();
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => server.clearFaults());

describe('fetchFeed', () => {
  it('reads every recorded feed (RSS 0.92/2.0, Atom) and refuses the one that is an HTML page', async () => {
    const files = fs.readdirSync(fixturePath('rss')).filter((f) => /\.(rss|atom)$/.test(f));
    const counts: Record<string, number> = {};
    for (const f of files) {
      if (f === 'unrecognized.rss') {
        expect((await failure(fetchFeed(`${server.url}/feeds/${f}`))).kind).toBe('not_a_feed');
        continue;
      }
      const r = await fetchFeed(`${server.url}/feeds/${f}`);
      if (r.status !== 'ok') throw new Error('expected ok');
      counts[f] = r.feed.items.length;
    }
    expect(counts['guardian.rss']).toBe(55);
    expect(counts['heise.atom']).toBe(15);
    expect(counts['incomplete-fields.atom']).toBe(0);
  });

  it('decodes the non-UTF-8 feed (encoding.rss, ISO-8859-1) from the header, the XML declaration, or despite a wrong header', async () => {
    for (const q of ['', '?charset=none', '?charset=utf-8']) {
      const r = await fetchFeed(`${server.url}/feeds/encoding.rss${q}`);
      if (r.status !== 'ok') throw new Error('expected ok');
      expect(r.charset).toMatch(/iso-8859-1|windows-1252/);
      expect(r.feed.title).toBe('Jornal de Notícias - Últimas Notícias');
      const all = r.feed.items.map((i) => `${i.title} ${i.summary ?? ''}`).join(' ');
      expect(all).not.toContain('\uFFFD');
      expect(all).toMatch(/[ãçéíóú]/);
    }
  });

  it('decodes a Latin-1 feed without an XML declaration from its header (uolNoticias.rss)', async () => {
    const r = await fetchFeed(`${server.url}/feeds/uolNoticias.rss`);
    if (r.status !== 'ok') throw new Error('expected ok');
    expect(r.feed.items.map((i) => i.title).join(' ')).not.toContain('\uFFFD');
    expect(decodeFeed(fs.readFileSync(fixturePath('rss', 'uolNoticias.rss')), 'text/xml').from).toBe('fallback');
  });

  it('accepts gzip and deflate', async () => {
    for (const q of ['gzip=1', 'deflate=1']) {
      server.resetRequests();
      const r = await fetchFeed(`${server.url}/feeds/guardian.rss?${q}`);
      if (r.status !== 'ok') throw new Error('expected ok');
      expect(r.feed.items).toHaveLength(55);
      expect(server.requests[0]?.headers['accept-encoding']).toMatch(/gzip/);
    }
  });

  it('conditional GET: 304 is "not modified"', async () => {
    const first = await fetchFeed(`${server.url}/feeds/heise.atom`);
    expect(first.etag).toBeTruthy();
    const again = await fetchFeed(`${server.url}/feeds/heise.atom`, {
      etag: first.etag,
      lastModified: first.lastModified,
    });
    expect(again.status).toBe('not_modified');
    const byDate = await fetchFeed(`${server.url}/feeds/heise.atom`, { lastModified: first.lastModified });
    expect(byDate.status).toBe('not_modified');
  });

  it('enforces the size cap while streaming (no Content-Length) and on a declared length', async () => {
    server.setFault('/feeds/big.rss', 'oversize');
    const e1 = await failure(fetchFeed(`${server.url}/feeds/big.rss`, { maxBytes: 256 * 1024 }));
    expect(e1.kind).toBe('too_large');
    expect(e1.message).toBe('the answer exceeds the 262144-byte cap (stopped reading)');
    server.setFault('/feeds/big2.rss', 'oversize-declared');
    const e2 = await failure(fetchFeed(`${server.url}/feeds/big2.rss`, { maxBytes: 256 * 1024 }));
    expect(e2.kind).toBe('too_large');
    expect(e2.message).toMatch(/^the answer declares \d+ bytes, over the 262144-byte cap$/);
  });

  it('follows up to 3 redirects and reports loops and longer chains as redirect_loop', async () => {
    const ok = await fetchFeed(`${server.url}/redirect/3/feeds/heise.atom`);
    expect(ok.status).toBe('ok');
    expect(ok.finalUrl).toBe(`${server.url}/feeds/heise.atom`);
    expect((await failure(fetchFeed(`${server.url}/redirect/4/feeds/heise.atom`))).kind).toBe('redirect_loop');
    expect((await failure(fetchFeed(`${server.url}/loop/a`))).kind).toBe('redirect_loop');
    server.setFault('/feeds/self.rss', 'redirect-loop');
    expect((await failure(fetchFeed(`${server.url}/feeds/self.rss`))).kind).toBe('redirect_loop');
  });

  it('detects a feed that turned into an HTML page', async () => {
    server.setFault('/feeds/guardian.rss', 'html');
    const e = await failure(fetchFeed(`${server.url}/feeds/guardian.rss`));
    expect(e.kind).toBe('not_a_feed');
    expect(e.message).toBe('the answer is an HTML page, not a feed');
  });

  it('gives up on a server that never answers: "connection failed", as for a closed port', async () => {
    server.setFault('/feeds/slow.rss', 'hang');
    const e = await failure(fetchFeed(`${server.url}/feeds/slow.rss`, { timeoutMs: 200 }));
    expect(e.kind).toBe('network');
    expect(e.message).toBe('connection failed: no HTTP answer');
    expect(e.retryable).toBe(true);
  });

  it('reports HTTP errors with their status', async () => {
    server.setFault('/feeds/down.rss', '500');
    const e = await failure(fetchFeed(`${server.url}/feeds/down.rss`));
    expect(e.kind).toBe('http_status');
    expect(e.status).toBe(500);
    expect(e.message).toBe('HTTP 500 Internal Server Error');
    expect((await failure(fetchFeed(`${server.url}/feeds/missing.rss`))).status).toBe(404);
  });

  it('a compressed answer cut off mid-body fails at once as a lost connection (no hang)', async () => {
    const gz = zlib.gzipSync(fs.readFileSync(fixturePath('rss', 'guardian.rss')));
    const cut = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/rss+xml', 'content-encoding': 'gzip' });
      res.write(gz.subarray(0, gz.length >> 1), () => res.socket?.destroy());
    });
    await new Promise<void>((r) => cut.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (cut.address() as AddressInfo).port;
      const e = await failure(fetchFeed(`http://127.0.0.1:${port}/feed.rss`, { timeoutMs: 20_000 }));
      expect([e.kind, e.message]).toEqual(['network', 'connection lost while reading the answer']);
    } finally {
      await new Promise((r) => cut.close(r));
    }
  });

  it('reports broken XML as parse_error', async () => {
    const e = await failure(parseFeed('<?xml version="1.0"?><rss><channel><item><title>x</item></rss>'));
    expect(e.kind).toBe('parse_error');
  });
});
