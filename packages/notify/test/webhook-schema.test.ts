import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildAlertEvent,
  buildServiceEvent,
  buildTestEvent,
  serializeEvent,
  WEBHOOK_EVENT_TYPES,
} from '@signals/notify';
import { UNITS } from '@signals/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { evaluationOutage, nvdaShock, PUBLIC_BASE_URL } from './fixtures.ts';

const schemaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../schema');
const readJson = (name: string): unknown => JSON.parse(fs.readFileSync(path.join(schemaDir, name), 'utf8'));

// The published JSON Schema itself, turned into a validator by zod: no hand-written mirror to drift.
const schema = z.fromJSONSchema(readJson('webhook-event.v1.json') as Parameters<typeof z.fromJSONSchema>[0]);
const example = readJson('example-alert-firing.json');
const serviceExample = readJson('example-service-degraded.json');

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

  it('service.degraded and service.recovered: the published example is what buildServiceEvent produces, and both validate', () => {
    const degraded = buildServiceEvent(evaluationOutage(), { publicBaseUrl: PUBLIC_BASE_URL });
    expect(JSON.parse(serializeEvent(degraded))).toEqual(serviceExample);
    const recovered = buildServiceEvent(evaluationOutage({ recoveredAt: new Date('2025-01-27T15:31:00Z') }), {});
    const neverRan = buildServiceEvent(
      evaluationOutage({ since: new Date(0), loop: 'sweep', name: 'Delivery sweep' }),
      {},
    );
    expect(recovered.type).toBe('service.recovered');
    expect(recovered.timestamp).toBe('2025-01-27T15:31:00.000Z');
    expect(recovered.data.incident).toMatchObject({ id: 'cm5incident0evaluate01', status: 'recovered', url: null });
    expect(neverRan.data.incident.lastSuccessAt).toBeNull();
    for (const e of [serviceExample, recovered, neverRan]) {
      const r = schema.safeParse(JSON.parse(JSON.stringify(e)));
      expect(r.error).toBeUndefined();
    }
    // Endpoints can choose them (admin form and API list these types).
    expect(WEBHOOK_EVENT_TYPES).toEqual(expect.arrayContaining(['service.degraded', 'service.recovered']));
    // The contract holds for them too: a recovered event must say when, an incident has an id.
    const bad = clone(serviceExample) as { type: string; data: { incident: Record<string, unknown> } };
    delete bad.data.incident.id;
    expect(schema.safeParse(bad).success).toBe(false);
    const mixed = clone(serviceExample) as { type: string };
    mixed.type = 'alert.firing'; // an incident is not an alert
    expect(schema.safeParse(mixed).success).toBe(false);
  });

  it('every unit a rule kind declares is in the schema (additive to v1), and legacy ratio still validates', () => {
    for (const unit of [...UNITS, 'ratio']) {
      const e = clone(example) as { data: { alert: Record<string, unknown> } };
      e.data.alert.unit = unit;
      expect(schema.safeParse(e).success, unit).toBe(true);
    }
  });

  it('rejects events that break the contract', () => {
    type Ex = { type: string; version: number; timestamp: string; data: { alert: Record<string, unknown> } };
    const bad: [string, (e: Ex) => void][] = [
      ['missing alert id', (e) => delete e.data.alert.id],
      ['unknown type', (e) => (e.type = 'alert.exploded')],
      ['version 2', (e) => (e.version = 2)],
      ['value as text', (e) => (e.data.alert.value = '-16.97 %')],
      ['unknown unit', (e) => (e.data.alert.unit = 'percent')],
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
