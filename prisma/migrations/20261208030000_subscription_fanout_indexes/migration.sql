-- The fan-out (packages/db/src/repos/fanout-inputs.ts loadSubscribers) reads the subscriptions of
-- an alert's rule and watchlists: without these indexes every alert scanned every subscription
-- (~60 ms per alert with 100,000 subscriptions on another watchlist). Built CONCURRENTLY: the
-- table keeps taking sign-ups while they build (a failed concurrent build leaves an invalid index
-- behind, hence the DROP ... IF EXISTS first).

-- CreateIndex
DROP INDEX CONCURRENTLY IF EXISTS "Subscription_watchlistId_idx";
CREATE INDEX CONCURRENTLY "Subscription_watchlistId_idx" ON "Subscription"("watchlistId");

-- CreateIndex
DROP INDEX CONCURRENTLY IF EXISTS "Subscription_ruleId_idx";
CREATE INDEX CONCURRENTLY "Subscription_ruleId_idx" ON "Subscription"("ruleId");
