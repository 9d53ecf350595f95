/**
 * Named domain errors. `retryable` tells workers whether to try again; permanent ones become
 * BullMQ UnrecoverableError in workers and 4xx at the HTTP edge.
 */
export class DomainError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = opts.retryable ?? false;
  }
}

/**
 * The input is wrong; repeating it will not help. `issues` are field-level messages. `status` is
 * the HTTP answer: 400 for input that does not fit the schema, 422 for well-formed input we refuse
 * (a feed URL pointing into our own network).
 */
export class ValidationError extends DomainError {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
    readonly status: 400 | 422 = 400,
  ) {
    super('validation_failed', message);
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string) {
    super('not_found', `${what} not found`);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super('conflict', message);
  }
}

/** The source is down, slow or refusing: try later. */
export class SourceUnavailableError extends DomainError {
  constructor(
    readonly source: string,
    message: string,
    opts: { cause?: unknown; status?: number; retryAfterMs?: number } = {},
  ) {
    super('source_unavailable', message, { retryable: true, cause: opts.cause });
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
  }
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
}

/** The circuit breaker is open: the source failed repeatedly and is not asked for a while. */
export class CircuitOpenError extends DomainError {
  constructor(
    readonly source: string,
    readonly retryAt: Date,
  ) {
    super('circuit_open', `${source} is degraded; next try at ${retryAt.toISOString()}`, { retryable: true });
  }
}

/** The source answered, but not in the shape we know (schema drift). `raw` is kept for diagnosis. */
export class SchemaDriftError extends DomainError {
  constructor(
    readonly source: string,
    message: string,
    readonly raw: unknown,
  ) {
    super('schema_drift', message);
  }
}

export class UnknownSymbolError extends DomainError {
  constructor(readonly symbol: string) {
    super('unknown_symbol', `Unknown or delisted symbol: ${symbol}`);
  }
}

/** A delivery that will never succeed as it is (5xx recipient, 410 Gone, SSRF refusal). */
export class PermanentDeliveryError extends DomainError {
  constructor(
    message: string,
    readonly statusCode?: number,
  ) {
    super('delivery_permanent', message);
  }
}

/** A delivery that may succeed later (4xx SMTP, 5xx/429 HTTP, timeout). */
export class TransientDeliveryError extends DomainError {
  constructor(
    message: string,
    readonly statusCode?: number,
    readonly retryAfterMs?: number,
  ) {
    super('delivery_transient', message, { retryable: true });
  }
}
