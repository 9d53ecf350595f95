import { expect } from 'vitest';
import { FeedFetchError } from '../src/index.ts';

export { captureLogger, type LogLine } from '@signals/testing';

/** The FeedFetchError a fetch fails with (the test fails if it succeeds or fails otherwise). */
export async function failure(p: Promise<unknown>): Promise<FeedFetchError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(FeedFetchError);
  return e as FeedFetchError;
}
