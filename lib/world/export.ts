// Reads the whole IAM world from the database as a canonical world file (round-trips with apply).
import type { Prisma } from "@/lib/generated/prisma/client";
import { canonicalWorld } from "./canonical";
import type { World } from "./schema";

type Tx = Prisma.TransactionClient;

export async function exportWorld(tx: Tx): Promise<World> {
  const [nodes, principals, groups, roles, levels, issuers, policies, denies] = await Promise.all([
    tx.node.findMany({ where: { implicit: false } }),
    tx.principal.findMany(),
    tx.group.findMany({ include: { members: true } }),
    tx.role.findMany({ where: { deleted: false } }),
    tx.accessLevel.findMany(),
    tx.trustedIssuer.findMany(),
    tx.allowPolicy.findMany({ include: { bindings: { include: { members: true }, orderBy: { position: "asc" } } } }),
    tx.denyPolicy.findMany({ include: { rules: { orderBy: { position: "asc" } } } }),
  ]);
  const opt = (s: string) => (s === "" ? undefined : s);
  const world: World = {
    organizations: nodes
      .filter((n) => n.kind === "ORGANIZATION")
      .map((n) => ({ id: n.shortId ?? "", displayName: opt(n.displayName), domain: n.domain ?? undefined })),
    folders: nodes
      .filter((n) => n.kind === "FOLDER")
      .map((n) => ({ id: n.shortId ?? "", parent: n.parentName ?? "", displayName: opt(n.displayName) })),
    projects: nodes
      .filter((n) => n.kind === "PROJECT")
      .map((n) => ({ id: n.shortId ?? "", number: n.projectNumber ?? undefined, parent: n.parentName ?? "", displayName: opt(n.displayName) })),
    resources: nodes
      .filter((n) => !["ORGANIZATION", "FOLDER", "PROJECT"].includes(n.kind))
      .map((n) => ({
        name: n.name,
        displayName: opt(n.displayName),
        iap: n.iapEnabled ?? undefined,
        hosts: n.hosts,
        pathPrefix: n.pathPrefix ?? undefined,
      })),
    users: principals.filter((p) => p.kind === "USER").map((p) => ({ email: p.email, displayName: opt(p.displayName), disabled: p.disabled })),
    serviceAccounts: principals
      .filter((p) => p.kind === "SERVICE_ACCOUNT")
      .map((p) => ({ email: p.email, displayName: opt(p.displayName), description: opt(p.description), disabled: p.disabled })),
    groups: groups.map((g) => ({
      email: g.email,
      displayName: opt(g.displayName),
      description: opt(g.description),
      members: g.members.map((m) => m.member),
    })),
    customRoles: roles.map((r) => ({
      name: r.name,
      title: opt(r.title),
      description: opt(r.description),
      stage: r.stage,
      permissions: r.permissions,
    })),
    accessLevels: levels.map((l) => ({
      name: l.name,
      title: opt(l.title),
      description: opt(l.description),
      basic: (l.basic ?? undefined) as NonNullable<World["accessLevels"]>[number]["basic"],
      custom: l.customExpression ? { expr: { expression: l.customExpression } } : undefined,
    })),
    // A row from before `domains` existed exports `domains: []`, which apply refuses: the file
    // must then say which domains the issuer may assert.
    trustedIssuers: issuers.map((i) => ({
      issuer: i.issuer,
      audiences: i.audiences,
      jwksUri: i.jwksUri ?? undefined,
      domains: i.domains,
      allowUnverifiedEmails: i.allowUnverifiedEmails,
    })),
    policies: policies.map((p) => ({
      resource: p.resourceName,
      bindings: p.bindings.map((b) => ({
        role: b.role,
        members: b.members.map((m) => m.member),
        condition:
          b.conditionExpression !== null
            ? { title: b.conditionTitle ?? "", description: b.conditionDescription ?? undefined, expression: b.conditionExpression }
            : undefined,
      })),
    })),
    denyPolicies: denies.map((d) => ({
      attachedTo: d.attachedTo,
      name: d.policyId,
      displayName: opt(d.displayName),
      rules: d.rules.map((r) => ({
        description: opt(r.description),
        deniedPrincipals: r.deniedPrincipals,
        exceptionPrincipals: r.exceptionPrincipals,
        deniedPermissions: r.deniedPermissions,
        exceptionPermissions: r.exceptionPermissions,
        denialCondition: r.conditionExpression ? { title: r.conditionTitle ?? undefined, expression: r.conditionExpression } : undefined,
      })),
    })),
  };
  return canonicalWorld(world);
}
