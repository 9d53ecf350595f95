/**
 * Silences (as in Alertmanager): while one is active, alerts it matches still fire and are
 * recorded (with the silence that held them), but no delivery is written for them.
 */
import type { Prisma } from '../generated/client.ts';
import type { Tx } from './outbox.ts';

export type SilenceState = 'pending' | 'active' | 'expired';

/**
 * Where a silence stands at `at`: one definition for the fan-out, the API, the admin page and
 * /metrics. Pending: starts later; active: started, not ended; expired: ended.
 */
export function silenceState(s: { startsAt: Date; endsAt: Date }, at: Date): SilenceState {
  return s.endsAt <= at ? 'expired' : s.startsAt > at ? 'pending' : 'active';
}

/** The same states as a query filter; `current` is active or pending (not yet ended). */
export function silencesIn(state: SilenceState | 'current', at: Date): Prisma.SilenceWhereInput {
  switch (state) {
    case 'expired':
      return { endsAt: { lte: at } };
    case 'pending':
      return { startsAt: { gt: at }, endsAt: { gt: at } };
    case 'active':
      return { startsAt: { lte: at }, endsAt: { gt: at } };
    case 'current':
      return { endsAt: { gt: at } };
  }
}

export interface ActiveSilence {
  id: string;
  ruleId: string | null;
  subject: string | null;
}

/** Silences active at `at` (wall-clock time: operators set them in real time, also during a replay). */
export function activeSilences(tx: Tx, at: Date): Promise<ActiveSilence[]> {
  return tx.silence.findMany({
    where: silencesIn('active', at),
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
