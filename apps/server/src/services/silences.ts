/**
 * Silences, as in Alertmanager: for a while, alerts of a rule and/or on a subject still fire and
 * are recorded (marked with the silence), but nobody is emailed and no webhook is sent. For a
 * known event (earnings day, an index rebalance) or a rule being tuned. Expiring one ends it now
 * and keeps it in the list, so the record of who silenced what stays.
 */
import { NotFoundError, ValidationError } from '@signals/core';
import { type Prisma, silenceState, silencesIn } from '@signals/db';
import { z } from 'zod';
import type { Auth, Runtime } from '../context.ts';
import { text } from '../input.ts';
import { pagingFields, windowOf } from './paging.ts';

export const MAX_SILENCE_DAYS = 90;
/** The shortest silence (the README promises "an hour to 90 days"; the form's shortest choice is 1 hour). */
export const MIN_SILENCE_MIN = 60;

const instant = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/,
    'must be an ISO timestamp with a zone',
  )
  .refine((s) => !Number.isNaN(Date.parse(s)), 'not a valid time');

export const silenceCreateSchema = z.strictObject({
  ruleId: text({ min: 1, max: 64 }).nullish().describe('Silence alerts of this rule (omit: any rule)'),
  subject: text({ min: 1, max: 64 })
    .nullish()
    .describe('Silence alerts on this symbol, e.g. NVDA (omit: any symbol); __basket__ for basket rules'),
  startsAt: instant.optional().describe('Default: now'),
  endsAt: instant.optional().describe('When it ends; or give durationMin'),
  durationMin: z
    .number()
    .int('must be a whole number of minutes')
    .min(MIN_SILENCE_MIN, `must be at least ${MIN_SILENCE_MIN} (a silence lasts an hour to ${MAX_SILENCE_DAYS} days)`)
    .max(MAX_SILENCE_DAYS * 24 * 60, `must be at most ${MAX_SILENCE_DAYS} days`)
    .optional()
    .describe('How long from startsAt, in minutes; or give endsAt'),
  comment: text({ min: 1, max: 500 }).describe('Why: shown on the admin page and in the alerts it held back'),
});
export type SilenceCreate = z.infer<typeof silenceCreateSchema>;

export const silenceListSchema = z.strictObject({
  state: z.enum(['active', 'pending', 'expired', 'all']).optional().describe('Default: active and pending'),
  ...pagingFields(500),
});

/** Subjects are symbols (upper case) or the engine's own keys (`__basket__`, `__news__`). */
const normalSubject = (s: string) => (s.startsWith('__') ? s : s.toUpperCase());

type Row = Prisma.SilenceGetPayload<{
  include: { rule: { select: { name: true } }; _count: { select: { alerts: true } } };
}>;

export function silenceView(s: Row, now: Date) {
  return {
    id: s.id,
    ruleId: s.ruleId,
    ruleName: s.rule?.name ?? null,
    subject: s.subject,
    startsAt: s.startsAt.toISOString(),
    endsAt: s.endsAt.toISOString(),
    state: silenceState(s, now),
    comment: s.comment,
    createdBy: s.createdBy,
    createdAt: s.createdAt.toISOString(),
    /** Alerts it held back so far. */
    silencedAlerts: s._count.alerts,
  };
}

const include = { rule: { select: { name: true } }, _count: { select: { alerts: true } } } as const;

/** Who is acting: the admin's email, or the API key's name. */
export async function actorOf(rt: Runtime, auth: Auth | undefined): Promise<string | null> {
  if (!auth) return null;
  if (auth.kind === 'session') return auth.email;
  const key = await rt.prisma.apiKey.findUnique({ where: { id: auth.keyId }, select: { name: true } });
  return key ? `API key "${key.name}"` : 'API key';
}

export async function createSilence(rt: Runtime, input: SilenceCreate, createdBy: string | null) {
  const now = rt.clock.now();
  const errors: { path: string; message: string }[] = [];
  if (!input.ruleId && !input.subject)
    errors.push({ path: 'ruleId', message: 'give a rule, a subject or both (a silence of everything is refused)' });
  if ((input.endsAt === undefined) === (input.durationMin === undefined))
    errors.push({ path: 'endsAt', message: 'give either endsAt or durationMin' });
  const startsAt = input.startsAt ? new Date(input.startsAt) : now;
  const endsAt = input.endsAt
    ? new Date(input.endsAt)
    : new Date(startsAt.getTime() + (input.durationMin ?? 0) * 60_000);
  if (input.endsAt !== undefined) {
    if (endsAt <= now) errors.push({ path: 'endsAt', message: 'must be in the future' });
    else if (endsAt <= startsAt) errors.push({ path: 'endsAt', message: 'must be after startsAt' });
    // Counted from when it takes effect: a silence that starts now and ends in 5 minutes is too short.
    else if (endsAt.getTime() - Math.max(startsAt.getTime(), now.getTime()) < MIN_SILENCE_MIN * 60_000)
      errors.push({ path: 'endsAt', message: 'a silence lasts at least an hour' });
  }
  if (endsAt.getTime() - Math.max(startsAt.getTime(), now.getTime()) > MAX_SILENCE_DAYS * 86_400_000)
    errors.push({ path: 'endsAt', message: `a silence lasts at most ${MAX_SILENCE_DAYS} days` });
  if (input.ruleId && !(await rt.prisma.rule.findUnique({ where: { id: input.ruleId }, select: { id: true } })))
    errors.push({ path: 'ruleId', message: 'no such rule' });
  if (errors.length) throw new ValidationError('Silence refused', errors);
  const s = await rt.prisma.silence.create({
    data: {
      ruleId: input.ruleId ?? null,
      subject: input.subject ? normalSubject(input.subject) : null,
      startsAt,
      endsAt,
      comment: input.comment,
      createdBy,
    },
    include,
  });
  return silenceView(s, now);
}

export async function listSilences(rt: Runtime, q: z.infer<typeof silenceListSchema>) {
  const now = rt.clock.now();
  const where = q.state === 'all' ? {} : silencesIn(q.state ?? 'current', now);
  const [rows, total] = await Promise.all([
    rt.prisma.silence.findMany({ where, orderBy: [{ endsAt: 'desc' }, { id: 'desc' }], ...windowOf(q), include }),
    rt.prisma.silence.count({ where }),
  ]);
  return { items: rows.map((s) => silenceView(s, now)), total };
}

export async function getSilence(rt: Runtime, id: string) {
  const s = await rt.prisma.silence.findUnique({ where: { id }, include });
  if (!s) throw new NotFoundError('Silence');
  return silenceView(s, rt.clock.now());
}

/** Ends a silence now (it stays listed as expired); expiring an expired one changes nothing. */
export async function expireSilence(rt: Runtime, id: string) {
  const now = rt.clock.now();
  const s = await rt.prisma.silence.findUnique({ where: { id }, select: { endsAt: true, startsAt: true } });
  if (!s) throw new NotFoundError('Silence');
  if (s.endsAt > now) {
    await rt.prisma.silence.update({
      where: { id },
      data: { endsAt: now, ...(s.startsAt > now ? { startsAt: now } : {}) },
    });
  }
  return getSilence(rt, id);
}
