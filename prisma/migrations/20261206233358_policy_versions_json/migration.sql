-- AlterTable
ALTER TABLE "PolicyVersion" ALTER COLUMN "bindings" SET DATA TYPE JSON;
