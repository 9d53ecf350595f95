/**
 * The admin templates page: preview against the most recent real alert, errors at the field
 * (a parse error, an unknown filter), save, and back to the built-in message by emptying it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, type Harness, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  const rule = await h.db.prisma.rule.create({ data: { name: 'Tpl rule', kind: 'pct_move', params: {} } });
  const base = { ruleId: rule.id, severity: 'critical' as const, value: -0.12, threshold: -0.1, details: {} };
  await h.db.prisma.alert.createMany({
    data: [
      { ...base, dedupKey: 't-old', subject: 'OLD', title: 'OLD fell 12%', firedAt: new Date('2026-01-01T15:00:00Z') },
      {
        ...base,
        dedupKey: 't-new',
        subject: 'AMZN',
        title: 'AMZN fell 12%',
        firedAt: new Date('2026-02-06T15:00:00Z'),
      },
    ],
  });
});
afterAll(async () => {
  await h?.close();
});

describe('admin message templates', () => {
  it('previews against the newest real alert, shows errors at the field, saves and resets', async () => {
    const { cookie, post } = await adminSession(h);
    const page = await (await h.app.request('/admin/templates', { headers: { cookie } })).text();
    expect(page).toContain('the alert <a href="/admin/alerts/');
    expect(page).toContain('AMZN fell 12%');
    expect(page).toContain('Built-in message for this alert');

    const preview = await post('/admin/templates/telegram', {
      'template-telegram': '{{ alert.symbol }} {{ alert.severity | upcase }} {{ alert.rule.name }}',
      action: 'preview',
    });
    expect(preview.status).toBe(200);
    expect(await preview.text()).toMatch(/data-testid="preview-telegram">AMZN CRITICAL Tpl rule</);
    expect(await h.db.prisma.messageTemplate.count()).toBe(0); // a preview saves nothing

    for (const bad of ['{% if alert.symbol %}never closed', '{{ alert.title | exec }}']) {
      const r = await post('/admin/templates/ntfy', { 'template-ntfy': bad, action: 'save' });
      expect(r.status, bad).toBe(400);
      const html = await r.text();
      expect(html).toMatch(/id="f-template-ntfy"[^>]*aria-invalid="true"/);
    }
    expect(await h.db.prisma.messageTemplate.count()).toBe(0);

    const saved = await post('/admin/templates/email.subject', {
      'template-email.subject': '[{{ alert.severity }}] {{ alert.title }}',
      action: 'save',
    });
    expect(saved.status).toBe(303);
    expect(await h.db.prisma.messageTemplate.findUniqueOrThrow({ where: { key: 'email.subject' } })).toMatchObject({
      source: '[{{ alert.severity }}] {{ alert.title }}',
      updatedBy: 'admin@example.org',
    });
    const reset = await post('/admin/templates/email.subject', { 'template-email.subject': '  ', action: 'save' });
    expect(reset.status).toBe(303);
    expect(await h.db.prisma.messageTemplate.count()).toBe(0);
    expect((await post('/admin/templates/nope', { action: 'save' })).status).toBe(404);
  }, 120_000); // the first render starts a template thread: slow on a loaded machine
});
