// Authorisation of admin actions by the engine they manage, and the guard rails against
// privilege escalation (DESIGN.md §3). Pure: every function takes the snapshots it judges on.
//
// The rules, for a principal actor (system actors are not checked):
//   1. An action needs its permission on its resource (permissions.ts), in the snapshot at the
//      revision the action writes on. A resource the actor may not see is refused exactly like a
//      missing one ("… (or it may not exist)"), so a refusal tells nothing about existence.
//   2. Granting role R on X to member M needs every permission of R on X — except the passage
//      permissions (IAP-secured Web App User, tunnel user, invokers): handing those out is what
//      policy admins are for. When M covers the actor itself (itself, a group it is in, its domain,
//      allAuthenticatedUsers, allUsers), R's passage permissions are needed too: nobody grants
//      themselves access they do not have. The same rule applies to every indirect grant: adding
//      someone to a group (for each role the group holds, where it holds it), nesting a group,
//      adding permissions to a custom role others hold, creating a custom role, minting a key for
//      a service account (its every grant, as if granted to the actor).
//   3. No change leaves an organization with nobody able to set its policy.
import { evaluate, identityOf, KNOWN_PERMISSIONS, normalisePermission, parseDenyPrincipal, parseMember, PERMISSIONS, PREDEFINED_ROLE_MAP, whoCan, type Snapshot } from "@/lib/policy";
import { directMembers, parentIndex, transitiveGroups } from "@/lib/policy/groups";
import { permissionMatches } from "@/lib/policy/resources";
import { AppError } from "@/lib/errors";
import type { Actor } from "./context";

/** Permissions that grant passage through a resource (see rule 2). */
export const PASSAGE_PERMISSIONS: ReadonlySet<string> = new Set([
  PERMISSIONS.webAccess,
  PERMISSIONS.tunnelAccess,
  "iap.tunnelDestGroups.accessViaIAP",
  PERMISSIONS.runInvoke,
  PERMISSIONS.functionInvoke,
]);

export const ORG_SET_POLICY = "resourcemanager.organizations.setIamPolicy";

/** Google's wording for a refused or missing resource: the two are indistinguishable. */
export function permissionDenied(permission: string, resource: string): AppError {
  return new AppError("PERMISSION_DENIED", `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`);
}

/** Whether `principal` holds `permission` on `resource` in `s` (conditions evaluated at `now`). */
export function holds(s: Snapshot, principal: string, permission: string, resource: string, now: Date): boolean {
  return evaluate(s, { principal, resource, permission, request: { time: now } }).allowed;
}

/** Rule 1: throws PERMISSION_DENIED unless the actor holds `permission` on `resource`. */
export function authorize(s: Snapshot | null, actor: Actor, permission: string, resource: string, now = new Date()): void {
  if (actor.kind === "system") return;
  if (!s || !holds(s, actor.principal, permission, resource, now)) throw permissionDenied(permission, resource);
}

/** The name refusals of instance-wide actions give (there is no resource to name). */
export const INSTANCE = "gatehouse";

/**
 * Rule 1 for what belongs to the whole instance (trusted issuers, proxy credentials, signing
 * keys, access levels, creating organizations): the permission on every organization — or being
 * an instance owner (GATEHOUSE_BOOTSTRAP_ADMINS or `user create --owner`), which also covers an
 * instance with no organization yet.
 */
export function authorizeInstance(s: Snapshot | null, owners: readonly string[], actor: Actor, permission: string, now = new Date()): void {
  if (actor.kind === "system") return;
  const email = actor.principal.startsWith("user:") ? actor.principal.slice(5) : null;
  if (email && owners.includes(email) && s && !isDisabled(s, actor)) return;
  const orgs = s ? [...s.nodes.keys()].filter((n) => n.startsWith("organizations/")) : [];
  if (!s || orgs.length === 0 || !orgs.every((o) => holds(s, actor.principal, permission, o, now))) throw permissionDenied(permission, INSTANCE);
}

/** The organizations whose domain is `email`'s (groups and users belong to them). */
export function organizationsOfDomain(s: Snapshot, domainOrgs: ReadonlyMap<string, string>, email: string): string[] {
  const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
  const org = domainOrgs.get(domain);
  return org && s.nodes.has(org) ? [org] : [];
}

/**
 * Rule 1 for identities (groups, users): the permission on the organization of the email's
 * domain; an email of no organization's domain is instance-wide (authorizeInstance).
 * `domainOrgs`: domain → organization name (from the database; the snapshot does not keep domains).
 */
export function authorizeForDomain(
  s: Snapshot | null,
  owners: readonly string[],
  domainOrgs: ReadonlyMap<string, string>,
  actor: Actor,
  permission: string,
  email: string,
  now = new Date(),
): void {
  if (actor.kind === "system") return;
  const orgs = s ? organizationsOfDomain(s, domainOrgs, email) : [];
  if (orgs.length === 0) return authorizeInstance(s, owners, actor, permission, now);
  authorize(s, actor, permission, orgs[0]!, now);
}

function isDisabled(s: Snapshot, actor: Actor): boolean {
  return actor.kind === "principal" && identityOf(s, actor.principal).disabled;
}

/** The permissions of a role in `s` (predefined or custom); null for an unknown role. */
export function rolePermissions(s: Snapshot, role: string): readonly string[] | null {
  return PREDEFINED_ROLE_MAP.get(role)?.permissions ?? s.customRoles.get(role)?.permissions ?? null;
}

/** Whether `member` (a member string) includes the actor, in snapshot `s` (its groups as of `s`). */
export function coversActor(s: Snapshot, actor: Actor, member: string): boolean {
  if (actor.kind === "system") return false;
  const m = parseMember(member);
  return m.ok && identityOf(s, actor.principal).keys.includes(m.value.key);
}

export interface Grant {
  resource: string;
  role: string;
  member: string;
}

/**
 * Rule 2 for one grant. `before`: the snapshot the actor's own permissions are judged in (the
 * revision written on); `after`: the snapshot with the change applied (whether the member covers
 * the actor — a group the change itself joins counts).
 */
export function checkGrant(before: Snapshot, after: Snapshot, actor: Actor, grant: Grant, now = new Date()): void {
  if (actor.kind === "system") return;
  const permissions = rolePermissions(before, grant.role) ?? rolePermissions(after, grant.role) ?? [];
  const self = coversActor(after, actor, grant.member);
  const missing = permissions.filter((p) => (self || !PASSAGE_PERMISSIONS.has(p)) && !holds(before, actor.principal, p, grant.resource, now));
  if (missing.length === 0) return;
  const shown = missing.slice(0, 3).join(", ") + (missing.length > 3 ? `, … (${missing.length} in all)` : "");
  throw new AppError(
    "PERMISSION_DENIED",
    self
      ? `You cannot grant ${grant.role} on ${grant.resource} to ${grant.member}, which includes you: you do not hold ${shown} there yourself.`
      : `You cannot grant ${grant.role} on ${grant.resource}: it carries ${shown}, which you do not hold there.`,
  );
}

/** Every binding that names `memberKey` directly, as grants (for group joins and key minting). */
export function grantsNaming(s: Snapshot, memberKey: string): Grant[] {
  const out: Grant[] = [];
  for (const [resource, policy] of s.policies) {
    for (const b of policy.bindings) {
      for (const m of b.members) {
        const p = parseMember(m);
        if (p.ok && p.value.key === memberKey) out.push({ resource, role: b.role, member: memberKey });
      }
    }
  }
  return out;
}

/** Rule 3: throws FAILED_PRECONDITION when some organization in `after` has nobody able to set its policy. */
export function checkOrganizationsAdministered(after: Snapshot, organizations: Iterable<string>, now = new Date()): void {
  for (const org of organizations) {
    if (!after.nodes.has(org)) continue;
    const who = whoCan(after, org, ORG_SET_POLICY, { request: { time: now } });
    if (who.principals.length === 0) {
      throw new AppError("FAILED_PRECONDITION", `This change would leave ${org} with nobody able to set its IAM policy (${ORG_SET_POLICY}); keep at least one owner.`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Indirect grants and denials (groups, custom roles, deny policies). Rule 2 applied to changes
// that grant without touching a binding, and its mirror for deny policies: nobody lifts a denial
// from themselves.

/** The group keys that contain `groupKey` (a canonical `group:…` key) transitively in `s`, nearest first. */
export function groupsContaining(s: Snapshot, groupKey: string): string[] {
  return transitiveGroups(groupKey, parentIndex(directMembers([...s.groups.values()])));
}

/**
 * Rule 2 for group memberships: adding `members` to `groupEmail` grants each of them every role
 * the group — or a group containing it, transitively, in `after` — holds, where it holds it. Each
 * such grant is checked as if made directly (checkGrant; a member covering the actor — a
 * self-join, or nesting a group the actor is in — needs the passage permissions too). The grants
 * are found once and judged once per kind of member (covering the actor or not), so adding many
 * members costs about what adding one does.
 */
export function checkMembershipGrants(before: Snapshot, after: Snapshot, actor: Actor, groupEmail: string, members: readonly string[], now = new Date()): void {
  if (actor.kind === "system") return;
  // A deleted: member matches nobody (invariant 6): it is granted nothing.
  const added = members.map((m) => parseMember(m)).flatMap((p) => (p.ok && p.value.kind !== "deleted" ? [p.value.key] : []));
  if (added.length === 0) return;
  const own = `group:${groupEmail}`;
  const keys = new Set([own, ...groupsContaining(after, own)]);
  const grants = new Map<string, { resource: string; role: string; via: string }>();
  for (const [resource, policy] of after.policies) {
    for (const b of policy.bindings) {
      const sig = `${resource}\u0000${b.role}`;
      if (grants.has(sig)) continue;
      for (const m of b.members) {
        const p = parseMember(m);
        if (p.ok && keys.has(p.value.key)) {
          grants.set(sig, { resource, role: b.role, via: p.value.key });
          break;
        }
      }
    }
  }
  if (grants.size === 0) return;
  const self = added.filter((k) => coversActor(after, actor, k));
  const others = added.filter((k) => !self.includes(k));
  for (const { resource, role, via } of grants.values()) {
    // One representative per kind: whether a grant is allowed depends on nothing else about the member.
    for (const member of [others[0], self[0]]) {
      if (member === undefined) continue;
      try {
        checkGrant(before, after, actor, { resource, role, member }, now);
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        const holder = via === own ? own : `${via}, which contains ${own}`;
        throw new AppError("PERMISSION_DENIED", `Adding ${member} to ${own} would grant it ${role} on ${resource} (held by ${holder}). ${e.message}`);
      }
    }
  }
}

/** Missing permissions of `permissions` on `resource` for the actor in `s` (passage ones only when `self`). */
function missingPermissions(s: Snapshot, actor: Actor & { kind: "principal" }, permissions: readonly string[], resource: string, self: boolean, now: Date): string[] {
  return permissions.filter((p) => (self || !PASSAGE_PERMISSIONS.has(p)) && !holds(s, actor.principal, p, resource, now));
}

function listShown(missing: readonly string[]): string {
  return missing.slice(0, 3).join(", ") + (missing.length > 3 ? `, … (${missing.length} in all)` : "");
}

/**
 * Rule 2 for a custom role's permissions: putting `permissions` into a role defined on `parent`
 * needs them on `parent` (passage permissions excepted: handing those out is what policy admins
 * are for, and a role grants nothing until it is bound).
 */
export function checkRolePermissionsHeld(s: Snapshot, actor: Actor, role: string, parent: string, permissions: readonly string[], now = new Date()): void {
  if (actor.kind === "system") return;
  const missing = missingPermissions(s, actor, permissions, parent, false, now);
  if (missing.length === 0) return;
  throw new AppError("PERMISSION_DENIED", `You cannot put ${listShown(missing)} into ${role}: you do not hold ${missing.length > 1 ? "them" : "it"} on ${parent} yourself.`);
}

/**
 * Rule 2 for adding permissions to a custom role that is bound: every binding using `role` (in
 * `before`, where the actor's permissions are judged) grants the added permissions to its members
 * where it is, so the actor must hold them there — passage permissions too when a member of the
 * binding covers the actor (`after`: the role change moves no member).
 */
export function checkRolePermissionsAdded(before: Snapshot, after: Snapshot, actor: Actor, role: string, added: readonly string[], now = new Date()): void {
  if (actor.kind === "system" || added.length === 0) return;
  for (const [resource, policy] of before.policies) {
    for (const b of policy.bindings) {
      if (b.role !== role) continue;
      const self = b.members.some((m) => coversActor(after, actor, m));
      const missing = missingPermissions(before, actor, added, resource, self, now);
      if (missing.length === 0) continue;
      throw new AppError(
        "PERMISSION_DENIED",
        `${role} is bound on ${resource}${self ? " to members that include you" : ""}: adding ${listShown(missing)} to it would grant ${missing.length > 1 ? "them" : "it"} there, and you do not hold ${missing.length > 1 ? "them" : "it"} there yourself.`,
      );
    }
  }
}

/** One permission a deny rule denies a principal, under a condition (null: always). */
export interface Denial {
  attachedTo: string;
  permission: string;
  condition: string | null;
}

/**
 * Every (attachment point, permission, condition) for which a deny rule in `s` denies
 * `principal` — its identity as of `s` (groups, domain, everyone), not excepted by principal or
 * permission. Wildcards are expanded over the permission catalogue (nothing else can be held).
 */
export function denialsOf(s: Snapshot, principal: string): Denial[] {
  const keys = identityOf(s, principal).keys;
  const out: Denial[] = [];
  for (const [attachedTo, list] of s.denyPolicies) {
    for (const policy of list) {
      for (const rule of policy.rules) {
        const keyOf = (m: string) => {
          const p = parseDenyPrincipal(m);
          return p.ok && p.value.kind !== "deleted" ? p.value.key : null;
        };
        const denied = new Set(rule.deniedPrincipals.map(keyOf));
        const excepted = new Set((rule.exceptionPrincipals ?? []).map(keyOf));
        if (keys.some((k) => excepted.has(k)) || !keys.some((k) => denied.has(k))) continue;
        const patterns = rule.deniedPermissions.map(normalisePermission);
        const exceptions = (rule.exceptionPermissions ?? []).map(normalisePermission);
        for (const permission of KNOWN_PERMISSIONS) {
          if (!patterns.some((p) => permissionMatches(p, permission)) || exceptions.some((p) => permissionMatches(p, permission))) continue;
          out.push({ attachedTo, permission, condition: rule.denialCondition?.expression ?? null });
        }
      }
    }
  }
  return out;
}

/**
 * The mirror of rule 2 for deny policies: a change must not lift a denial from the actor — by an
 * exception naming it (directly, by a group it is in or joins, its domain), by removing a rule, a
 * denied principal or permission, by an exception permission, by leaving a denied group, or by
 * changing a condition. A denial in `before` stays lifted unless `after` still denies the same
 * permission at the same node or an ancestor, unconditionally or under the same condition.
 * Structural rather than a comparison of decisions: a denial guards against grants that come
 * later, and a condition on request attributes cannot be judged without a request.
 */
export function checkNoDenialLifted(before: Snapshot, after: Snapshot, actor: Actor): void {
  if (actor.kind === "system") return;
  const was = denialsOf(before, actor.principal);
  if (was.length === 0) return;
  const still = new Map<string, Set<string>>();
  for (const d of denialsOf(after, actor.principal)) {
    const k = `${d.permission}\u0000${d.condition ?? ""}`;
    let set = still.get(k);
    if (!set) still.set(k, (set = new Set()));
    set.add(d.attachedTo);
  }
  for (const d of was) {
    const chain = after.nodes.get(d.attachedTo)?.chain ?? [d.attachedTo];
    const covered = (cond: string | null) => {
      const at = still.get(`${d.permission}\u0000${cond ?? ""}`);
      return at !== undefined && chain.some((n) => at.has(n));
    };
    if (covered(null) || (d.condition !== null && covered(d.condition))) continue;
    throw new AppError(
      "PERMISSION_DENIED",
      `This change would lift a denial from you: ${d.permission} on ${d.attachedTo}${d.condition ? ` (when ${d.condition})` : ""} would no longer be denied to you. A deny policy that applies to you must be changed by someone else.`,
    );
  }
}
