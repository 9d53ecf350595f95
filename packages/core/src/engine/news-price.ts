/**
 * The news_price confirmation's step: a matching item starts a pending event with the price at
 * that moment as reference; the event fires when the price moves enough before the deadline.
 */
import type { NewsItem } from '../domain.ts';
import { publishedMs } from '../headlines.ts';
import { type ConfirmPriceSpec, directional } from '../kinds/signal.ts';
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
    return;
  }
  if (!o || o.refused !== null) {
    // No usable price: leave the items unseen so a later evaluation can pick them up.
    skip(ctx, c, subject, o?.refused ?? 'no_data');
    return;
  }
  const item = live[0] as NewsItem;
  setState(ctx, key, {
    ...base,
    phase: 'pending',
    since: nowIso(ctx),
    lastValue: 0,
    data: {
      ...seen(base.data, items),
      itemId: item.id,
      itemTitle: item.title,
      itemAt: publishedMs(item),
      refPrice: o.price,
      deadline: publishedMs(item) + cp.withinMs,
      eventStart: `n-${item.id}`,
    },
  });
}
