/**
 * The basket evaluator (basket_move): the members' moves measured by the kind, one subject
 * (`__basket__`) through the price lifecycle.
 */
import { measureBasket } from '../kinds/basket-move.ts';
import { type BasketSpec, directional } from '../kinds/signal.ts';
import type { PriceAlertInfo } from './alerts.ts';
import { type Compiled, keyOf } from './compile.ts';
import { type Ctx, observeCached, sigScratch, skip } from './context.ts';
import { priceStep } from './lifecycle.ts';
import { obsAtMs } from './observe.ts';
import { BASKET_SUBJECT } from './types.ts';

/** "members without data: AMD, AVGO (coverage 71 %)". */
function basketGap(missing: readonly string[], coverage: number): string {
  return `members without data: ${missing.join(', ')} (coverage ${Math.round(coverage * 100)} %)`;
}

export function evalBasket(ctx: Ctx, c: Compiled): void {
  const b = c.basket as BasketSpec;
  const members = c.symbols ?? [];
  const m = measureBasket(b, members, (sym) => {
    const s = ctx.series.get(sym);
    return s ? { s, o: observeCached(ctx, s) } : undefined;
  });
  if (!m.ok) {
    skip(ctx, c, BASKET_SUBJECT, m.reason, m.missing.length ? basketGap(m.missing, m.coverage) : undefined);
    return;
  }
  const sig = sigScratch;
  directional(sig, m.move, b.thr, b.dir);
  sig.ref = m.weighted ? m.capThen : Number.NaN;
  sig.windowStart = m.windowStart;
  const key = keyOf(c, BASKET_SUBJECT);
  const info: PriceAlertInfo = {
    symbols: members,
    sig,
    obs: null,
    endMs: obsAtMs(m.leadObs),
    members: m.members,
    extra: m.weighted
      ? {
          weighting: 'market_cap',
          marketValueThen: m.capThen,
          marketValueNow: m.capNow,
          marketValueChange: m.capNow - m.capThen,
        }
      : { weighting: b.capWeighted ? 'equal (market caps missing)' : 'equal', members: m.used },
  };
  // Measured without some members: the alert says which.
  if (m.missing.length) info.missing = m.missing;
  priceStep(ctx, c, BASKET_SUBJECT, key, m.lead, m.leadObs, sig, info);
}
