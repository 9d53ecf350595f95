import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAlertEvent, buildTestEvent, serializeEvent } from '@signals/notify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { nvdaShock, PUBLIC_BASE_URL } from './fixtures.ts';

const schemaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../schema');
const readJson = (name: string): unknown => JSON.parse(fs.readFileSync(path.join(schemaDir, name), 'utf8'));

// The published JSON Schema itself, turned into a validator by zod: no hand-written mirror to drift.
const schema = z.fromJSONSchema(readJson('webhook-event.v1.json') as Parameters<typeof z.fromJSONSchema>[0]);
const example = readJson('example-alert-firing.json');

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

describe('webhook event schema v1', () => {
  it('the published example is exactly what buildAlertEvent produces', () => {
    const alert = nvdaShock();
    const built = buildAlertEvent(alert, {
      type: 'alert.firing',
      timestamp: alert.firedAt,
      publicBaseUrl: PUBLIC_BASE_URL,
    });
    expect(JSON.parse(serializeEvent(built))).toEqual(example);
  });

  it('the example validates against the published schema', () => {
    const r = schema.safeParse(example);
    expect(r.error).toBeUndefined();
    expect(r.success).toBe(true);
  });

  it('resolved alerts, alerts without optional data, and the test event validate', () => {
    const resolved = buildAlertEvent(
      nvdaShock({ status: 'resolved', resolvedAt: new Date('2025-01-28T21:00:00Z'), headlines: [], windowStart: null }),
      { type: 'alert.resolved', timestamp: new Date('2025-01-28T21:00:00Z') },
    );
    const bare = buildAlertEvent(
      nvdaShock({
        rule: { name: 'x', description: null, sourceArticle: null, sourcePassage: null },
        headlines: [{ title: 'no link', link: null, publishedAt: null }],
      }),
      { type: 'alert.firing', timestamp: new Date('2025-01-27T21:00:05Z') },
    );
    const test = buildTestEvent({ timestamp: new Date('2025-02-01T00:00:00Z'), endpointId: 'ep_1' });
    for (const e of [resolved, bare, test]) {
      expect(schema.safeParse(JSON.parse(serializeEvent(e))).success, e.type).toBe(true);
    }
    expect(bare.data.alert.url).toBeNull();
    expect(bare.data.alert.rule.id).toBeNull();
  });

  it('rejects events that break the contract', () => {
    type Ex = { type: string; version: number; timestamp: string; data: { alert: Record<string, unknown> } };
    const bad: [string, (e: Ex) => void][] = [
      ['missing alert id', (e) => delete e.data.alert.id],
      ['unknown type', (e) => (e.type = 'alert.exploded')],
      ['version 2', (e) => (e.version = 2)],
      ['value as text', (e) => (e.data.alert.value = '-16.97 %')],
      ['unknown severity', (e) => (e.data.alert.severity = 'apocalyptic')],
      ['timestamp not ISO', (e) => (e.timestamp = '27/01/2025')],
      ['headline without title', (e) => (e.data.alert.headlines = [{ link: null, publishedAt: null }])],
    ];
    for (const [what, mutate] of bad) {
      const e = clone(example) as Ex;
      mutate(e);
      expect(schema.safeParse(e).success, what).toBe(false);
    }
  });
});
