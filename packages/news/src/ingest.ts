/**
 * Polls one feed: conditional fetch, parse, dedup, tag, store; keeps per-feed state (validators,
 * last success/error, consecutive failures, next fetch time with exponential backoff). Never
 * throws for a feed's faults: they are logged once, stored as the feed's lastError, and nothing is
 * stored from the broken answer.
 */
import {
  type Clock,
  type Logger,
  type NewsItem,
  type NewsItemToStore,
  NotFoundError,
  silentLogger,
  systemClock,
} from '@signals/core';
import { allowList } from '@signals/netguard';
import { contentHash, dedupKey } from './dedup.ts';
import { FeedFetchError } from './errors.ts';
import { type FetchFeedOptions, fetchFeed } from './fetch-feed.ts';
import { compileTagger, type Tagger } from './tagging.ts';

export interface FeedStateView {
  id: string;
  url: string;
  pollIntervalSec: number;
  enabled: boolean;
  etag: string | null;
  lastModified: string | null;
  consecutiveFailures: number;
  nextFetchAt: Date | null;
}

/** Where news goes. Implemented over Prisma by createNewsStore in @signals/db. */
export interface NewsStore {
  getFeed(id: string): Promise<FeedStateView | null>;
  listInstruments(): Promise<Array<{ id: string; symbol: string; name: string | null; aliases: string[] }>>;
  saveItems(
    feedId: string,
    items: NewsItemToStore[],
    at: Date,
  ): Promise<{ newItems: NewsItem[]; updatedItems: NewsItem[] }>;
  recordSuccess(
    feedId: string,
    s: { at: Date; etag: string | null; lastModified: string | null; nextFetchAt: Date; newCount: number },
  ): Promise<void>;
  recordFailure(
    feedId: string,
    f: { at: Date; error: string; nextFetchAt: Date; consecutiveFailures: number },
  ): Promise<void>;
}

export interface NewsIngestorOptions {
  store: NewsStore;
  clock?: Clock;
  logger?: Logger;
  /**
   * Limits for every fetch (defaults: 15 s, 5 MiB, 3 redirects) and the ranges feeds may come from
   * although the SSRF guard refuses them (`allowedCidrs`, from FEED_ALLOWED_CIDRS).
   */
  fetchOptions?: Pick<
    FetchFeedOptions,
    'timeoutMs' | 'maxBytes' | 'maxRedirects' | 'userAgent' | 'allowedCidrs' | 'lookup'
  >;
  /** Longest wait after failures (default 6 h). */
  maxBackoffMs?: number;
}

export interface PollFeedResult {
  feedId: string;
  newItems: NewsItem[];
  updatedItems: NewsItem[];
  notModified: boolean;
  /** Not fetched: disabled, or backing off until nextFetchAt. */
  skipped?: 'disabled' | 'backoff';
  error?: FeedFetchError;
  nextFetchAt?: Date;
}

export function createNewsIngestor(o: NewsIngestorOptions) {
  const clock = o.clock ?? systemClock;
  const log = (o.logger ?? silentLogger).child({ component: 'news-ingestor' });
  const maxBackoff = o.maxBackoffMs ?? 6 * 3600_000;
  // Built once: a malformed CIDR is a configuration error at start, not at every poll.
  const allowed = allowList(o.fetchOptions?.allowedCidrs);
  let tagger: { sig: string; t: Tagger; ids: Map<string, string> } | undefined;

  async function currentTagger() {
    const instruments = await o.store.listInstruments();
    const sig = instruments.map((i) => `${i.symbol}|${i.name ?? ''}|${i.aliases.join(',')}`).join(';');
    if (!tagger || tagger.sig !== sig) {
      tagger = {
        sig,
        t: compileTagger(instruments),
        ids: new Map(instruments.map((i) => [i.symbol.toUpperCase(), i.id])),
      };
    }
    return tagger;
  }

  /** Backoff after n consecutive failures: interval * 2^n, capped. */
  function backoffMs(intervalSec: number, failures: number): number {
    return Math.min(maxBackoff, intervalSec * 1000 * 2 ** Math.min(failures, 20));
  }

  async function pollFeed(feed: { id: string }, opts: { force?: boolean } = {}): Promise<PollFeedResult> {
    const state = await o.store.getFeed(feed.id);
    if (!state) throw new NotFoundError(`feed ${feed.id}`);
    const now = clock.now();
    const base: PollFeedResult = { feedId: state.id, newItems: [], updatedItems: [], notModified: false };
    if (!state.enabled) return { ...base, skipped: 'disabled' };
    if (!opts.force && state.nextFetchAt && state.nextFetchAt.getTime() > now.getTime()) {
      return { ...base, skipped: 'backoff', nextFetchAt: state.nextFetchAt };
    }
    const flog = log.child({ feedId: state.id, url: state.url });
    try {
      const res = await fetchFeed(state.url, {
        ...o.fetchOptions,
        allowed,
        etag: state.etag,
        lastModified: state.lastModified,
      });
      const at = clock.now();
      const nextFetchAt = new Date(at.getTime() + state.pollIntervalSec * 1000);
      if (res.status === 'not_modified') {
        await o.store.recordSuccess(state.id, {
          at,
          etag: res.etag,
          lastModified: res.lastModified,
          nextFetchAt,
          newCount: 0,
        });
        flog.debug({ event: 'feed_not_modified' }, 'feed not modified (304)');
        return { ...base, notModified: true, nextFetchAt };
      }
      const tg = await currentTagger();
      const items: NewsItemToStore[] = res.feed.items.map((it) => {
        const tags = tg.t.tag(`${it.title}\n${it.summary ?? ''}`);
        return {
          dedupKey: dedupKey(it),
          contentHash: contentHash(it),
          ...(it.guid ? { guid: it.guid } : {}),
          ...(it.link ? { link: it.link } : {}),
          title: it.title,
          ...(it.summary ? { summary: it.summary } : {}),
          ...(it.publishedAt ? { publishedAt: it.publishedAt } : {}),
          topics: tags.topics,
          tags: tags.matches.flatMap((m) => {
            const instrumentId = tg.ids.get(m.symbol);
            return instrumentId ? [{ instrumentId, symbol: m.symbol, matched: m.matched }] : [];
          }),
        };
      });
      const saved = await o.store.saveItems(state.id, items, at);
      await o.store.recordSuccess(state.id, {
        at,
        etag: res.etag,
        lastModified: res.lastModified,
        nextFetchAt,
        newCount: saved.newItems.length,
      });
      flog.info(
        {
          event: 'feed_polled',
          items: items.length,
          new: saved.newItems.length,
          updated: saved.updatedItems.length,
          skipped: res.feed.skipped,
          charset: res.charset,
          bytes: res.bytes,
        },
        `feed polled: ${saved.newItems.length} new, ${saved.updatedItems.length} updated of ${items.length}`,
      );
      return { ...base, ...saved, nextFetchAt };
    } catch (err) {
      if (!(err instanceof FeedFetchError)) throw err;
      const at = clock.now();
      const failures = state.consecutiveFailures + 1;
      const nextFetchAt = new Date(at.getTime() + backoffMs(state.pollIntervalSec, failures));
      await o.store.recordFailure(state.id, {
        at,
        error: `${err.code}: ${err.message}`,
        nextFetchAt,
        consecutiveFailures: failures,
      });
      flog.warn(
        {
          event: 'feed_failed',
          code: err.code,
          kind: err.kind,
          status: err.status,
          failures,
          nextFetchAt: nextFetchAt.toISOString(),
        },
        `feed fetch failed (${err.kind}): ${err.message}; ${failures} in a row, next try ${nextFetchAt.toISOString()}`,
      );
      return { ...base, error: err, nextFetchAt };
    }
  }

  return { pollFeed };
}

export type NewsIngestor = ReturnType<typeof createNewsIngestor>;
