-- Indexes the retention job (packages/db/src/repos/retention.ts) deletes by: each is a range of
-- one index, so a batch reads only the rows it deletes. Built CONCURRENTLY: these tables grow and
-- must keep taking writes while the index builds (a failed concurrent build leaves an invalid
-- index behind, hence the DROP ... IF EXISTS first). QuoteSnapshot needs none: it is pruned per
-- instrument through its existing (instrumentId, sourceAt) index.

-- CreateIndex
DROP INDEX CONCURRENTLY IF EXISTS "Delivery_status_updatedAt_idx";
CREATE INDEX CONCURRENTLY "Delivery_status_updatedAt_idx" ON "Delivery"("status", "updatedAt");

-- CreateIndex
DROP INDEX CONCURRENTLY IF EXISTS "DeliveryAttempt_startedAt_idx";
CREATE INDEX CONCURRENTLY "DeliveryAttempt_startedAt_idx" ON "DeliveryAttempt"("startedAt");

-- CreateIndex
DROP INDEX CONCURRENTLY IF EXISTS "NewsItem_firstSeenAt_idx";
CREATE INDEX CONCURRENTLY "NewsItem_firstSeenAt_idx" ON "NewsItem"("firstSeenAt");

-- CreateIndex
DROP INDEX CONCURRENTLY IF EXISTS "SourceEvent_createdAt_idx";
CREATE INDEX CONCURRENTLY "SourceEvent_createdAt_idx" ON "SourceEvent"("createdAt");
