import { DomainError } from '@signals/core';

export type FeedErrorKind =
  | 'refused'
  | 'dns'
  | 'timeout'
  | 'too_large'
  | 'redirect_loop'
  | 'not_a_feed'
  | 'http_status'
  | 'parse_error'
  | 'network';

const RETRYABLE: Record<FeedErrorKind, boolean> = {
  refused: false,
  dns: true,
  timeout: true,
  too_large: false,
  redirect_loop: false,
  not_a_feed: false,
  http_status: false,
  parse_error: false,
  network: true,
};

/**
 * A feed could not be fetched or read. `kind` says why; code is `feed_<kind>`. The message is in
 * our words (admins read it on the feed and System pages): never the remote side's text.
 */
export class FeedFetchError extends DomainError {
  constructor(
    readonly kind: FeedErrorKind,
    message: string,
    readonly url: string,
    opts: { status?: number; cause?: unknown } = {},
  ) {
    const retryable =
      kind === 'http_status' ? opts.status === undefined || opts.status === 429 || opts.status >= 500 : RETRYABLE[kind];
    super(`feed_${kind}`, message, { retryable, cause: opts.cause });
    this.status = opts.status;
  }
  readonly status: number | undefined;
}
