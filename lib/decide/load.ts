// The one place where database rows become policy-core input (lib/policy types). Used for the
// full load at start-up and, unit by unit, for incremental updates from the change feed.
import type { Prisma, PrismaClient } from "@/lib/generated/prisma/client";
import {
  withAccessLevels,
  withCustomRoles,
  withDenyPolicies,
  withGroupMembers,
  withNodes,
  withoutNodes,
  withPolicy,
  withPrincipals,
  type AccessLevel,
  type AllowPolicy,
  type DenyPolicy,
  type Group,
  type HierarchyNode,
  type PolicyData,
  type Principal,
  type Role,
  type Snapshot,
} from "@/lib/policy";
import type { ChangeKind } from "@/lib/db/revision";
import { readPolicies, type StoredPolicy } from "@/lib/db/policy-rows";

type Tx = Prisma.TransactionClient;

/** What the decision path needs beyond the core's data: audiences and stable principal ids. */
export interface SideData {
  /** node name → JWT audience of the signed header. */
  audiences: Map<string, string>;
  /** principal member string → Principal.id (the uid in x-goog-authenticated-user-id). */
  principalIds: Map<string, string>;
}

const nodeSelect = { name: true, kind: true, parentName: true, displayName: true, iapEnabled: true, hosts: true, pathPrefix: true, audience: true } as const;
type NodeRow = Prisma.NodeGetPayload<{ select: typeof nodeSelect }>;

export function toNode(r: NodeRow): HierarchyNode {
  const n: HierarchyNode = { name: r.name, parent: r.parentName };
  if (r.displayName) n.displayName = r.displayName;
  if (r.iapEnabled !== null) n.iapEnabled = r.iapEnabled;
  if (r.hosts.length) n.hosts = r.hosts;
  if (r.pathPrefix) n.pathPrefix = r.pathPrefix;
  return n;
}

/**
 * Bootstrap admins (GATEHOUSE_BOOTSTRAP_ADMINS) hold roles/owner on every organization: added as
 * one more binding on each organization's policy, so queries and checks see the same grant.
 */
export function withBootstrap(resource: string, bindings: AllowPolicy["bindings"], bootstrapAdmins: readonly string[]): AllowPolicy["bindings"] {
  if (!resource.startsWith("organizations/") || bootstrapAdmins.length === 0) return bindings;
  return [...bindings, { role: "roles/owner", members: bootstrapAdmins.map((e) => `user:${e}`) }];
}

/** The core's policy of `resource` from its stored row (readPolicies: bindings already in the core's shape). */
export function toPolicy(resource: string, row: StoredPolicy | null, bootstrapAdmins: readonly string[]): AllowPolicy {
  return { resource, version: row?.version ?? 1, ...(row ? { etag: row.etag } : {}), bindings: withBootstrap(resource, row?.bindings ?? [], bootstrapAdmins) };
}

const denyInclude = { rules: { orderBy: { position: "asc" } } } as const;
type DenyRow = Prisma.DenyPolicyGetPayload<{ include: typeof denyInclude }>;

export function toDenyPolicy(d: DenyRow): DenyPolicy {
  return {
    attachedTo: d.attachedTo,
    name: d.policyId,
    rules: d.rules.map((r) => ({
      deniedPrincipals: r.deniedPrincipals,
      exceptionPrincipals: r.exceptionPrincipals,
      deniedPermissions: r.deniedPermissions,
      exceptionPermissions: r.exceptionPermissions,
      ...(r.conditionExpression ? { denialCondition: { expression: r.conditionExpression, ...(r.conditionTitle ? { title: r.conditionTitle } : {}) } } : {}),
    })),
  };
}

export async function loadNodes(tx: Tx, names?: string[]): Promise<NodeRow[]> {
  return tx.node.findMany({ select: nodeSelect, ...(names ? { where: { name: { in: names } } } : {}) });
}

export async function loadPolicies(tx: Tx, resources?: string[]): Promise<StoredPolicy[]> {
  return readPolicies(tx, resources);
}

export async function loadDenyPolicies(tx: Tx, attachedTo?: string[]): Promise<DenyPolicy[]> {
  const rows = await tx.denyPolicy.findMany({ include: denyInclude, orderBy: { policyId: "asc" }, ...(attachedTo ? { where: { attachedTo: { in: attachedTo } } } : {}) });
  return rows.map(toDenyPolicy);
}

export async function loadGroups(tx: Tx, emails?: string[]): Promise<Group[]> {
  const rows = await tx.group.findMany({ include: { members: { select: { member: true } } }, ...(emails ? { where: { email: { in: emails } } } : {}) });
  return rows.map((g) => ({ email: g.email, members: g.members.map((m) => m.member) }));
}

export async function loadCustomRoles(tx: Tx): Promise<Role[]> {
  const rows = await tx.role.findMany({ where: { deleted: false } });
  // A DISABLED custom role grants nothing (IAM semantics).
  return rows.map((r) => ({ name: r.name, title: r.title, permissions: r.stage === "DISABLED" ? [] : r.permissions }));
}

export async function loadAccessLevels(tx: Tx): Promise<AccessLevel[]> {
  const rows = await tx.accessLevel.findMany();
  return rows.map((l) => ({
    name: l.name,
    ...(l.title ? { title: l.title } : {}),
    ...(l.basic ? { basic: l.basic as unknown as NonNullable<AccessLevel["basic"]> } : {}),
    ...(l.customExpression ? { custom: { expr: { expression: l.customExpression } } } : {}),
  }));
}

export async function loadPrincipals(tx: Tx, emails?: string[]): Promise<{ principals: Principal[]; ids: Map<string, string> }> {
  const rows = await tx.principal.findMany({ select: { id: true, kind: true, email: true, displayName: true, disabled: true }, ...(emails ? { where: { email: { in: emails } } } : {}) });
  const principals: Principal[] = [];
  const ids = new Map<string, string>();
  for (const p of rows) {
    const member = `${p.kind === "USER" ? "user" : "serviceAccount"}:${p.email}`;
    // INVARIANT: `disabled` reaches the core (PRINCIPAL_DISABLED everywhere).
    principals.push({ member, ...(p.displayName ? { displayName: p.displayName } : {}), ...(p.disabled ? { disabled: true } : {}) });
    ids.set(member, p.id);
  }
  return { principals, ids };
}

/** Everything, read in one snapshot-consistent transaction together with its revision. */
export async function loadAll(tx: Tx, bootstrapAdmins: readonly string[]): Promise<{ revision: bigint; data: PolicyData; side: SideData }> {
  const rev = await tx.policyRevision.findUnique({ where: { id: 1 } });
  const [nodes, policies, denyPolicies, groups, roles, accessLevels, principals] = await Promise.all([
    loadNodes(tx),
    loadPolicies(tx),
    loadDenyPolicies(tx),
    loadGroups(tx),
    loadCustomRoles(tx),
    loadAccessLevels(tx),
    loadPrincipals(tx),
  ]);
  const byResource = new Map(policies.map((p) => [p.resourceName, p]));
  // Every organization gets a policy entry so bootstrap admins apply even where none is stored.
  const resources = new Set([...byResource.keys(), ...nodes.filter((n) => n.kind === "ORGANIZATION").map((n) => n.name)]);
  return {
    revision: rev?.value ?? 0n,
    data: {
      nodes: nodes.map(toNode),
      policies: [...resources].map((r) => toPolicy(r, byResource.get(r) ?? null, bootstrapAdmins)),
      denyPolicies,
      groups,
      roles,
      accessLevels,
      principals: principals.principals,
    },
    side: {
      audiences: new Map(nodes.filter((n) => n.audience).map((n) => [n.name, n.audience!])),
      principalIds: principals.ids,
    },
  };
}

/** GATEHOUSE_BOOTSTRAP_ADMINS plus the stored instance owners, deduplicated and sorted. */
export async function loadOwners(tx: Pick<PrismaClient, "instanceOwner">, bootstrapAdmins: readonly string[]): Promise<string[]> {
  const stored = await tx.instanceOwner.findMany({ select: { email: true } });
  return [...new Set([...bootstrapAdmins, ...stored.map((o) => o.email)])].sort();
}

/** A compiled snapshot with what the decision path needs beside it. */
export interface LoadedState {
  snapshot: Snapshot;
  side: SideData;
  /** Bootstrap admins and stored instance owners: roles/owner on every organization. */
  owners: readonly string[];
}

/**
 * `state` with the units named by `byKind` reloaded from `tx` (the change feed's kinds and keys),
 * at `revision`. The engine follows the feed with it; lib/admin computes a mutation's "after"
 * snapshot with it, inside the mutation's transaction, for its guard rails.
 */
export async function applyChanges(
  tx: Tx,
  state: LoadedState,
  byKind: ReadonlyMap<ChangeKind, ReadonlySet<string>>,
  revision: bigint,
  bootstrapAdmins: readonly string[],
  /** Changed policies whose stored form at `revision` the caller has (readPolicyVersions): not read again. */
  known: ReadonlyMap<string, StoredPolicy | null> = new Map(),
): Promise<LoadedState> {
  let s = state.snapshot;
  const side: SideData = { audiences: state.side.audiences, principalIds: state.side.principalIds };

  const nodeNames = [...(byKind.get("node") ?? [])];
  const policyNames = new Set(byKind.get("policy") ?? []);
  let owners = state.owners;
  if (byKind.has("instanceOwners")) {
    // The owners' binding sits on every organization's policy: recompute them all.
    owners = await loadOwners(tx, bootstrapAdmins);
    for (const o of await tx.node.findMany({ where: { kind: "ORGANIZATION" }, select: { name: true } })) policyNames.add(o.name);
  }
  if (nodeNames.length) {
    const rows = await loadNodes(tx, nodeNames);
    const found = new Set(rows.map((r) => r.name));
    const gone = nodeNames.filter((n) => !found.has(n));
    if (gone.length) s = withoutNodes(s, gone, revision);
    if (rows.length) s = withNodes(s, rows.map(toNode), revision);
    side.audiences = new Map(side.audiences);
    for (const n of gone) side.audiences.delete(n);
    for (const r of rows) {
      if (r.audience) side.audiences.set(r.name, r.audience);
      else side.audiences.delete(r.name);
      // New organizations carry the bootstrap admins' binding.
      if (r.kind === "ORGANIZATION") policyNames.add(r.name);
    }
  }
  if (policyNames.size) {
    const unknown = [...policyNames].filter((n) => !known.has(n));
    const rows = new Map([...known, ...(await loadPolicies(tx, unknown)).map((p) => [p.resourceName, p] as const)]);
    for (const name of policyNames) s = withPolicy(s, toPolicy(name, rows.get(name) ?? null, owners), revision);
  }
  const denyTargets = [...(byKind.get("denyPolicies") ?? [])];
  if (denyTargets.length) {
    const list = await loadDenyPolicies(tx, denyTargets);
    for (const t of denyTargets) s = withDenyPolicies(s, t, list.filter((d) => d.attachedTo === t), revision);
  }
  const groupEmails = [...(byKind.get("group") ?? [])];
  if (groupEmails.length) {
    const found = new Map((await loadGroups(tx, groupEmails)).map((g) => [g.email, g.members]));
    for (const g of groupEmails) s = withGroupMembers(s, g, found.get(g) ?? null, revision);
  }
  if (byKind.has("customRoles")) s = withCustomRoles(s, await loadCustomRoles(tx), revision);
  if (byKind.has("accessLevels")) s = withAccessLevels(s, await loadAccessLevels(tx), revision);
  if (byKind.has("principal")) {
    const { principals, ids } = await loadPrincipals(tx);
    s = withPrincipals(s, principals, revision);
    side.principalIds = ids;
  }
  return { snapshot: s.revision === revision.toString() ? s : withPrincipals(s, [...s.principals.values()], revision), side, owners };
}
