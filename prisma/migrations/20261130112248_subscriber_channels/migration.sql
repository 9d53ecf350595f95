-- CreateEnum
CREATE TYPE "ChannelKind" AS ENUM ('ntfy', 'telegram');

-- CreateEnum
CREATE TYPE "ChannelStatus" AS ENUM ('pending', 'confirmed', 'stopped');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "DeliveryChannel" ADD VALUE 'ntfy';
ALTER TYPE "DeliveryChannel" ADD VALUE 'telegram';

-- AlterTable
ALTER TABLE "Delivery" ADD COLUMN     "channelId" TEXT;

-- CreateTable
CREATE TABLE "SubscriberChannel" (
    "id" TEXT NOT NULL,
    "subscriberId" TEXT NOT NULL,
    "kind" "ChannelKind" NOT NULL,
    "status" "ChannelStatus" NOT NULL DEFAULT 'pending',
    "topicUrl" TEXT,
    "tokenSealed" TEXT,
    "chatId" TEXT,
    "linkTokenHash" TEXT,
    "linkExpiresAt" TIMESTAMP(3),
    "confirmedAt" TIMESTAMP(3),
    "stoppedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SubscriberChannel_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "SubscriberChannel_linkTokenHash_key" ON "SubscriberChannel"("linkTokenHash");

-- CreateIndex
CREATE INDEX "SubscriberChannel_chatId_idx" ON "SubscriberChannel"("chatId");

-- CreateIndex
CREATE UNIQUE INDEX "SubscriberChannel_subscriberId_kind_key" ON "SubscriberChannel"("subscriberId", "kind");

-- AddForeignKey
ALTER TABLE "SubscriberChannel" ADD CONSTRAINT "SubscriberChannel_subscriberId_fkey" FOREIGN KEY ("subscriberId") REFERENCES "Subscriber"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Delivery" ADD CONSTRAINT "Delivery_channelId_fkey" FOREIGN KEY ("channelId") REFERENCES "SubscriberChannel"("id") ON DELETE CASCADE ON UPDATE CASCADE;
