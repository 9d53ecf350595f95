import { isDatabaseAway } from '@signals/db';
import type { DeliveryContext } from './context.ts';

/**
 * Runs `fn` again, with backoff, while Postgres is away (a restart, a failover), until `deadline`.
 * Recording matters most: a send that succeeded but whose result is not written stays `sending`,
 * and the sweeper sends it again after the lease. Waiting for Postgres within the lease records it
 * once instead. Past the deadline the error goes up and the lease takes over.
 */
export async function whileDatabaseAway<T>(ctx: DeliveryContext, what: string, deadline: number, fn: () => Promise<T>) {
  let delayMs = 250;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isDatabaseAway(err) || Date.now() + delayMs > deadline) throw err;
      ctx.logger.warn(
        { err: (err as Error).message, retryInMs: delayMs },
        `Postgres is unreachable: ${what} again soon`,
      );
      await new Promise((r) => setTimeout(r, delayMs));
      delayMs = Math.min(delayMs * 2, 5000);
    }
  }
}
