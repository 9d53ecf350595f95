/**
 * The price evaluator: per-symbol price rules (pct_move, drawdown, vol_scaled_move,
 * volume_spike, price_cross and their price_news confirmations). The kind computes the signal;
 * the lifecycle does the rest.
 */
import type { PriceSpec } from '../kinds/signal.ts';
import type { PriceAlertInfo } from './alerts.ts';
import { type Compiled, keyOf } from './compile.ts';
import { type Ctx, getState, observeFor, sigScratch, skip } from './context.ts';
import { priceStep } from './lifecycle.ts';
import { obsAtMs } from './observe.ts';

export function evalPriceRule(ctx: Ctx, c: Compiled): void {
  const p = c.price as PriceSpec;
  const syms = c.symbols;
  if (syms) {
    for (let i = 0; i < syms.length; i++) evalPriceSymbol(ctx, c, p, syms[i] as string);
  } else {
    for (const sym of ctx.series.keys()) evalPriceSymbol(ctx, c, p, sym);
  }
}

function evalPriceSymbol(ctx: Ctx, c: Compiled, p: PriceSpec, sym: string): void {
  const s = ctx.series.get(sym);
  if (!s) {
    skip(ctx, c, sym, 'no_data');
    return;
  }
  const o = observeFor(ctx, c, s);
  if (o.refused !== null) {
    skip(ctx, c, sym, o.refused);
    return;
  }
  const sig = sigScratch;
  const why = p.signal(p, s, o, sig);
  if (why !== null) {
    skip(ctx, c, sym, why);
    return;
  }
  const key = keyOf(c, sym);
  // Fast path: nothing to do for an armed rule whose condition is false.
  if (!sig.active) {
    const prev = getState(ctx, key);
    if (prev === undefined || prev.phase === 'inactive') return;
  }
  const info: PriceAlertInfo = { symbol: sym, symbols: [sym], sig, obs: o, endMs: obsAtMs(o) };
  priceStep(ctx, c, sym, key, s, o, sig, info);
}
