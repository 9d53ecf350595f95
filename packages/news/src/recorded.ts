/**
 * Recorded news (`pnpm cli backtest --news <file>`, a replay's `*.news.json`) tagged the way the
 * live worker tags what it fetches (ingest.ts): the same tagger over `title\nsummary` against the
 * instruments known. A raw headline archive (title, link, time, as an RSS archive gives them)
 * so gives the same alerts as the live feed would have. Tags written in the recording are kept,
 * symbols and topics each: a recording that names its symbols keeps them and still gets topics.
 */
import type { NewsItem } from '@signals/core';
import { compileTagger, type TaggableInstrument, type TagMatch, type Tagger } from './tagging.ts';

/** The tags of one recorded item: its own where it has them, the live tagger's where not. */
export function recordedTags(n: NewsItem, tagger: Tagger): { matches: TagMatch[]; topics: string[] } {
  const given = n.symbols.map((symbol) => ({ symbol, matched: symbol }));
  if (n.symbols.length && n.topics.length) return { matches: given, topics: n.topics };
  const t = tagger.tag(`${n.title}\n${n.summary ?? ''}`);
  return { matches: n.symbols.length ? given : t.matches, topics: n.topics.length ? n.topics : t.topics };
}

/** The symbols whose matched text is in the title (the title is about them), as the stored tags give them. */
function inTitle(title: string, matches: readonly TagMatch[]): string[] {
  const t = title.toLowerCase();
  return [...new Set(matches.filter((m) => t.includes(m.matched.toLowerCase())).map((m) => m.symbol))];
}

/**
 * The items as the engine sees them once tagged (see the module comment); `tagged` counts the
 * items that got symbols or topics from the tagger.
 */
export function tagRecordedNews(
  items: readonly NewsItem[],
  known: readonly TaggableInstrument[] | Tagger,
): { items: NewsItem[]; tagged: number } {
  let tagger: Tagger | undefined = 'tag' in known ? known : undefined;
  let tagged = 0;
  const out = items.map((n) => {
    if (n.symbols.length && n.topics.length) return n;
    tagger ??= compileTagger(known as readonly TaggableInstrument[]);
    const { matches, topics } = recordedTags(n, tagger);
    const symbols = [...new Set(matches.map((m) => m.symbol))];
    if (symbols.length !== n.symbols.length || topics.length !== n.topics.length) tagged++;
    // Symbols of the recording's own keep what it says of them; the tagger's say where they matched.
    return n.symbols.length ? { ...n, topics } : { ...n, symbols, topics, titleSymbols: inTitle(n.title, matches) };
  });
  return { items: out, tagged };
}
