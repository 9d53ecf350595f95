/**
 * The lifecycle of price-like rules (per symbol, and baskets): pending, firing, resolved and
 * cooldown, re-arm and independent events (see the state diagram in engine/index.ts), and the
 * price_news confirmation's wait for its news.
 */
import type { NewsItem } from '../domain.ts';
import type { Obs, Sig } from '../kinds/signal.ts';
import { indexOfDate, type SymbolSeries } from '../series.ts';
import { emitPriceAlert, type PriceAlertInfo, relatedNews } from './alerts.ts';
import type { Compiled } from './compile.ts';
import { type Ctx, getState, inactiveState, ms, nowIso, setState } from './context.ts';
import { type AlertPhase, dedupKey, type RuleStateData, type RuleStateSnapshot } from './types.ts';

/** Sessions from `date` to the current observation (which sits at index L), Infinity if `date` is not in the window. */
function sessionsSince(s: SymbolSeries, date: string | undefined, o: Obs): number {
  if (date === undefined) return Number.POSITIVE_INFINITY;
  if (date === o.date) return 0;
  const i = indexOfDate(s, date, o.L);
  return i < 0 ? Number.POSITIVE_INFINITY : o.L - i;
}

/** A copy of `p` in another phase (explicit fields: one object shape for the JIT, no spreads). */
export function mk(
  p: RuleStateSnapshot,
  phase: AlertPhase,
  since: string | null,
  lastValue: number | null,
  data: RuleStateData = p.data,
  peakValue: number | null = p.peakValue,
  cooldownUntil: string | null = p.cooldownUntil,
): RuleStateSnapshot {
  return {
    ruleId: p.ruleId,
    subject: p.subject,
    phase,
    since,
    lastValue,
    peakValue,
    lastFiredAt: p.lastFiredAt,
    cooldownUntil,
    data,
  };
}

/** State data of a price event. */
export function priceData(
  d: RuleStateData,
  eventStart: string | undefined,
  lastQualDate: string,
  sign: number,
): RuleStateData {
  const out: RuleStateData = { lastQualDate, sign };
  if (d.eventKey !== undefined) out.eventKey = d.eventKey;
  if (eventStart !== undefined) out.eventStart = eventStart;
  return out;
}

export function priceStep(
  ctx: Ctx,
  c: Compiled,
  subject: string,
  key: string,
  s: SymbolSeries,
  o: Obs,
  sig: Sig,
  info: PriceAlertInfo,
): void {
  const prev = getState(ctx, key);
  const independentAfter = c.price ? c.price.independentAfter : (c.basket?.n ?? 1);
  const phase: AlertPhase = prev ? prev.phase : 'inactive';
  switch (phase) {
    case 'firing': {
      const p = prev as RuleStateSnapshot;
      const d = p.data;
      const since = sessionsSince(s, d.lastQualDate, o);
      if (sig.active) {
        if (o.date !== d.lastQualDate && (since >= independentAfter || sig.sign !== d.sign)) {
          // A new, independent move: the old event is over.
          if (c.notifyResolved)
            emitPriceAlert(ctx, c, subject, 'resolved', d.eventKey ?? key, d.eventStart ?? '', info);
          if (ctx.now >= ms(p.cooldownUntil)) {
            startEvent(ctx, c, subject, key, p, o, sig, info);
          } else {
            setState(ctx, key, mk(p, 'cooldown', nowIso(ctx), sig.value));
          }
          return;
        }
        if (d.lastQualDate === o.date && p.lastValue === sig.value) return;
        const peak = p.peakValue === null || Math.abs(sig.value) > Math.abs(p.peakValue) ? sig.value : p.peakValue;
        const data = d.lastQualDate === o.date ? d : priceData(d, d.eventStart, o.date, d.sign ?? sig.sign);
        setState(ctx, key, mk(p, 'firing', p.since, sig.value, data, peak));
        return;
      }
      if (sig.strength <= c.rearmLevel || c.rearmLevel >= 1 || since >= independentAfter) {
        if (c.notifyResolved) emitPriceAlert(ctx, c, subject, 'resolved', d.eventKey ?? key, d.eventStart ?? '', info);
        setState(ctx, key, mk(p, 'resolved', nowIso(ctx), sig.value));
        return;
      }
      if (p.lastValue !== sig.value) setState(ctx, key, mk(p, 'firing', p.since, sig.value));
      return;
    }
    case 'resolved':
    case 'cooldown': {
      const p = prev as RuleStateSnapshot;
      if (ctx.now < ms(p.cooldownUntil)) {
        if (phase === 'resolved') setState(ctx, key, mk(p, 'cooldown', nowIso(ctx), p.lastValue));
        return;
      }
      if (!sig.active) {
        setState(ctx, key, mk(p, 'inactive', nowIso(ctx), p.lastValue));
        return;
      }
      startEvent(ctx, c, subject, key, p, o, sig, info);
      return;
    }
    case 'pending': {
      const p = prev as RuleStateSnapshot;
      if (!sig.active) {
        setState(ctx, key, mk(p, 'inactive', nowIso(ctx), sig.value));
        return;
      }
      if (p.data.eventStart !== o.date && !o.isClose) {
        // Pending is per session: a new session starts its own pending period.
        setState(ctx, key, mk(p, 'pending', nowIso(ctx), sig.value, priceData(p.data, o.date, o.date, sig.sign)));
        return;
      }
      const held = !c.confirmAtClose && ctx.now - ms(p.since) >= c.pendingMs;
      if (o.isClose || held) {
        fire(ctx, c, subject, key, p, o, sig, info, p.data.eventStart ?? o.date, ms(p.since));
        return;
      }
      return;
    }
    default: {
      if (!sig.active) return;
      startEvent(ctx, c, subject, key, prev, o, sig, info);
    }
  }
}

function startEvent(
  ctx: Ctx,
  c: Compiled,
  subject: string,
  key: string,
  prev: RuleStateSnapshot | undefined,
  o: Obs,
  sig: Sig,
  info: PriceAlertInfo,
): void {
  const base = prev ?? inactiveState(c, subject);
  if (base.data.eventKey === dedupKey(c.id, subject, o.date)) {
    // Same session as the last event: that alert exists already (one event per session).
    setState(
      ctx,
      key,
      mk(base, 'firing', nowIso(ctx), sig.value, priceData(base.data, base.data.eventStart, o.date, sig.sign)),
    );
    return;
  }
  if (!o.isClose && (c.confirmAtClose || c.pendingMs > 0)) {
    setState(ctx, key, mk(base, 'pending', nowIso(ctx), sig.value, priceData(base.data, o.date, o.date, sig.sign)));
    return;
  }
  fire(ctx, c, subject, key, base, o, sig, info, o.date, ctx.now);
}

function fire(
  ctx: Ctx,
  c: Compiled,
  subject: string,
  key: string,
  base: RuleStateSnapshot,
  o: Obs,
  sig: Sig,
  info: PriceAlertInfo,
  eventStart: string,
  conditionSince: number,
): void {
  const cn = c.confirmNews;
  if (cn) {
    const news = relatedNews(ctx, info.symbols, conditionSince - cn.beforeMs, conditionSince + cn.afterMs, cn.filter);
    if (cn.requireNews && news.length === 0) {
      if (ctx.now < conditionSince + cn.afterMs) {
        // Wait (pending) for the confirming news.
        if (base.phase !== 'pending') {
          const data = priceData(base.data, eventStart, o.date, sig.sign);
          setState(ctx, key, mk(base, 'pending', new Date(conditionSince).toISOString(), sig.value, data));
        }
        return;
      }
      // Unconfirmed: dropped; the rule tries again after the cooldown.
      const until = new Date(ctx.now + c.cooldownMs).toISOString();
      setState(ctx, key, mk(base, 'cooldown', nowIso(ctx), sig.value, base.data, base.peakValue, until));
      return;
    }
    info.news = news;
  }
  const k = dedupKey(c.id, subject, eventStart);
  emitPriceAlert(ctx, c, subject, 'firing', k, eventStart, info);
  const iso = nowIso(ctx);
  setState(ctx, key, {
    ruleId: c.id,
    subject,
    phase: 'firing',
    since: iso,
    lastValue: sig.value,
    peakValue: sig.value,
    lastFiredAt: iso,
    cooldownUntil: new Date(ctx.now + c.cooldownMs).toISOString(),
    data: { eventKey: k, eventStart, lastQualDate: o.date, sign: sig.sign },
  });
}

// ---------------------------------------------------------------------------------------------
// News rules (news_match, news_price)
// ---------------------------------------------------------------------------------------------

export function seen(d: RuleStateData, items: readonly NewsItem[]): RuleStateData {
  const last = items[items.length - 1] as NewsItem;
  return { ...d, lastItemAt: last.firstSeenAt.getTime(), lastItemId: last.id };
}

/**
 * The steps news rules share before looking for an event: with no new items, a firing (news events
 * are instantaneous: firing lasts one evaluation) or finished cooldown goes back to rest; while
 * cooling down, new items are only marked as seen. True when the step is complete.
 */
export function settledWithoutEvent(
  ctx: Ctx,
  key: string,
  base: RuleStateSnapshot,
  items: readonly NewsItem[],
  coolingDown: boolean,
): boolean {
  if (items.length === 0) {
    if (base.phase === 'firing' || (base.phase === 'cooldown' && !coolingDown))
      setState(ctx, key, { ...base, phase: coolingDown ? 'cooldown' : 'inactive', since: nowIso(ctx) });
    return true;
  }
  if (coolingDown) {
    setState(ctx, key, { ...base, phase: 'cooldown', data: seen(base.data, items) });
    return true;
  }
  return false;
}
