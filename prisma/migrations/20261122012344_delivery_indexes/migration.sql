-- CreateIndex
CREATE INDEX "Delivery_subscriberId_status_nextAttemptAt_idx" ON "Delivery"("subscriberId", "status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "Delivery_endpointId_createdAt_idx" ON "Delivery"("endpointId", "createdAt");
