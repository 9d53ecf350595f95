import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { DomainError, NotFoundError, ValidationError, ConflictError } from '@signals/core';

/** RFC 9457 problem+json: the one error format of the API. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
}

/** One field-level message; `path` is dotted (`params.thresholdPct`, `symbols.2`), '' for the whole body. */
export interface FieldError {
  path: string;
  message: string;
}

export function problem(c: Context, status: number, title: string, extra: Partial<Problem> = {}) {
  const body: Problem = { type: extra.type ?? `about:blank`, title, status, ...extra };
  return c.body(JSON.stringify(body), status as 400, { 'content-type': 'application/problem+json' });
}

/** An error thrown anywhere in a handler that becomes a 4xx problem (e.g. 413, 429, 401). */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly extra: Partial<Problem> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(title);
    this.name = 'HttpProblem';
  }
}

/** Zod issues as field errors: one per unknown key, so every message names its field. */
export function fieldErrors(error: Pick<ZodError, 'issues'>, prefix: (string | number)[] = []): FieldError[] {
  const out: FieldError[] = [];
  for (const i of error.issues) {
    const base = [...prefix, ...i.path.map((p) => (typeof p === 'symbol' ? String(p.description) : p))];
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) out.push({ path: [...base, k].join('.'), message: 'unknown field' });
    } else if (i.code === 'invalid_union' && 'errors' in i && Array.isArray(i.errors) && i.errors.length > 0) {
      // Report the branch that got furthest rather than "invalid input".
      out.push({ path: base.join('.'), message: i.message });
    } else {
      out.push({ path: base.join('.'), message: i.message });
    }
  }
  return out;
}

export function validationProblem(c: Context, errors: FieldError[], title = 'Invalid request') {
  return problem(c, 400, title, {
    type: 'https://signals.dev/problems/validation',
    detail: errors.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; '),
    errors,
  });
}

/** Maps domain errors to 4xx; anything else is a 500 with no internals leaked. */
export function problemFromError(c: Context, err: unknown) {
  if (err instanceof HttpProblem) {
    for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
    return problem(c, err.status, err.title, err.extra);
  }
  if (err instanceof HTTPException) {
    // Hono's own 4xx (e.g. "Malformed JSON in request body" from a validator).
    if (err.status < 500) return problem(c, err.status, err.message || 'Bad Request');
    return problem(c, 500, 'Internal Server Error');
  }
  if (err instanceof ValidationError)
    return problem(c, err.status, err.message, { type: 'https://signals.dev/problems/validation', errors: err.issues });
  if (err instanceof NotFoundError) return problem(c, 404, err.message);
  if (err instanceof ConflictError) return problem(c, 409, err.message);
  if (err instanceof DomainError && !err.retryable) return problem(c, 422, err.message, { type: err.code });
  if (err instanceof DomainError && err.retryable) return problem(c, 503, err.message, { type: err.code });
  return problem(c, 500, 'Internal Server Error');
}
