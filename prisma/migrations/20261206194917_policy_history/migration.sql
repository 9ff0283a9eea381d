-- CreateTable
CREATE TABLE "PolicyHistory" (
    "kind" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "revision" BIGINT NOT NULL,
    "state" JSON,

    CONSTRAINT "PolicyHistory_pkey" PRIMARY KEY ("kind","key","revision")
);

-- CreateTable
CREATE TABLE "PolicyHistoryStart" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "revision" BIGINT NOT NULL,

    CONSTRAINT "PolicyHistoryStart_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PolicyRevisionTime" (
    "revision" BIGINT NOT NULL,
    "committedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PolicyRevisionTime_pkey" PRIMARY KEY ("revision")
);

-- CreateIndex
CREATE INDEX "PolicyRevisionTime_committedAt_idx" ON "PolicyRevisionTime"("committedAt");
