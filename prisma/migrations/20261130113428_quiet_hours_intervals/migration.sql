-- AlterTable
ALTER TABLE "Subscriber" ADD COLUMN     "quietCriticalBreaksThrough" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "quietHours" JSONB,
ADD COLUMN     "timeZone" TEXT NOT NULL DEFAULT 'UTC';

-- AlterTable
ALTER TABLE "Subscription" ADD COLUMN     "activeIntervals" JSONB;

-- AlterTable
ALTER TABLE "WebhookEndpoint" ADD COLUMN     "activeIntervals" JSONB;
