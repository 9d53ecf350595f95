/**
 * Silences (as in Alertmanager): while one is active, alerts it matches still fire and are
 * recorded (with the silence that held them), but no delivery is written for them.
 */
import type { Prisma } from '../generated/client.ts';

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
