// Row writers: the one place that turns IAM entities into database rows, inside a transaction
// that lib/admin's runMutation opened (the admin API, the console, `apply`, the seed all write
// through these). Each write notes what the engine must reload (`changed`); none of them
// authorises, validates or audits — that is the mutation's job, around them.
//
// Invariants kept here:
//   - implicit containers (iap_web, iap_web/compute, …) exist below every declared resource and
//     every policy-bearing node, and go when nothing needs them any more;
//   - a deleted principal's or group's bindings and memberships become `deleted:…?uid=…`, so a
//     new account with the same email inherits nothing (IAM semantics);
//   - etags are the revision being written (etagFor), so they change with every write;
//   - a resource's JWT audience follows its project's number.
import { Prisma } from "@/lib/generated/prisma/client";
import type { NodeKind } from "@/lib/generated/prisma/enums";
import { AppError } from "@/lib/errors";
import { etagFor, type PolicyChangeRef } from "./revision";
import { setPolicies } from "./bulk";
import { audienceFor, parseResourceName } from "@/lib/world/names";

type Tx = Prisma.TransactionClient;

export interface PolicyBinding {
  role: string;
  members: string[];
  condition?: { title: string; description?: string; expression: string };
}

export interface ContainerInput {
  kind: "ORGANIZATION" | "FOLDER" | "PROJECT";
  name: string;
  shortId: string;
  parent: string | null;
  displayName?: string;
  domain?: string;
  projectNumber?: string;
}

export interface ResourceInput {
  name: string;
  displayName?: string;
  iap?: boolean;
  hosts?: string[];
  pathPrefix?: string;
}

export interface PrincipalInput {
  email: string;
  kind: "USER" | "SERVICE_ACCOUNT";
  displayName?: string;
  description?: string;
  disabled?: boolean;
}

export interface DenyRuleInput {
  description?: string;
  deniedPrincipals: string[];
  exceptionPrincipals?: string[];
  deniedPermissions: string[];
  exceptionPermissions?: string[];
  denialCondition?: { title?: string; expression: string };
}

/** The deny policy's resource name (IAM v2): policies/{urlencoded attachment point}/denypolicies/{id}. */
export function denyPolicyName(attachedTo: string, policyId: string): string {
  return `policies/${encodeURIComponent(`cloudresourcemanager.googleapis.com/${attachedTo}`)}/denypolicies/${policyId}`;
}

export class RowWriter {
  readonly changed: PolicyChangeRef[] = [];

  constructor(
    readonly tx: Tx,
    /** The revision being written: etags and policy revisions carry it. */
    readonly revision: bigint,
  ) {}

  async upsertContainer(c: ContainerInput): Promise<void> {
    const data = {
      kind: c.kind as NodeKind,
      shortId: c.shortId,
      parentName: c.parent,
      displayName: c.displayName ?? "",
      domain: c.domain ?? null,
      projectNumber: c.projectNumber ?? null,
      implicit: false,
    };
    const before = c.kind === "PROJECT" ? await this.tx.node.findUnique({ where: { name: c.name }, select: { projectNumber: true } }) : null;
    await this.tx.node.upsert({ where: { name: c.name }, create: { name: c.name, ...data }, update: data });
    this.changed.push({ kind: "node", key: c.name });
    if (before && c.projectNumber && before.projectNumber !== c.projectNumber) await this.refreshAudiences(c.shortId, c.projectNumber);
  }

  async upsertResource(r: ResourceInput): Promise<void> {
    const parsed = parseResourceName(r.name);
    if (!parsed?.parent) throw new AppError("INVALID_ARGUMENT", `not a resource name: ${r.name}`);
    await this.ensureContainers(parsed.parent);
    const project = await this.projectOf(parsed.project);
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
    await this.tx.node.upsert({ where: { name: r.name }, create: { name: r.name, ...data }, update: data });
    this.changed.push({ kind: "node", key: r.name });
  }

  /**
   * Turns IAP on or off on a web resource or web type (an implicit container becomes declared, so
   * its switch is kept and exported), storing its OAuth client when one was created for it.
   */
  async setIap(name: string, enabled: boolean, oauthClient?: { clientId: string; sealedSecret: string }): Promise<void> {
    await this.tx.node.update({
      where: { name },
      data: { iapEnabled: enabled, implicit: false, ...(oauthClient ? { oauthClientId: oauthClient.clientId, oauthClientSecret: oauthClient.sealedSecret } : {}) },
    });
    this.changed.push({ kind: "node", key: name });
  }

  /** Deletes a node and the implicit containers below it; declared children must be gone already. */
  async deleteNode(name: string): Promise<void> {
    const children = await this.tx.node.findMany({ where: { parentName: name }, select: { name: true, implicit: true } });
    for (const c of children) if (c.implicit) await this.deleteNode(c.name);
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

  /**
   * Replaces a node's allow policy. The row stays when the bindings are empty, so its etag keeps
   * moving forward (a stale etag read before the policy was emptied never matches again).
   * Written by set-based statements (bulk.ts): a policy of 1,000 members is three INSERTs, not
   * a thousand (~200 ms through Prisma's nested create).
   */
  async setPolicy(resource: string, bindings: readonly PolicyBinding[], version?: number): Promise<void> {
    await setPolicies(this, [{ resource, bindings, ...(version !== undefined ? { version } : {}) }]);
  }

  async upsertPrincipal(p: PrincipalInput): Promise<void> {
    const sa = p.kind === "SERVICE_ACCOUNT";
    const data = {
      kind: p.kind,
      displayName: p.displayName ?? "",
      description: p.description ?? "",
      disabled: p.disabled ?? false,
      projectName: sa ? `projects/${p.email.match(/@([^.]+)\./)![1]}` : null,
    };
    await this.tx.principal.upsert({ where: { email: p.email }, create: { email: p.email, ...data }, update: data });
    this.changed.push({ kind: "principal", key: p.email });
  }

  /**
   * A deleted principal's bindings and memberships become `deleted:{kind}:{email}?uid={id}`, so
   * a new account with the same email inherits nothing (IAM semantics).
   */
  async deletePrincipal(email: string): Promise<void> {
    const p = await this.tx.principal.findUniqueOrThrow({ where: { email } });
    const prefix = p.kind === "USER" ? "user" : "serviceAccount";
    await this.rewriteMember(`${prefix}:${email}`, `deleted:${prefix}:${email}?uid=${p.id}`);
    await this.tx.principal.delete({ where: { email } });
    this.changed.push({ kind: "principal", key: email });
  }

  async upsertGroup(g: { email: string; displayName?: string; description?: string; members?: readonly string[] }): Promise<void> {
    const data = { displayName: g.displayName ?? "", description: g.description ?? "" };
    await this.tx.group.upsert({ where: { email: g.email }, create: { email: g.email, ...data }, update: data });
    if (g.members) await this.setGroupMembers(g.email, g.members);
    this.changed.push({ kind: "group", key: g.email });
  }

  async setGroupMembers(email: string, members: readonly string[]): Promise<void> {
    await this.tx.groupMember.deleteMany({ where: { groupEmail: email } });
    if (members.length) await this.tx.groupMember.createMany({ data: members.map((member) => ({ groupEmail: email, member })) });
    this.changed.push({ kind: "group", key: email });
  }

  /** Adds one direct member to a group (nothing when it is one already). */
  async addGroupMember(email: string, member: string): Promise<void> {
    await this.tx.groupMember.createMany({ data: [{ groupEmail: email, member }], skipDuplicates: true });
    this.changed.push({ kind: "group", key: email });
  }

  /** Removes one direct member from a group; false when it was not one. */
  async removeGroupMember(email: string, member: string): Promise<boolean> {
    const { count } = await this.tx.groupMember.deleteMany({ where: { groupEmail: email, member } });
    if (count > 0) this.changed.push({ kind: "group", key: email });
    return count > 0;
  }

  /** Restores a soft-deleted custom role (GCP's undelete): it grants again wherever it is bound. */
  async undeleteCustomRole(name: string): Promise<void> {
    await this.tx.role.update({ where: { name }, data: { deleted: false, etag: etagFor(this.revision) } });
    this.changed.push({ kind: "customRoles", key: "*" });
  }

  async deleteGroup(email: string): Promise<void> {
    await this.rewriteMember(`group:${email}`, `deleted:group:${email}?uid=${crypto.randomUUID()}`);
    await this.tx.group.delete({ where: { email } });
    this.changed.push({ kind: "group", key: email });
  }

  async upsertCustomRole(r: { name: string; title?: string; description?: string; stage?: string; permissions: string[] }): Promise<void> {
    const data = {
      parentName: r.name.split("/roles/")[0]!,
      title: r.title ?? "",
      description: r.description ?? "",
      stage: (r.stage ?? "GA") as Prisma.RoleCreateInput["stage"],
      permissions: r.permissions,
      deleted: false,
      etag: etagFor(this.revision),
    };
    await this.tx.role.upsert({ where: { name: r.name }, create: { name: r.name, ...data }, update: data });
    this.changed.push({ kind: "customRoles", key: "*" });
  }

  /** GCP soft-deletes custom roles: a deleted role grants nothing but keeps its name reserved. */
  async deleteCustomRole(name: string): Promise<void> {
    await this.tx.role.update({ where: { name }, data: { deleted: true, etag: etagFor(this.revision) } });
    this.changed.push({ kind: "customRoles", key: "*" });
  }

  async upsertAccessLevel(l: { name: string; title?: string; description?: string; basic?: unknown; customExpression?: string }): Promise<void> {
    const data = {
      title: l.title ?? "",
      description: l.description ?? "",
      basic: (l.basic ?? Prisma.DbNull) as Prisma.InputJsonValue,
      customExpression: l.customExpression ?? null,
    };
    await this.tx.accessLevel.upsert({ where: { name: l.name }, create: { name: l.name, ...data }, update: data });
    this.changed.push({ kind: "accessLevels", key: "*" });
  }

  async deleteAccessLevel(name: string): Promise<void> {
    await this.tx.accessLevel.delete({ where: { name } });
    this.changed.push({ kind: "accessLevels", key: "*" });
  }

  async upsertTrustedIssuer(t: { issuer: string; audiences: string[]; jwksUri?: string; domains: string[]; allowUnverifiedEmails?: boolean }): Promise<void> {
    const data = { audiences: t.audiences, jwksUri: t.jwksUri ?? null, domains: t.domains, allowUnverifiedEmails: t.allowUnverifiedEmails ?? false };
    await this.tx.trustedIssuer.upsert({ where: { issuer: t.issuer }, create: { issuer: t.issuer, ...data }, update: data });
    this.changed.push({ kind: "trustedIssuer", key: t.issuer });
  }

  async deleteTrustedIssuer(issuer: string): Promise<void> {
    await this.tx.trustedIssuer.delete({ where: { issuer } });
    this.changed.push({ kind: "trustedIssuer", key: issuer });
  }

  /** Replaces (or, with `rules` null, deletes) the deny policy `policyId` attached to a node. */
  async setDenyPolicy(attachedTo: string, policyId: string, policy: { displayName?: string; rules: readonly DenyRuleInput[] } | null): Promise<void> {
    const name = denyPolicyName(attachedTo, policyId);
    await this.tx.denyPolicy.deleteMany({ where: { name } });
    this.changed.push({ kind: "denyPolicies", key: attachedTo });
    if (!policy) return;
    await this.tx.denyPolicy.create({
      data: {
        name,
        attachedTo,
        policyId,
        displayName: policy.displayName ?? "",
        etag: etagFor(this.revision),
        revision: this.revision,
        rules: {
          create: policy.rules.map((r, position) => ({
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
  }

  /**
   * Implicit containers that are childless and policy-less go (an empty policy row counts as
   * none), except those in `keep`.
   */
  async removeOrphanContainers(keep: ReadonlySet<string> = new Set()): Promise<void> {
    for (;;) {
      const orphans = await this.tx.node.findMany({
        where: {
          implicit: true,
          children: { none: {} },
          OR: [{ allowPolicy: null }, { allowPolicy: { bindings: { none: {} } } }],
          denyPolicies: { none: {} },
        },
        select: { name: true },
      });
      const gone = orphans.filter((o) => !keep.has(o.name)).map((o) => o.name);
      if (gone.length === 0) return;
      await this.tx.allowPolicy.deleteMany({ where: { resourceName: { in: gone } } });
      await this.tx.node.deleteMany({ where: { name: { in: gone } } });
      for (const name of gone) this.changed.push({ kind: "node", key: name });
    }
  }

  /** Creates the implicit containers (iap_web, iap_web/compute, …) down to `name`. */
  async ensureContainers(name: string): Promise<void> {
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
      const project = await this.projectOf(parsed.project);
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

  private async projectOf(projectId: string | null | undefined): Promise<{ projectNumber: string | null }> {
    const project = projectId ? await this.tx.node.findUnique({ where: { name: `projects/${projectId}` }, select: { projectNumber: true } }) : null;
    if (!project) throw new AppError("FAILED_PRECONDITION", `project ${projectId ?? "(none)"} does not exist`);
    return project;
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

  private async rewriteMember(from: string, to: string): Promise<void> {
    const [bindings, groups] = await Promise.all([
      this.tx.bindingMember.findMany({ where: { member: from }, select: { binding: { select: { policyResourceName: true } } } }),
      this.tx.groupMember.findMany({ where: { member: from }, select: { groupEmail: true } }),
    ]);
    for (const b of bindings) this.changed.push({ kind: "policy", key: b.binding.policyResourceName });
    for (const g of groups) this.changed.push({ kind: "group", key: g.groupEmail });
    await this.tx.bindingMember.updateMany({ where: { member: from }, data: { member: to } });
    await this.tx.groupMember.updateMany({ where: { member: from }, data: { member: to } });
    // Deny rules name principals too, as v1 member strings or IAM v2 identifiers: a new account
    // with the same email is neither denied nor excepted by what named the old one.
    const names = [from, ...v2Identifiers(from)].map((n) => n.toLowerCase());
    const denies = await this.tx.$queryRaw<{ attachedTo: string }[]>`
      UPDATE "DenyRule" r SET
        "deniedPrincipals" = COALESCE((SELECT array_agg(CASE WHEN lower(p) = ANY(${names}::text[]) THEN ${to} ELSE p END ORDER BY o)
                                       FROM unnest(r."deniedPrincipals") WITH ORDINALITY AS u(p, o)), '{}'),
        "exceptionPrincipals" = COALESCE((SELECT array_agg(CASE WHEN lower(p) = ANY(${names}::text[]) THEN ${to} ELSE p END ORDER BY o)
                                          FROM unnest(r."exceptionPrincipals") WITH ORDINALITY AS u(p, o)), '{}')
      FROM "DenyPolicy" d
      WHERE d.name = r."policyName"
        AND EXISTS (SELECT 1 FROM unnest(r."deniedPrincipals" || r."exceptionPrincipals") AS x(p) WHERE lower(x.p) = ANY(${names}::text[]))
      RETURNING d."attachedTo"`;
    for (const d of denies) this.changed.push({ kind: "denyPolicies", key: d.attachedTo });
  }
}

/** The IAM v2 principal identifiers a deny rule may name a v1 member with (lib/policy/members.ts parseDenyPrincipal). */
function v2Identifiers(member: string): string[] {
  const colon = member.indexOf(":");
  const kind = member.slice(0, colon);
  const email = member.slice(colon + 1);
  if (kind === "user") return [`principal://goog/subject/${email}`];
  if (kind === "serviceAccount") return [`principal://iam.googleapis.com/projects/-/serviceAccounts/${email}`];
  if (kind === "group") return [`principalSet://goog/group/${email}`];
  return [];
}
