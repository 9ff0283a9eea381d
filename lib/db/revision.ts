// The global policy revision: one counter, bumped by every IAM write inside the write's own
// transaction, and announced with NOTIFY (delivered on commit) so every instance's engine follows.
import type { Prisma } from "@/lib/generated/prisma/client";
import { insertJsonRows } from "./json-rows";
import { BINDINGS_JSON } from "./policy-rows";
import { Statement } from "./statement";

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

/**
 * A PolicyHistory row (lib/history/store.ts): the loader-shaped state of one changed unit as JSON
 * text, null when it is gone.
 */
export interface HistoryRow {
  kind: string;
  key: string;
  state: string | null;
}

/**
 * INSERT of PolicyHistory rows from the JSON array `source`, at the revision expression `revision`.
 * `state` travels as JSON text and is stored as json (kept as text: no jsonb re-encoding on a write
 * of thousands of units; it is only ever read back whole).
 */
export function historyInsertSql(source: string, revision: string): string {
  return `INSERT INTO "PolicyHistory" (kind, key, revision, state)
    SELECT r.kind, r.key, ${revision}, r.state::json FROM json_to_recordset(${source}) AS r(kind text, key text, state text)`;
}

/**
 * Commits revision `revision` (the locked one + 1) as parts of statement `st`: bumps the counter
 * (NOTIFY, delivered on commit), records what changed for the engines (PolicyChange), keeps the
 * new version of every changed policy (PolicyVersion, as readPolicies reads it; a policy whose row
 * is gone is kept with no etag and no bindings), the history of every other changed unit
 * (`history`, PolicyHistory) and when the revision was committed (PolicyRevisionTime).
 * `written`: policies whose stored form the caller knows (lib/db/bulk.ts policiesWritten, when
 * nothing else changed them) — kept as given instead of being rebuilt from their rows. Other
 * parts of `st` must not write policy rows (a version rebuilt from them would miss it). Returns
 * the statement's final query, whose one row's `value` is the revision the counter reached:
 * `revision` unless someone wrote without holding the lock.
 */
export function commitRevision(
  st: Statement,
  revision: bigint,
  changes: readonly PolicyChangeRef[],
  written: ReadonlyMap<string, { etag: string; bindings: unknown }> = new Map(),
  history: readonly HistoryRow[] = [],
): string {
  const unique = [...new Map(changes.map((c) => [`${c.kind}\u0000${c.key}`, { kind: c.kind, key: c.key }])).values()];
  const policies = [...new Set(changes.filter((c) => c.kind === "policy").map((c) => c.key))];
  const known = policies.filter((p) => written.has(p)).map((p) => ({ resourceName: p, etag: written.get(p)!.etag, bindings: JSON.stringify(written.get(p)!.bindings) }));
  const read = policies.filter((p) => !written.has(p));
  const rev = `${st.param(revision.toString())}::bigint`;
  // Only the parts this revision needs: an empty one still costs planning.
  const bumped = st.with("bumped", `UPDATE "PolicyRevision" SET value = value + 1, "updatedAt" = now() WHERE id = 1 RETURNING value`);
  if (unique.length) st.with("changes", `INSERT INTO "PolicyChange" (revision, kind, key) SELECT ${rev}, r.kind, r.key FROM json_to_recordset(${st.param(JSON.stringify(unique))}::json) AS r(kind text, key text)`);
  if (read.length) {
    st.with(
      "versions",
      `INSERT INTO "PolicyVersion" ("resourceName", revision, etag, bindings)
       SELECT n.name, ${rev}, p.etag, ${BINDINGS_JSON}
       FROM json_array_elements_text(${st.param(JSON.stringify(read))}::json) AS n(name) LEFT JOIN "AllowPolicy" p ON p."resourceName" = n.name`,
    );
  }
  if (known.length) {
    st.with(
      "known",
      `INSERT INTO "PolicyVersion" ("resourceName", revision, etag, bindings)
       SELECT k."resourceName", ${rev}, k.etag, k.bindings::json FROM json_to_recordset(${st.param(JSON.stringify(known))}::json) AS k("resourceName" text, etag text, bindings text)`,
    );
  }
  if (history.length) st.with("history", historyInsertSql(`${st.param(JSON.stringify(history))}::json`, rev));
  st.with("stamped", `INSERT INTO "PolicyRevisionTime" (revision, "committedAt") VALUES (${rev}, clock_timestamp())`);
  return `SELECT b.value FROM ${bumped} b, pg_notify(${st.param(REVISION_CHANNEL)}, b.value::text)`;
}
