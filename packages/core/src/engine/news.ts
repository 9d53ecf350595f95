/**
 * The news evaluator: groups the news items a rule matches by subject, then runs each subject's
 * step: news_match (news-match.ts) or the news_price confirmation (news-price.ts).
 */
import type { NewsItem } from '../domain.ts';
import { matchesNews } from '../kinds/news-match.ts';
import type { NewsSpec } from '../kinds/signal.ts';
import { type Compiled, keyOf } from './compile.ts';
import { type Ctx, getState } from './context.ts';
import { newsMatchStep } from './news-match.ts';
import { newsPriceStep } from './news-price.ts';
import { NEWS_SUBJECT, type RuleStateData } from './types.ts';

/** News items sorted by (firstSeenAt, id), once per evaluation. */
export function sortedNews(news: readonly NewsItem[]): NewsItem[] {
  return [...news].sort((a, b) => {
    const d = a.firstSeenAt.getTime() - b.firstSeenAt.getTime();
    return d !== 0 ? d : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

function isNewer(n: NewsItem, d: RuleStateData): boolean {
  if (d.lastItemAt === undefined) return true;
  const t = n.firstSeenAt.getTime();
  return t > d.lastItemAt || (t === d.lastItemAt && n.id > (d.lastItemId ?? ''));
}

export function evalNewsRule(ctx: Ctx, c: Compiled): void {
  const spec = c.news as NewsSpec;
  const scope = c.symbols;
  const groups = new Map<string, NewsItem[]>();
  for (const n of ctx.news) {
    const t = n.firstSeenAt.getTime();
    if (t > ctx.now || ctx.now - t > spec.maxAgeMs) continue;
    if (!matchesNews(spec, n)) continue;
    let subject: string | undefined;
    if (scope?.length) {
      for (const s of scope) {
        if (n.symbols.includes(s)) {
          subject = s;
          break;
        }
      }
    } else if (c.confirmPrice) {
      subject = n.symbols.find((s) => ctx.series.has(s));
    }
    if (subject === undefined) {
      if (spec.requireSymbol) continue;
      subject = NEWS_SUBJECT;
    }
    let g = groups.get(subject);
    if (!g) {
      g = [];
      groups.set(subject, g);
    }
    g.push(n);
  }
  // Subjects with news now, plus those whose state may need to move on (pending, firing, cooldown).
  const subjects = new Set(groups.keys());
  if (scope) for (const s of scope) subjects.add(s);
  if (!c.confirmPrice) subjects.add(NEWS_SUBJECT);
  for (const subject of subjects) {
    const key = keyOf(c, subject);
    const prev = getState(ctx, key);
    const items = groups.get(subject);
    const fresh = items && prev ? items.filter((n) => isNewer(n, prev.data)) : (items ?? []);
    if (c.confirmPrice) newsPriceStep(ctx, c, subject, key, prev, fresh);
    else newsMatchStep(ctx, c, subject, key, prev, fresh);
  }
}
