/**
 * Tags a text with instrument symbols and topics. One compiled matcher per instrument set
 * (compileTagger, cached by tagItem), so tagging an item is a couple of regex scans.
 *
 * - Tickers match only as upper-case tokens ("NOW", not "now"), as cashtags ($NOW, $now) or in
 *   exchange form "(NYSE: NOW)". Tickers that are also English words (NOW, ON, IT, ...) are not
 *   taken as bare tokens from a text in capitals ("BUY NOW"), only in the $ or exchange forms.
 * - Company names and aliases match case-insensitively on Unicode word boundaries, also in German
 *   genitive ("Nvidias") and compound heads ("Nvidia-Aktie", "Nvidia-Chef"). Names that are also
 *   common words (Meta, Alphabet, Oracle, Apple, ...) must be capitalised, and a name followed by
 *   its other sense ("Amazon rainforest", "Apple pie", "Oracle of Omaha") is not the company.
 * - Topics are keyword families in English and German (capex/Kapitalausgaben/Investitionen,
 *   selloff/Ausverkauf, short/Leerverkauf, bubble/Blase, earnings/Quartalszahlen, deepseek, ...).
 */

export interface TaggableInstrument {
  symbol: string;
  name?: string | null;
  aliases?: readonly string[] | null;
}

export interface TagMatch {
  symbol: string;
  /** The text that matched (ticker or alias). */
  matched: string;
}

export interface TagResult {
  symbols: string[];
  topics: string[];
  matches: TagMatch[];
}

/** Names and aliases (English and German usage) of the symbols the product watches by default. */
export const DEFAULT_ALIASES: Readonly<Record<string, readonly string[]>> = {
  NVDA: ['Nvidia', 'NVIDIA Corp', 'NVIDIA Corporation'],
  CRM: ['Salesforce'],
  PLTR: ['Palantir', 'Palantir Technologies'],
  MSFT: ['Microsoft'],
  AMZN: ['Amazon', 'Amazon.com', 'AWS', 'Amazon Web Services'],
  GOOGL: ['Alphabet', 'Google'],
  GOOG: ['Alphabet', 'Google'],
  META: ['Meta', 'Meta Platforms', 'Facebook'],
  INTU: ['Intuit'],
  NOW: ['ServiceNow'],
  ORCL: ['Oracle'],
  AMD: ['Advanced Micro Devices'],
  AVGO: ['Broadcom'],
  TSM: ['TSMC', 'Taiwan Semiconductor'],
  AAPL: ['Apple'],
  TSLA: ['Tesla'],
  ASML: ['ASML'],
  SAP: ['SAP'],
  ADBE: ['Adobe'],
  SMCI: ['Super Micro', 'Supermicro'],
  ARM: ['Arm Holdings'],
  CRWV: ['CoreWeave'],
};

/** Topic -> patterns (regex source, matched case-insensitively at word boundaries). */
export const DEFAULT_TOPICS: Readonly<Record<string, readonly string[]>> = {
  capex: [
    'capex',
    'cap-ex',
    'capital expenditures?',
    'capital spending',
    'infrastructure spending',
    'data[- ]cent(?:er|re) spending',
    '\\p{L}*kapitalausgaben',
    '\\p{L}*investition\\p{L}*',
  ],
  selloff: [
    'sell-?offs?',
    'sell offs?',
    'rout',
    'ausverkauf\\p{L}*',
    'kursrutsch\\p{L}*',
    'kurssturz\\p{L}*',
    'börsenbeben',
    'crash(?:ed|es)?',
  ],
  short: [
    'short[- ]?sell(?:er|ers|ing)?',
    'short positions?',
    'short bets?',
    'short interest',
    'short reports?',
    'shorting',
    'shorted',
    'leerverk(?:auf|äufe|äufen|äufer|äuferin|aufs|auft|auften)\\p{L}*',
    'leerverkauf\\p{L}*',
    'short-?positionen?',
    'short-?wetten?',
  ],
  bubble: ['bubbles?', '\\p{L}*blasen?', 'dot-?com'],
  earnings: [
    'earnings',
    'quarterly (?:results|figures|report)',
    'quartalszahlen',
    'quartalsbericht\\p{L}*',
    'quartalsergebnis(?:se|sen)?',
    'geschäftszahlen',
    'jahreszahlen',
    'revenue guidance',
  ],
  deepseek: ['deep-?seek'],
  guidance: ['guidance', 'outlook', 'prognose\\p{L}*', 'ausblick\\p{L}*'],
  downgrade: ['downgrades?', 'downgraded', 'herabstuf\\p{L}*', 'abgestuft'],
  ai: ['artificial intelligence', 'künstlichen? intelligenz', 'generative ai', 'genai', 'ki-\\p{L}+', 'ai-\\p{L}+'],
};

/** Upper-case-only topic tokens (AI, KI) that would be noise case-insensitively. */
const CASE_SENSITIVE_TOPICS: Readonly<Record<string, readonly string[]>> = {
  ai: ['AI', 'KI'],
};

/** Tickers that are also words: not taken as bare tokens from all-caps text. */
const WORDLIKE_TICKERS = new Set([
  'A',
  'AI',
  'ALL',
  'AN',
  'ARE',
  'ARM',
  'BE',
  'BIG',
  'CAN',
  'CAR',
  'DAY',
  'DO',
  'EAT',
  'FOR',
  'FUN',
  'GO',
  'GOOD',
  'HAS',
  'HE',
  'IT',
  'KEY',
  'LOW',
  'MAN',
  'NEW',
  'NOW',
  'ON',
  'ONE',
  'OUT',
  'PLAY',
  'REAL',
  'RUN',
  'SEE',
  'SO',
  'TWO',
  'UP',
  'WELL',
  'YOU',
]);

/** Names that are also common words: matched only capitalised ("Meta", "META"), never "meta". */
const WORDLIKE_NAMES = new Set([
  'meta',
  'alphabet',
  'oracle',
  'apple',
  'amazon',
  'arm',
  'intuit',
  'target',
  'snow',
  'block',
  'visa',
  'shell',
]);

/**
 * The other sense of a company name, told by what follows it: "Amazon rainforest", "Apple pie",
 * "the Oracle of Omaha" (Warren Buffett), "Meta-Analyse", "Tesla coil". A name followed by one of
 * these is not the company (and an item that only says so is not tagged with it).
 */
const OTHER_SENSES: Readonly<Record<string, RegExp>> = {
  amazon:
    /^[\s-]*(?:rain\s?forests?|river|basin|jungle|delta|tribes?|region|Regenw(?:a|ä)ld\w*|Becken\w*|Gebiet\w*|Ureinwohner\w*)(?![\p{L}])/iu,
  apple: /^[\s-]*(?:pies?|juice|trees?|orchards?|cider|sauce|crumble|Saft\w*|Kuchen\w*|Baum|Bäume\w*|Mus)(?![\p{L}])/iu,
  // Not "data": "Meta data centers" is the company.
  meta: /^[\s-]*(?:analys[ie]s|Analysen?|description|Ebene|Studien?|Diskussion\w*)(?![\p{L}])/iu,
  oracle: /^\s+(?:of|von)\s+(?:Omaha|Delphi)(?![\p{L}])/iu,
  tesla: /^[\s-]*(?:coils?|Spulen?|Turm|tower)(?![\p{L}])/iu,
  alphabet: /^[\s-]*(?:soup|song|letters?|Buchstaben\w*|Suppe)(?![\p{L}])/iu,
};

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// Letters, digits and _ make a word; we look around with Unicode classes (\b is ASCII-only).
const WB_BEFORE = '(?<![\\p{L}\\p{N}_])';
const WB_AFTER = '(?![\\p{L}\\p{N}_])';
const EXCHANGES = 'NYSE|NASDAQ|Nasdaq|NasdaqGS|NYSEARCA|AMEX|XETRA|Xetra|FWB|LSE|TSX|OTC|ETR|FRA';

function nameStem(name: string): string | undefined {
  const stem = name
    .replace(
      /[,.]?\s+(Inc\.?|Incorporated|Corporation|Corp\.?|Co\.?|Ltd\.?|Limited|plc|PLC|AG|SE|N\.V\.|NV|S\.A\.|SA|Holdings?|Group|Platforms|Technologies|Company)$/i,
      '',
    )
    .trim();
  return stem && stem.length >= 3 && stem !== name ? stem : undefined;
}

interface Compiled {
  names: RegExp | undefined;
  namesCs: RegExp | undefined;
  tickers: RegExp | undefined;
  cashtags: RegExp | undefined;
  exchangeForm: RegExp | undefined;
  aliasToSymbols: Map<string, Set<string>>;
  tickerSet: Map<string, string>;
  topics: Array<{ topic: string; re: RegExp }>;
}

export interface Tagger {
  tag(text: string): TagResult;
}

export interface CompileTaggerOptions {
  /** Add DEFAULT_ALIASES for known symbols (default true). */
  defaultAliases?: boolean;
  /** Topic patterns (default DEFAULT_TOPICS). */
  topics?: Readonly<Record<string, readonly string[]>>;
}

/** Precompiles the matcher for one instrument set. */
export function compileTagger(instruments: readonly TaggableInstrument[], opts: CompileTaggerOptions = {}): Tagger {
  const aliasToSymbols = new Map<string, Set<string>>();
  /** Spellings seen per lower-cased alias: decides case-(in)sensitive matching below. */
  const forms = new Map<string, Set<string>>();
  const tickerSet = new Map<string, string>();
  const addAlias = (alias: string, symbol: string) => {
    const a = alias.trim();
    if (a.length < 2) return;
    const key = a.toLocaleLowerCase('en');
    let set = aliasToSymbols.get(key);
    if (!set) {
      set = new Set();
      aliasToSymbols.set(key, set);
      forms.set(key, new Set());
    }
    set.add(symbol);
    forms.get(key)?.add(a);
  };
  for (const inst of instruments) {
    const symbol = inst.symbol.toUpperCase();
    tickerSet.set(symbol, symbol);
    const names = [
      ...(inst.name ? [inst.name, nameStem(inst.name)] : []),
      ...(inst.aliases ?? []),
      ...((opts.defaultAliases ?? true) ? (DEFAULT_ALIASES[symbol] ?? []) : []),
    ].filter((x): x is string => typeof x === 'string' && x.trim().length > 0);
    for (const n of names) addAlias(n, symbol);
  }
  const ci: string[] = [];
  const cs: string[] = [];
  for (const [key, spellings] of forms) {
    const all = [...spellings];
    if (WORDLIKE_NAMES.has(key)) {
      // Capitalised or all-caps only: "Meta"/"META", never "meta".
      for (const a of all) cs.push(esc(a), esc(a.toUpperCase()), esc((a[0] ?? '').toUpperCase() + a.slice(1)));
    } else if (all.every((a) => a === a.toUpperCase())) {
      // Acronyms ("AWS", "TSMC") only in capitals: "aws" is not Amazon.
      for (const a of all) cs.push(esc(a));
    } else ci.push(esc(key));
  }
  const byLength = (a: string, b: string) => b.length - a.length;
  // Genitive -s / 's and German compound heads ("Nvidia-Aktie") are allowed after a name.
  const nameTail = `(?:'s|’s|s)?${WB_AFTER}`;
  const names = ci.length ? new RegExp(`${WB_BEFORE}(${ci.sort(byLength).join('|')})${nameTail}`, 'giu') : undefined;
  const namesCs = cs.length
    ? new RegExp(`${WB_BEFORE}(${[...new Set(cs)].sort(byLength).join('|')})${nameTail}`, 'gu')
    : undefined;
  const tickers = [...tickerSet.keys()].sort(byLength).map(esc);
  const tickersRe = tickers.length
    ? new RegExp(`(?<![\\p{L}\\p{N}_$.\\-])(${tickers.join('|')})(?![\\p{L}\\p{N}_]|-[\\p{L}\\p{N}])`, 'gu')
    : undefined;
  const cashtags = tickers.length
    ? new RegExp(`(?<![\\p{L}\\p{N}_])\\$(${tickers.join('|')})${WB_AFTER}`, 'giu')
    : undefined;
  const exchangeForm = tickers.length
    ? new RegExp(`\\((?:${EXCHANGES})\\s*:\\s*(${tickers.join('|')})\\)`, 'giu')
    : undefined;

  const topicDefs = opts.topics ?? DEFAULT_TOPICS;
  const topics: Compiled['topics'] = [];
  for (const [topic, pats] of Object.entries(topicDefs)) {
    if (pats.length) topics.push({ topic, re: new RegExp(`${WB_BEFORE}(?:${pats.join('|')})${WB_AFTER}`, 'iu') });
    const csPats = opts.topics ? undefined : CASE_SENSITIVE_TOPICS[topic];
    if (csPats?.length) topics.push({ topic, re: new RegExp(`${WB_BEFORE}(?:${csPats.join('|')})${WB_AFTER}`, 'u') });
  }
  const c: Compiled = { names, namesCs, tickers: tickersRe, cashtags, exchangeForm, aliasToSymbols, tickerSet, topics };
  return { tag: (text: string) => run(c, text) };
}

/** Share of upper-case letters among letters: a headline in capitals is > 0.6. */
function shouting(text: string): boolean {
  let up = 0;
  let letters = 0;
  for (const ch of text) {
    if (ch >= 'A' && ch <= 'Z') {
      up++;
      letters++;
    } else if (ch >= 'a' && ch <= 'z') letters++;
    if (letters > 400) break;
  }
  return letters >= 8 && up / letters > 0.6;
}

function run(c: Compiled, text: string): TagResult {
  const found = new Map<string, string>();
  const add = (symbol: string, matched: string) => {
    if (!found.has(symbol)) found.set(symbol, matched);
  };
  for (const re of [c.exchangeForm, c.cashtags]) {
    if (!re) continue;
    for (const m of text.matchAll(re)) {
      const sym = c.tickerSet.get((m[1] as string).toUpperCase());
      if (sym) add(sym, m[0]);
    }
  }
  if (c.tickers) {
    const caps = shouting(text);
    for (const m of text.matchAll(c.tickers)) {
      const sym = m[1] as string;
      if (caps && WORDLIKE_TICKERS.has(sym)) continue;
      if (sym.length === 1) continue; // single letters ("A", "F") only in $/exchange form
      add(sym, sym);
    }
  }
  for (const re of [c.names, c.namesCs]) {
    if (!re) continue;
    for (const m of text.matchAll(re)) {
      const alias = m[1] as string;
      const key = alias.toLocaleLowerCase('en');
      const after = (m.index ?? 0) + m[0].length;
      if (OTHER_SENSES[key]?.test(text.slice(after, after + 60))) continue;
      for (const sym of c.aliasToSymbols.get(key) ?? []) add(sym, alias);
    }
  }
  const topics: string[] = [];
  for (const t of c.topics) if (!topics.includes(t.topic) && t.re.test(text)) topics.push(t.topic);
  const matches = [...found.entries()].map(([symbol, matched]) => ({ symbol, matched }));
  return { symbols: matches.map((m) => m.symbol), topics, matches };
}

const cache = new WeakMap<readonly TaggableInstrument[], Tagger>();

/** Tags `text`; the matcher is compiled once per instruments array (kept while the array lives). */
export function tagItem(text: string, instruments: readonly TaggableInstrument[]): TagResult {
  let t = cache.get(instruments);
  if (!t) {
    t = compileTagger(instruments);
    cache.set(instruments, t);
  }
  return t.tag(text);
}
