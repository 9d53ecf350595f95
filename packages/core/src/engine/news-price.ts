/**
 * The news_price confirmation's step: a matching item starts a pending event with the price when
 * it was published as reference; the event fires when the price moves enough before the deadline.
 *
 * ## On daily data (one observation per session, at its close)
 * The reference is the price when the story was published, so what a rule means does not depend
 * on when an evaluation first saw the story:
 * - seen at an observation taken at most {@link PRICE_AT_STORY_MS} after its publication (live
 *   polling, intraday bars): that observation's price;
 * - first seen at a session's close, long after it was published: a story from before the
 *   session opened (the evening before, the pre-market) has the previous close as reference, and
 *   the session's close confirms it or not at once (a replay of daily recordings, which saw the
 *   story in the pre-market with the previous close as its quote, decides the same);
 * - a story published while the session was open, seen only at its close: undecidable without
 *   intraday bars (part of the day's move may predate it). It is skipped as `needs_intraday`,
 *   with the story named, and not fired: a backtest says so in its summary.
 */
import { isTradingDay, nextTradingDay, sessionCloseMs, sessionOpenMs } from '../calendar.ts';
import type { NewsItem } from '../domain.ts';
import { publishedMs } from '../headlines.ts';
import { type ConfirmPriceSpec, directional, type Obs } from '../kinds/signal.ts';
import type { SymbolSeries } from '../series.ts';
import { obsAtMs } from './observe.ts';
import { emitNewsAlert, toRelated } from './alerts.ts';
import type { Compiled } from './compile.ts';
import { type Ctx, inactiveState, ms, nowIso, observeFor, setState, sigScratch, skip } from './context.ts';
import { seen, settledWithoutEvent } from './lifecycle.ts';
import { dedupKey, type RelatedNews, type RuleStateData, type RuleStateSnapshot } from './types.ts';

function clearPending(d: RuleStateData): RuleStateData {
  const { itemId: _i, itemTitle: _t, itemAt: _a, refPrice: _r, deadline: _d, ...rest } = d;
  return rest;
}

export function newsPriceStep(
  ctx: Ctx,
  c: Compiled,
  subject: string,
  key: string,
  prev: RuleStateSnapshot | undefined,
  items: NewsItem[],
): void {
  const cp = c.confirmPrice as ConfirmPriceSpec;
  const base = prev ?? inactiveState(c, subject);
  const coolingDown = ctx.now < ms(base.cooldownUntil);
  const s = ctx.series.get(subject);
  const o = s ? observeFor(ctx, c, s) : null;
  if (base.phase === 'pending') {
    const d = base.data;
    let data = items.length ? seen(d, items) : d;
    if (o && o.refused === null && d.refPrice !== undefined && d.itemId !== undefined) {
      const move = o.price / d.refPrice - 1;
      const sig = sigScratch;
      directional(sig, move, cp.minMove, cp.dir);
      if (sig.active && o.isClose && obsAtMs(o) > (d.deadline ?? 0)) {
        // The move is first seen at a close after the window: whether it came within the window
        // is not in the data (daily observations). Not fired; said so.
        skip(
          ctx,
          c,
          subject,
          'needs_intraday',
          undecidable(d.itemTitle ?? d.itemId, d.itemAt, 'its window ended before the close that shows the move'),
        );
        setState(ctx, key, {
          ...base,
          phase: 'inactive',
          since: nowIso(ctx),
          lastValue: move,
          data: clearPending(data),
        });
        return;
      }
      if (sig.active) {
        const item = ctx.news.find((n) => n.id === d.itemId);
        const related: RelatedNews = item
          ? toRelated(item)
          : {
              id: d.itemId,
              title: d.itemTitle ?? '(news item)',
              firstSeenAt: base.since ?? nowIso(ctx),
              symbols: [subject],
              topics: [],
            };
        const eventStart = `n-${d.itemId}`;
        const k = dedupKey(c.id, subject, eventStart);
        const move0 = { value: move, threshold: sig.threshold, ref: d.refPrice, price: o.price };
        emitNewsAlert(ctx, c, subject, k, eventStart, [related], d.itemAt ?? ms(base.since), move0);
        const iso = nowIso(ctx);
        data = clearPending({ ...data, eventKey: k, eventStart });
        setState(ctx, key, {
          ...base,
          phase: 'firing',
          since: iso,
          lastValue: move,
          peakValue: move,
          lastFiredAt: iso,
          cooldownUntil: new Date(ctx.now + c.cooldownMs).toISOString(),
          data,
        });
        return;
      }
      if (ctx.now > (d.deadline ?? 0)) {
        // The window passed without a price from after the story (daily observations: the
        // quote stayed the close before it): whether it moved within the window is not known.
        if (obsAtMs(o) <= (d.itemAt ?? Number.NEGATIVE_INFINITY))
          skip(
            ctx,
            c,
            subject,
            'needs_intraday',
            undecidable(d.itemTitle, d.itemAt, 'no price after it was observed within its window'),
          );
        setState(ctx, key, {
          ...base,
          phase: 'inactive',
          since: nowIso(ctx),
          lastValue: move,
          data: clearPending(data),
        });
        return;
      }
      if (base.lastValue !== move || data !== d) setState(ctx, key, { ...base, lastValue: move, data });
      return;
    }
    if (o?.refused) skip(ctx, c, subject, o.refused);
    if (ctx.now > (d.deadline ?? 0)) {
      setState(ctx, key, { ...base, phase: 'inactive', since: nowIso(ctx), data: clearPending(data) });
    } else if (data !== d) setState(ctx, key, { ...base, data });
    return;
  }
  if (settledWithoutEvent(ctx, key, base, items, coolingDown)) return;
  // Only items still inside their confirmation window can start one.
  const live = items.filter((n) => publishedMs(n) + cp.withinMs > ctx.now);
  if (live.length === 0) {
    setState(ctx, key, { ...base, data: seen(base.data, items) });
    // On daily bars a story is first seen at the close: its window ended before it, so whether
    // the price moved within it is not in the data.
    const first = items[0] as NewsItem;
    if (o && o.refused === null && !o.fromQuote)
      skip(
        ctx,
        c,
        subject,
        'needs_intraday',
        undecidable(first.title, publishedMs(first), 'its window ended before the close'),
      );
    return;
  }
  if (!o || o.refused !== null) {
    // No usable price: leave the items unseen so a later evaluation can pick them up.
    skip(ctx, c, subject, o?.refused ?? 'no_data');
    return;
  }
  const item = live[0] as NewsItem;
  const at = publishedMs(item);
  const ref = s ? priceAtStory(s, o, at) : o.price;
  if (ref === undefined) {
    setState(ctx, key, { ...base, data: seen(base.data, items) });
    skip(
      ctx,
      c,
      subject,
      'needs_intraday',
      undecidable(item.title, at, 'it came while the market was open, which daily observations do not show'),
    );
    return;
  }
  const pending: RuleStateSnapshot = {
    ...base,
    phase: 'pending',
    since: nowIso(ctx),
    lastValue: 0,
    data: {
      ...seen(base.data, items),
      itemId: item.id,
      itemTitle: item.title,
      itemAt: at,
      refPrice: ref,
      deadline: at + cp.withinMs,
      eventStart: `n-${item.id}`,
    },
  };
  setState(ctx, key, pending);
  // The move since the story is already in this observation: confirm (or not) now.
  if (ref !== o.price) newsPriceStep(ctx, c, subject, key, pending, []);
}

/**
 * How long after a story an observation still stands for the price when it was published: an
 * hour, the coarsest intraday bar (live polling sees it within a minute or two).
 */
export const PRICE_AT_STORY_MS = 3_600_000;

/** "needs intraday bars: "Microsoft raises capex" (2026-01-29T13:45:00.000Z): <why>". */
function undecidable(title: string | undefined, at: number | undefined, why: string): string {
  const when = at === undefined || !Number.isFinite(at) ? '' : ` (${new Date(at).toISOString()})`;
  return `news+price needs intraday bars here: "${title ?? 'a story'}"${when}: ${why}`;
}

/**
 * The price when the story at `at` was published, from observation `o` of `s`, or undefined when
 * daily observations cannot tell:
 * - an observation within {@link PRICE_AT_STORY_MS} of the story (live polling, intraday bars): its price;
 * - a session close from before the story (a replay of daily recordings, in the pre-market): its
 *   price, when no session opened between that close and the story;
 * - a session close long after the story: the previous close, when the story came after it and
 *   before this session opened (the evening before, the pre-market);
 * - otherwise (the market traded between the close observed and the story): undefined.
 */
function priceAtStory(s: SymbolSeries, o: Obs, at: number): number | undefined {
  const t = obsAtMs(o);
  if (!o.isClose || Math.abs(t - at) <= PRICE_AT_STORY_MS) return o.price;
  if (t < at) return nextOpenAfter(o.date) > at ? o.price : undefined;
  if (!isTradingDay(o.date) || at >= sessionOpenMs(o.date)) return undefined;
  const i = o.L - 1;
  if (i < 0) return undefined;
  const close = s.close[i] as number;
  return close > 0 && sessionCloseMs(s.dates[i] as string) <= at ? close : undefined;
}

/** When the session after `date` opens. */
function nextOpenAfter(date: string): number {
  return sessionOpenMs(nextTradingDay(date));
}
