-- CreateIndex
CREATE INDEX "DataAccessLog_permission_timestamp_idx" ON "DataAccessLog"("permission", "timestamp");

-- CreateIndex
CREATE INDEX "DataAccessLog_denied_reason_timestamp_idx" ON "DataAccessLog"("reason", "timestamp") WHERE (NOT granted);
