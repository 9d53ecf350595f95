-- AlterTable
ALTER TABLE "Alert" ADD COLUMN     "inhibitRuleId" TEXT,
ADD COLUMN     "inhibitedById" TEXT;

-- CreateTable
CREATE TABLE "InhibitRule" (
    "id" TEXT NOT NULL,
    "seedId" TEXT,
    "sourceRuleId" TEXT,
    "sourceSeverity" "Severity",
    "sourceWatchlistId" TEXT,
    "targetRuleId" TEXT,
    "targetSeverity" "Severity",
    "targetWatchlistId" TEXT,
    "equal" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "comment" TEXT,
    "createdBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "InhibitRule_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "InhibitRule_seedId_key" ON "InhibitRule"("seedId");

-- AddForeignKey
ALTER TABLE "Alert" ADD CONSTRAINT "Alert_inhibitedById_fkey" FOREIGN KEY ("inhibitedById") REFERENCES "Alert"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Alert" ADD CONSTRAINT "Alert_inhibitRuleId_fkey" FOREIGN KEY ("inhibitRuleId") REFERENCES "InhibitRule"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InhibitRule" ADD CONSTRAINT "InhibitRule_sourceRuleId_fkey" FOREIGN KEY ("sourceRuleId") REFERENCES "Rule"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InhibitRule" ADD CONSTRAINT "InhibitRule_targetRuleId_fkey" FOREIGN KEY ("targetRuleId") REFERENCES "Rule"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InhibitRule" ADD CONSTRAINT "InhibitRule_sourceWatchlistId_fkey" FOREIGN KEY ("sourceWatchlistId") REFERENCES "Watchlist"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InhibitRule" ADD CONSTRAINT "InhibitRule_targetWatchlistId_fkey" FOREIGN KEY ("targetWatchlistId") REFERENCES "Watchlist"("id") ON DELETE CASCADE ON UPDATE CASCADE;
