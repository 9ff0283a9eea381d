-- AlterTable
ALTER TABLE "DataAccessLog" ADD COLUMN     "whatIfTime" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "ProxyCredential" ADD COLUMN     "regionHeader" TEXT;

-- CreateTable
CREATE TABLE "AppSessionCode" (
    "codeHash" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "sessionExpiresAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3),

    CONSTRAINT "AppSessionCode_pkey" PRIMARY KEY ("codeHash")
);

-- CreateIndex
CREATE INDEX "AppSessionCode_expiresAt_idx" ON "AppSessionCode"("expiresAt");
