// `apply`: make the database match a world file, in one transaction, idempotently.
// Sections present in the file are authoritative; absent sections are untouched. The plan is the
// difference of two canonical worlds (the database's export and the file), so applying the same
// file twice changes nothing, and every change is recorded as an admin-activity entry together
// with a single revision bump.
import { createHash } from "node:crypto";
import { Prisma, type PrismaClient } from "@/lib/generated/prisma/client";
import { AppError } from "@/lib/errors";
import { canonicalJson } from "@/lib/audit/chain";
import { bindingDeltas, recordAdminActivity, type AdminActivity } from "@/lib/audit/admin";
import { bumpRevision, recordChanges } from "@/lib/db/revision";
import { RowWriter } from "@/lib/db/writers";
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

function auditFor(c: Change, actor: string, revision: bigint): AdminActivity {
  const verb = { create: "Create", update: "Update", delete: "Delete" }[c.action];
  const resourceName =
    c.section === "users" ? `users/${c.key}` : c.section === "groups" ? `groups/${c.key}` : c.section === "serviceAccounts" ? `serviceAccounts/${c.key}` : c.key.split("#")[0] ?? c.key;
  if (c.section === "policies") {
    const parsed = parseResourceName(c.key);
    const service = parsed && ["ORGANIZATION", "FOLDER", "PROJECT"].includes(parsed.kind) ? "cloudresourcemanager.googleapis.com" : SERVICE.policies;
    return {
      actor,
      methodName: "SetIamPolicy",
      serviceName: service,
      resourceName,
      bindingDeltas: bindingDeltas(c.before as Entry<"policies"> | undefined, c.after as Entry<"policies"> | undefined),
      request: { policy: (c.after ?? { bindings: [] }) as Prisma.InputJsonValue, source: "world-file" },
      revision,
    };
  }
  return {
    actor,
    methodName: `${verb}${NOUN[c.section]}`,
    serviceName: SERVICE[c.section],
    resourceName,
    request: { before: (c.before ?? null) as Prisma.InputJsonValue, after: (c.after ?? null) as Prisma.InputJsonValue, source: "world-file" } as Prisma.InputJsonValue,
    revision,
  };
}

/** The world as it will be after apply: the file's sections, the database's for the others. */
function merged(current: World, desired: World): World {
  const out: World = {};
  for (const s of ORDER) (out as Record<string, unknown>)[s] = desired[s] ?? current[s];
  return out;
}

export interface ApplyOptions {
  dryRun?: boolean;
  actor: string;
  catalog: WorldCatalog;
  /**
   * Reference checks (unknown roles, undeclared groups, group cycles…). On by default and always
   * on in the CLI; off only to load states the engine must survive though no write creates them
   * (the decision-case table's robustness worlds).
   */
  referenceChecks?: boolean;
}

export async function applyWorld(prisma: PrismaClient, file: World, opts: ApplyOptions): Promise<ApplyResult> {
  const desired = canonicalWorld(withDefaults(file));
  return prisma.$transaction(
    async (tx) => {
      // Serialise applies (and every other IAM write, which also bumps the revision row).
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(7261001)`;
      const current = await exportWorld(tx);
      const problems = opts.referenceChecks === false ? [] : validateWorld(merged(current, desired), opts.catalog);
      if (problems.length) throw new AppError("FAILED_PRECONDITION", `the world file is inconsistent (${problems.length} problem${problems.length > 1 ? "s" : ""})`, problems);
      const changes = planChanges(current, desired);
      if (opts.dryRun || changes.length === 0) return { changes, revision: null };
      const revision = await bumpRevision(tx);
      const w = new RowWriter(tx, revision);
      for (const c of changes) await writeChange(w, c);
      await w.removeOrphanContainers(new Set((desired.policies ?? []).map((p) => p.resource)));
      await recordChanges(tx, revision, w.changed);
      await recordAdminActivity(
        tx,
        changes.map((c) => auditFor(c, opts.actor, revision)),
      );
      return { changes, revision };
    },
    { timeout: 120_000, maxWait: 30_000, isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted },
  );
}

/** Executes one planned change through the row writers (lib/db/writers.ts). */
async function writeChange(w: RowWriter, c: Change): Promise<void> {
  const after = c.after as never;
  switch (c.section) {
    case "organizations":
    case "folders":
    case "projects": {
      if (c.action === "delete") return w.deleteNode(c.key);
      const e = after as Entry<"organizations"> & Partial<Entry<"projects">> & Partial<Entry<"folders">>;
      const kind = c.section === "organizations" ? "ORGANIZATION" : c.section === "folders" ? "FOLDER" : "PROJECT";
      return w.upsertContainer({ kind, name: c.key, shortId: e.id, parent: e.parent ?? null, displayName: e.displayName, domain: e.domain, projectNumber: e.number });
    }
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
