/**
 * Operators' message templates (issue 18, item 1): what the template thread pool costs a send, and
 * what the issue's template bomb costs with and without the bounds, in the same run.
 *
 * - templates.pool_render_ms / templates.inprocess_render_ms: median time of one render of a
 *   typical Slack template (symbol, value, title, two headlines, link) through the warm pool (a
 *   message to a thread and back) and in this thread; templates.pool_overhead_ratio is their ratio.
 * - templates.bomb_refused_ms: median time the pool takes to refuse the bomb (its build budget).
 * - templates.bomb_pool_rss_mb: growth of this process's RSS (sampled every 5 ms) while the pool
 *   refuses the bomb five times. templates.bomb_unbounded_rss_mb: the same bomb rendered once in
 *   this thread by LiquidJS with only its own limits (the configuration before the fix: 20,000
 *   characters, 200 ms, memoryLimit 2 MB) and trimmed as renderTemplate did, growth right after.
 *
 * The notify package, and the LiquidJS it uses, are loaded by path (the bench package does not
 * depend on them otherwise).
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { TEMPLATE_BOMB } from '@signals/testing';
import { createTemplatePool, renderTemplate } from '../packages/notify/src/index.ts';
import { type BenchResult, medianMs } from './lib.ts';

const SLACK =
  ':rotating_light: *{{ alert.symbol }}* {{ alert.valueText }} — {{ alert.title }}\n{% for h in alert.headlines %}• {{ h.title }}\n{% endfor %}<{{ alert.url }}|Open the alert>';
const vars = {
  alert: {
    symbol: 'NVDA',
    valueText: '-16.9 %',
    title: 'NVDA fell 16.9% in one session',
    url: 'https://signals.example/admin/alerts/a1',
    headlines: [{ title: 'DeepSeek rattles chip stocks' }, { title: 'Capex <worries> & doubts' }],
  },
};
const rssMb = () => process.memoryUsage().rss / 2 ** 20;
/** The notify package's own LiquidJS (same version), for the unbounded baseline. */
const { Liquid } = createRequire(new URL('../packages/notify/package.json', import.meta.url))('liquidjs') as {
  Liquid: new (options: object) => { parseAndRender(source: string, scope: object): Promise<string> };
};

export default async function run(): Promise<BenchResult[]> {
  const load = os.loadavg()[0]?.toFixed(1);
  const pool = createTemplatePool();
  try {
    const n = 200;
    const inProcess =
      (await medianMs(async () => {
        for (let i = 0; i < n; i++) await renderTemplate('slack', SLACK, vars);
      }, 5)) / n;
    const pooled =
      (await medianMs(async () => {
        for (let i = 0; i < n; i++) await pool.render('slack', SLACK, vars);
      }, 5)) / n;
    const refused = await medianMs(() => pool.render('slack', TEMPLATE_BOMB, vars).catch(() => null), 5);

    const before = rssMb();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb());
    }, 5);
    for (let i = 0; i < 5; i++) await pool.render('email.body', TEMPLATE_BOMB, vars).catch(() => null);
    clearInterval(sampler);
    peak = Math.max(peak, rssMb());
    const pooledRss = peak - before;

    const old = new Liquid({
      templates: {},
      strictFilters: true,
      ownPropertyOnly: true,
      parseLimit: 20_000,
      renderLimit: 200,
      memoryLimit: 2_000_000,
    });
    const beforeOld = rssMb();
    // As renderTemplate did before the fix: the output trimmed (which flattens the rope) and cut.
    const out = await old
      .parseAndRender(TEMPLATE_BOMB, vars)
      .then((s) => s.trim())
      .catch((e: Error) => e.message);
    const unboundedRss = rssMb() - beforeOld;
    const built = typeof out === 'string' ? out.length : 0;

    const ms = (x: number) => Number(x.toFixed(3));
    return [
      {
        name: 'templates.inprocess_render_ms',
        value: ms(inProcess),
        unit: 'ms',
        target: null,
        better: 'lower',
        note: `typical Slack template rendered in the calling thread; load average ${load} at start`,
      },
      {
        name: 'templates.pool_render_ms',
        value: ms(pooled),
        unit: 'ms',
        target: null,
        better: 'lower',
        note: 'the same template through the warm template pool (worker thread, one message each way)',
      },
      {
        name: 'templates.pool_overhead_ratio',
        value: Number((pooled / inProcess).toFixed(2)),
        unit: 'x',
        target: null,
        better: 'lower',
        note: 'pool_render_ms / inprocess_render_ms, same run',
      },
      {
        name: 'templates.bomb_refused_ms',
        value: Number(refused.toFixed(1)),
        unit: 'ms',
        target: null,
        better: 'lower',
        note: "issue 18's 103-character capture bomb refused by the build budget, in the pool",
      },
      {
        name: 'templates.bomb_pool_rss_mb',
        value: Number(pooledRss.toFixed(1)),
        unit: 'MB',
        target: null,
        better: 'lower',
        note: 'RSS growth of this process while the pool refuses the bomb five times (sampled every 5 ms)',
      },
      {
        name: 'templates.bomb_unbounded_rss_mb',
        value: Number(unboundedRss.toFixed(1)),
        unit: 'MB',
        target: null,
        better: 'lower',
        note: `the same bomb rendered once in-process with LiquidJS's own limits only (before the fix): ${built.toLocaleString('en-US')} characters built`,
      },
    ];
  } finally {
    await pool.close();
  }
}
