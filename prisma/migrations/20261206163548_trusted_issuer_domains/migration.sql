-- AlterTable
ALTER TABLE "TrustedIssuer" ADD COLUMN     "allowUnverifiedEmails" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "domains" TEXT[] DEFAULT ARRAY[]::TEXT[];
