/**
 * Silences (as in Alertmanager): while one is active, alerts it matches still fire and are
 * recorded (with the silence that held them), but no delivery is written for them.
 */
import type { Tx } from './outbox.ts';

export interface ActiveSilence {
  id: string;
  ruleId: string | null;
  subject: string | null;
}

/** Silences active at `at` (wall-clock time: operators set them in real time, also during a replay). */
export function activeSilences(tx: Tx, at: Date): Promise<ActiveSilence[]> {
  return tx.silence.findMany({
    where: { startsAt: { lte: at }, endsAt: { gt: at } },
    select: { id: true, ruleId: true, subject: true },
    orderBy: [{ endsAt: 'desc' }, { id: 'asc' }],
  });
}

/** The first silence whose every matcher matches (a null matcher matches anything). */
export function matchSilence(
  silences: readonly ActiveSilence[],
  alert: { ruleId: string; subject: string },
): ActiveSilence | undefined {
  return silences.find(
    (s) => (s.ruleId === null || s.ruleId === alert.ruleId) && (s.subject === null || s.subject === alert.subject),
  );
}
