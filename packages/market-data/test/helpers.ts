export { captureLogger, type LogLine } from '@signals/testing';

/** Fast backoff for tests (the waits are real but tiny). */
export const fastRetry = { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 };
