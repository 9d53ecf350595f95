/**
 * Errors across the backtest thread. A worker thread's messages are structured clones: an Error
 * arrives without its class, so a ValidationError (400/422 with field issues), a NotFoundError
 * (404) or a ConflictError (409) thrown while loading or running a plan would reach the HTTP edge
 * as a plain Error, a 500. The thread sends domain errors as data; the runner rebuilds them.
 */
import { ConflictError, DomainError, NotFoundError, ValidationError } from '@signals/core';

export type ThreadError =
  | { kind: 'validation'; message: string; issues: { path: string; message: string }[]; status: 400 | 422 }
  | { kind: 'not_found' | 'conflict'; message: string }
  | { kind: 'domain'; code: string; message: string; retryable: boolean };

/** The data of a domain error, or undefined for anything else (a bug: a 500 as before). */
export function threadError(err: unknown): ThreadError | undefined {
  if (err instanceof ValidationError)
    return { kind: 'validation', message: err.message, issues: err.issues, status: err.status };
  if (err instanceof NotFoundError) return { kind: 'not_found', message: err.message };
  if (err instanceof ConflictError) return { kind: 'conflict', message: err.message };
  if (err instanceof DomainError)
    return { kind: 'domain', code: err.code, message: err.message, retryable: err.retryable };
  return undefined;
}

/** The error again, of its class, as the HTTP edge maps it. */
export function reviveError(e: ThreadError): DomainError {
  switch (e.kind) {
    case 'validation':
      return new ValidationError(e.message, e.issues, e.status);
    case 'not_found':
      return new NotFoundError(e.message.replace(/ not found$/, ''));
    case 'conflict':
      return new ConflictError(e.message);
    case 'domain':
      return new DomainError(e.code, e.message, { retryable: e.retryable });
  }
}
