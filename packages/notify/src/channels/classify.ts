/** The classification every channel starts from: our named delivery errors, anything else retried. */
import { DomainError, PermanentDeliveryError, TransientDeliveryError } from '@signals/core';
import type { Failure } from './types.ts';

export function classifyDeliveryError(err: unknown): Failure {
  if (err instanceof PermanentDeliveryError)
    return { kind: 'permanent', statusCode: err.statusCode ?? null, error: err.message };
  if (err instanceof TransientDeliveryError)
    return {
      kind: 'retry',
      statusCode: err.statusCode ?? null,
      error: err.message,
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
    };
  // Anything else (a bug, a dropped connection) is worth another try, not a lost alert.
  const message = err instanceof DomainError || err instanceof Error ? err.message : String(err);
  return { kind: 'retry', statusCode: null, error: message };
}

/** Thrown by a render that finds nothing it can send: fails every row of the group for good. */
export const refuse = (why: string) => new PermanentDeliveryError(why);
