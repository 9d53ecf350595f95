/**
 * Issue 18, item 1: template bombs. The sandbox counts what a render builds (its writes, captures
 * included, and every filter's result) against one budget, which LiquidJS's own counters do not;
 * the thread pool ends a render over its time or heap with its thread, and the caller gets a
 * TemplateError instead of a stalled or swollen process.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createTemplatePool, renderTemplate, TEMPLATE_LIMITS, TemplateBusyError, TemplateError } from '../src/index.ts';
import { TEMPLATE_BOMB } from '@signals/testing';

/** Issue 18's template: a capture doubled 26 times (268 M characters) within LiquidJS's limits. */
const CAPTURE_BOMB = TEMPLATE_BOMB;

const vars = { alert: { title: 'NVDA fell 16.9%', symbol: 'NVDA', headlines: [{ title: 'Chips slide' }] } };
const BUILD = /builds more than 1,000,000 characters/;

describe('the sandbox bounds what a render builds', () => {
  it('refuses the capture bomb, on every channel, escaped or raw', async () => {
    expect(CAPTURE_BOMB.length).toBeLessThanOrEqual(108);
    for (const key of ['email.body', 'slack', 'discord', 'teams', 'telegram'] as const) {
      await expect(renderTemplate(key, CAPTURE_BOMB, vars), key).rejects.toThrow(BUILD);
    }
    const raw = CAPTURE_BOMB.replace('{{s}}{{s}}', '{{s|raw}}{{s|raw}}');
    await expect(renderTemplate('slack', raw, vars)).rejects.toThrow(BUILD);
  });

  it('counts what filters return, also those LiquidJS does not count (url_encode)', async () => {
    // Each pass adds two characters per "%" (2,000 a pass): past the budget within 40 passes.
    const encode = `{% assign s = "${'%'.repeat(1000)}" %}{% for i in (1..40) %}{% assign s = s | url_encode %}{% endfor %}{{ s | size }}`;
    await expect(renderTemplate('ntfy', encode, vars)).rejects.toThrow(BUILD);
    const append =
      '{% assign s = "xxxxxxxxxx" %}{% for i in (1..30) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}';
    await expect(renderTemplate('ntfy', append, vars)).rejects.toThrow(/builds more than|limit exceeded/);
  });

  it('counts every write: a loop printing a variable past the budget', async () => {
    // A 100,000-character variable printed 11 times: 1.1 M characters (few passes, so no time limit
    // steps in first on a loaded machine).
    const big = { alert: { ...vars.alert, big: 'y'.repeat(100_000) } };
    const loop = '{% for i in (1..11) %}{{ alert.big }}{% endfor %}';
    await expect(renderTemplate('ntfy', loop, big)).rejects.toThrow(BUILD);
    // The same loop below the budget renders (cut to the channel's length).
    expect((await renderTemplate('ntfy', loop.replace('1..11', '1..9'), big)).length).toBe(4000);
  });

  it('leaves ordinary templates alone, captures and loops included', async () => {
    const t =
      '{% capture head %}{{ alert.symbol }}: {{ alert.title }}{% endcapture %}{% for i in (1..50) %}{{ head }} {% for h in alert.headlines %}{{ h.title | upcase }}{% endfor %}\n{% endfor %}';
    const out = await renderTemplate('email.body', t, vars);
    expect(out.split('\n')).toHaveLength(50);
    expect(out.split('\n')[0]).toBe('NVDA: NVDA fell 16.9% CHIPS SLIDE');
    expect(TEMPLATE_LIMITS.buildLimit).toBe(1_000_000);
  });
});

describe('the template thread pool', () => {
  const pools: ReturnType<typeof createTemplatePool>[] = [];
  const pool = (o: Parameters<typeof createTemplatePool>[0] = {}) => {
    const p = createTemplatePool(o);
    pools.push(p);
    return p;
  };
  const hog = new URL('./hog-thread.ts', import.meta.url);
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  it('renders in a thread it keeps, and answers the bomb with a TemplateError', async () => {
    const p = pool();
    expect(await p.render('slack', '{{ alert.symbol }} <{{ alert.title }}>', vars)).toBe('NVDA <NVDA fell 16.9%>');
    await expect(p.render('slack', CAPTURE_BOMB, vars)).rejects.toThrow(TemplateError);
    await expect(p.render('slack', CAPTURE_BOMB, vars)).rejects.toThrow(BUILD);
    // The failed render left its thread healthy: it answers the next one, and no other was started.
    expect(await p.render('ntfy', '{{ alert.symbol }}!', vars)).toBe('NVDA!');
    expect(p.liveThreads).toBe(1);
  }, 120_000);

  it('terminates a render over its time, with its thread, and goes on with a new one', async () => {
    const p = pool({ entry: hog, timeoutMs: 300 });
    const err = await p.render('ntfy', 'hang', vars).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as Error).message).toBe('the template did not finish within 0.3 s');
    expect(await p.render('ntfy', 'next', vars)).toBe('next');
    expect(p.liveThreads).toBe(1);
  }, 120_000);

  it('ends a render over its heap (ERR_WORKER_OUT_OF_MEMORY) as a TemplateError', async () => {
    const p = pool({ entry: hog, heapMb: 32, timeoutMs: 60_000 });
    const err = await p.render('ntfy', 'allocate', vars).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as Error).message).toBe('the template needed more than 32 MB of memory');
    expect(await p.render('ntfy', 'after', vars)).toBe('after');
  }, 120_000);

  it('refuses renders beyond its queue (TemplateBusyError) rather than queueing without end', async () => {
    const p = pool({ entry: hog, threads: 1, maxWaiting: 2, timeoutMs: 500 });
    const all = [1, 2, 3, 4].map((i) => p.render('ntfy', i === 1 ? 'hang' : `n${i}`, vars).catch((e: unknown) => e));
    const results = await Promise.all(all);
    expect(results[0]).toBeInstanceOf(TemplateError);
    expect(results.slice(1, 3)).toEqual(['n2', 'n3']);
    expect(results[3]).toBeInstanceOf(TemplateBusyError);
  }, 120_000);
});
