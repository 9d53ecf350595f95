/**
 * The news_match step: every new matching item group is an event (instantaneous: firing lasts
 * one evaluation), unless the rule is cooling down.
 */
import type { NewsItem } from '../domain.ts';
import { publishedMs, rankHeadlines } from '../headlines.ts';
import { emitNewsAlert, toRelated } from './alerts.ts';
import type { Compiled } from './compile.ts';
import { type Ctx, inactiveState, ms, nowIso, setState } from './context.ts';
import { seen, settledWithoutEvent } from './lifecycle.ts';
import { dedupKey, NEWS_SUBJECT, type RuleStateSnapshot } from './types.ts';

export function newsMatchStep(
  ctx: Ctx,
  c: Compiled,
  subject: string,
  key: string,
  prev: RuleStateSnapshot | undefined,
  items: NewsItem[],
): void {
  const base = prev ?? inactiveState(c, subject);
  const coolingDown = ctx.now < ms(base.cooldownUntil);
  if (settledWithoutEvent(ctx, key, base, items, coolingDown)) return;
  const first = items[0] as NewsItem;
  const eventStart = `n-${first.id}`;
  const k = dedupKey(c.id, subject, eventStart);
  const ranked = rankHeadlines(items, subject === NEWS_SUBJECT ? [] : [subject], c.news?.topics);
  emitNewsAlert(ctx, c, subject, k, eventStart, ranked.map(toRelated), publishedMs(first), null);
  const iso = nowIso(ctx);
  setState(ctx, key, {
    ...base,
    phase: 'firing',
    since: iso,
    lastValue: items.length,
    peakValue: items.length,
    lastFiredAt: iso,
    cooldownUntil: new Date(ctx.now + c.cooldownMs).toISOString(),
    data: { ...seen(base.data, items), eventKey: k, eventStart },
  });
}
