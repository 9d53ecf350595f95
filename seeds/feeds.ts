/**
 * Default news feeds: finance and tech, English and German, the kind of coverage the source
 * articles are drawn from (AI capex, the SaaS sell-off, chip stocks). Operators add or disable
 * feeds on the admin page; these are only a start.
 */
export interface SeedFeed {
  url: string;
  name: string;
  language: 'en' | 'de';
  pollIntervalSec: number;
}

export const defaultFeeds: SeedFeed[] = [
  {
    url: 'https://www.cnbc.com/id/19854910/device/rss/rss.html',
    name: 'CNBC Technology',
    language: 'en',
    pollIntervalSec: 300,
  },
  {
    url: 'https://www.cnbc.com/id/20910258/device/rss/rss.html',
    name: 'CNBC Markets',
    language: 'en',
    pollIntervalSec: 300,
  },
  {
    url: 'https://feeds.content.dowjones.io/public/rss/mw_topstories',
    name: 'MarketWatch Top Stories',
    language: 'en',
    pollIntervalSec: 300,
  },
  { url: 'https://finance.yahoo.com/news/rssindex', name: 'Yahoo Finance News', language: 'en', pollIntervalSec: 300 },
  {
    url: 'https://www.theguardian.com/technology/rss',
    name: 'The Guardian Technology',
    language: 'en',
    pollIntervalSec: 600,
  },
  { url: 'https://www.heise.de/rss/heise-atom.xml', name: 'heise online', language: 'de', pollIntervalSec: 600 },
  {
    url: 'https://www.tagesschau.de/wirtschaft/index~rss2.xml',
    name: 'tagesschau Wirtschaft',
    language: 'de',
    pollIntervalSec: 600,
  },
  {
    url: 'https://www.handelsblatt.com/contentexport/feed/finanzen',
    name: 'Handelsblatt Finanzen',
    language: 'de',
    pollIntervalSec: 600,
  },
];
