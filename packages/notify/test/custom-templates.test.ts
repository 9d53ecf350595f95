/** Operators' Liquid templates: variables, and the sandbox (no files, unknown filters refused, bounded time). */
import { describe, expect, it } from 'vitest';
import {
  type AlertView,
  alertVariables,
  formatValue,
  renderTemplate,
  TemplateError,
  templateProblem,
} from '../src/index.ts';

const view: AlertView = {
  id: 'a1',
  title: 'MSFT fell 9.9% in one session',
  symbol: 'MSFT',
  status: 'firing',
  severity: 'critical',
  value: -0.099,
  threshold: -0.05,
  unit: 'fraction',
  windowStart: null,
  windowEnd: null,
  firedAt: new Date('2026-01-29T15:00:00Z'),
  rule: { name: '5 sigma', description: null, sourceArticle: null, sourcePassage: null },
  headlines: [{ title: 'Capex worries', link: 'https://example.com/a', publishedAt: null }],
};
const vars = alertVariables(view, 'https://signals.example');

describe('message templates', () => {
  it('renders the alert variables', async () => {
    const out = await renderTemplate(
      'telegram',
      '{{ alert.severity | upcase }} {{ alert.symbol }} {{ alert.valueText }} ({{ alert.rule.name }}){% for h in alert.headlines %} | {{ h.title }}{% endfor %} {{ alert.url }}',
      vars,
    );
    // The value reads as everywhere else (the email's formatting).
    expect(out).toBe(
      `CRITICAL MSFT ${formatValue(-0.099, 'fraction')} (5 sigma) | Capex worries https://signals.example/admin/alerts/a1`,
    );
  });

  it('has no file access, refuses unknown filters, reports parse errors with the line, and bounds time and memory', async () => {
    await expect(renderTemplate('ntfy', "{% include '/etc/passwd' %}", vars)).rejects.toThrow(TemplateError);
    await expect(renderTemplate('ntfy', "{% render 'secrets' %}", vars)).rejects.toThrow(TemplateError);
    await expect(renderTemplate('ntfy', '{{ alert.title | shell }}', vars)).rejects.toThrow(/undefined filter/);
    expect(templateProblem('ntfy', '{% if alert.symbol %}open')).toMatch(/not closed|line/);
    expect(templateProblem('ntfy', '{{ alert.symbol }}')).toBeNull();
    await expect(
      renderTemplate(
        'ntfy',
        '{% for i in (1..3000) %}{% for j in (1..3000) %}{% if j == 0 %}x{% endif %}{% endfor %}{% endfor %}',
        vars,
      ),
    ).rejects.toThrow(/limit exceeded/);
    await expect(
      renderTemplate(
        'ntfy',
        "{% assign s = 'xxxxxxxxxx' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s }}",
        vars,
      ),
    ).rejects.toThrow(/limit exceeded|builds more than/);
    // Prototype properties are not reachable.
    expect(await renderTemplate('ntfy', '[{{ alert.constructor }}{{ alert.__proto__ }}]', vars)).toBe('[]');
    await expect(renderTemplate('ntfy', '{{ alert.nothing }}', vars)).rejects.toThrow(/empty/);
  });
});
