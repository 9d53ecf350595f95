import { describe, expect, it } from 'vitest';
import { compileTagger, tagItem, type TaggableInstrument, tagRecordedNews } from '../src/index.ts';

const WATCHED: TaggableInstrument[] = [
  { symbol: 'NVDA', name: 'NVIDIA Corporation' },
  { symbol: 'CRM', name: 'Salesforce, Inc.' },
  { symbol: 'PLTR', name: 'Palantir Technologies Inc.' },
  { symbol: 'MSFT', name: 'Microsoft Corporation' },
  { symbol: 'AMZN', name: 'Amazon.com, Inc.' },
  { symbol: 'GOOGL', name: 'Alphabet Inc.' },
  { symbol: 'META', name: 'Meta Platforms, Inc.' },
  { symbol: 'INTU', name: 'Intuit Inc.' },
  { symbol: 'NOW', name: 'ServiceNow, Inc.' },
  { symbol: 'SAP', name: 'SAP SE', aliases: ['SAP'] },
];
const tag = (t: string) => tagItem(t, WATCHED);

describe('tagItem: symbols', () => {
  it('"NOW" the ticker is not the word "now"', () => {
    expect(tag('Stocks are falling now, and now is not the time to buy').symbols).toEqual([]);
    expect(tag('NOW shares jump after the quarterly report').symbols).toEqual(['NOW']);
    expect(tag('Buy $NOW before earnings').symbols).toEqual(['NOW']);
    expect(tag('ServiceNow (NYSE: NOW) beats estimates').symbols).toEqual(['NOW']);
    expect(tag('Now what? Investors rethink the AI trade').symbols).toEqual([]);
  });

  it('does not take a word-like ticker from a headline in capitals, but keeps the $ and exchange forms', () => {
    expect(tag('MARKETS: SELL NOW BEFORE IT IS TOO LATE').symbols).toEqual([]);
    expect(tag('MARKETS: SELL $NOW BEFORE IT IS TOO LATE').symbols).toEqual(['NOW']);
    expect(tag('NVIDIA AND MICROSOFT SLIDE').symbols.sort()).toEqual(['MSFT', 'NVDA']);
  });

  it('matches company names case-insensitively on word boundaries, not inside other words', () => {
    expect(tag('nvidia and MICROSOFT lead the rally').symbols.sort()).toEqual(['MSFT', 'NVDA']);
    expect(tag('An intuitive interface, a metadata catalogue and the alphabet soup').symbols).toEqual([]);
    expect(tag('The meta question: is this a bubble?').symbols).toEqual([]);
    expect(tag('Meta raises its capex guidance').symbols).toEqual(['META']);
    expect(tag('Google and Alphabet are one company').symbols).toEqual(['GOOGL']);
    expect(tag('Amazon Web Services (AWS) grows 19%').symbols).toEqual(['AMZN']);
  });

  it('tells a company from the other sense of its name by the word that follows', () => {
    const more: TaggableInstrument[] = [
      ...WATCHED,
      { symbol: 'AAPL', name: 'Apple Inc.' },
      { symbol: 'ORCL', name: 'Oracle Corporation' },
      { symbol: 'TSLA', name: 'Tesla, Inc.' },
    ];
    const tag = (t: string) => tagItem(t, more);
    expect(tag('Fires in the Amazon rainforest spread').symbols).toEqual([]);
    expect(tag('Brände im Amazonas und im Amazon-Regenwald').symbols).toEqual([]);
    expect(tag('Apple pie and apple juice recipes').symbols).toEqual([]);
    expect(tag('Eine Meta-Analyse von 40 Studien').symbols).toEqual([]);
    expect(tag('What the Oracle of Omaha is buying').symbols).toEqual([]);
    expect(tag('Build a Tesla coil at home').symbols).toEqual([]);
    // The company, also in the same text as the other sense, and in compounds and genitives.
    expect(tag('Amazon raises capex while the Amazon rainforest burns').symbols).toEqual(['AMZN']);
    expect(tag('Apple’s iPhone sales and the Apple-Aktie').symbols).toEqual(['AAPL']);
    expect(tag('Oracle of course beat estimates; Oracle shares rose').symbols).toEqual(['ORCL']);
    expect(tag('Tesla deliveries fell; Tesla-Aktie im Minus').symbols).toEqual(['TSLA']);
    expect(tag('Meta data centers expand').symbols).toEqual(['META']);
  });

  it('matches German names, genitives and compounds', () => {
    const t = tag('Nvidias Aktie fällt, die Microsoft-Aktie auch; Palantir und Salesforce im Minus, Intuit stabil.');
    expect(t.symbols.sort()).toEqual(['CRM', 'INTU', 'MSFT', 'NVDA', 'PLTR']);
    expect(tag('Der Nvidia-Chef sprach über Metas Pläne').symbols.sort()).toEqual(['META', 'NVDA']);
    expect(tag('Michael Burry hat Nvidia und Palantir leerverkauft').symbols.sort()).toEqual(['NVDA', 'PLTR']);
  });

  it('reports what matched', () => {
    const t = tag('$NVDA and Salesforce');
    expect(t.matches).toEqual([
      { symbol: 'NVDA', matched: '$NVDA' },
      { symbol: 'CRM', matched: 'Salesforce' },
    ]);
  });

  it('the matcher is compiled once per instrument set', () => {
    const a = compileTagger(WATCHED);
    expect(a.tag('NVDA').symbols).toEqual(['NVDA']);
    const few = [{ symbol: 'TSLA' }];
    expect(tagItem('Tesla and NVDA', few).symbols).toEqual(['TSLA']);
  });
});

describe('tagItem: topics', () => {
  const topics = (t: string) => tag(t).topics.sort();
  it('English keywords', () => {
    expect(topics('Big Tech capex keeps rising')).toContain('capex');
    expect(topics('A sell-off in chip stocks')).toContain('selloff');
    expect(topics('The selloff deepens')).toContain('selloff');
    expect(topics('Short seller targets Palantir')).toContain('short');
    expect(topics('Is AI a bubble?')).toEqual(['ai', 'bubble']);
    expect(topics('Microsoft earnings beat')).toContain('earnings');
    expect(topics('DeepSeek shock wipes $1tn off tech')).toContain('deepseek');
  });

  it('German keywords', () => {
    expect(topics('Hunderte Milliarden Dollar an Kapitalausgaben (CapEx)')).toContain('capex');
    expect(topics('Beide halten an ihren Investitionsplänen fest')).toContain('capex');
    expect(topics('KI-Investitionen steigen weiter')).toEqual(['ai', 'capex']);
    expect(topics('Ausverkauf an der Nasdaq')).toContain('selloff');
    expect(topics('Leerverkäufer wetten gegen Nvidia')).toContain('short');
    expect(topics('Burry setzt auf Leerverkauf')).toContain('short');
    expect(topics('Ist das eine KI-Blase?')).toEqual(['ai', 'bubble']);
    expect(topics('Meta und Microsoft legen Quartalszahlen vor')).toContain('earnings');
    expect(topics('Das Start-up Deepseek aus China')).toContain('deepseek');
  });

  it('no topic from unrelated words', () => {
    expect(topics('A short walk in the park, in short')).toEqual([]);
    expect(topics('The router was reset')).toEqual([]);
    expect(topics('said the chairman')).toEqual([]);
  });
});

describe('recorded news (tagRecordedNews): tagged as live news is, given tags kept', () => {
  const at = new Date('2025-02-14T21:08:00Z');
  const item = (id: string, title: string, symbols: string[] = [], topics: string[] = []) => ({
    id,
    feedId: 'recording',
    title,
    publishedAt: at,
    firstSeenAt: at,
    symbols,
    topics,
  });
  const known = [{ symbol: 'AMZN', name: 'Amazon.com, Inc.' }, { symbol: 'MSFT' }];
  it('tags raw items with the live tagger and keeps what a recording names', () => {
    const raw = item('a', 'Amazon plans $200 billion in capital expenditures this year');
    const named = item('b', 'Amazon plans more capex', ['MSFT']);
    const full = item('c', 'Nothing to see', ['AMZN'], ['earnings']);
    const r = tagRecordedNews([raw, named, full], known);
    const live = compileTagger(known).tag(`${raw.title}\n`);
    expect(r.items[0]?.symbols).toEqual(live.symbols);
    expect(r.items[0]?.symbols).toEqual(['AMZN']);
    expect(r.items[0]?.topics).toEqual(live.topics);
    expect(r.items[0]?.topics).toContain('capex');
    expect(r.items[0]?.titleSymbols).toEqual(['AMZN']);
    // Given symbols are kept (not re-tagged); missing topics are filled.
    expect(r.items[1]?.symbols).toEqual(['MSFT']);
    expect(r.items[1]?.topics).toContain('capex');
    // Both given: the item as it is.
    expect(r.items[2]).toBe(full);
    expect(r.tagged).toBe(2);
  });
});
