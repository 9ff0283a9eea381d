// Admin-activity audit entries (Cloud Audit Log "activity" shape), written in the SAME
// transaction as the change they describe: a change without its record cannot commit.
import type { Prisma } from "@/lib/generated/prisma/client";
import { jsonRowsInsertSql, jsonRowsParam } from "@/lib/db/json-rows";
import { Statement } from "@/lib/db/statement";
import { chainHash } from "./chain";

export interface BindingDelta {
  action: "ADD" | "REMOVE";
  role: string;
  member: string;
  condition?: { title: string; description?: string; expression: string };
}

interface DeltaBinding {
  role: string;
  members: readonly string[];
  condition?: { title: string; description?: string; expression: string };
}

/**
 * Google's BindingDelta list between two versions of a policy: one ADD or REMOVE per (role,
 * member, condition) that is in one and not the other, additions first.
 */
export function bindingDeltas(before: { bindings: readonly DeltaBinding[] } | undefined, after: { bindings: readonly DeltaBinding[] } | undefined): BindingDelta[] {
  // Grouped by (role, condition), encoded once per binding: a policy of 1,000 members costs
  // set lookups, not 1,000 encodings.
  const flat = (p: { bindings: readonly DeltaBinding[] } | undefined) => {
    const out = new Map<string, { binding: DeltaBinding; members: Set<string> }>();
    for (const b of p?.bindings ?? []) {
      const c = b.condition;
      const key = JSON.stringify(c ? [b.role, c.title, c.description ?? null, c.expression] : [b.role]);
      let entry = out.get(key);
      if (!entry) out.set(key, (entry = { binding: b, members: new Set() }));
      for (const m of b.members) entry.members.add(m);
    }
    return out;
  };
  const only = (action: BindingDelta["action"], from: ReturnType<typeof flat>, other: ReturnType<typeof flat>): BindingDelta[] => {
    const out: BindingDelta[] = [];
    for (const [key, { binding, members }] of from) {
      const there = other.get(key)?.members;
      for (const member of members) {
        if (!there?.has(member)) out.push({ action, role: binding.role, member, ...(binding.condition ? { condition: binding.condition } : {}) });
      }
    }
    return out;
  };
  const a = flat(before);
  const b = flat(after);
  return [...only("ADD", b, a), ...only("REMOVE", a, b)];
}

export interface AdminActivity {
  actor: string;
  methodName: string;
  serviceName: string;
  resourceName: string;
  bindingDeltas?: BindingDelta[];
  request?: Prisma.InputJsonValue;
  response?: Prisma.InputJsonValue;
  callerIp?: string;
  userAgent?: string;
  revision?: bigint;
}

/** An admin-activity record's hashed fields, as an AdminActivityLog row holds them. */
export interface HashedAdminActivity {
  insertId: string;
  timestamp: Date;
  actor: string;
  methodName: string;
  serviceName: string;
  resourceName: string;
  bindingDeltas: unknown;
  request: unknown;
  response: unknown;
  callerIp: string | null;
  userAgent: string | null;
  revision: bigint | null;
}

/** The fields that the hash covers, in the form they are read back (see verify). */
export function hashedAdminFields(e: HashedAdminActivity) {
  return {
    insertId: e.insertId,
    timestamp: e.timestamp,
    actor: e.actor,
    methodName: e.methodName,
    serviceName: e.serviceName,
    resourceName: e.resourceName,
    bindingDeltas: e.bindingDeltas ?? null,
    request: e.request ?? null,
    response: e.response ?? null,
    callerIp: e.callerIp,
    userAgent: e.userAgent,
    revision: e.revision,
  };
}

const ADMIN_COLUMNS = {
  insertId: "text",
  timestamp: "timestamp(3)",
  actor: "text",
  methodName: "text",
  serviceName: "text",
  resourceName: "text",
  bindingDeltas: "jsonb",
  request: "jsonb",
  response: "jsonb",
  callerIp: "text",
  userAgent: "text",
  revision: "bigint",
  prevHash: "text",
  hash: "text",
};

/**
 * Appends `entries` to the admin-activity stream, in order, hash-chained onto its head (locked
 * until the transaction ends, so concurrent writers append one after the other). The chain is
 * computed here and the records are written in one statement: the hash covers each record as
 * verify reads it back (hashedAdminFields), so how the rows are inserted does not matter to it.
 */
export async function recordAdminActivity(
  tx: Prisma.TransactionClient,
  entries: AdminActivity[],
  /** The chain's head, when the caller locked it (FOR UPDATE) in this transaction already. */
  opts: { head?: string } = {},
): Promise<void> {
  if (entries.length === 0) return;
  const head = opts.head ?? (await lockAdminChainHead(tx));
  const st = new Statement();
  adminActivityParts(st, entries, head);
  await tx.$executeRawUnsafe(st.sql("SELECT 1"), ...st.params);
}

/**
 * Locks the head of the admin-activity chain (FOR UPDATE, until the transaction ends) and returns
 * its hash, making the head row when the stream has none yet.
 */
export async function lockAdminChainHead(tx: Prisma.TransactionClient): Promise<string> {
  let [head] = await tx.$queryRaw<{ lastHash: string }[]>`SELECT "lastHash" FROM "AuditChainHead" WHERE stream = 'admin_activity' FOR UPDATE`;
  if (!head) {
    // The stream's first record: make its head (or find the one a concurrent first record made).
    await tx.$executeRaw`INSERT INTO "AuditChainHead" (stream) VALUES ('admin_activity') ON CONFLICT DO NOTHING`;
    [head] = await tx.$queryRaw<{ lastHash: string }[]>`SELECT "lastHash" FROM "AuditChainHead" WHERE stream = 'admin_activity' FOR UPDATE`;
  }
  return head?.lastHash ?? "";
}

/**
 * The records of `entries` and the chain's new head (hash, seq, count) as parts of statement `st`
 * (lib/db/statement.ts), chained onto `head`: the hash of the head row the caller locked.
 */
export function adminActivityParts(st: Statement, entries: readonly AdminActivity[], head: string): void {
  if (entries.length === 0) return;
  let prevHash = head;
  const timestamp = new Date();
  const rows: object[] = [];
  for (const e of entries) {
    const row = {
      insertId: crypto.randomUUID(),
      timestamp,
      actor: e.actor,
      methodName: e.methodName,
      serviceName: e.serviceName,
      resourceName: e.resourceName,
      bindingDeltas: (e.bindingDeltas ?? null) as unknown,
      request: (e.request ?? null) as unknown,
      response: (e.response ?? null) as unknown,
      callerIp: e.callerIp ?? null,
      userAgent: e.userAgent ?? null,
      revision: e.revision ?? null,
    };
    const hash = chainHash(prevHash, hashedAdminFields(row));
    // Absent JSON values are SQL NULL (left out: a JSON null would be stored as JSON), as before.
    rows.push({
      ...row,
      timestamp: timestamp.toISOString(),
      bindingDeltas: e.bindingDeltas ?? undefined,
      request: e.request ?? undefined,
      response: e.response ?? undefined,
      revision: e.revision?.toString(),
      prevHash,
      hash,
    });
    prevHash = hash;
  }
  const records = st.with("audit_records", jsonRowsInsertSql("AdminActivityLog", ADMIN_COLUMNS, { source: `${st.param(jsonRowsParam(ADMIN_COLUMNS, rows))}::json`, suffix: "RETURNING seq" }));
  st.with(
    "audit_head",
    `UPDATE "AuditChainHead" SET "lastHash" = ${st.param(prevHash)}, "lastSeq" = (SELECT max(seq) FROM ${records}), "recordCount" = "recordCount" + ${st.param(rows.length)}
     WHERE stream = 'admin_activity'`,
  );
}
