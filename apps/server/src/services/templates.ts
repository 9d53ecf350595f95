/**
 * Operators' message templates: list, save (checked: it parses and renders against a recent real
 * alert, within the sandbox's limits, or errors at the field), delete (back to the built-in
 * message), and preview beside the built-in message, against a recent real alert read by the same
 * loader the worker sends with. Renders run in the template thread pool (rt.templates), never on
 * the request thread: a template bomb is refused at save and its preview answers an error while
 * the server keeps serving.
 */
import { ValidationError } from '@signals/core';
import { loadAlertSnapshots } from '@signals/db';
import {
  type AlertView,
  alertVariables,
  buildAlertEvent,
  formatTelegramText,
  renderAlertEmail,
  renderAlertMessage,
  renderWebhookBody,
  TemplateBusyError,
  TEMPLATE_KEYS,
  TEMPLATE_KEY_LIST,
  TemplateError,
  type TemplateKey,
  templateProblem,
} from '@signals/notify';
import type { Runtime } from '../context.ts';
import { HttpProblem } from '../problem.ts';

export const isTemplateKey = (k: string): k is TemplateKey => (TEMPLATE_KEY_LIST as string[]).includes(k);

/** A fixed example when no alert exists yet (a fresh install). */
const SAMPLE: AlertView = {
  id: 'sample',
  title: 'NVDA fell 16.9% in one session',
  symbol: 'NVDA',
  status: 'firing',
  severity: 'critical',
  value: -0.169,
  threshold: -0.16,
  unit: 'fraction',
  windowStart: new Date('2025-01-24T21:00:00Z'),
  windowEnd: new Date('2025-01-27T21:00:00Z'),
  firedAt: new Date('2025-01-27T21:00:00Z'),
  resolvedAt: null,
  rule: {
    name: 'Nvidia DeepSeek-size fall (about -17 % in a day)',
    description: 'Nvidia down 16 % or more in one session.',
    sourceArticle: '004_a751d851a43831ac.txt',
    sourcePassage: null,
  },
  headlines: [{ title: 'DeepSeek rattles chip stocks', link: 'https://example.com/deepseek', publishedAt: null }],
};

/** The alert previews run against: the one asked for, else the newest; the sample on an empty install. */
export async function previewAlert(rt: Runtime, alertId?: string): Promise<{ view: AlertView; real: boolean }> {
  const id =
    alertId ??
    (await rt.prisma.alert.findFirst({ orderBy: [{ firedAt: 'desc' }, { id: 'desc' }], select: { id: true } }))?.id;
  const view = id ? (await loadAlertSnapshots(rt.prisma, [id])).get(id) : undefined;
  return view ? { view, real: true } : { view: SAMPLE, real: false };
}

/** Today's built-in text for `key`, as it would be sent for this alert. */
export function builtIn(rt: Runtime, key: TemplateKey, view: AlertView): string {
  const base = rt.env.PUBLIC_BASE_URL ?? 'http://localhost';
  if (key === 'email.subject' || key === 'email.body') {
    const mail = renderAlertEmail({ publicBaseUrl: base, alert: view, unsubscribeToken: 'preview' });
    return key === 'email.subject' ? mail.subject : mail.text;
  }
  if (key === 'telegram') return formatTelegramText(renderAlertMessage(view));
  if (key === 'ntfy') return renderAlertMessage(view).body;
  const event = buildAlertEvent(view, { type: 'alert.firing', timestamp: view.firedAt, publicBaseUrl: base });
  return JSON.stringify(JSON.parse(renderWebhookBody(event, key)), null, 2);
}

export async function listMessageTemplates(rt: Runtime) {
  const rows = await rt.prisma.messageTemplate.findMany();
  const by = new Map(rows.map((r) => [r.key, r]));
  return TEMPLATE_KEY_LIST.map((key) => {
    const r = by.get(key);
    return {
      key,
      label: TEMPLATE_KEYS[key].label,
      format: TEMPLATE_KEYS[key].format,
      source: r?.source ?? null,
      updatedAt: r?.updatedAt.toISOString() ?? null,
      updatedBy: r?.updatedBy ?? null,
    };
  });
}

/**
 * Renders `source` for the preview alert in the template pool; the error as a field error. All
 * threads busy with a queue full: 503 with Retry-After.
 */
export async function tryTemplate(rt: Runtime, key: TemplateKey, source: string, view: AlertView) {
  const problem = templateProblem(key, source);
  if (problem) return { ok: false as const, error: problem };
  try {
    const out = await rt.templates.render(
      key,
      source,
      alertVariables(view, rt.env.PUBLIC_BASE_URL ?? 'http://localhost'),
    );
    return { ok: true as const, output: out };
  } catch (err) {
    if (err instanceof TemplateError) return { ok: false as const, error: err.message };
    if (err instanceof TemplateBusyError)
      throw new HttpProblem(503, 'Too many template renders at once', { detail: err.message }, { 'retry-after': '5' });
    throw err;
  }
}

/**
 * Saves (or, for an empty source, deletes) a template, after a trial render against a recent alert:
 * one that does not parse, fails, or builds past the sandbox's limits is refused at `field`.
 */
export async function saveMessageTemplate(
  rt: Runtime,
  key: TemplateKey,
  source: string,
  by: string | null,
  field = `template-${key}`,
) {
  if (!source.trim()) {
    await rt.prisma.messageTemplate.deleteMany({ where: { key } });
    return { deleted: true };
  }
  const { view } = await previewAlert(rt);
  const r = await tryTemplate(rt, key, source, view);
  if (!r.ok) throw new ValidationError('Template refused', [{ path: field, message: r.error }]);
  await rt.prisma.messageTemplate.upsert({
    where: { key },
    create: { key, source, updatedBy: by },
    update: { source, updatedBy: by },
  });
  return { deleted: false };
}
