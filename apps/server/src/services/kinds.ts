/**
 * GET /api/rules/kinds: what the rule-kind registry (@signals/core kinds/<kind>.ts) says about each
 * kind, for API clients: the params as JSON Schema (bounds included), the admin form's fields with
 * their defaults and hints, the unit of the template's alerts, the template.
 */
import { kindModule, RULE_KINDS } from '@signals/core';
import { z } from 'zod';

export function ruleKinds() {
  return RULE_KINDS.map((kind) => {
    const m = kindModule(kind);
    const template = m.template.input.params;
    return {
      kind,
      label: m.label,
      note: m.note ?? null,
      params: z.toJSONSchema(m.params, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
      // Plain JSON copies (the registry's field tables are read-only data).
      form: m.form.map((s) => ({
        id: s.id,
        path: s.path,
        when: s.when ? { ...s.when } : null,
        fields: JSON.parse(JSON.stringify(s.fields)) as Record<string, unknown>[],
      })),
      unit: m.unit(m.params.parse(template)),
      template: { label: m.template.label, params: template as Record<string, unknown> },
    };
  });
}
