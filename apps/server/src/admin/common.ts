import type { Context } from 'hono';
import { ConflictError, DomainError, NotFoundError, ValidationError } from '@signals/core';
import type { ZodType } from 'zod';
import type { AppEnv } from '../context.ts';
import { FormError } from '../input.ts';
import { type FieldError, fieldErrors } from '../problem.ts';
import { sessionOf } from '../security/auth.ts';
import { type Html, noticeOf, page } from '../views/layout.ts';

export type C = Context<AppEnv>;

/** Renders an admin page for the logged-in user. */
export function render(
  c: C,
  o: { title: string; active: string; body: Html; error?: string | null; notice?: string | null; scripts?: string[] },
  status = 200,
) {
  const s = sessionOf(c);
  return c.html(
    page({
      title: o.title,
      active: o.active,
      user: { email: s.email, csrfToken: s.csrfToken },
      body: o.body,
      error: o.error ?? null,
      notice: o.notice ?? noticeOf(c.req.query('done')),
      ...(o.scripts ? { scripts: o.scripts } : {}),
    }),
    status as 200,
  );
}

export const csrfOf = (c: C) => sessionOf(c).csrfToken;

/** Field errors (and a headline) for a thrown input problem, or null for anything else. */
export function formProblem(err: unknown): { message: string; errors: FieldError[]; status: number } | null {
  if (err instanceof FormError)
    return { message: 'Please correct the marked fields.', errors: err.errors, status: 400 };
  if (err instanceof ValidationError)
    return {
      message: err.issues.length ? 'Please correct the marked fields.' : err.message,
      errors: err.issues,
      status: err.status,
    };
  if (err instanceof ConflictError) return { message: err.message, errors: [], status: 409 };
  if (err instanceof NotFoundError) return { message: err.message, errors: [], status: 404 };
  if (err instanceof DomainError) return { message: err.message, errors: [], status: err.retryable ? 503 : 422 };
  return null;
}

/** Parses form values with a schema; throws FormError with field errors. */
export function parseForm<T extends ZodType>(schema: T, values: unknown): ReturnType<T['parse']> {
  const r = schema.safeParse(values);
  if (!r.success) throw new FormError(fieldErrors(r.error));
  return r.data as ReturnType<T['parse']>;
}

/** Empty form fields mean "not given". */
export const opt = (s: string | undefined) => (s === undefined || s.trim() === '' ? undefined : s);

export function intField(values: Record<string, string>, name: string): number | undefined {
  const v = opt(values[name]);
  if (v === undefined) return undefined;
  if (!/^-?\d{1,12}$/.test(v.trim())) throw new FormError([{ path: name, message: 'must be a whole number' }]);
  return Number(v.trim());
}

export const listOf = (s: string | undefined) =>
  (s ?? '')
    .split(/[\s,;]+/)
    .map((x) => x.trim())
    .filter(Boolean);
