/**
 * "Who would have been told" for a backtest (POST /api/backtest with `deliveries: true`, the rule
 * preview, `pnpm cli backtest --deliveries`): the alerts found, run through the live fan-out plan
 * over today's subscribers, endpoints, silences, inhibit rules, quiet hours and time intervals
 * (@signals/db forecastBacktestDeliveries). Reads only: nothing is written or sent.
 */
import type { DeliveryForecast, RuleDefinition } from '@signals/core';
import { forecastBacktestDeliveries } from '@signals/db';
import type { Runtime } from '../context.ts';
import type { BacktestOutcome } from './backtest.ts';

export type { DeliveryForecast };

export function backtestDeliveries(
  rt: Pick<Runtime, 'prisma' | 'env'>,
  outcome: BacktestOutcome,
  rules: readonly { def: RuleDefinition; watchlistId: string | null }[],
): Promise<DeliveryForecast> {
  const severity = new Map(rules.map((r) => [r.def.id, r.def.severity]));
  return forecastBacktestDeliveries(
    rt.prisma,
    outcome.alerts.map((h) => ({
      ruleId: h.ruleId,
      subject: h.symbol,
      at: h.at,
      severity: severity.get(h.ruleId) ?? 'warning',
    })),
    rules.map((r) => ({
      id: r.def.id,
      watchlistId: r.watchlistId,
      symbols: r.def.symbols ?? [],
      notifyResolved: r.def.notifyResolved ?? false,
    })),
    { emailGroupWaitMs: rt.env.EMAIL_GROUP_WAIT_SEC * 1000 },
  );
}
