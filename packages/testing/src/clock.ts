import type { Clock } from '@signals/core';

/**
 * A clock for code under test: the real time until a test freezes it or moves it on, so a test
 * asserts exact recorded times ("expires 30 days after it was made") instead of windows around
 * Date.now() that a loaded machine can miss.
 */
export interface TestClock extends Clock {
  /** Stops the clock at `at` (default: now) and returns that instant. */
  freeze(at?: Date): Date;
  /** Moves the clock on by `ms` (frozen or not). */
  advance(ms: number): void;
  /** Back to the real time (plus any advance). */
  thaw(): void;
}

export function testClock(): TestClock {
  let frozen: Date | null = null;
  let offsetMs = 0;
  return {
    now: () => (frozen ? new Date(frozen.getTime()) : new Date(Date.now() + offsetMs)),
    freeze(at) {
      frozen = new Date((at ?? new Date(Date.now() + offsetMs)).getTime());
      return new Date(frozen.getTime());
    },
    advance(ms) {
      if (frozen) frozen = new Date(frozen.getTime() + ms);
      else offsetMs += ms;
    },
    thaw() {
      frozen = null;
    },
  };
}
