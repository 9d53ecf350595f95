/**
 * The rule editor's form per kind, in-process: reading form strings (numbers, lists), the round
 * trip params → fields → params for every seed rule and template, field errors mapped from the
 * core schema's issue paths, the no-JavaScript "Change kind" re-render and the advanced JSON box.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mustMatch } from '@signals/testing';
import { seedRules } from '../../../seeds/rules.ts';
import {
  completeValues,
  defaultValues,
  paramsFromValues,
  parseList,
  parseNumber,
  valuesOfParams,
} from '../src/admin/rule-form.ts';
import { KIND_TEMPLATES } from '../src/services/rules.ts';
import { adminSession, type Harness, startHarness } from './harness.ts';

describe('reading form strings', () => {
  it('reads numbers: empty is "not given", a dot is the decimal separator, a comma is refused', () => {
    expect(parseNumber('')).toEqual({ ok: true, value: undefined });
    expect(parseNumber('   ')).toEqual({ ok: true, value: undefined });
    expect(parseNumber(' 2.5 ')).toEqual({ ok: true, value: 2.5 });
    expect(parseNumber('.5')).toEqual({ ok: true, value: 0.5 });
    expect(parseNumber('-5')).toEqual({ ok: true, value: -5 });
    expect(parseNumber('\u22125')).toEqual({ ok: true, value: -5 });
    expect(parseNumber('10 %', { units: ['%'] })).toEqual({ ok: true, value: 10 });
    expect(parseNumber('3x', { units: ['x'] })).toEqual({ ok: true, value: 3 });
    for (const s of ['1,5', '1,000', '1.000,5']) {
      const r = parseNumber(s);
      expect(r.ok, s).toBe(false);
      expect(r.ok ? '' : r.message, s).toMatch(/dot as the decimal separator/);
    }
    for (const s of ['ten', '1e3', '1 000', '0x10', '10 %', 'Infinity', '1.2.3']) {
      expect(parseNumber(s).ok, s).toBe(false);
    }
    expect(parseNumber('20', { int: true })).toEqual({ ok: true, value: 20 });
    expect(parseNumber('20.0', { int: true })).toEqual({ ok: true, value: 20 });
    expect(parseNumber('20.5', { int: true })).toEqual({ ok: false, message: 'must be a whole number, e.g. 20' });
    expect(parseNumber('9'.repeat(25), { int: true }).ok).toBe(false);
  });

  it('reads lists one per line, or comma-separated on one line', () => {
    expect(parseList('')).toBeUndefined();
    expect(parseList(' \n \n')).toBeUndefined();
    expect(parseList(' , ,')).toBeUndefined();
    expect(parseList('bubble, AI bubble ,Blase')).toEqual(['bubble', 'AI bubble', 'Blase']);
    expect(parseList('bubble\r\nAI, bubble\n\n Blase ')).toEqual(['bubble', 'AI, bubble', 'Blase']);
  });

  it('round-trips every seed rule and template through the fields', () => {
    /** What the form writes differently without changing the meaning: defaults left out. */
    const normal = (x: unknown): unknown => {
      if (Array.isArray(x)) return x.map(normal);
      if (!x || typeof x !== 'object') return x;
      return Object.fromEntries(
        Object.entries(x)
          .filter(([k, v]) => !(k === 'requireNews' && v === true) && !(Array.isArray(v) && v.length === 0))
          .map(([k, v]) => [k, normal(v)]),
      );
    };
    const all = [
      ...seedRules.map((r) => ({ id: r.seedId, kind: r.kind, params: r.params as unknown })),
      ...KIND_TEMPLATES.map((t) => ({ id: t.id, kind: t.input.kind, params: t.input.params as unknown })),
    ];
    for (const r of all) {
      const values = { ...defaultValues(), ...valuesOfParams(r.kind, r.params), kind: r.kind };
      const back = paramsFromValues(values);
      expect(back.errors, r.id).toEqual([]);
      expect(back.params, r.id).toEqual(normal(r.params));
    }
  });

  it('maps unreadable numbers to their rule paths, nested ones included', () => {
    const v = completeValues({
      kind: 'confirmation',
      'p.confirmation.mode': 'price_news',
      'p.confirmation.price.kind': 'drawdown',
      'p.confirmation.price.drawdown.sessions': '2,5',
      'p.confirmation.price.drawdown.thresholdPct': '',
      'p.confirmation.price_news.beforeMin': '60',
      'p.confirmation.price_news.keywords': 'bubble',
    });
    const r = paramsFromValues(v);
    expect(r.errors).toEqual([
      { path: 'params.price.params.sessions', message: expect.stringMatching(/decimal separator/) },
      { path: 'params.price.params.thresholdPct', message: 'required' },
    ]);
    // An unchecked "only with news" box (absent from a submitted fieldset) is written as false.
    expect(r.params).toEqual({
      mode: 'price_news',
      price: { kind: 'drawdown', params: {} },
      beforeMin: 60,
      keywords: ['bubble'],
      requireNews: false,
    });
  });
});

describe('rule editor pages', () => {
  let h: Harness;
  let cookie: string;
  let post: Awaited<ReturnType<typeof adminSession>>['post'];

  beforeAll(async () => {
    h = await startHarness();
    ({ cookie, post } = await adminSession(h));
  });
  afterAll(async () => {
    await h?.close();
  });

  /** The opening tag of a fieldset by id (throws when the page has no such fieldset). */
  const fieldset = (html: string, id: string) => mustMatch(new RegExp(`<fieldset id="${id}"[^>]*>`), html, id)[0];

  it('shows only the chosen kind’s fieldset; every label names its unit', async () => {
    const html = await (
      await h.app.request('/admin/rules/new?template=kind:volume_spike', { headers: { cookie } })
    ).text();
    expect(fieldset(html, 'params-volume_spike')).not.toMatch(/hidden|disabled/);
    expect(fieldset(html, 'params-pct_move')).toMatch(/ hidden disabled/);
    expect(html).toMatch(/<label for="f-p-volume_spike-multiple">Multiple \(x\)/);
    expect(html).toMatch(/id="f-p-volume_spike-multiple"[^>]*value="3"/);
    expect(html).toMatch(/id="f-p-volume_spike-sessions"[^>]*value="20"/);
    expect(html).toContain('<summary>Advanced: edit as JSON</summary>');
    expect(html).toContain(
      '<button type="submit" name="action" value="switch" class="secondary" data-nojs>Change kind</button>',
    );
  });

  it('re-renders for another kind without JavaScript ("Change kind"), keeping what was typed', async () => {
    // Other tests save rules (in any order): this one must add none.
    const rulesBefore = await h.db.prisma.rule.count();
    const r = await post('/admin/rules/new', {
      action: 'switch',
      name: 'Typed name',
      kind: 'drawdown',
      'p.pct_move.sessions': '1',
      'p.pct_move.thresholdPct': '7',
      'p.pct_move.direction': 'up',
      symbols: 'AAPL',
      cooldownSec: '86400',
    });
    expect(r.status).toBe(200);
    const html = await r.text();
    expect(fieldset(html, 'params-drawdown')).not.toMatch(/hidden/);
    expect(fieldset(html, 'params-pct_move')).toMatch(/hidden disabled/);
    // The new kind shows its template values; the old kind's fields keep what was typed.
    expect(html).toMatch(/id="f-p-drawdown-sessions"[^>]*value="60"/);
    expect(html).toMatch(/id="f-p-pct_move-thresholdPct"[^>]*value="7"/);
    expect(html).toContain('value="Typed name"');
    expect(await h.db.prisma.rule.count()).toBe(rulesBefore);
  });

  it('puts each problem under its field, with aria-invalid and aria-describedby', async () => {
    const rulesBefore = await h.db.prisma.rule.count();
    const pct = (fields: Record<string, string>) =>
      post('/admin/rules/new', {
        action: 'preview',
        name: 'Bad pct',
        kind: 'pct_move',
        'p.pct_move.direction': 'down',
        symbols: 'AAPL',
        cooldownSec: '86400',
        ...fields,
      });
    const r = await pct({ 'p.pct_move.sessions': '1', 'p.pct_move.thresholdPct': '1,5', cooldownSec: 'soon' });
    expect(r.status).toBe(400);
    const html = await r.text();
    expect(html).toContain('Please correct the marked fields.');
    // Kept as typed, marked, described by its hint and its error.
    expect(html).toMatch(
      /<input id="f-p-pct_move-thresholdPct"[^>]*value="1,5" aria-required="true" aria-describedby="f-p-pct_move-thresholdPct-hint f-p-pct_move-thresholdPct-err" aria-invalid="true">/,
    );
    expect(html).toMatch(
      /<ul class="errors" id="f-p-pct_move-thresholdPct-err"><li>use a dot as the decimal separator/,
    );
    expect(html).toMatch(/id="f-cooldownSec-err"><li>must be a whole number/);
    // Another kind's fields are not marked.
    expect(html).not.toContain('f-p-drawdown-thresholdPct-err');

    // The schema's own messages, its refinements included ("intraday needs sessions = 1" under Sessions).
    const r2 = await pct({ 'p.pct_move.sessions': '5', 'p.pct_move.thresholdPct': '-5', 'p.pct_move.intraday': 'on' });
    const html2 = await r2.text();
    expect(html2).toMatch(/id="f-p-pct_move-thresholdPct-err"><li>must be greater than 0/);
    const r3 = await pct({ 'p.pct_move.sessions': '5', 'p.pct_move.thresholdPct': '5', 'p.pct_move.intraday': 'on' });
    expect(await r3.text()).toMatch(
      /id="f-p-pct_move-sessions-err"><li>an intraday move is measured against the previous close/,
    );
    // A required field left empty.
    const r4 = await pct({ 'p.pct_move.thresholdPct': ' ' });
    expect(await r4.text()).toMatch(/id="f-p-pct_move-thresholdPct-err"><li>required</);
    expect(await h.db.prisma.rule.count()).toBe(rulesBefore);
  });

  it('saves a news-confirmed-by-price rule from its nested fields', async () => {
    const r = await post('/admin/rules/new', {
      action: 'save',
      name: 'Cheap model news',
      kind: 'confirmation',
      'p.confirmation.mode': 'news_price',
      'p.confirmation.news.keywords': 'DeepSeek\nChinese AI model',
      'p.confirmation.news.topics': '',
      'p.confirmation.news.requireSymbol': 'true',
      'p.confirmation.news.maxAgeMin': '',
      'p.confirmation.news_price.minMovePct': '5 %',
      'p.confirmation.news_price.withinMin': '120',
      'p.confirmation.news_price.direction': 'down',
      symbols: 'NVDA, msft',
      severity: 'warning',
      cooldownSec: '21600',
      enabled: 'on',
    });
    expect(r.status).toBe(303);
    const rule = await h.db.prisma.rule.findFirstOrThrow({ where: { name: 'Cheap model news' } });
    expect(rule).toMatchObject({ kind: 'confirmation', symbols: ['NVDA', 'MSFT'], cooldownSec: 21600 });
    expect(rule.params).toEqual({
      mode: 'news_price',
      news: { keywords: ['DeepSeek', 'Chinese AI model'], requireSymbol: true },
      minMovePct: 5,
      withinMin: 120,
      direction: 'down',
    });
    // The edit page shows it in the fields.
    const html = await (await h.app.request(`/admin/rules/${rule.id}`, { headers: { cookie } })).text();
    expect(fieldset(html, 'params-confirmation')).not.toMatch(/hidden/);
    expect(html).toMatch(/id="f-p-confirmation-news_price-withinMin"[^>]*value="120"/);
    expect(html).toMatch(/<textarea id="f-p-confirmation-news-keywords"[^>]*>DeepSeek\nChinese AI model<\/textarea>/);
  });

  it('takes the parameters from the advanced JSON box when asked, with its errors at the box', async () => {
    const base = { name: 'From JSON', kind: 'drawdown', symbols: 'AAPL', cooldownSec: '86400', enabled: 'on' };
    const bad = await post('/admin/rules/new', {
      ...base,
      action: 'save',
      useJson: 'on',
      paramsJson: '{"sessions": 20, "thresholdPct": 20, "bogus": 1}',
    });
    expect(bad.status).toBe(400);
    const html = await bad.text();
    expect(html).toMatch(/<details class="advanced" open>/);
    expect(html).toMatch(/id="f-paramsJson-err"><li><code>params.bogus<\/code>: unknown field/);
    // The fields were refilled from the JSON.
    expect(html).toMatch(/id="f-p-drawdown-sessions"[^>]*value="20"/);
    const broken = await post('/admin/rules/new', {
      ...base,
      action: 'save',
      useJson: 'on',
      paramsJson: '{"sessions": ',
    });
    expect(broken.status).toBe(400);
    expect(await broken.text()).toMatch(/id="f-paramsJson-err"><li>not valid JSON/);
    const ok = await post('/admin/rules/new', {
      ...base,
      action: 'save',
      useJson: 'on',
      paramsJson: '{"sessions": 20, "thresholdPct": 12.5}',
    });
    expect(ok.status).toBe(303);
    const rule = await h.db.prisma.rule.findFirstOrThrow({ where: { name: 'From JSON' } });
    expect(rule.params).toEqual({ sessions: 20, thresholdPct: 12.5 });
  });
});
