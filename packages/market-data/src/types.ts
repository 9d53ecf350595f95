import type { DomainError, PriceSource, QuoteBatch, SchemaDriftError } from '@signals/core';

/** Symbols of one batch that got no answer, and why. */
export interface QuoteFailure {
  symbols: string[];
  error: DomainError;
}

/**
 * What the Yahoo source returns from quotes(): the port's QuoteBatch plus the batches that failed
 * (when only some did) and schema drift it worked around. When every batch fails, quotes() throws
 * the first error instead.
 */
export interface QuoteBatchResult extends QuoteBatch {
  failures: QuoteFailure[];
  /** Symbols the source answered for without a usable price: nothing is stored for them. */
  missingPrice: string[];
  /** Drift seen (e.g. a quote failing yahoo-finance2's schema) while usable prices were kept. */
  drift: SchemaDriftError[];
}

export function isQuoteBatchResult(b: QuoteBatch): b is QuoteBatchResult {
  return Array.isArray((b as Partial<QuoteBatchResult>).failures);
}

/** A source that can report per-batch failures instead of throwing (YahooPriceSource). */
export interface DetailedPriceSource extends PriceSource {
  quoteDetails(symbols: readonly string[]): Promise<QuoteBatchResult>;
}

export function hasQuoteDetails(s: PriceSource): s is DetailedPriceSource {
  return typeof (s as Partial<DetailedPriceSource>).quoteDetails === 'function';
}
