/**
 * Feeds behind the webhooks' SSRF guard: the resolved address is checked and pinned, private and
 * reserved ranges are refused unless allowed (FEED_ALLOWED_CIDRS), every redirect is checked again,
 * and what admins read (Feed.lastError) is in our words: it does not tell a Redis, Postgres or SMTP
 * port from a closed one.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FixedClock } from '@signals/core';
import { createNewsStore } from '@signals/db';
import {
  createTestDb,
  type FeedServer,
  type SmtpSink,
  startFeedServer,
  startSmtpSink,
  TEST_REDIS_URL,
  type TestDb,
} from '@signals/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNewsIngestor, fetchFeed } from '../src/index.ts';
import { failure } from './helpers.ts';

const LOCAL = ['127.0.0.1/32'];

let db: TestDb;
let feeds: FeedServer;
let smtp: SmtpSink;
let redirector: http.Server;
let redirectorUrl: string;
beforeAll(async () => {
  db = await createTestDb();
  feeds = await startFeedServer();
  smtp = await startSmtpSink();
  // Answers every request with a redirect to its `to` query parameter: a feed host gone rogue.
  redirector = http.createServer((req, res) => {
    const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '/';
    res.writeHead(302, { location: to }).end();
  });
  await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', () => r()));
  redirectorUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => redirector?.close(r));
  await smtp?.close();
  await feeds?.close();
  await db?.drop();
});

/** A port nothing listens on (taken, then let go). */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('feed fetching through the SSRF guard', () => {
  it('refuses loopback without FEED_ALLOWED_CIDRS, before connecting', async () => {
    feeds.resetRequests();
    const e = await failure(fetchFeed(`${feeds.url}/feeds/heise.atom`));
    expect(e.kind).toBe('refused');
    expect(e.message).toBe('refused: loopback address');
    expect(e.retryable).toBe(false);
    expect(feeds.count()).toBe(0);
    // Allowed, the same URL works.
    expect((await fetchFeed(`${feeds.url}/feeds/heise.atom`, { allowedCidrs: LOCAL })).status).toBe('ok');
  });

  it('checks what a name resolves to, and connects to that checked address only', async () => {
    const port = new URL(feeds.url).port;
    let lookups = 0;
    // A rebinding resolver: the first answer is the allowed address, later ones are not.
    const lookup = async (host: string) => {
      lookups++;
      if (host === 'private.feeds.test') return [{ address: '10.0.0.7', family: 4 }];
      return lookups === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.9.9.9', family: 4 }];
    };
    feeds.resetRequests();
    const ok = await fetchFeed(`http://news.feeds.test:${port}/feeds/heise.atom`, { allowedCidrs: LOCAL, lookup });
    expect(ok.status).toBe('ok');
    expect(lookups).toBe(1);
    expect(feeds.requests[0]?.headers.host).toBe(`news.feeds.test:${port}`);
    const again = await failure(
      fetchFeed(`http://news.feeds.test:${port}/feeds/heise.atom`, { allowedCidrs: LOCAL, lookup }),
    );
    expect(again.message).toBe('refused: private address');
    const priv = await failure(
      fetchFeed(`http://private.feeds.test:${port}/feeds/heise.atom`, { allowedCidrs: LOCAL, lookup }),
    );
    expect(priv.message).toBe('refused: private address');
    expect(feeds.count()).toBe(1);
  });

  it('checks every redirect again', async () => {
    const hop = (to: string) => `${redirectorUrl}/?to=${encodeURIComponent(to)}`;
    const port = new URL(feeds.url).port;
    const cases: [string, string][] = [
      ['http://169.254.169.254/latest/meta-data/', 'refused: redirect to link-local (cloud metadata) address'],
      [`http://127.0.0.2:${port}/feeds/heise.atom`, 'refused: redirect to loopback address'],
      ['http://[::1]:6379/', 'refused: redirect to loopback address'],
      ['http://10.1.2.3/rss', 'refused: redirect to private address'],
      ['file:///etc/passwd', 'refused: redirect to a URL that is not http or https'],
      ['gopher://127.0.0.1:6379/_FLUSHALL', 'refused: redirect to a URL that is not http or https'],
    ];
    for (const [to, message] of cases) {
      const e = await failure(fetchFeed(hop(to), { allowedCidrs: LOCAL }));
      expect([e.kind, e.message]).toEqual(['refused', message]);
    }
    // An allowed target still works through the redirect.
    const ok = await fetchFeed(hop(`${feeds.url}/feeds/heise.atom`), { allowedCidrs: LOCAL });
    expect(ok.status === 'ok' && ok.finalUrl).toBe(`${feeds.url}/feeds/heise.atom`);
  });

  it('what admins read does not tell Redis, Postgres, SMTP and closed ports apart', async () => {
    const pgPort = new URL(process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/x').port || '5432';
    const redisPort = new URL(TEST_REDIS_URL).port || '6379';
    const targets = {
      redis: `http://127.0.0.1:${redisPort}/`,
      postgres: `http://127.0.0.1:${pgPort}/`,
      smtp: `http://127.0.0.1:${smtp.port}/`,
      closed: `http://127.0.0.1:${await closedPort()}/`,
      http: `${feeds.url}/nothing-here.xml`,
    };
    const lastErrors = async (allowedCidrs: string[]) => {
      const clock = new FixedClock(new Date('2025-01-27T16:00:00Z'));
      const ingestor = createNewsIngestor({
        store: createNewsStore(db.prisma),
        clock,
        fetchOptions: { timeoutMs: 5000, allowedCidrs },
      });
      const out: Record<string, string | null> = {};
      for (const [name, url] of Object.entries(targets)) {
        const feed = await db.prisma.feed.create({ data: { url: `${url}?${allowedCidrs.length}`, name } });
        await ingestor.pollFeed(feed);
        out[name] = (await db.prisma.feed.findUniqueOrThrow({ where: { id: feed.id } })).lastError;
      }
      return out;
    };

    // Allowed: the services that do not speak HTTP all read the same; the HTTP server says what it answered.
    expect(await lastErrors(LOCAL)).toEqual({
      redis: 'feed_network: connection failed: no HTTP answer',
      postgres: 'feed_network: connection failed: no HTTP answer',
      smtp: 'feed_network: connection failed: no HTTP answer',
      closed: 'feed_network: connection failed: no HTTP answer',
      http: 'feed_http_status: HTTP 404 Not Found',
    });
    // Not allowed: nothing is contacted, everything reads the same.
    const refused = await lastErrors([]);
    expect(new Set(Object.values(refused))).toEqual(new Set(['feed_refused: refused: loopback address']));
  });
});
