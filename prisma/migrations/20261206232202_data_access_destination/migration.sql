-- AlterTable
ALTER TABLE "DataAccessLog" ADD COLUMN     "destination" JSONB;
