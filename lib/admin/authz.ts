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
import { evaluate, identityOf, parseMember, PERMISSIONS, PREDEFINED_ROLE_MAP, whoCan, type Snapshot } from "@/lib/policy";
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
