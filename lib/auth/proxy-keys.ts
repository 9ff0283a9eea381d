// Proxy credentials: random secrets shown once, stored as SHA-256 (they carry 256 bits of
// entropy, so a slow password hash adds nothing; lookup by hash is a unique-index hit).
import { createHash, randomBytes } from "node:crypto";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { AppError } from "@/lib/errors";
import { recordAdminActivity } from "@/lib/audit/admin";
import { bumpRevision, recordChanges } from "@/lib/db/revision";

export const PROXY_KEY_PREFIX = "ghpk_";

/** Headers Gatehouse reads with another meaning; a region header cannot be one of them. */
const RESERVED_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "host",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-uri",
  "x-forwarded-method",
  "x-original-uri",
  "x-original-method",
  "x-gatehouse-proxy-key",
]);

export function hashProxySecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export async function createProxyKey(
  db: PrismaClient,
  input: { name: string; trusted: boolean; scopes?: string[]; regionHeader?: string; actor: string },
): Promise<{ id: string; secret: string }> {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/.test(input.name)) {
    throw new AppError("INVALID_ARGUMENT", "a proxy key name is 1–63 letters, digits, dots, dashes or underscores");
  }
  const regionHeader = input.regionHeader?.toLowerCase();
  // A header the proxy sets itself (its GeoIP or CDN), never one a client's request can carry
  // through; names Gatehouse reads for other purposes are refused.
  if (regionHeader !== undefined && (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(regionHeader) || RESERVED_HEADERS.has(regionHeader))) {
    throw new AppError("INVALID_ARGUMENT", `--region-header must be a header name the proxy sets itself (e.g. x-client-region), not "${input.regionHeader}"`);
  }
  const secret = PROXY_KEY_PREFIX + randomBytes(32).toString("base64url");
  return db.$transaction(async (tx) => {
    const exists = await tx.proxyCredential.findUnique({ where: { name: input.name } });
    if (exists) throw new AppError("ALREADY_EXISTS", `a proxy key named "${input.name}" already exists`);
    const row = await tx.proxyCredential.create({
      data: {
        name: input.name,
        prefix: secret.slice(0, PROXY_KEY_PREFIX.length + 6),
        secretHash: hashProxySecret(secret),
        trusted: input.trusted,
        scopes: input.scopes ?? [],
        regionHeader: regionHeader ?? null,
        createdBy: input.actor,
      },
    });
    // Credentials travel on the change feed too, so a revocation reaches every instance at once.
    const revision = await bumpRevision(tx);
    await recordChanges(tx, revision, [{ kind: "proxyCredential", key: row.id }]);
    await recordAdminActivity(tx, [
      {
        actor: input.actor,
        methodName: "CreateProxyCredential",
        serviceName: "gatehouse.local",
        resourceName: `proxyCredentials/${row.id}`,
        request: { name: input.name, trusted: input.trusted, scopes: input.scopes ?? [], regionHeader: regionHeader ?? null },
        revision,
      },
    ]);
    return { id: row.id, secret };
  });
}

export interface ProxyKeyListing {
  id: string;
  name: string;
  prefix: string;
  trusted: boolean;
  scopes: string[];
  regionHeader: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export async function findProxyKeys(db: PrismaClient): Promise<ProxyKeyListing[]> {
  return db.proxyCredential.findMany({
    orderBy: { createdAt: "asc" },
    select: { id: true, name: true, prefix: true, trusted: true, scopes: true, regionHeader: true, createdAt: true, lastUsedAt: true, revokedAt: true },
  });
}

/** Revokes a credential; every instance stops accepting it within one sync of the change feed. */
export async function revokeProxyKey(db: PrismaClient, input: { name: string; actor: string }): Promise<void> {
  await db.$transaction(async (tx) => {
    const row = await tx.proxyCredential.findUnique({ where: { name: input.name } });
    if (!row) throw new AppError("NOT_FOUND", `no proxy key named "${input.name}"`);
    if (row.revokedAt) throw new AppError("FAILED_PRECONDITION", `proxy key "${input.name}" is already revoked`);
    await tx.proxyCredential.update({ where: { id: row.id }, data: { revokedAt: new Date() } });
    const revision = await bumpRevision(tx);
    await recordChanges(tx, revision, [{ kind: "proxyCredential", key: row.id }]);
    await recordAdminActivity(tx, [
      { actor: input.actor, methodName: "RevokeProxyCredential", serviceName: "gatehouse.local", resourceName: `proxyCredentials/${row.id}`, request: { name: input.name }, revision },
    ]);
  });
}
