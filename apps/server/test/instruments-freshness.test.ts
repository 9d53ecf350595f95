/**
 * Issue 19 item 4 (one freshness): GET /api/instruments, the watchlists, the System page and
 * /metrics' signals_instruments judge an instrument's freshness by one rule (db instrumentFreshness
 * at freshnessInstant), also during a replay, where "now" is the replay's own time: a 2021 replay
 * calls AAPL (newest price 2020-11-06) and AMZN (2020-01-02) stale on every surface.
 */
import { FixedClock } from '@signals/core';
import { watchedFreshness } from '@signals/db';
import { createTestDb, type TestDb } from '@signals/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/context.ts';
import { getInstrument, getWatchlist, listInstruments } from '../src/services/watchlists.ts';

let db: TestDb;
let watchlistId: string;
beforeAll(async () => {
  db = await createTestDb();
  const newest = {
    AAPL: '2020-11-06T21:00:00Z',
    AMZN: '2020-01-02T21:00:00Z',
    NVDA: '2021-03-15T21:00:00Z',
    MSFT: '2021-03-12T21:00:00Z',
  };
  const w = await db.prisma.watchlist.create({ data: { name: 'Replay', slug: 'replay' } });
  watchlistId = w.id;
  for (const [symbol, at] of Object.entries(newest)) {
    const i = await db.prisma.instrument.create({
      // The poller's verdict is "fresh" for all: the replay source answered for each of them.
      data: { symbol, status: 'active', freshness: 'fresh', lastSourceAt: new Date(at), lastPrice: 100 },
    });
    await db.prisma.watchlistMember.create({ data: { watchlistId: w.id, instrumentId: i.id } });
  }
});
afterAll(async () => {
  await db?.drop();
});

/** A runtime with what the instrument views read: the database, a wall clock years later, the source's name. */
const runtime = (source: string) =>
  ({
    prisma: db.prisma,
    clock: new FixedClock(new Date('2026-12-07T12:00:00Z')),
    priceSource: { name: source },
  }) as unknown as Runtime;

describe('one freshness for instruments', () => {
  it('during a replay: the API, the watchlist, the System page and signals_instruments agree', async () => {
    const rt = runtime('replay');
    const api = Object.fromEntries((await listInstruments(rt)).map((i) => [i.symbol, i.freshness]));
    // Judged at the replay's newest price (NVDA, 2021-03-15): a session or more behind is stale.
    expect(api).toEqual({ AAPL: 'stale', AMZN: 'stale', MSFT: 'fresh', NVDA: 'fresh' });
    expect((await getInstrument(rt, 'aapl')).freshness).toBe('stale');
    const members = Object.fromEntries(
      (await getWatchlist(rt, watchlistId)).members.map((m) => [m.symbol, m.freshness]),
    );
    expect(members).toEqual(api);
    // The System page (watched instruments) and /metrics (every instrument) read watchedFreshness.
    const now = rt.clock.now();
    const system = await watchedFreshness(db.prisma, { now, replay: true });
    const metrics = await watchedFreshness(db.prisma, { now, replay: true, watchedOnly: false });
    for (const f of [system, metrics]) {
      expect(f.counts).toEqual({ fresh: 2, stale: 2 });
      expect(f.staleOrFailed.map((s) => s.symbol)).toEqual(['AAPL', 'AMZN']);
    }
  });

  it('outside a replay the wall clock judges: prices years old are stale everywhere', async () => {
    const rt = runtime('yahoo');
    const api = (await listInstruments(rt)).map((i) => i.freshness);
    expect(api).toEqual(['stale', 'stale', 'stale', 'stale']);
    const system = await watchedFreshness(db.prisma, { now: rt.clock.now() });
    expect(system.counts).toEqual({ stale: 4 });
  });
});
