/**
 * Compiled rules: a rule definition turned once (cached per definition object) into what the
 * evaluators read on the hot path: its kind's engine specs, lifecycle settings in milliseconds,
 * its unit and description, and its state keys per subject.
 */
import type { Severity } from '../domain.ts';
import type { BasketSpec, ConfirmNewsSpec, ConfirmPriceSpec, NewsSpec, PriceSpec } from '../kinds/signal.ts';
import { describeRule, kindModule, type RuleDefinition, type RuleKind } from '../rules.ts';
import type { Unit } from '../units.ts';
import { stateKey } from './types.ts';

export interface Compiled {
  def: RuleDefinition;
  id: string;
  kind: RuleKind;
  description: string;
  symbols: readonly string[] | undefined;
  severity: Severity;
  cooldownMs: number;
  pendingMs: number;
  confirmAtClose: boolean;
  rearmLevel: number;
  notifyResolved: boolean;
  unit: Unit;
  price: PriceSpec | null;
  basket: BasketSpec | null;
  news: NewsSpec | null;
  /** price_news confirmation. */
  confirmNews: ConfirmNewsSpec | null;
  /** news_price confirmation. */
  confirmPrice: ConfirmPriceSpec | null;
  /** session: "extended": pre- and post-market prices are observed too. */
  extended: boolean;
  keys: Map<string, string>;
}

const compiledCache = new WeakMap<RuleDefinition, Compiled>();

/** Compiles a rule once per definition object: its kind module turns the params into engine specs. */
export function compile(def: RuleDefinition): Compiled {
  const cached = compiledCache.get(def);
  if (cached) return cached;
  const m = kindModule(def.kind);
  const spec = m.engine(def.params, def);
  const c: Compiled = {
    def,
    id: def.id,
    kind: def.kind,
    description: describeRule(def),
    symbols: def.symbols,
    severity: def.severity,
    cooldownMs: def.cooldownSec * 1000,
    pendingMs: (def.pendingSec ?? 0) * 1000,
    confirmAtClose: def.confirmAtClose === true,
    rearmLevel: 1 - (def.rearmFraction ?? 0.5),
    notifyResolved: def.notifyResolved === true,
    unit: m.unit(def.params),
    price: spec.price ?? null,
    basket: spec.basket ?? null,
    news: spec.news ?? null,
    confirmNews: spec.confirmNews ?? null,
    confirmPrice: spec.confirmPrice ?? null,
    extended: spec.extended === true,
    keys: new Map(),
  };
  compiledCache.set(def, c);
  return c;
}

export function keyOf(c: Compiled, subject: string): string {
  let k = c.keys.get(subject);
  if (k === undefined) {
    k = stateKey(c.id, subject);
    c.keys.set(subject, k);
  }
  return k;
}
