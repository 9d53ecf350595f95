/**
 * Default watchlists and rules, drawn from the five German articles in ../shared/seeds/*.txt.
 *
 * How the thresholds were chosen: for each market event an article reports there is one rule AT
 * the historic move (severity critical or warning: "it is happening again") and one EARLY-WARNING
 * rule below it (fires while a move of that kind is under way, or on the first sign). Every rule
 * cites the article file and the exact German passage it rests on (`sourcePassage`; a test checks
 * each passage is verbatim in its article). Where an article gives no percentage, the comment says
 * so and states the assumption behind the number; figures that come from the market record rather
 * than from an article are marked as such.
 *
 * Conventions: `thresholdPct` is in percent. Intraday rules measure the live quote against the
 * previous close, so they fire during the session (a backtest on daily bars measures close to
 * close). Early warnings wait `pendingSec` 300 s so one bad tick does not page anyone; at-event
 * rules fire at once. Watchlist slugs: 'ai-core' (NVDA, MSFT, CRM, PLTR) and 'ai-wider'.
 */
import type { RuleDefinition } from '@signals/core';

export type WatchlistSlug = 'ai-core' | 'ai-wider';

/** A default rule: a rule definition plus where it comes from. */
export type SeedRule = RuleDefinition & {
  /** Stable id of the seed (the Rule row's seedId); also used as the rule id. */
  seedId: string;
  watchlist: WatchlistSlug;
  /** Article file name in shared/seeds. */
  sourceArticle: string;
  /** The exact German passage the rule rests on. */
  sourcePassage: string;
};

export interface WatchlistMemberSeed {
  symbol: string;
  name: string;
  /** Names used to tag news, English and German (ticker matching is done separately). */
  aliases: string[];
  /** Articles that name the company. */
  articles?: string[];
}

export interface WatchlistSeed {
  slug: WatchlistSlug;
  name: string;
  description: string;
  symbols: WatchlistMemberSeed[];
}

const A_SILICON_VALLEY = '000_a25ee043e84446bd.txt'; // "Dieses Mondneujahr war auch für das Silicon Valley hart."
const A_FINANCE = '001_f7664c22fba2fb10.txt'; // "Silicon Valley droht der finanzielle Zusammenbruch ..."
const A_BURRY = '002_f83b04b47871ab2e.txt'; // Michael Burry, "Evangelium / Maschine / Kosten"
const A_BUBBLE = '003_b57f5ab7c3cca1b0.txt'; // "AI Bubble" / ROI gap, 2 Feb 2026
const A_DEEPSEEK = '004_a751d851a43831ac.txt'; // DeepSeek shock, Meta and Microsoft quarterly figures

export const aiCoreSymbols: WatchlistMemberSeed[] = [
  {
    symbol: 'NVDA',
    name: 'NVIDIA Corporation',
    aliases: ['Nvidia', 'NVIDIA', 'NVIDIA Corp', 'Nvidia-Aktie', 'Nvidia-Chef Jensen Huang'],
    articles: [A_SILICON_VALLEY, A_FINANCE, A_BURRY, A_BUBBLE],
  },
  {
    symbol: 'MSFT',
    name: 'Microsoft Corporation',
    aliases: ['Microsoft', 'Microsoft Corp', 'Microsoft-Aktie', 'Azure', 'Copilot'],
    articles: [A_SILICON_VALLEY, A_FINANCE, A_BURRY, A_DEEPSEEK],
  },
  {
    symbol: 'CRM',
    name: 'Salesforce, Inc.',
    aliases: ['Salesforce', 'Salesforce.com', 'Salesforce-Aktie'],
    articles: [A_SILICON_VALLEY],
  },
  {
    symbol: 'PLTR',
    name: 'Palantir Technologies Inc.',
    aliases: ['Palantir', 'Palantir Technologies', 'Palantir-Aktie'],
    articles: [A_BURRY],
  },
];

/**
 * The other listed companies the articles name. Not listed here, on purpose: private companies
 * (OpenAI, Anthropic, DeepSeek, xAI/SpaceX, Stripe, ByteDance, Moltbook, Wiz) have no ticker and are
 * covered by the news rules' keywords; banks, research firms and media named only as sources
 * (Goldman Sachs, Morgan Stanley, Sequoia, Dell'Oro, PitchBook, CNBC, Bloomberg, WSJ, Emarketer,
 * Zacks) and Motorola (named for its 1997 century bond) are not part of the AI trade.
 */
export const widerWatchlistSymbols: WatchlistMemberSeed[] = [
  {
    symbol: 'AMZN',
    name: 'Amazon.com, Inc.',
    aliases: ['Amazon', 'Amazon.com', 'AWS', 'Amazon Web Services', 'Amazon-Aktie'],
    articles: [A_SILICON_VALLEY, A_FINANCE, A_BURRY],
  },
  {
    symbol: 'GOOGL',
    name: 'Alphabet Inc.',
    aliases: ['Alphabet', 'Google', 'Google DeepMind', 'Gemini', 'Google-Mutter', 'Google-Mutter Alphabet'],
    articles: [A_SILICON_VALLEY, A_FINANCE, A_BURRY],
  },
  {
    symbol: 'META',
    name: 'Meta Platforms, Inc.',
    aliases: ['Meta', 'Meta Platforms', 'Facebook', 'Instagram', 'Facebook-Mutter', 'Facebook-Konzern', 'Llama'],
    articles: [A_SILICON_VALLEY, A_FINANCE, A_BURRY, A_DEEPSEEK],
  },
  {
    symbol: 'AAPL',
    name: 'Apple Inc.',
    aliases: ['Apple', 'iPhone-Hersteller', 'iPhone maker'],
    articles: [A_SILICON_VALLEY],
  },
  {
    symbol: 'INTU',
    name: 'Intuit Inc.',
    aliases: ['Intuit', 'TurboTax', 'QuickBooks'],
    articles: [A_SILICON_VALLEY],
  },
  {
    symbol: 'LZ',
    name: 'LegalZoom.com, Inc.',
    aliases: ['LegalZoom', 'LegalZoom.com'],
    articles: [A_SILICON_VALLEY],
  },
  {
    symbol: 'TRI',
    name: 'Thomson Reuters Corporation',
    aliases: ['Thomson Reuters', 'Thomson-Reuters'],
    articles: [A_SILICON_VALLEY],
  },
  {
    symbol: 'PYPL',
    name: 'PayPal Holdings, Inc.',
    aliases: ['PayPal', 'PayPal Holdings'],
    articles: [A_BURRY],
  },
  {
    symbol: 'BABA',
    name: 'Alibaba Group Holding Limited',
    aliases: ['Alibaba', 'Alibaba Group', 'Qwen', 'Qianwen'],
    articles: [A_SILICON_VALLEY],
  },
  {
    symbol: 'TCEHY',
    name: 'Tencent Holdings Limited (ADR)',
    aliases: ['Tencent', 'Tencent Holdings', 'WeChat', 'Yuanbao'],
    articles: [A_SILICON_VALLEY],
  },
];

export const defaultWatchlists: WatchlistSeed[] = [
  {
    slug: 'ai-core',
    name: 'AI core',
    description:
      'The four names at the centre of the articles: Nvidia and Microsoft (the AI "machine"), Salesforce (the SaaS sell-off), Palantir (shorted by Michael Burry).',
    symbols: aiCoreSymbols,
  },
  {
    slug: 'ai-wider',
    name: 'AI wider',
    description:
      'The other listed companies the articles name: the hyperscalers and their capex plans, Apple, the SaaS and legal/research names of the February 2026 sell-off, PayPal, and the Chinese platforms.',
    symbols: widerWatchlistSymbols,
  },
];

const DAY = 86_400;
const HOUR = 3_600;

/** Mega-cap AI names as one market-cap-weighted basket (the "western tech sector" of the DeepSeek Monday). */
const MEGA_CAPS = ['NVDA', 'MSFT', 'AMZN', 'GOOGL', 'META', 'AAPL'];
const SAAS_BASKET = ['CRM', 'INTU', 'LZ', 'TRI'];

const DEEPSEEK_PASSAGE =
  'Rund eine Billion Dollar hat die westliche Tech-Branche am Montag an Börsenwert verloren, als ihnen ein kleines Start-up aus China urplötzlich das Geschäft streitig machen wollte.';
const SAAS_PASSAGE =
  'In der ersten Februarwoche stürzten die Aktienkurse von Software-Giganten wie Salesforce und Intuit ab und verloren in einer einzigen Woche etwa 1 Billion Dollar an Wert.';
const LEGAL_PASSAGE =
  'Aktien von Rechtsdienstleistern und Forschungsanbietern wie LegalZoom und Thomson Reuters sind um bis zu 20% gefallen';
const AMZN_PASSAGE = 'Am Tag der Ankündigung stürzte der Aktienkurs des Unternehmens um 10% ab.';
const MSFT_PASSAGE =
  'Nach der Veröffentlichung der Gewinne erlitt die Microsoft-Aktie ihren zweitgrößten Verlust an Marktkapitalisierung an einem einzigen Tag in der Geschichte.';
const META_PASSAGE =
  'Im Gegensatz zu seinen Konkurrenten stieg Metas Aktienkurs, da es behauptete, dass KI-Technologie die Werbeeffektivität erheblich verbesserte, mit Intraday-Gewinnen von bis zu 10%.';
const BURRY_PASSAGE =
  'hat fast 80 % des Vermögens der von ihm verwalteten Fonds, etwa 1 Milliarde US-Dollar, in eine Richtung investiert – indem er Nvidia und Palantir leerverkauft.';
const BUBBLE_PASSAGE =
  'Mit Fortschreiten des Jahres 2026 wird die „AI Bubble“-Diskussion wahrscheinlich als Filter dienen, der die infrastrukturlastigen Schwergewichte und nützlichen Anwendungen von Vaporware trennt.';
const BUBBLE_SELLOFF_PASSAGE =
  'Die Reaktion an den Aktienmärkten war schnell. Investoren beginnen, Kapital aus rein auf KI-Hype setzenden Aktien abzuziehen';
const CAPEX_PUNISHED_PASSAGE =
  'Dieser Wandel zeigte sich in den jüngsten Gewinnberichten, in denen Unternehmen, die die Umsatzerwartungen übertrafen, aber massive Erhöhungen der KI-CapEx ankündigten, von den Aktionären abgestraft wurden.';
const DEEPSEEK_MODEL_PASSAGE =
  'Deepseek hat vor wenigen Tagen ein Modell auf den Markt gebracht, das mit den Leistungen von Anwendungen wie ChatGPT von OpenAI oder Llama von Meta mithalten kann.';

const SHORT_KEYWORDS = [
  'leerverk*', // leerverkauft, Leerverkauf, Leerverkäufe, Leerverkäufer
  'Leerverkäufer*',
  'Short-Position*',
  'Shortseller*',
  'short seller*',
  'short position*',
  'short bet*',
  'Put-Optionen',
  'put options',
  'Michael Burry',
  'Scion Asset',
];
const BUBBLE_KEYWORDS = [
  'KI-Blase',
  'AI-Blase',
  'AI bubble',
  'Blase platzt',
  'Platzen der Blase',
  'bubble burst*',
  'Dotcom-Blase',
  'dot-com bubble',
  'Kostenblase',
  'Blasen-Diskussion',
  'Blasentest',
];

export const seedRules: SeedRule[] = [
  // -------------------------------------------------------------------------------------------
  // DeepSeek shock (27 January 2025). The article gives the sector's loss (~$1 trillion that
  // Monday); Nvidia's own one-day fall of about 17 % (-16.97 % close to close) is from the market
  // record, not from the article, and is used as the historic single-name move.
  // -------------------------------------------------------------------------------------------
  {
    seedId: 'deepseek-nvda-drop-early',
    id: 'deepseek-nvda-drop-early',
    name: 'Nvidia falling hard (DeepSeek-type shock under way)',
    description: 'Early warning: Nvidia down 8 % or more against the previous close, during the session.',
    kind: 'pct_move',
    // 8 %: about half of the ~17 % DeepSeek day and roughly three times a normal Nvidia daily range:
    // rare enough to matter, early enough to act while the shock unfolds.
    params: { thresholdPct: 8, direction: 'down', intraday: true },
    symbols: ['NVDA'],
    severity: 'warning',
    cooldownSec: DAY,
    pendingSec: 300,
    watchlist: 'ai-core',
    sourceArticle: A_DEEPSEEK,
    sourcePassage: DEEPSEEK_PASSAGE,
  },
  {
    seedId: 'deepseek-nvda-drop-historic',
    id: 'deepseek-nvda-drop-historic',
    name: 'Nvidia DeepSeek-size fall (about -17 % in a day)',
    description: 'Nvidia down 16 % or more in one session: the size of the DeepSeek Monday, 27 January 2025.',
    kind: 'pct_move',
    // 16 %: Nvidia's fall on the DeepSeek Monday was -16.97 % close to close (market record; the
    // article reports the sector's ~$1T loss that day). Set just below it so that a repeat of that
    // day qualifies (a 17 % threshold would have missed the day itself by 0.03 points).
    params: { thresholdPct: 16, direction: 'down', intraday: true },
    symbols: ['NVDA'],
    severity: 'critical',
    cooldownSec: DAY,
    watchlist: 'ai-core',
    sourceArticle: A_DEEPSEEK,
    sourcePassage: DEEPSEEK_PASSAGE,
  },
  {
    seedId: 'deepseek-sector-early',
    id: 'deepseek-sector-early',
    name: 'AI mega-caps sliding together',
    description: 'Early warning: the six AI mega-caps, weighted by market value, down 3 % or more in a session.',
    kind: 'basket_move',
    // 3 %: half of the 6 % historic level below; for a basket worth ~$16T that is ~$0.5T in a day.
    params: { sessions: 1, thresholdPct: 3, direction: 'down', weighting: 'market_cap' },
    symbols: MEGA_CAPS,
    severity: 'warning',
    cooldownSec: DAY,
    pendingSec: 300,
    watchlist: 'ai-wider',
    sourceArticle: A_DEEPSEEK,
    sourcePassage: DEEPSEEK_PASSAGE,
  },
  {
    seedId: 'deepseek-sector-historic',
    id: 'deepseek-sector-historic',
    name: 'AI mega-caps lose a DeepSeek-size slice of value',
    description: 'The six AI mega-caps, weighted by market value, down 6 % or more in one session.',
    kind: 'basket_move',
    // 6 %: the article's ~$1T loss of "der westlichen Tech-Branche" set against the combined value
    // of these six names at the time (roughly $16-17T, an approximation) is about 6 %. The $1T was
    // spread over a wider sector than this basket, so a 6 % fall of the basket alone is at least
    // a shock of that size.
    params: { sessions: 1, thresholdPct: 6, direction: 'down', weighting: 'market_cap' },
    symbols: MEGA_CAPS,
    severity: 'critical',
    cooldownSec: DAY,
    watchlist: 'ai-wider',
    sourceArticle: A_DEEPSEEK,
    sourcePassage: DEEPSEEK_PASSAGE,
  },
  {
    seedId: 'deepseek-cheap-model-news',
    id: 'deepseek-cheap-model-news',
    name: 'Cheap rival model news moves the AI core',
    description:
      'News of a cheap (Chinese) rival model about an AI-core name, followed by a 5 % fall within two hours.',
    kind: 'confirmation',
    // 5 % within 120 min: the DeepSeek news moved Nvidia by far more than that in one session; a
    // 5 % reaction within two hours of such a story says the market is taking it the same way.
    params: {
      mode: 'news_price',
      news: {
        keywords: ['DeepSeek', 'chinesisches KI-Modell', 'Chinese AI model', 'Billig-Konkurrenz', 'cheap AI model'],
        requireSymbol: true,
      },
      minMovePct: 5,
      withinMin: 120,
      direction: 'down',
    },
    symbols: ['NVDA', 'MSFT', 'CRM', 'PLTR'],
    severity: 'warning',
    cooldownSec: 6 * HOUR,
    watchlist: 'ai-core',
    sourceArticle: A_DEEPSEEK,
    sourcePassage: DEEPSEEK_MODEL_PASSAGE,
  },

  // -------------------------------------------------------------------------------------------
  // The one-week SaaS sell-off (first week of February 2026): Salesforce and Intuit, ~$1T in a
  // week; legal/research names (LegalZoom, Thomson Reuters) down "bis zu 20 %". The only
  // percentage in the article is that 20 %; the basket levels below are derived from it.
  // -------------------------------------------------------------------------------------------
  {
    seedId: 'saas-selloff-early',
    id: 'saas-selloff-early',
    name: 'SaaS names selling off together (week)',
    description:
      'Early warning: Salesforce, Intuit, LegalZoom and Thomson Reuters down 10 % on average over 5 sessions.',
    kind: 'basket_move',
    // 10 % over 5 sessions: half of the "bis zu 20 %" the hardest-hit names lost in that week.
    // Equal weights: the small legal names count as much as the large SaaS leaders, as in the story.
    params: { sessions: 5, thresholdPct: 10, direction: 'down', weighting: 'equal' },
    symbols: SAAS_BASKET,
    severity: 'warning',
    cooldownSec: 5 * DAY,
    confirmAtClose: true,
    watchlist: 'ai-wider',
    sourceArticle: A_SILICON_VALLEY,
    sourcePassage: SAAS_PASSAGE,
  },
  {
    seedId: 'saas-selloff-historic',
    id: 'saas-selloff-historic',
    name: 'SaaS apocalypse-size week',
    description: 'Salesforce, Intuit, LegalZoom and Thomson Reuters down 15 % on average over 5 sessions.',
    kind: 'basket_move',
    // 15 % on average: the worst names fell up to 20 % while the large caps fell less; an average
    // of 15 % for the four means the whole group moved like that week (our reading, not a figure
    // from the article).
    params: { sessions: 5, thresholdPct: 15, direction: 'down', weighting: 'equal' },
    symbols: SAAS_BASKET,
    severity: 'critical',
    cooldownSec: 5 * DAY,
    confirmAtClose: true,
    watchlist: 'ai-wider',
    sourceArticle: A_SILICON_VALLEY,
    sourcePassage: SAAS_PASSAGE,
  },
  {
    seedId: 'saas-name-down-20pct-week',
    id: 'saas-name-down-20pct-week',
    name: 'SaaS or legal-research name down 20 % in a week',
    description: 'Any of Salesforce, Intuit, LegalZoom, Thomson Reuters down 20 % or more over 5 sessions.',
    kind: 'pct_move',
    // 20 % over 5 sessions: exactly the "bis zu 20 %" the article reports for LegalZoom and Thomson Reuters.
    params: { sessions: 5, thresholdPct: 20, direction: 'down' },
    symbols: SAAS_BASKET,
    severity: 'critical',
    cooldownSec: 5 * DAY,
    confirmAtClose: true,
    watchlist: 'ai-wider',
    sourceArticle: A_SILICON_VALLEY,
    sourcePassage: LEGAL_PASSAGE,
  },

  // -------------------------------------------------------------------------------------------
  // Capex announcements punished (February 2026 earnings).
  // -------------------------------------------------------------------------------------------
  {
    seedId: 'amzn-capex-drop-early',
    id: 'amzn-capex-drop-early',
    name: 'Amazon falling on the day (capex-type reaction)',
    description: 'Early warning: Amazon down 6 % or more against the previous close, during the session.',
    kind: 'pct_move',
    // 6 %: 60 % of the 10 % fall on the day Amazon announced its $200B plan; well outside a normal day.
    // Extended hours: results and capex plans come after the close, and the reaction starts in
    // post-market trading that evening.
    params: { thresholdPct: 6, direction: 'down', intraday: true, session: 'extended' },
    symbols: ['AMZN'],
    severity: 'warning',
    cooldownSec: DAY,
    pendingSec: 300,
    watchlist: 'ai-wider',
    sourceArticle: A_SILICON_VALLEY,
    sourcePassage: AMZN_PASSAGE,
  },
  {
    seedId: 'amzn-capex-drop-historic',
    id: 'amzn-capex-drop-historic',
    name: 'Amazon -10 % in a day (the $200B capex reaction)',
    description: 'Amazon down 10 % or more in one session, as on the day of its $200B capex plan.',
    kind: 'pct_move',
    // 10 %: "stürzte der Aktienkurs des Unternehmens um 10% ab". Extended hours, as above: a -10 %
    // after-hours reaction fires on the evening of the announcement.
    params: { thresholdPct: 10, direction: 'down', intraday: true, session: 'extended' },
    symbols: ['AMZN'],
    severity: 'critical',
    cooldownSec: DAY,
    watchlist: 'ai-wider',
    sourceArticle: A_SILICON_VALLEY,
    sourcePassage: AMZN_PASSAGE,
  },
  {
    seedId: 'msft-capex-drop-early',
    id: 'msft-capex-drop-early',
    name: 'Microsoft unusually weak (3 sigma)',
    description: "Early warning: Microsoft's daily move more than 3 standard deviations down (60-session lookback).",
    kind: 'vol_scaled_move',
    // The article gives no percentage, only "second-largest one-day loss of market value in its
    // history". For a mega-cap that is an extreme relative to its own volatility, so the rules are
    // scaled to it: 3 standard deviations is a clearly unusual day (early warning) ...
    // Extended hours: Microsoft reports after the close; its fall began in post-market trading.
    params: { lookback: 60, k: 3, direction: 'down', session: 'extended' },
    symbols: ['MSFT'],
    severity: 'warning',
    cooldownSec: DAY,
    pendingSec: 300,
    watchlist: 'ai-core',
    sourceArticle: A_SILICON_VALLEY,
    sourcePassage: MSFT_PASSAGE,
  },
  {
    seedId: 'msft-capex-drop-historic',
    id: 'msft-capex-drop-historic',
    name: 'Microsoft record-class one-day loss (5 sigma)',
    description: "Microsoft's daily move more than 5 standard deviations down (60-session lookback).",
    kind: 'vol_scaled_move',
    // ... and 5 standard deviations is the record-class day the article describes (a move a normal
    // distribution would put at once in millennia; stock returns are fat-tailed, so it does happen).
    params: { lookback: 60, k: 5, direction: 'down', session: 'extended' },
    symbols: ['MSFT'],
    severity: 'critical',
    cooldownSec: DAY,
    watchlist: 'ai-core',
    sourceArticle: A_SILICON_VALLEY,
    sourcePassage: MSFT_PASSAGE,
  },
  {
    seedId: 'capex-news-punished',
    id: 'capex-news-punished',
    name: 'Capex announcement moves the stock',
    description: 'Capex news about a hyperscaler followed by a 5 % move either way within two hours.',
    kind: 'confirmation',
    // 5 % either way within 120 min: half of the 10 % moves of the capex days (Amazon -10 %, Meta
    // +10 % intraday), early in the reaction; both directions, as the articles report both.
    params: {
      mode: 'news_price',
      news: {
        keywords: [
          'Kapitalausgaben',
          'Investitionsausgaben',
          'KI-CapEx',
          'capex',
          'capital expenditure*',
          'capital spending',
        ],
        topics: ['capex'],
        requireSymbol: true,
      },
      minMovePct: 5,
      withinMin: 120,
      direction: 'either',
      // Capex figures come with results after the close: the move within two hours is after hours.
      session: 'extended',
    },
    symbols: ['MSFT', 'AMZN', 'GOOGL', 'META'],
    severity: 'warning',
    cooldownSec: 6 * HOUR,
    watchlist: 'ai-wider',
    sourceArticle: A_BUBBLE,
    sourcePassage: CAPEX_PUNISHED_PASSAGE,
  },

  // -------------------------------------------------------------------------------------------
  // Meta +10 % intraday on the opposite reading of its capex (AI improves advertising).
  // -------------------------------------------------------------------------------------------
  {
    seedId: 'meta-ai-rally-early',
    id: 'meta-ai-rally-early',
    name: 'Meta rallying intraday',
    description: 'Early warning: Meta trades 6 % or more above the previous close (session high counts).',
    kind: 'pct_move',
    // 6 %: 60 % of the "Intraday-Gewinne von bis zu 10 %"; the session high counts, as the article's figure is an intraday peak.
    params: { thresholdPct: 6, direction: 'up', intraday: true, extremes: true },
    symbols: ['META'],
    severity: 'info',
    cooldownSec: DAY,
    pendingSec: 300,
    watchlist: 'ai-wider',
    sourceArticle: A_SILICON_VALLEY,
    sourcePassage: META_PASSAGE,
  },
  {
    seedId: 'meta-ai-rally-historic',
    id: 'meta-ai-rally-historic',
    name: 'Meta +10 % intraday (AI-advertising reading)',
    description: 'Meta trades 10 % or more above the previous close (session high counts).',
    kind: 'pct_move',
    // 10 %: "mit Intraday-Gewinnen von bis zu 10 %".
    params: { thresholdPct: 10, direction: 'up', intraday: true, extremes: true },
    symbols: ['META'],
    severity: 'warning',
    cooldownSec: DAY,
    watchlist: 'ai-wider',
    sourceArticle: A_SILICON_VALLEY,
    sourcePassage: META_PASSAGE,
  },

  // -------------------------------------------------------------------------------------------
  // Short sellers against Nvidia and Palantir (Michael Burry). The article reports a position
  // (~80 % of his funds, ~$1B), not a price move: the news is the early signal; the market
  // following it is the event.
  // -------------------------------------------------------------------------------------------
  {
    seedId: 'short-sellers-nvda-pltr',
    id: 'short-sellers-nvda-pltr',
    name: 'Short sellers against Nvidia or Palantir',
    description: 'News about short positions (Leerverkäufe) against Nvidia or Palantir.',
    kind: 'news_match',
    params: { keywords: SHORT_KEYWORDS, topics: ['short'], requireSymbol: true },
    symbols: ['NVDA', 'PLTR'],
    severity: 'info',
    cooldownSec: 6 * HOUR,
    watchlist: 'ai-core',
    sourceArticle: A_BURRY,
    sourcePassage: BURRY_PASSAGE,
  },
  {
    seedId: 'short-sellers-market-follows',
    id: 'short-sellers-market-follows',
    name: 'Short-seller story moves Nvidia or Palantir',
    description: 'Short-seller news about Nvidia or Palantir followed by a 4 % fall within an hour.',
    kind: 'confirmation',
    // 4 % within 60 min: a reaction well beyond noise within the hour after the story (no move is
    // given in the article; this is our level for "the market takes the bet seriously").
    params: {
      mode: 'news_price',
      news: { keywords: SHORT_KEYWORDS, topics: ['short'], requireSymbol: true },
      minMovePct: 4,
      withinMin: 60,
      direction: 'down',
    },
    symbols: ['NVDA', 'PLTR'],
    severity: 'warning',
    cooldownSec: 6 * HOUR,
    watchlist: 'ai-core',
    sourceArticle: A_BURRY,
    sourcePassage: BURRY_PASSAGE,
  },

  // -------------------------------------------------------------------------------------------
  // "AI bubble" coverage.
  // -------------------------------------------------------------------------------------------
  {
    seedId: 'ai-bubble-coverage',
    id: 'ai-bubble-coverage',
    name: '"AI bubble" in the news',
    description: 'New coverage of an AI bubble (KI-Blase, AI bubble, Dotcom comparisons).',
    kind: 'news_match',
    // No symbols: the coverage itself is the signal, whatever company it names; at most one alert
    // per six hours.
    params: { keywords: BUBBLE_KEYWORDS, topics: ['bubble'] },
    severity: 'info',
    cooldownSec: 6 * HOUR,
    watchlist: 'ai-core',
    sourceArticle: A_BUBBLE,
    sourcePassage: BUBBLE_PASSAGE,
  },
  {
    seedId: 'ai-bubble-selloff',
    id: 'ai-bubble-selloff',
    name: 'AI-core sell-off with bubble coverage',
    description: 'An AI-core name down 5 % intraday with bubble coverage about it from 2 h before to 15 min after.',
    kind: 'confirmation',
    // 5 % intraday: the level at which a single AI-core name's fall is more than sector noise; it
    // becomes the "rotation out of AI hype" the article describes only when bubble coverage about
    // the same name confirms it (requireNews).
    params: {
      mode: 'price_news',
      price: { kind: 'pct_move', params: { thresholdPct: 5, direction: 'down', intraday: true } },
      beforeMin: 120,
      afterMin: 15,
      keywords: BUBBLE_KEYWORDS,
      topics: ['bubble'],
      requireNews: true,
    },
    symbols: ['NVDA', 'MSFT', 'CRM', 'PLTR'],
    severity: 'warning',
    cooldownSec: DAY,
    watchlist: 'ai-core',
    sourceArticle: A_BUBBLE,
    sourcePassage: BUBBLE_SELLOFF_PASSAGE,
  },
];
