export * from './client.ts';
export {
  createDatabaseIfMissing,
  dropDatabase,
  migrate,
  pendingSchemaChange,
  writeNextMigration,
  paths as repoPaths,
} from './migrate/index.ts';
export * from './repos/outbox.ts';
export * from './repos/secrets.ts';
export * from './repos/setup-tokens.ts';
export * from './repos/alerts.ts';
export * from './repos/fanout-inputs.ts';
export * from './repos/silences.ts';
export * from './repos/inhibitions.ts';
export * from './repos/prices.ts';
export * from './repos/news.ts';
export * from './repos/signals.ts';
export * from './repos/evaluation-report.ts';
export { type CheckResult, checkHealth, type PingableRedis, serviceHealth } from './health.ts';
export * from './repos/loops.ts';
export * from './repos/backtest-input.ts';
export * from './repos/freshness.ts';
export * from './repos/channels.ts';
export * from './repos/alert-views.ts';
export * from './repos/intraday.ts';
export * from './repos/retention.ts';
export * from './repos/admin-accounts.ts';
export * from './backup/index.ts';
