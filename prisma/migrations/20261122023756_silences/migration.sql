-- AlterTable
ALTER TABLE "Alert" ADD COLUMN     "silenceId" TEXT;

-- CreateTable
CREATE TABLE "Silence" (
    "id" TEXT NOT NULL,
    "ruleId" TEXT,
    "subject" TEXT,
    "startsAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endsAt" TIMESTAMP(3) NOT NULL,
    "comment" TEXT NOT NULL,
    "createdBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Silence_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Silence_endsAt_idx" ON "Silence"("endsAt");

-- AddForeignKey
ALTER TABLE "Alert" ADD CONSTRAINT "Alert_silenceId_fkey" FOREIGN KEY ("silenceId") REFERENCES "Silence"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Silence" ADD CONSTRAINT "Silence_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "Rule"("id") ON DELETE CASCADE ON UPDATE CASCADE;
