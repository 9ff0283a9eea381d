// `apply`: make the database match a world file, in one transaction, idempotently.
// Sections present in the file are authoritative; absent sections are untouched. The plan is the
// difference of two canonical worlds (the database's export and the file), so applying the same
// file twice changes nothing, and every change is recorded as an admin-activity entry together
// with a single revision bump.
import { createHash } from "node:crypto";
import { Prisma, type PrismaClient } from "@/lib/generated/prisma/client";
import type { NodeKind } from "@/lib/generated/prisma/enums";
import { AppError } from "@/lib/errors";
import { canonicalJson } from "@/lib/audit/chain";
import { recordAdminActivity, type AdminActivity, type BindingDelta } from "@/lib/audit/admin";
import { bumpRevision, etagFor, recordChanges, type PolicyChangeRef } from "@/lib/db/revision";
import { canonicalEntry, canonicalWorld, KEY, type Entry } from "./canonical";
import { exportWorld } from "./export";
import { audienceFor, parseResourceName } from "./names";
import type { World } from "./schema";
import { validateWorld, type WorldCatalog } from "./validate";

type Tx = Prisma.TransactionClient;
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

export function bindingDeltas(before: Entry<"policies"> | undefined, after: Entry<"policies"> | undefined): BindingDelta[] {
  const flat = (p: Entry<"policies"> | undefined) =>
    new Map(
      (p?.bindings ?? []).flatMap((b) =>
        b.members.map((m) => {
          const d: BindingDelta = { action: "ADD", role: b.role, member: m, ...(b.condition ? { condition: b.condition } : {}) };
          return [JSON.stringify([b.role, m, b.condition ?? null]), d] as const;
        }),
      ),
    );
  const a = flat(before);
  const b = flat(after);
  return [
    ...[...b].filter(([k]) => !a.has(k)).map(([, d]) => ({ ...d, action: "ADD" as const })),
    ...[...a].filter(([k]) => !b.has(k)).map(([, d]) => ({ ...d, action: "REMOVE" as const })),
  ];
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
      const w = new Writer(tx, revision, desired);
      for (const c of changes) await w.apply(c);
      await w.removeOrphanContainers();
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

function changeRef(c: Change): PolicyChangeRef {
  switch (c.section) {
    case "organizations":
    case "folders":
    case "projects":
    case "resources":
      return { kind: "node", key: c.key };
    case "users":
    case "serviceAccounts":
      return { kind: "principal", key: c.key };
    case "groups":
      return { kind: "group", key: c.key };
    case "customRoles":
      return { kind: "customRoles", key: "*" };
    case "accessLevels":
      return { kind: "accessLevels", key: "*" };
    case "trustedIssuers":
      return { kind: "trustedIssuer", key: c.key };
    case "policies":
      return { kind: "policy", key: c.key };
    case "denyPolicies":
      return { kind: "denyPolicies", key: c.key.split("#")[0] ?? c.key };
  }
}

/** Executes one planned change against the database, noting what the engine must reload. */
class Writer {
  readonly changed: PolicyChangeRef[] = [];

  constructor(
    private tx: Tx,
    private revision: bigint,
    private desired: World,
  ) {}

  async apply(c: Change): Promise<void> {
    this.changed.push(changeRef(c));
    const tx = this.tx;
    const after = c.after as never;
    switch (c.section) {
      case "organizations":
      case "folders":
      case "projects": {
        if (c.action === "delete") return void (await this.deleteNode(c.key));
        const e = after as Entry<"organizations"> & Partial<Entry<"projects">> & Partial<Entry<"folders">>;
        const kind: NodeKind = c.section === "organizations" ? "ORGANIZATION" : c.section === "folders" ? "FOLDER" : "PROJECT";
        const data = {
          kind,
          shortId: e.id,
          parentName: e.parent ?? null,
          displayName: e.displayName ?? "",
          domain: e.domain ?? null,
          projectNumber: e.number ?? null,
          implicit: false,
        };
        await tx.node.upsert({ where: { name: c.key }, create: { name: c.key, ...data }, update: data });
        if (c.section === "projects" && c.action === "update") await this.refreshAudiences(e.id, e.number!);
        return;
      }
      case "resources": {
        if (c.action === "delete") return void (await this.deleteNode(c.key));
        const r = after as Entry<"resources">;
        const parsed = parseResourceName(r.name)!;
        await this.ensureContainers(parsed.parent!);
        const project = await tx.node.findUniqueOrThrow({ where: { name: `projects/${parsed.project}` } });
        const data = {
          kind: parsed.kind,
          shortId: parsed.shortId,
          parentName: parsed.parent,
          displayName: r.displayName ?? "",
          iapEnabled: r.iap ?? null,
          hosts: r.hosts ?? [],
          pathPrefix: r.pathPrefix ?? null,
          audience: audienceFor(parsed, project.projectNumber ?? ""),
          implicit: false,
        };
        await tx.node.upsert({ where: { name: r.name }, create: { name: r.name, ...data }, update: data });
        return;
      }
      case "users":
      case "serviceAccounts": {
        if (c.action === "delete") return void (await this.deletePrincipal(c.key));
        const p = after as Entry<"serviceAccounts">;
        const sa = c.section === "serviceAccounts";
        const data = {
          kind: sa ? ("SERVICE_ACCOUNT" as const) : ("USER" as const),
          displayName: p.displayName ?? "",
          description: p.description ?? "",
          disabled: p.disabled ?? false,
          projectName: sa ? `projects/${p.email.match(/@([^.]+)\./)![1]}` : null,
        };
        await tx.principal.upsert({ where: { email: p.email }, create: { email: p.email, ...data }, update: data });
        return;
      }
      case "groups": {
        if (c.action === "delete") return void (await this.deleteGroup(c.key));
        const g = after as Entry<"groups">;
        const data = { displayName: g.displayName ?? "", description: g.description ?? "" };
        await tx.group.upsert({ where: { email: g.email }, create: { email: g.email, ...data }, update: data });
        await tx.groupMember.deleteMany({ where: { groupEmail: g.email } });
        if (g.members?.length) await tx.groupMember.createMany({ data: g.members.map((member) => ({ groupEmail: g.email, member })) });
        return;
      }
      case "customRoles": {
        if (c.action === "delete") return void (await tx.role.update({ where: { name: c.key }, data: { deleted: true, etag: etagFor(this.revision) } }));
        const r = after as Entry<"customRoles">;
        const data = {
          parentName: r.name.split("/roles/")[0]!,
          title: r.title ?? "",
          description: r.description ?? "",
          stage: r.stage ?? "GA",
          permissions: r.permissions,
          deleted: false,
          etag: etagFor(this.revision),
        };
        await tx.role.upsert({ where: { name: r.name }, create: { name: r.name, ...data }, update: data });
        return;
      }
      case "accessLevels": {
        if (c.action === "delete") return void (await tx.accessLevel.delete({ where: { name: c.key } }));
        const l = after as Entry<"accessLevels">;
        const data = {
          title: l.title ?? "",
          description: l.description ?? "",
          basic: (l.basic ?? Prisma.DbNull) as Prisma.InputJsonValue,
          customExpression: l.custom?.expr.expression ?? null,
        };
        await tx.accessLevel.upsert({ where: { name: l.name }, create: { name: l.name, ...data }, update: data });
        return;
      }
      case "trustedIssuers": {
        if (c.action === "delete") return void (await tx.trustedIssuer.delete({ where: { issuer: c.key } }));
        const t = after as Entry<"trustedIssuers">;
        const data = { audiences: t.audiences, jwksUri: t.jwksUri ?? null, domains: t.domains, allowUnverifiedEmails: t.allowUnverifiedEmails ?? false };
        await tx.trustedIssuer.upsert({ where: { issuer: t.issuer }, create: { issuer: t.issuer, ...data }, update: data });
        return;
      }
      case "policies": {
        const p = (after as Entry<"policies"> | undefined) ?? { resource: c.key, bindings: [] };
        await this.setPolicy(p);
        return;
      }
      case "denyPolicies": {
        const [attachedTo = "", policyId = "default"] = c.key.split("#");
        const name = `policies/${encodeURIComponent(`cloudresourcemanager.googleapis.com/${attachedTo}`)}/denypolicies/${policyId}`;
        await tx.denyPolicy.deleteMany({ where: { name } });
        if (c.action === "delete") return;
        const d = after as Entry<"denyPolicies">;
        await tx.denyPolicy.create({
          data: {
            name,
            attachedTo,
            policyId,
            displayName: d.displayName ?? "",
            etag: etagFor(this.revision),
            revision: this.revision,
            rules: {
              create: d.rules.map((r, position) => ({
                position,
                description: r.description ?? "",
                deniedPrincipals: r.deniedPrincipals,
                exceptionPrincipals: r.exceptionPrincipals ?? [],
                deniedPermissions: r.deniedPermissions,
                exceptionPermissions: r.exceptionPermissions ?? [],
                conditionTitle: r.denialCondition?.title ?? null,
                conditionExpression: r.denialCondition?.expression ?? null,
              })),
            },
          },
        });
        return;
      }
    }
  }

  /** Replaces a node's allow policy (an empty binding list removes it). */
  async setPolicy(p: Entry<"policies">): Promise<void> {
    const tx = this.tx;
    await this.ensureContainers(p.resource);
    await tx.allowPolicy.deleteMany({ where: { resourceName: p.resource } });
    if (p.bindings.length === 0) return;
    await tx.allowPolicy.create({
      data: {
        resourceName: p.resource,
        version: p.bindings.some((b) => b.condition) ? 3 : 1,
        etag: etagFor(this.revision),
        revision: this.revision,
        bindings: {
          create: p.bindings.map((b, position) => ({
            position,
            role: b.role,
            conditionTitle: b.condition?.title ?? null,
            conditionDescription: b.condition?.description ?? null,
            conditionExpression: b.condition?.expression ?? null,
            members: { create: b.members.map((member, i) => ({ member, position: i })) },
          })),
        },
      },
    });
  }

  /** Creates the implicit containers (iap_web, iap_web/compute, …) down to `name`. */
  private async ensureContainers(name: string): Promise<void> {
    const chain: string[] = [];
    for (let cur: string | null = name; cur; cur = parseResourceName(cur)?.parent ?? null) {
      const parsed = parseResourceName(cur);
      if (!parsed || ["ORGANIZATION", "FOLDER", "PROJECT"].includes(parsed.kind)) break;
      chain.unshift(cur);
    }
    for (const n of chain) {
      const parsed = parseResourceName(n)!;
      const exists = await this.tx.node.findUnique({ where: { name: n }, select: { name: true } });
      if (exists) continue;
      const project = await this.tx.node.findUniqueOrThrow({ where: { name: `projects/${parsed.project}` } });
      this.changed.push({ kind: "node", key: n });
      await this.tx.node.create({
        data: {
          name: n,
          kind: parsed.kind,
          parentName: parsed.parent,
          shortId: parsed.shortId,
          implicit: true,
          audience: audienceFor(parsed, project.projectNumber ?? ""),
        },
      });
    }
  }

  private async refreshAudiences(projectId: string, number: string): Promise<void> {
    const nodes = await this.tx.node.findMany({ where: { name: { startsWith: `projects/${projectId}/` } } });
    for (const n of nodes) {
      const parsed = parseResourceName(n.name);
      if (!parsed) continue;
      await this.tx.node.update({ where: { name: n.name }, data: { audience: audienceFor(parsed, number) } });
      this.changed.push({ kind: "node", key: n.name });
    }
  }

  private async deleteNode(name: string): Promise<void> {
    const children = await this.tx.node.findMany({ where: { parentName: name }, select: { name: true, implicit: true } });
    // Implicit containers go with their parent; declared children were deleted first (plan order).
    for (const c of children) {
      if (c.implicit) await this.deleteNode(c.name);
    }
    this.changed.push({ kind: "node", key: name });
    await this.tx.role.deleteMany({ where: { parentName: name, deleted: true } });
    try {
      await this.tx.node.delete({ where: { name } });
    } catch (e) {
      if (e instanceof Prisma.PrismaClientKnownRequestError) {
        throw new AppError("FAILED_PRECONDITION", `cannot delete ${name}: other entities still belong to it (${e.code})`);
      }
      throw e;
    }
  }

  /** Containers that are implicit, childless and policy-less are removed after deletions. */
  async removeOrphanContainers(): Promise<void> {
    for (;;) {
      const orphans = await this.tx.node.findMany({
        where: { implicit: true, children: { none: {} }, allowPolicy: null, denyPolicies: { none: {} } },
        select: { name: true },
      });
      const keep = new Set((this.desired.policies ?? []).map((p) => p.resource));
      const gone = orphans.filter((o) => !keep.has(o.name));
      if (gone.length === 0) return;
      await this.tx.node.deleteMany({ where: { name: { in: gone.map((o) => o.name) } } });
      for (const o of gone) this.changed.push({ kind: "node", key: o.name });
    }
  }

  /**
   * A deleted principal's bindings and memberships become `deleted:{kind}:{email}?uid={id}`, so
   * a new account with the same email inherits nothing (IAM semantics).
   */
  private async deletePrincipal(email: string): Promise<void> {
    const p = await this.tx.principal.findUniqueOrThrow({ where: { email } });
    const prefix = p.kind === "USER" ? "user" : "serviceAccount";
    await this.rewriteMember(`${prefix}:${email}`, `deleted:${prefix}:${email}?uid=${p.id}`);
    await this.tx.principal.delete({ where: { email } });
  }

  private async deleteGroup(email: string): Promise<void> {
    await this.rewriteMember(`group:${email}`, `deleted:group:${email}?uid=${crypto.randomUUID()}`);
    await this.tx.group.delete({ where: { email } });
  }

  private async rewriteMember(from: string, to: string): Promise<void> {
    const [bindings, groups] = await Promise.all([
      this.tx.bindingMember.findMany({ where: { member: from }, select: { binding: { select: { policyResourceName: true } } } }),
      this.tx.groupMember.findMany({ where: { member: from }, select: { groupEmail: true } }),
    ]);
    for (const b of bindings) this.changed.push({ kind: "policy", key: b.binding.policyResourceName });
    for (const g of groups) this.changed.push({ kind: "group", key: g.groupEmail });
    await this.tx.bindingMember.updateMany({ where: { member: from }, data: { member: to } });
    await this.tx.groupMember.updateMany({ where: { member: from }, data: { member: to } });
  }
}

export { canonicalEntry };
