// Set-based row writing: many rows in one statement, for changes too large to write row by row
// (`apply` of a whole world: 10,000 principals, 20,000 bindings). Each function has the same
// effect as calling its RowWriter counterpart (lib/db/writers.ts) once per input, in input order
// — same rows, same implicit containers, same etags, same change references — so either path may
// be used for any input; RowWriter stays the one to read for what a write means (its setPolicy
// is one call of setPolicies here: policies of 1,000 members are written by the API too).
//
// How: one INSERT … SELECT FROM json_to_recordset($1) per table, the rows passed as one JSON
// parameter (Prisma's createMany compiles a query per chunk on the event loop and nested creates
// insert row by row: 10–50x slower at these sizes). Foreign keys are checked at the end of each
// statement, so a statement may hold parents and children in any order.
import { randomUUID } from "node:crypto";
import type { Prisma } from "@/lib/generated/prisma/client";
import { AppError } from "@/lib/errors";
import { audienceFor, parseResourceName, type ParsedName } from "@/lib/world/names";
import { insertJsonRows, jsonRowsInsertSql, type Columns } from "./json-rows";
import { etagFor } from "./revision";
import { Statement } from "./statement";
import type { ContainerInput, PolicyBinding, PrincipalInput, ResourceInput, RowWriter } from "./writers";
import type { StoredPolicy } from "./policy-rows";

type Tx = Prisma.TransactionClient;

const NODE_COLUMNS: Columns = {
  name: "text",
  kind: '"NodeKind"',
  parentName: "text",
  shortId: "text",
  displayName: "text",
  implicit: "boolean",
  domain: "text",
  projectNumber: "text",
  iapEnabled: "boolean",
  hosts: "text[]",
  pathPrefix: "text",
  audience: "text",
};

/** The project number of each named project (projects that do not exist are missing). */
async function projectNumbers(tx: Tx, projectIds: Iterable<string>): Promise<Map<string, string | null>> {
  const names = [...new Set(projectIds)].map((p) => `projects/${p}`);
  const rows = names.length ? await tx.node.findMany({ where: { name: { in: names } }, select: { shortId: true, projectNumber: true } }) : [];
  return new Map(rows.map((r) => [r.shortId ?? "", r.projectNumber]));
}

function numberOf(numbers: ReadonlyMap<string, string | null>, projectId: string | null | undefined): string {
  if (!projectId || !numbers.has(projectId)) throw new AppError("FAILED_PRECONDITION", `project ${projectId ?? "(none)"} does not exist`);
  return numbers.get(projectId) ?? "";
}

/** The implicit containers (iap_web, iap_web/compute, …) from the project down to `name`, top first. */
function containerChain(name: string): ParsedName[] {
  const chain: ParsedName[] = [];
  for (let cur: string | null = name; cur; ) {
    const parsed = parseResourceName(cur);
    if (!parsed || ["ORGANIZATION", "FOLDER", "PROJECT"].includes(parsed.kind)) break;
    chain.unshift(parsed);
    cur = parsed.parent;
  }
  return chain;
}

/**
 * Rows for the implicit containers that `names` need and that neither exist nor are in
 * `declared` (nodes the same statement writes), as RowWriter.ensureContainers would create them.
 */
async function missingContainers(w: RowWriter, names: Iterable<string>, declared: ReadonlySet<string>): Promise<object[]> {
  const needed = new Map<string, ParsedName>();
  for (const n of names) for (const p of containerChain(n)) if (!declared.has(p.name)) needed.set(p.name, p);
  if (needed.size === 0) return [];
  const existing = new Set((await w.tx.node.findMany({ where: { name: { in: [...needed.keys()] } }, select: { name: true } })).map((r) => r.name));
  const missing = [...needed.values()].filter((p) => !existing.has(p.name));
  const numbers = await projectNumbers(w.tx, missing.map((p) => p.project ?? ""));
  return missing.map((p) => {
    const number = numberOf(numbers, p.project);
    w.changed.push({ kind: "node", key: p.name });
    return { name: p.name, kind: p.kind, parentName: p.parent, shortId: p.shortId, displayName: "", implicit: true, hosts: [], audience: audienceFor(p, number) };
  });
}

/** The columns RowWriter's upserts write on an existing node: a container's, a resource's. */
const CONTAINER_UPDATE = ["kind", "shortId", "parentName", "displayName", "domain", "projectNumber", "implicit"];
const RESOURCE_UPDATE = ["kind", "shortId", "parentName", "displayName", "iapEnabled", "hosts", "pathPrefix", "audience", "implicit"];

/** Node rows, written as RowWriter upserts them (`update`: its columns); implicit rows never overwrite a node. */
async function insertNodes(tx: Tx, rows: readonly object[], update: readonly string[]): Promise<void> {
  await insertJsonRows(tx, "Node", NODE_COLUMNS, rows, {
    extra: { updatedAt: "now()" },
    suffix: `ON CONFLICT (name) DO UPDATE SET ${update.map((c) => `"${c}" = EXCLUDED."${c}"`).join(", ")}, "updatedAt" = now() WHERE NOT EXCLUDED.implicit`,
  });
}

/**
 * RowWriter.upsertContainer for each input — for containers that do not exist yet (a changed
 * project number re-derives audiences below it: that stays RowWriter's).
 */
export async function createContainers(w: RowWriter, containers: readonly ContainerInput[]): Promise<void> {
  await insertNodes(
    w.tx,
    containers.map((c) => {
      w.changed.push({ kind: "node", key: c.name });
      return {
        name: c.name,
        kind: c.kind,
        parentName: c.parent,
        shortId: c.shortId,
        displayName: c.displayName ?? "",
        implicit: false,
        domain: c.domain ?? null,
        projectNumber: c.projectNumber ?? null,
        hosts: [],
      };
    }),
    CONTAINER_UPDATE,
  );
}

/** RowWriter.upsertResource for each input (created or updated), with the implicit containers they need. */
export async function upsertResources(w: RowWriter, resources: readonly ResourceInput[]): Promise<void> {
  const parsed = resources.map((r) => {
    const p = parseResourceName(r.name);
    if (!p?.parent) throw new AppError("INVALID_ARGUMENT", `not a resource name: ${r.name}`);
    return p;
  });
  const declared = new Set(resources.map((r) => r.name));
  const containers = await missingContainers(
    w,
    parsed.map((p) => p.parent!),
    declared,
  );
  const numbers = await projectNumbers(w.tx, parsed.map((p) => p.project ?? ""));
  const rows = resources.map((r, i) => {
    const p = parsed[i]!;
    w.changed.push({ kind: "node", key: r.name });
    return {
      name: r.name,
      kind: p.kind,
      parentName: p.parent,
      shortId: p.shortId,
      displayName: r.displayName ?? "",
      implicit: false,
      iapEnabled: r.iap ?? null,
      hosts: r.hosts ?? [],
      pathPrefix: r.pathPrefix ?? null,
      audience: audienceFor(p, numberOf(numbers, p.project)),
    };
  });
  // One statement: a declared resource may sit below an implicit container and above another.
  await insertNodes(w.tx, [...containers, ...rows], RESOURCE_UPDATE);
}

/** RowWriter.upsertPrincipal for each input. */
export async function upsertPrincipals(w: RowWriter, principals: readonly PrincipalInput[]): Promise<void> {
  const rows = principals.map((p) => {
    w.changed.push({ kind: "principal", key: p.email });
    const sa = p.kind === "SERVICE_ACCOUNT";
    return {
      id: randomUUID(),
      email: p.email,
      kind: p.kind,
      displayName: p.displayName ?? "",
      description: p.description ?? "",
      disabled: p.disabled ?? false,
      projectName: sa ? `projects/${p.email.match(/@([^.]+)\./)![1]}` : null,
    };
  });
  await insertJsonRows(
    w.tx,
    "Principal",
    { id: "text", email: "text", kind: '"PrincipalKind"', displayName: "text", description: "text", disabled: "boolean", projectName: "text" },
    rows,
    {
      extra: { updatedAt: "now()" },
      suffix: `ON CONFLICT (email) DO UPDATE SET kind = EXCLUDED.kind, "displayName" = EXCLUDED."displayName", description = EXCLUDED.description, disabled = EXCLUDED.disabled, "projectName" = EXCLUDED."projectName", "updatedAt" = now()`,
    },
  );
}

/** RowWriter.upsertGroup for each input: the group row, and its members replaced when given. */
export async function upsertGroups(w: RowWriter, groups: readonly { email: string; displayName?: string; description?: string; members?: readonly string[] }[]): Promise<void> {
  if (groups.length === 0) return;
  await insertJsonRows(
    w.tx,
    "Group",
    { email: "text", displayName: "text", description: "text" },
    groups.map((g) => ({ email: g.email, displayName: g.displayName ?? "", description: g.description ?? "" })),
    { extra: { updatedAt: "now()" }, suffix: `ON CONFLICT (email) DO UPDATE SET "displayName" = EXCLUDED."displayName", description = EXCLUDED.description, "updatedAt" = now()` },
  );
  const replaced = groups.filter((g) => g.members);
  if (replaced.length) {
    await w.tx.groupMember.deleteMany({ where: { groupEmail: { in: replaced.map((g) => g.email) } } });
    await insertJsonRows(
      w.tx,
      "GroupMember",
      { groupEmail: "text", member: "text" },
      replaced.flatMap((g) => g.members!.map((member) => ({ groupEmail: g.email, member }))),
    );
  }
  for (const g of groups) w.changed.push({ kind: "group", key: g.email });
}

/** A stored binding with what matching needs: its id, place, identity (role and condition) and members in order. */
interface StoredBinding {
  id: string;
  position: number;
  key: string;
  members: string[];
}

/** A binding's identity within its policy: its role and condition, as stored. */
function bindingKey(role: string, title: string | null, description: string | null, expression: string | null): string {
  return JSON.stringify([role, title, description, expression]);
}

/** A stored policy as setPolicies diffs against it (see readPoliciesForWrite). */
export interface PolicyForWrite {
  /** Whether the policy has a row (then its node and the containers above it exist). */
  exists: boolean;
  etag: string | null;
  /** Its bindings as readPolicies gives them (getIamPolicy's shape). */
  bindings: PolicyBinding[];
  stored: readonly StoredBinding[];
}

/**
 * The stored policies of `resources` (every one of them: `exists: false` when it has no row), in
 * one query, in the form setPolicies writes the difference from. A caller that read them in its
 * transaction and wrote nothing since may hand them to setPolicies, which then reads nothing.
 */
export async function readPoliciesForWrite(tx: Tx, resources: readonly string[]): Promise<Map<string, PolicyForWrite>> {
  const out = new Map<string, PolicyForWrite>(resources.map((r) => [r, { exists: false, etag: null, bindings: [], stored: [] }]));
  if (resources.length === 0) return out;
  const rows = await tx.$queryRawUnsafe<{ policy: string; etag: string; id: string | null; position: number | null; role: string | null; title: string | null; description: string | null; expression: string | null; members: string | null }[]>(
    `SELECT p."resourceName" AS policy, p.etag, b.id, b.position, b.role, b."conditionTitle" AS title, b."conditionDescription" AS description,
       b."conditionExpression" AS expression,
       (SELECT COALESCE(json_agg(bm.member ORDER BY bm.position), '[]'::json) FROM "BindingMember" bm WHERE bm."bindingId" = b.id)::text AS members
     FROM "AllowPolicy" p LEFT JOIN "Binding" b ON b."policyResourceName" = p."resourceName"
     WHERE p."resourceName" IN (SELECT json_array_elements_text($1::json))
     ORDER BY p."resourceName", b.position`,
    JSON.stringify(resources),
  );
  for (const r of rows) {
    const entry = out.get(r.policy)!;
    entry.exists = true;
    entry.etag = r.etag;
    if (r.id === null) continue;
    const members = JSON.parse(r.members!) as string[];
    (entry.stored as StoredBinding[]).push({ id: r.id, position: Number(r.position), key: bindingKey(r.role!, r.title, r.description, r.expression), members });
    // As readPolicies (policy-rows.ts) shapes them.
    entry.bindings.push({
      role: r.role!,
      members,
      ...(r.expression !== null ? { condition: { title: r.title ?? "", expression: r.expression, ...(r.description ? { description: r.description } : {}) } } : {}),
    });
  }
  return out;
}

/** The policies each writer wrote through setPolicies, as readPolicies would read them back. */
const written = new WeakMap<RowWriter, Map<string, StoredPolicy>>();

/**
 * What `w` wrote through setPolicies (the last write of each policy), as stored. Only the row
 * writers change policy rows; of them, the deleted: rewrite and node deletions change policies
 * otherwise, and report other changes besides (principal, group, node) — so a mutation whose
 * changes are all policies found here stored exactly these.
 */
export function policiesWritten(w: RowWriter): ReadonlyMap<string, StoredPolicy> {
  return written.get(w) ?? new Map();
}

/**
 * RowWriter.setPolicy for each input: every policy replaced (its row kept, with the new etag,
 * when the bindings are empty, so its etag moves on). Written as the difference from what is
 * stored: a binding whose role and condition are stored already keeps its row, and only the
 * members that come or go (or move) are written — adding one member to a binding of 1,000 is
 * one row, not a thousand deleted and a thousand inserted. The rows left are those the plain
 * replacement would leave (binding ids aside).
 */
export async function setPolicies(
  w: RowWriter,
  policies: readonly { resource: string; bindings: readonly PolicyBinding[]; version?: number }[],
  /** What readPoliciesForWrite read of these policies in this transaction, nothing written since. */
  read?: ReadonlyMap<string, PolicyForWrite>,
  /**
   * The statement that will commit the transaction (lib/admin/mutation.ts MutationScope.commit):
   * the rows that do not need a statement of their own (all of them, unless bindings go or move)
   * are written with it, saving a round trip — and so are not there to read until then.
   */
  commit?: Statement,
): Promise<void> {
  if (policies.length === 0) return;
  const resources = policies.map((p) => p.resource);
  const missing = read ? resources.filter((r) => !read.has(r)) : resources;
  const stored = new Map([...(read ?? []), ...(missing.length ? await readPoliciesForWrite(w.tx, missing) : [])]);
  // A policy row means its node, and every container above it, exists.
  const unrooted = resources.filter((r) => !stored.get(r)?.exists);
  if (unrooted.length) await insertNodes(w.tx, await missingContainers(w, unrooted, new Set()), RESOURCE_UPDATE);
  const etag = etagFor(w.revision);
  const dropBindings: string[] = [];
  const moveBindings: { id: string; position: number }[] = [];
  const newBindings: object[] = [];
  const dropMembers: { bindingId: string; member: string }[] = [];
  const moveMembers: { bindingId: string; member: string; position: number }[] = [];
  const newMembers: { bindingId: string; member: string; position: number }[] = [];
  for (const p of policies) {
    const unmatched = [...(stored.get(p.resource)?.stored ?? [])];
    p.bindings.forEach((b, position) => {
      const key = bindingKey(b.role, b.condition?.title ?? null, b.condition?.description ?? null, b.condition?.expression ?? null);
      const at = unmatched.findIndex((o) => o.key === key);
      if (at < 0) {
        const id = randomUUID();
        newBindings.push({
          id,
          policyResourceName: p.resource,
          position,
          role: b.role,
          conditionTitle: b.condition?.title ?? null,
          conditionDescription: b.condition?.description ?? null,
          conditionExpression: b.condition?.expression ?? null,
        });
        b.members.forEach((member, i) => newMembers.push({ bindingId: id, member, position: i }));
        return;
      }
      const old = unmatched.splice(at, 1)[0]!;
      if (old.position !== position) moveBindings.push({ id: old.id, position });
      const was = new Map(old.members.map((m, i) => [m, i]));
      const keep = new Set(b.members);
      for (const m of old.members) if (!keep.has(m)) dropMembers.push({ bindingId: old.id, member: m });
      b.members.forEach((member, i) => {
        const before = was.get(member);
        if (before === undefined) newMembers.push({ bindingId: old.id, member, position: i });
        else if (before !== i) moveMembers.push({ bindingId: old.id, member, position: i });
      });
    });
    for (const old of unmatched) dropBindings.push(old.id);
    w.changed.push({ kind: "policy", key: p.resource });
    let mine = written.get(w);
    if (!mine) written.set(w, (mine = new Map()));
    mine.set(p.resource, {
      resourceName: p.resource,
      version: p.version ?? (p.bindings.some((b) => b.condition) ? 3 : 1),
      etag,
      revision: w.revision,
      bindings: p.bindings.map((b) => ({
        role: b.role,
        members: [...b.members],
        ...(b.condition ? { condition: { title: b.condition.title, expression: b.condition.expression, ...(b.condition.description ? { description: b.condition.description } : {}) } } : {}),
      })),
    });
  }
  const tx = w.tx;
  // Bindings that go or move first, each on its own: (policy, position) is unique at every row,
  // and statements within one statement run in no set order.
  if (dropBindings.length) await tx.$executeRawUnsafe(`DELETE FROM "Binding" WHERE id IN (SELECT json_array_elements_text($1::json))`, JSON.stringify(dropBindings));
  if (moveBindings.length) {
    // Parked below 0 first, so that no two share a position on the way.
    const moves = JSON.stringify(moveBindings);
    await tx.$executeRawUnsafe(`UPDATE "Binding" b SET position = -1 - v.position FROM json_to_recordset($1::json) AS v(id text, position integer) WHERE b.id = v.id`, moves);
    await tx.$executeRawUnsafe(`UPDATE "Binding" b SET position = v.position FROM json_to_recordset($1::json) AS v(id text, position integer) WHERE b.id = v.id`, moves);
  }
  // Then everything else in one statement (the commit's, when given) — the policy rows, new
  // bindings, members that go, move or come — none of which touches a row another touches (a
  // parent inserted beside its children is checked at the statement's end).
  const st = commit ?? new Statement();
  const param = st.param(
    JSON.stringify({
      policies: policies.map((p) => ({ resourceName: p.resource, version: p.version ?? (p.bindings.some((b) => b.condition) ? 3 : 1), etag, revision: w.revision.toString() })),
      bindings: newBindings,
      gone: dropMembers,
      moved: moveMembers,
      members: newMembers,
    }),
  );
  const part = (name: string) => `${param}::json -> '${name}'`;
  st.with(
    "policies",
    jsonRowsInsertSql("AllowPolicy", { resourceName: "text", version: "integer", etag: "text", revision: "bigint" }, {
      source: part("policies"),
      extra: { updatedAt: "now()" },
      suffix: `ON CONFLICT ("resourceName") DO UPDATE SET version = EXCLUDED.version, etag = EXCLUDED.etag, revision = EXCLUDED.revision, "updatedAt" = now()`,
    }),
  );
  if (newBindings.length) {
    st.with(
      "bindings",
      jsonRowsInsertSql(
        "Binding",
        { id: "text", policyResourceName: "text", position: "integer", role: "text", conditionTitle: "text", conditionDescription: "text", conditionExpression: "text" },
        { source: part("bindings") },
      ),
    );
  }
  if (dropMembers.length) {
    st.with("gone", `DELETE FROM "BindingMember" bm USING json_to_recordset(${part("gone")}) AS v("bindingId" text, member text) WHERE bm."bindingId" = v."bindingId" AND bm.member = v.member`);
  }
  if (moveMembers.length) {
    st.with("moved", `UPDATE "BindingMember" bm SET position = v.position FROM json_to_recordset(${part("moved")}) AS v("bindingId" text, member text, position integer) WHERE bm."bindingId" = v."bindingId" AND bm.member = v.member`);
  }
  if (newMembers.length) st.with("members", jsonRowsInsertSql("BindingMember", { bindingId: "text", member: "text", position: "integer" }, { source: part("members") }));
  if (!commit) await tx.$executeRawUnsafe(st.sql("SELECT 1"), ...st.params);
}
