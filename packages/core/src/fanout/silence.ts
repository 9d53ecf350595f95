/** Stage 1, silence (Alertmanager's silences): the first active silence whose matchers all match. */
import type { FanOutAlert, SilenceSpec } from './types.ts';

/** Active at `at`: started, not ended. */
export const silenceActiveAt = (s: Pick<SilenceSpec, 'startsAt' | 'endsAt'>, at: Date) =>
  s.startsAt <= at && s.endsAt > at;

/** The first silence active at `at` whose every matcher matches (a null matcher matches anything). */
export function matchSilence(
  silences: readonly SilenceSpec[],
  alert: Pick<FanOutAlert, 'ruleId' | 'subject'>,
  at: Date,
): SilenceSpec | undefined {
  return silences.find(
    (s) =>
      silenceActiveAt(s, at) &&
      (s.ruleId === null || s.ruleId === alert.ruleId) &&
      (s.subject === null || s.subject === alert.subject),
  );
}
