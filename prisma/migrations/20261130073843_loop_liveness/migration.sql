-- CreateTable
CREATE TABLE "LoopHeartbeat" (
    "loop" TEXT NOT NULL,
    "intervalSec" DOUBLE PRECISION NOT NULL,
    "marketHours" BOOLEAN NOT NULL DEFAULT true,
    "lastSuccessAt" TIMESTAMP(3),
    "lastErrorAt" TIMESTAMP(3),
    "lastError" TEXT,
    "worker" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LoopHeartbeat_pkey" PRIMARY KEY ("loop")
);

-- CreateTable
CREATE TABLE "LoopIncident" (
    "id" TEXT NOT NULL,
    "loop" TEXT NOT NULL,
    "since" TIMESTAMP(3) NOT NULL,
    "overdueAt" TIMESTAMP(3) NOT NULL,
    "degradedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "recoveredAt" TIMESTAMP(3),
    "reason" TEXT NOT NULL,

    CONSTRAINT "LoopIncident_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "LoopIncident_recoveredAt_idx" ON "LoopIncident"("recoveredAt");

-- CreateIndex
CREATE UNIQUE INDEX "LoopIncident_loop_since_key" ON "LoopIncident"("loop", "since");
