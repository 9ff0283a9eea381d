// The global policy revision: one counter, bumped by every IAM write inside the write's own
// transaction, and announced with NOTIFY (delivered on commit) so every instance's engine follows.
import type { Prisma } from "@/lib/generated/prisma/client";
import { insertJsonRows } from "./json-rows";

export const REVISION_CHANNEL = "gatehouse_revision";

export async function bumpRevision(tx: Prisma.TransactionClient): Promise<bigint> {
  const rows = await tx.$queryRaw<{ value: bigint }[]>`
    INSERT INTO "PolicyRevision" (id, value, "updatedAt") VALUES (1, 1, now())
    ON CONFLICT (id) DO UPDATE SET value = "PolicyRevision".value + 1, "updatedAt" = now()
    RETURNING value`;
  const value = rows[0]!.value;
  await tx.$executeRaw`SELECT pg_notify(${REVISION_CHANNEL}, ${value.toString()})`;
  return value;
}

export async function currentRevision(tx: Prisma.TransactionClient): Promise<bigint> {
  const row = await tx.policyRevision.findUnique({ where: { id: 1 } });
  return row?.value ?? 0n;
}

/** An opaque etag that changes with every write (GCP etags are base64 of an 8-byte version). */
export function etagFor(revision: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(revision);
  return b.toString("base64");
}

/** What a revision changed; the engine reloads exactly these (see lib/decide/engine.ts). */
export type ChangeKind =
  | "node"
  | "policy"
  | "denyPolicies"
  | "group"
  | "customRoles"
  | "accessLevels"
  | "principal"
  | "trustedIssuer"
  | "proxyCredential"
  /** The stored instance owners (InstanceOwner): roles/owner on every organization. */
  | "instanceOwners";

export interface PolicyChangeRef {
  kind: ChangeKind;
  key: string;
}

export async function recordChanges(tx: Prisma.TransactionClient, revision: bigint, changes: readonly PolicyChangeRef[]): Promise<void> {
  const unique = new Map(changes.map((c) => [`${c.kind}\u0000${c.key}`, c]));
  if (unique.size === 0) return;
  await insertJsonRows(tx, "PolicyChange", { revision: "bigint", kind: "text", key: "text" }, [...unique.values()].map((c) => ({ revision: revision.toString(), kind: c.kind, key: c.key })));
}
