-- DropIndex
DROP INDEX "DataAccessLog_granted_timestamp_idx";

-- CreateIndex
CREATE INDEX "DataAccessLog_denied_timestamp_idx" ON "DataAccessLog"("timestamp") WHERE (NOT granted);

-- CreateIndex
CREATE INDEX "DataAccessLog_reads_timestamp_idx" ON "DataAccessLog"("timestamp") WHERE (permission LIKE 'logging.%');
