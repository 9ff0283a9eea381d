-- CreateTable
CREATE TABLE "PolicyVersion" (
    "resourceName" TEXT NOT NULL,
    "revision" BIGINT NOT NULL,
    "etag" TEXT,
    "bindings" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PolicyVersion_pkey" PRIMARY KEY ("resourceName","revision")
);

-- CreateIndex
CREATE INDEX "PolicyVersion_revision_idx" ON "PolicyVersion"("revision");
