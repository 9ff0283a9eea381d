// `apply`: make the database match a world file, in one transaction, idempotently.
// Sections present in the file are authoritative; absent sections are untouched. The plan is the
// difference of two canonical worlds (the database's export and the file), so applying the same
// file twice changes nothing, and every change is recorded as an admin-activity entry together
// with a single revision bump.
//
// It is one lib/admin mutation (runMutation): the revision row lock serialises it with every
// other writer, the plan is made from the database as of that lock, and the changes, their
// records and the revision commit together (a dry run rolls all of it back). Runs of changes
// that are the same kind of write go to the set-based writers (lib/db/bulk.ts) — one statement
// per table instead of one or more per row — which is what lets a 10k world apply in seconds.
import { createHash } from "node:crypto";
import type { Prisma, PrismaClient } from "@/lib/generated/prisma/client";
import { AppError } from "@/lib/errors";
import { canonicalJson } from "@/lib/audit/chain";
import { bindingDeltas } from "@/lib/audit/admin";
import * as bulk from "@/lib/db/bulk";
import type { RowWriter } from "@/lib/db/writers";
import type { Actor, AdminContext } from "@/lib/admin/context";
import { runMutation, type MutationAudit, type MutationScope } from "@/lib/admin/mutation";
import { canonicalEntry, canonicalWorld, KEY, type Entry } from "./canonical";
import { exportWorld } from "./export";
import { parseResourceName } from "./names";
import type { World } from "./schema";
import { validateWorld, type WorldCatalog } from "./validate";

type Section = keyof World;

export interface Change {
  section: Section;
  action: "create" | "update" | "delete";
  key: string;
  before?: unknown;
  after?: unknown;
}

export interface ApplyResult {
  changes: Change[];
  /** The revision the change was committed at (null for a dry run or no change). */
  revision: bigint | null;
}

/** Dependency order for creates/updates; deletes run in reverse. */
const ORDER: Section[] = [
  "organizations",
  "folders",
  "projects",
  "resources",
  "users",
  "serviceAccounts",
  "groups",
  "customRoles",
  "accessLevels",
  "trustedIssuers",
  "policies",
  "denyPolicies",
];

/** A project without an explicit number gets a stable one derived from its id. */
export function derivedProjectNumber(projectId: string): string {
  const n = BigInt("0x" + createHash("sha256").update(projectId).digest("hex").slice(0, 15)) % 900_000_000_000n;
  return (100_000_000_000n + n).toString();
}

function withDefaults(world: World): World {
  return {
    ...world,
    projects: world.projects?.map((p) => ({ ...p, number: p.number ?? derivedProjectNumber(p.id) })),
  };
}

function depth(key: string) {
  return key.split("/").length;
}

export function planChanges(current: World, desired: World): Change[] {
  const changes: Change[] = [];
  for (const section of ORDER) {
    const want = desired[section] as Entry<typeof section>[] | undefined;
    if (!want) continue;
    const key = KEY[section] as (e: Entry<typeof section>) => string;
    const have = new Map(((current[section] as Entry<typeof section>[] | undefined) ?? []).map((e) => [key(e), e]));
    const wanted = new Map(want.map((e) => [key(e), e]));
    for (const [k, after] of wanted) {
      const before = have.get(k);
      if (!before) changes.push({ section, action: "create", key: k, after });
      else if (canonicalJson(before) !== canonicalJson(after)) changes.push({ section, action: "update", key: k, before, after });
    }
    for (const [k, before] of have) if (!wanted.has(k)) changes.push({ section, action: "delete", key: k, before });
  }
  // Parents before children when creating; children before parents when deleting. Principals
  // and groups are deleted before policies are written, so the deleted: rewrite never touches a
  // binding that the file itself sets.
  const rank = (c: Change) => ORDER.indexOf(c.section);
  const phase = (c: Change) =>
    c.action !== "delete" ? (rank(c) < ORDER.indexOf("policies") ? 0 : 2) : ["users", "serviceAccounts", "groups"].includes(c.section) ? 1 : 3;
  return changes.sort(
    (a, b) =>
      phase(a) - phase(b) ||
      (a.action === "delete" ? rank(b) - rank(a) || depth(b.key) - depth(a.key) || folderDepth(b, changes) - folderDepth(a, changes) : rank(a) - rank(b) || depth(a.key) - depth(b.key) || folderDepth(a, changes) - folderDepth(b, changes)),
  );
}

/** Nested folders must be created parent-first; their names do not show nesting, so count it. */
function folderDepth(c: Change, all: Change[]): number {
  if (c.section !== "folders") return 0;
  const parents = new Map(all.filter((x) => x.section === "folders").map((x) => [x.key, ((x.after ?? x.before) as Entry<"folders">).parent]));
  let d = 0;
  for (let p = parents.get(c.key); p && d < 100; p = parents.get(p)) d++;
  return d;
}

export function describeChange(c: Change): string {
  const sign = { create: "+", update: "~", delete: "-" }[c.action];
  const label = c.section.replace(/s$/, "").replace(/ie$/, "y");
  let detail = "";
  if (c.section === "policies") {
    const deltas = bindingDeltas(c.before as Entry<"policies"> | undefined, c.after as Entry<"policies"> | undefined);
    detail = deltas.map((d) => `\n    ${d.action === "ADD" ? "+" : "-"} ${d.role} ${d.member}${d.condition ? ` if "${d.condition.title}"` : ""}`).join("");
  } else if (c.section === "groups") {
    const before = new Set((c.before as Entry<"groups"> | undefined)?.members ?? []);
    const after = new Set((c.after as Entry<"groups"> | undefined)?.members ?? []);
    detail = [...after].filter((m) => !before.has(m)).map((m) => `\n    + member ${m}`).join("") + [...before].filter((m) => !after.has(m)).map((m) => `\n    - member ${m}`).join("");
  }
  return `${sign} ${label} ${c.key}${detail}`;
}

const SERVICE: Record<Section, string> = {
  organizations: "cloudresourcemanager.googleapis.com",
  folders: "cloudresourcemanager.googleapis.com",
  projects: "cloudresourcemanager.googleapis.com",
  resources: "iap.googleapis.com",
  users: "admin.googleapis.com",
  serviceAccounts: "iam.googleapis.com",
  groups: "cloudidentity.googleapis.com",
  customRoles: "iam.googleapis.com",
  accessLevels: "accesscontextmanager.googleapis.com",
  trustedIssuers: "gatehouse.local",
  policies: "iap.googleapis.com",
  denyPolicies: "iam.googleapis.com",
};

const NOUN: Record<Section, string> = {
  organizations: "Organization",
  folders: "Folder",
  projects: "Project",
  resources: "Resource",
  users: "User",
  serviceAccounts: "ServiceAccount",
  groups: "Group",
  customRoles: "Role",
  accessLevels: "AccessLevel",
  trustedIssuers: "TrustedIssuer",
  policies: "Policy",
  denyPolicies: "DenyPolicy",
};

function auditFor(c: Change): MutationAudit {
  const verb = { create: "Create", update: "Update", delete: "Delete" }[c.action];
  const resourceName =
    c.section === "users" ? `users/${c.key}` : c.section === "groups" ? `groups/${c.key}` : c.section === "serviceAccounts" ? `serviceAccounts/${c.key}` : c.key.split("#")[0] ?? c.key;
  if (c.section === "policies") {
    const parsed = parseResourceName(c.key);
    const service = parsed && ["ORGANIZATION", "FOLDER", "PROJECT"].includes(parsed.kind) ? "cloudresourcemanager.googleapis.com" : SERVICE.policies;
    return {
      methodName: "SetIamPolicy",
      serviceName: service,
      resourceName,
      bindingDeltas: bindingDeltas(c.before as Entry<"policies"> | undefined, c.after as Entry<"policies"> | undefined),
      request: { policy: (c.after ?? { bindings: [] }) as Prisma.InputJsonValue, source: "world-file" },
    };
  }
  return {
    methodName: `${verb}${NOUN[c.section]}`,
    serviceName: SERVICE[c.section],
    resourceName,
    request: { before: (c.before ?? null) as Prisma.InputJsonValue, after: (c.after ?? null) as Prisma.InputJsonValue, source: "world-file" } as Prisma.InputJsonValue,
  };
}

/** The world as it will be after apply: the file's sections, the database's for the others. */
function merged(current: World, desired: World): World {
  const out: World = {};
  for (const s of ORDER) (out as Record<string, unknown>)[s] = desired[s] ?? current[s];
  return out;
}

export interface ApplyOptions {
  /** Plan, write and check everything, then roll it all back: the changes come back, nothing is kept. */
  dryRun?: boolean;
  /**
   * Who applies, when the first argument is a database client rather than an AdminContext: a
   * system actor, or its name ("system:cli"; a name without the prefix gets it). Default
   * SYSTEM_CLI.
   */
  actor?: Actor | string;
  catalog: WorldCatalog;
  /**
   * Reference checks (unknown roles, undeclared groups, group cycles…). On by default and always
   * on in the CLI; off only to load states the engine must survive though no write creates them
   * (the decision-case table's robustness worlds).
   */
  referenceChecks?: boolean;
}

function systemActor(a: Actor | string | undefined): Actor {
  if (a === undefined) return { kind: "system", name: "system:cli" };
  if (typeof a !== "string") return a;
  return { kind: "system", name: a.startsWith("system:") ? (a as `system:${string}`) : `system:${a}` };
}

/**
 * Applies a world file as one mutation. The actor must be a system actor (the CLI, the seed):
 * a world file rewrites instance-wide things (organizations, issuers, every policy), which no
 * per-change authorisation of a principal is defined for; principals change the world through
 * the admin API's methods.
 */
export async function applyWorld(target: AdminContext | PrismaClient, file: World, opts: ApplyOptions): Promise<ApplyResult> {
  const ctx: AdminContext = "actor" in target && "db" in target ? target : { db: target, actor: systemActor(opts.actor) };
  if (ctx.actor.kind !== "system") throw new AppError("PERMISSION_DENIED", "a world file is applied by the CLI or the seed (a system actor), not by a principal");
  const { value, revision } = await runMutation(ctx, (m) => applyWorldIn(m, file, opts), { dryRun: opts.dryRun });
  return { changes: value, revision };
}

/** The body of applyWorld, inside a mutation that may do more (the seed adds its console account). */
export async function applyWorldIn(m: MutationScope, file: World, opts: Pick<ApplyOptions, "catalog" | "referenceChecks">): Promise<Change[]> {
  const desired = canonicalWorld(withDefaults(file));
  const current = await exportWorld(m.tx);
  const problems = opts.referenceChecks === false ? [] : validateWorld(merged(current, desired), opts.catalog);
  if (problems.length) throw new AppError("FAILED_PRECONDITION", `the world file is inconsistent (${problems.length} problem${problems.length > 1 ? "s" : ""})`, problems);
  const changes = planChanges(current, desired);
  if (changes.length === 0) return changes;
  await writeChanges(m.write, changes);
  await m.write.removeOrphanContainers(new Set((desired.policies ?? []).map((p) => p.resource)));
  for (const c of changes) m.audit(auditFor(c));
  return changes;
}

/**
 * Which set-based writer (lib/db/bulk.ts) a change can go to, if any: creates of containers,
 * creates and updates of resources, principals, groups and policies (upserts and replacements,
 * whatever the row held). Container updates (a changed project number re-derives audiences
 * below it) and deletes (the deleted: rewrite) stay row by row.
 */
function batchOf(c: Change): string | null {
  switch (c.section) {
    case "organizations":
    case "folders":
    case "projects":
      return c.action === "create" ? "containers" : null;
    case "resources":
    case "groups":
      return c.action === "delete" ? null : c.section;
    case "users":
    case "serviceAccounts":
      return c.action === "delete" ? null : "principals";
    case "policies":
      return "policies"; // a delete is a replacement by no bindings
    default:
      return null;
  }
}

/**
 * Executes the plan in its order: each run of consecutive changes with the same batch goes to
 * one set-based write (which has the effect of writing them one by one, in order), every other
 * change to its row writer.
 */
async function writeChanges(w: RowWriter, changes: readonly Change[]): Promise<void> {
  for (let i = 0; i < changes.length; ) {
    const batch = batchOf(changes[i]!);
    let j = i + 1;
    if (batch) while (j < changes.length && batchOf(changes[j]!) === batch) j++;
    const run = changes.slice(i, j);
    i = j;
    const after = <S extends Section>(c: Change) => c.after as Entry<S>;
    switch (batch) {
      case null:
        await writeChange(w, run[0]!);
        break;
      case "containers":
        await bulk.createContainers(w, run.map((c) => containerInput(c.section, c.key, after<"projects">(c) as Entry<"organizations"> & Entry<"projects">)));
        break;
      case "resources":
        await bulk.upsertResources(w, run.map((c) => after<"resources">(c)));
        break;
      case "principals":
        await bulk.upsertPrincipals(w, run.map((c) => ({ ...after<"serviceAccounts">(c), kind: c.section === "users" ? "USER" : "SERVICE_ACCOUNT" })));
        break;
      case "groups":
        await bulk.upsertGroups(w, run.map((c) => ({ ...after<"groups">(c), members: after<"groups">(c).members ?? [] })));
        break;
      case "policies":
        await bulk.setPolicies(w, run.map((c) => after<"policies">(c) ?? { resource: c.key, bindings: [] }));
        break;
    }
  }
}

function containerInput(section: Section, name: string, e: Entry<"organizations"> & Partial<Entry<"projects">> & Partial<Entry<"folders">>) {
  const kind = section === "organizations" ? "ORGANIZATION" : section === "folders" ? "FOLDER" : "PROJECT";
  return { kind, name, shortId: e.id, parent: e.parent ?? null, displayName: e.displayName, domain: e.domain, projectNumber: e.number } as const;
}

/** Executes one planned change through the row writers (lib/db/writers.ts). */
async function writeChange(w: RowWriter, c: Change): Promise<void> {
  const after = c.after as never;
  switch (c.section) {
    case "organizations":
    case "folders":
    case "projects":
      return c.action === "delete" ? w.deleteNode(c.key) : w.upsertContainer(containerInput(c.section, c.key, after));
    case "resources":
      return c.action === "delete" ? w.deleteNode(c.key) : w.upsertResource(after as Entry<"resources">);
    case "users":
    case "serviceAccounts":
      if (c.action === "delete") return w.deletePrincipal(c.key);
      return w.upsertPrincipal({ ...(after as Entry<"serviceAccounts">), kind: c.section === "users" ? "USER" : "SERVICE_ACCOUNT" });
    case "groups":
      return c.action === "delete" ? w.deleteGroup(c.key) : w.upsertGroup({ ...(after as Entry<"groups">), members: (after as Entry<"groups">).members ?? [] });
    case "customRoles":
      return c.action === "delete" ? w.deleteCustomRole(c.key) : w.upsertCustomRole(after as Entry<"customRoles">);
    case "accessLevels": {
      if (c.action === "delete") return w.deleteAccessLevel(c.key);
      const l = after as Entry<"accessLevels">;
      return w.upsertAccessLevel({ name: l.name, title: l.title, description: l.description, basic: l.basic, customExpression: l.custom?.expr.expression });
    }
    case "trustedIssuers":
      return c.action === "delete" ? w.deleteTrustedIssuer(c.key) : w.upsertTrustedIssuer(after as Entry<"trustedIssuers">);
    case "policies": {
      const p = (after as Entry<"policies"> | undefined) ?? { resource: c.key, bindings: [] };
      return w.setPolicy(p.resource, p.bindings);
    }
    case "denyPolicies": {
      const [attachedTo = "", policyId = "default"] = c.key.split("#");
      return w.setDenyPolicy(attachedTo, policyId, c.action === "delete" ? null : (after as Entry<"denyPolicies">));
    }
  }
}

export { canonicalEntry };
