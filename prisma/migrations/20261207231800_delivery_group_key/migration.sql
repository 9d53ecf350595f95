-- AlterTable
-- The fan-out plan's group stage decides which deliveries leave together and stores its key.
-- Nullable, no default: the previous release keeps inserting without it during a rolling upgrade
-- (its rows are claimed one by one and still sent as alert messages).
ALTER TABLE "Delivery" ADD COLUMN "groupKey" TEXT;

-- Rows still waiting get the key their group stage would have given them, so they leave grouped.
-- safe: only pending and sending rows are touched, a few per subscriber at most (the rest are history)
UPDATE "Delivery" SET "groupKey" = "subscriberId" || ':' || channel::text
WHERE status IN ('pending', 'sending') AND "subscriberId" IS NOT NULL
  AND channel IN ('email', 'ntfy', 'telegram') AND "eventType" IN ('alert.firing', 'alert.resolved');

-- CreateIndex
DROP INDEX CONCURRENTLY IF EXISTS "Delivery_groupKey_status_nextAttemptAt_idx";
CREATE INDEX CONCURRENTLY "Delivery_groupKey_status_nextAttemptAt_idx" ON "Delivery"("groupKey", "status", "nextAttemptAt");
