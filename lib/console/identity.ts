// Shared by the identity sections' view models (groups, principals, roles, access levels): reading
// as the signed-in user through lib/admin (which authorises), and where a principal or group holds
// roles, read from the live engine's snapshot and cut to the resources the viewer may inspect.
import { z } from "zod";
import { consoleAdmin } from "@/lib/console/admin";
import type { AdminContext } from "@/lib/admin/context";
import { policyPermission } from "@/lib/admin/permissions";
import { reader, type Reader } from "@/lib/admin/reader";
import { AppError, type ErrorCode } from "@/lib/errors";
import { emailDomain, passagePermission, whatCan, type Snapshot } from "@/lib/policy";

/** A read the viewer may be refused: the page shows the refusal instead of the data. */
export type Readable<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

/** The viewer's AdminContext and its reader on the engine's current snapshot. */
export async function viewer(): Promise<{ ctx: AdminContext; r: Reader; principal: string }> {
  const { ctx, session } = await consoleAdmin();
  return { ctx, r: reader(ctx), principal: session.principal };
}

/** Runs a lib/admin read; a refusal or a missing item becomes a value the page renders. */
export async function readable<T>(body: () => Promise<T>): Promise<Readable<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (e) {
    if (e instanceof AppError && e.status < 500) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}

/** Whether a lib/admin authorisation check passes (for showing or hiding edit controls). */
export async function allowed(check: () => unknown): Promise<boolean> {
  try {
    await check();
    return true;
  } catch (e) {
    if (e instanceof AppError && e.code === "PERMISSION_DENIED") return false;
    throw e;
  }
}

/** Whether the viewer may read `resource`'s policy: only such resources' bindings are shown. */
export function canSeePolicy(r: Reader, resource: string): boolean {
  const p = policyPermission(resource, "getIamPolicy");
  return p !== null && r.can(p, resource);
}

/**
 * The member keys a binding can name to reach `member`, each with the group path through which it
 * does ([] for the member itself): the groups containing it (through any nesting), and for a user
 * or service account its domain, allAuthenticatedUsers and allUsers.
 */
export function memberPaths(s: Snapshot, member: string): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  for (const [key, g] of s.groups) for (const m of g.members) parents.set(m, [...(parents.get(m) ?? []), key]);
  const paths = new Map<string, string[]>([[member, []]]);
  const queue = [member];
  while (queue.length > 0) {
    const cur = queue.shift()!;
    for (const p of parents.get(cur) ?? []) {
      if (paths.has(p)) continue;
      paths.set(p, [...paths.get(cur)!, p]);
      queue.push(p);
    }
  }
  if (member.startsWith("user:") || member.startsWith("serviceAccount:")) {
    const email = member.slice(member.indexOf(":") + 1);
    if (!member.startsWith("serviceAccount:")) paths.set(`domain:${emailDomain(email)}`, []);
    paths.set("allAuthenticatedUsers", []);
    paths.set("allUsers", []);
  }
  return paths;
}

export interface HeldRole {
  resource: string;
  role: string;
  /** The member the binding names (the principal itself, a group containing it, its domain…). */
  member: string;
  /** Groups from the principal to `member` (empty when the binding names it directly). */
  via: string[];
  condition: string | null;
}

/** Every binding that names `member` or a group, domain or public member covering it, on resources the viewer may inspect. */
export function heldRoles(s: Snapshot, r: Reader, member: string): HeldRole[] {
  const paths = memberPaths(s, member);
  const out: HeldRole[] = [];
  for (const [resource, policy] of s.policies) {
    if (!canSeePolicy(r, resource)) continue;
    for (const b of policy.bindings) {
      for (const m of b.members) {
        const via = paths.get(m);
        if (via) out.push({ resource, role: b.role, member: m, via, condition: b.condition ? (b.condition.title ?? b.condition.expression) : null });
      }
    }
  }
  return out.sort((a, b) => a.resource.localeCompare(b.resource) || a.role.localeCompare(b.role));
}

export interface Reach {
  resource: string;
  displayName: string;
  permission: string;
  grantedBy: { resource: string; role: string; member: string; condition?: string };
  via: string[];
}

/**
 * What `principal` can pass through now (the engine's whatCan with each resource's passage
 * permission, for a request with no host, path or client address — conditions that need those do
 * not grant here), on resources the viewer may inspect, with the binding and group path.
 */
export function reachOf(s: Snapshot, r: Reader, principal: string): Reach[] {
  const paths = memberPaths(s, principal);
  return whatCan(s, principal, undefined, { request: { time: new Date() } })
    .filter((e) => {
      const node = s.nodes.get(e.resource);
      return node !== undefined && passagePermission(node.type) === e.permission && canSeePolicy(r, e.resource);
    })
    .map((e) => ({ resource: e.resource, displayName: s.nodes.get(e.resource)?.displayName ?? "", permission: e.permission, grantedBy: e.grantedBy, via: paths.get(e.grantedBy.member) ?? [] }));
}

/** A name or email an action receives (forged input is refused as INVALID_ARGUMENT, not a crash). */
export const ZRef = z.string().trim().min(1, "required").max(512);
