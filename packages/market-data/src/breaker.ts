import { CircuitOpenError, type Clock, systemClock } from '@signals/core';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  /** Name of the source it guards ("yahoo"): used in CircuitOpenError. */
  source: string;
  /** Consecutive failures that open the circuit (default 5). */
  failureThreshold?: number;
  /** How long the circuit stays open before one trial call is let through (default 60 s). */
  cooldownMs?: number;
  clock?: Clock;
}

/**
 * A consecutive-failure circuit breaker driven by an injected Clock (so tests and replays can move
 * time). closed -> open after `failureThreshold` failures in a row; open -> half_open once
 * `cooldownMs` passed: one trial call goes through; its success closes the circuit, its failure
 * opens it again for another cooldown.
 */
export class CircuitBreaker {
  readonly source: string;
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly clock: Clock;
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;
  private _state: BreakerState = 'closed';
  /** Last failure that counted, for messages ("degraded: HTTP 500 ..."). */
  lastError: string | undefined;

  constructor(opts: CircuitBreakerOptions) {
    this.source = opts.source;
    this.threshold = Math.max(1, opts.failureThreshold ?? 5);
    this.cooldownMs = opts.cooldownMs ?? 60_000;
    this.clock = opts.clock ?? systemClock;
  }

  /** Current state; an open circuit whose cooldown passed reads as half_open. */
  get state(): BreakerState {
    if (
      this._state === 'open' &&
      this.openedAt !== undefined &&
      this.clock.now().getTime() - this.openedAt >= this.cooldownMs
    ) {
      this._state = 'half_open';
      this.trialInFlight = false;
    }
    return this._state;
  }

  /** When the next trial call is allowed (only meaningful while open). */
  get retryAt(): Date {
    return new Date((this.openedAt ?? this.clock.now().getTime()) + this.cooldownMs);
  }

  /** Throws CircuitOpenError unless a call may go out now. Call before each request. */
  acquire(): void {
    const s = this.state;
    if (s === 'closed') return;
    if (s === 'half_open' && !this.trialInFlight) {
      this.trialInFlight = true;
      return;
    }
    throw new CircuitOpenError(
      this.source,
      s === 'half_open' ? new Date(this.clock.now().getTime() + 1000) : this.retryAt,
    );
  }

  /** Gives back a trial slot without a verdict (the call never reached the source). */
  release(): void {
    this.trialInFlight = false;
  }

  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
    this.openedAt = undefined;
    this._state = 'closed';
    this.lastError = undefined;
  }

  failure(err?: unknown): void {
    this.lastError = err instanceof Error ? err.message : err === undefined ? undefined : String(err);
    this.trialInFlight = false;
    if (this._state === 'half_open') {
      this.open();
      return;
    }
    this.failures += 1;
    if (this._state === 'closed' && this.failures >= this.threshold) this.open();
  }

  private open(): void {
    this._state = 'open';
    this.openedAt = this.clock.now().getTime();
  }
}
