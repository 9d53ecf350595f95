-- CreateEnum
CREATE TYPE "ApiScope" AS ENUM ('read', 'write', 'admin');

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "expiresAt" TIMESTAMP(3),
ADD COLUMN     "scopes" "ApiScope"[] DEFAULT ARRAY['read']::"ApiScope"[];

-- Keys made before scopes existed could do everything (any key could even mint keys), and only
-- admins made them: they keep full power, so no integration breaks on upgrade. Admins can revoke
-- them and make narrower ones. New keys default to read.
UPDATE "ApiKey" SET "scopes" = ARRAY['read', 'write', 'admin']::"ApiScope"[];
