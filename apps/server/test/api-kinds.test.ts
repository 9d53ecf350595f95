/** The API reads the rule-kind registry and renders values in their unit (issue 11). */
import { RULE_KINDS } from '@signals/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveEvaluationReport } from '@signals/db';
import { adminSession, api, type Harness, startHarness } from './harness.ts';

let h: Harness;
let call: ReturnType<typeof api>;

beforeAll(async () => {
  h = await startHarness();
  call = api(h);
});
afterAll(async () => {
  await h?.close();
});

describe('API: rule kinds and units', () => {
  it('GET /rules/kinds lists every registered kind with its params schema (bounds) and form defaults', async () => {
    const r = await call('GET', '/rules/kinds');
    expect(r.status).toBe(200);
    const items = r.json.items as {
      kind: string;
      unit: string;
      params: { properties: Record<string, { maximum?: number }> };
      form: { fields: { key: string; default?: number }[] }[];
    }[];
    expect(items.map((k) => k.kind)).toEqual(RULE_KINDS);
    const pct = items.find((k) => k.kind === 'pct_move');
    expect(pct?.params.properties.sessions?.maximum).toBe(260);
    expect(pct?.form[0]?.fields.find((f) => f.key === 'sessions')?.default).toBe(1);
    expect(items.find((k) => k.kind === 'vol_scaled_move')?.unit).toBe('sd');
    expect(items.find((k) => k.kind === 'news_match')?.unit).toBe('count');
  });

  it('alerts carry their unit and render "-10.8 sd", also the ones stored as "ratio" before', async () => {
    const rule = await call('POST', '/rules', {
      name: 'four sigma',
      kind: 'vol_scaled_move',
      params: { lookback: 60, k: 5, direction: 'either' },
      symbols: ['MSFT'],
    });
    expect(rule.status).toBe(201);
    for (const [key, unit] of [
      ['now', 'sd'],
      ['before', 'ratio'],
    ] as const) {
      await h.db.prisma.alert.create({
        data: {
          dedupKey: `units-${key}`,
          ruleId: rule.json.id,
          subject: 'MSFT',
          severity: 'warning',
          title: 'MSFT move',
          value: -10.8199,
          threshold: -5,
          details: { unit, kind: 'vol_scaled_move', headlines: [] },
          firedAt: new Date(),
        },
      });
    }
    const list = await call('GET', `/alerts?ruleId=${rule.json.id}`);
    expect(list.status).toBe(200);
    const items = list.json.items as { unit: string; valueText: string; thresholdText: string }[];
    expect(items).toHaveLength(2);
    for (const a of items) expect([a.unit, a.valueText, a.thresholdText]).toEqual(['sd', '-10.8 sd', '-5.0 sd']);
  });

  it('an incomplete basket is named with its missing members on its rule page and the System page', async () => {
    const rule = await call('POST', '/rules', {
      name: 'chip basket',
      kind: 'basket_move',
      params: { sessions: 1, thresholdPct: 5, direction: 'down', weighting: 'equal' },
      symbols: ['NVDA', 'AMD'],
    });
    expect(rule.status).toBe(201);
    // What the worker's cycle stores when the engine skips the basket as incomplete.
    await saveEvaluationReport(h.db.prisma, new Date(), [
      { ruleId: rule.json.id, subject: '__basket__', detail: 'members without data: AMD (coverage 50 %)' },
    ]);
    const { cookie } = await adminSession(h);
    const rulePage = await (await h.app.request(`/admin/rules/${rule.json.id}`, { headers: { cookie } })).text();
    expect(rulePage).toContain(
      'The basket is incomplete and was not evaluated in the last cycle: members without data: AMD (coverage 50 %).',
    );
    const system = await (await h.app.request('/admin/system', { headers: { cookie } })).text();
    expect(system).toContain('Incomplete baskets (not evaluated)');
    expect(system).toContain('chip basket');
    expect(system).toContain('members without data: AMD (coverage 50 %)');
  });
});
