-- CreateEnum
CREATE TYPE "BarSession" AS ENUM ('pre', 'regular', 'post');

-- AlterTable
ALTER TABLE "QuoteSnapshot" ADD COLUMN     "postMarketPrice" DECIMAL(18,6),
ADD COLUMN     "postMarketTime" TIMESTAMP(3),
ADD COLUMN     "preMarketPrice" DECIMAL(18,6),
ADD COLUMN     "preMarketTime" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "IntradayBar" (
    "instrumentId" TEXT NOT NULL,
    "interval" VARCHAR(3) NOT NULL,
    "ts" TIMESTAMP(3) NOT NULL,
    "open" REAL NOT NULL,
    "high" REAL NOT NULL,
    "low" REAL NOT NULL,
    "close" REAL NOT NULL,
    "volume" BIGINT NOT NULL,
    "session" "BarSession" NOT NULL,
    "fetchedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "IntradayBar_pkey" PRIMARY KEY ("instrumentId","interval","ts")
);

-- CreateIndex
CREATE INDEX "IntradayBar_interval_ts_idx" ON "IntradayBar"("interval", "ts");

-- AddForeignKey
ALTER TABLE "IntradayBar" ADD CONSTRAINT "IntradayBar_instrumentId_fkey" FOREIGN KEY ("instrumentId") REFERENCES "Instrument"("id") ON DELETE CASCADE ON UPDATE CASCADE;
