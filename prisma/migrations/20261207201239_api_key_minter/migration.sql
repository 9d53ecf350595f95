-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "mintedById" TEXT;

-- CreateIndex
CREATE INDEX "ApiKey_mintedById_idx" ON "ApiKey"("mintedById");

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_mintedById_fkey" FOREIGN KEY ("mintedById") REFERENCES "ApiKey"("id") ON DELETE SET NULL ON UPDATE CASCADE;
