-- AlterEnum
ALTER TYPE "WebhookFormat" ADD VALUE 'teams';
