-- AlterTable
ALTER TABLE "AuditChainHead" ADD COLUMN     "purgeAnchor" JSONB,
ADD COLUMN     "recordCount" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "DataAccessLog" ADD COLUMN     "regionCode" TEXT;

-- Existing chains: their heads get the seq and count of the records written before this column.
UPDATE "AuditChainHead" h SET "recordCount" = c.n, "lastSeq" = c.last
  FROM (SELECT count(*) AS n, coalesce(max(seq), 0) AS last FROM "DataAccessLog") c WHERE h.stream = 'data_access';
UPDATE "AuditChainHead" h SET "recordCount" = c.n, "lastSeq" = c.last
  FROM (SELECT count(*) AS n, coalesce(max(seq), 0) AS last FROM "AdminActivityLog") c WHERE h.stream = 'admin_activity';
