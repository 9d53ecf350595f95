/**
 * `pnpm cli backtest --deliveries`: who the alerts found would have told, through the live fan-out
 * (silences, inhibit rules, today's subscribers and endpoints, time intervals, quiet hours,
 * grouping), each judged at the alert's time, from the database named by DATABASE_URL. Reads only:
 * nothing is written or sent. Default rules are matched to their stored rows by seed id, so their
 * subscribers count; a JSON rule is a draft (its webhooks and watchlist subscribers only).
 */
import type { BacktestAlert, DeliveryForecast, RuleDefinition } from '@signals/core';

export async function forecastForCli(
  alerts: readonly BacktestAlert[],
  rules: readonly RuleDefinition[],
  fail: (message: string) => Error,
): Promise<DeliveryForecast> {
  const { loadEnvOrExit, redactUrl } = await import('@signals/config');
  const env = loadEnvOrExit();
  const u = new URL(env.DATABASE_URL);
  const host = u.hostname || '127.0.0.1';
  const port = u.port ? Number(u.port) : 5432;
  const { reachable } = await import('./preflight.ts');
  if (!(await reachable(host, port)))
    throw fail(`--deliveries: cannot reach PostgreSQL at ${host}:${port} (DATABASE_URL) to read the subscribers`);
  const { createPrisma, forecastBacktestDeliveries } = await import('@signals/db');
  const prisma = createPrisma({ databaseUrl: env.DATABASE_URL, poolSize: 2 });
  try {
    const ids = rules.map((r) => r.id);
    const stored = await prisma.rule.findMany({
      where: { OR: [{ seedId: { in: ids } }, { id: { in: ids } }] },
      select: { id: true, seedId: true, watchlistId: true },
    });
    const storedOf = new Map<string, { id: string; watchlistId: string | null }>();
    for (const s of stored) storedOf.set(s.seedId && ids.includes(s.seedId) ? s.seedId : s.id, s);
    const idOf = (cliId: string) => storedOf.get(cliId)?.id ?? cliId;
    return await forecastBacktestDeliveries(
      prisma,
      alerts.map((a) => ({
        ruleId: idOf(a.rule),
        subject: a.symbol,
        at: a.at,
        severity: rules.find((r) => r.id === a.rule)?.severity ?? 'warning',
        status: a.status,
      })),
      rules.map((r) => ({
        id: idOf(r.id),
        watchlistId: storedOf.get(r.id)?.watchlistId ?? null,
        symbols: r.symbols ?? [],
        notifyResolved: r.notifyResolved ?? false,
      })),
      { emailGroupWaitMs: env.EMAIL_GROUP_WAIT_SEC * 1000 },
    );
  } catch (err) {
    throw fail(
      `--deliveries: reading subscribers from ${redactUrl(env.DATABASE_URL)} failed: ${(err as Error).message}`,
    );
  } finally {
    await prisma.$disconnect();
  }
}

/** The forecast as text: the one-line summary, then one row per alert that told or held anyone. */
export function forecastText(f: DeliveryForecast): string {
  const rows = [['at', 'rule', 'subject', 'email', 'webhook', 'ntfy', 'telegram', 'held']];
  for (const a of f.perAlert) {
    const held = Object.entries(a.held)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${n} ${k.replace('_', ' ')}`)
      .join(', ');
    rows.push([
      a.at,
      a.ruleId,
      a.subject,
      String(a.sent.email),
      String(a.sent.webhook),
      String(a.sent.ntfy),
      String(a.sent.telegram),
      held || '-',
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const lines = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '));
  return `\nwho would have been told (nothing written or sent): ${f.text}\n${f.perAlert.length ? `${lines.join('\n')}\n` : ''}`;
}
