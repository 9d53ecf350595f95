/**
 * news.parse.items_per_s: decoding (charset detection, iconv) and parsing (rss-parser parseString)
 * every feed in ../shared/fixtures/rss, in memory (no HTTP), repeated; items per second.
 */
import fs from 'node:fs';
import { decodeFeed, parseFeed } from '@signals/news';
import { fixturePath } from '@signals/testing';
import type { BenchResult } from './lib.ts';

export default async function run(): Promise<BenchResult[]> {
  const dir = fixturePath('rss');
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.(rss|atom)$/.test(f))
    .map((f) => ({ name: f, bytes: fs.readFileSync(`${dir}/${f}`), type: 'application/rss+xml' }));
  const once = async () => {
    let items = 0;
    for (const f of files) {
      try {
        const { text } = decodeFeed(f.bytes, f.type);
        items += (await parseFeed(text, f.name)).items.length;
      } catch {
        // unrecognized.rss is an HTML page: refused, counted as no items.
      }
    }
    return items;
  };
  await once();
  await once();
  const rounds = 20;
  let items = 0;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) items += await once();
  const secs = (performance.now() - t0) / 1000;
  const bytes = files.reduce((n, f) => n + f.bytes.length, 0);
  return [
    {
      name: 'news.parse.items_per_s',
      value: Math.round(items / secs),
      unit: 'items/s',
      target: null,
      better: 'higher',
      note: `${files.length} feeds (${Math.round(bytes / 1024)} KiB, ${items / rounds} items) decoded + parsed ${rounds}x`,
    },
  ];
}
