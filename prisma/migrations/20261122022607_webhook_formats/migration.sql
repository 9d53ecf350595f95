-- CreateEnum
CREATE TYPE "WebhookFormat" AS ENUM ('standard', 'slack', 'discord');

-- AlterTable
ALTER TABLE "WebhookEndpoint" ADD COLUMN     "format" "WebhookFormat" NOT NULL DEFAULT 'standard';
