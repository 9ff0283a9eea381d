// Where a principal or group holds roles and what a principal can reach, read from a policy
// snapshot (the live engine's) and cut to the resources the viewer may inspect. Pure: no I/O.
import { emailDomain, passagePermission, whatCan, type Snapshot } from "@/lib/policy";

/** Whether the viewer may inspect a resource's bindings. */
export type CanSee = (resource: string) => boolean;

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
export function heldRoles(s: Snapshot, canSee: CanSee, member: string): HeldRole[] {
  const paths = memberPaths(s, member);
  const out: HeldRole[] = [];
  for (const [resource, policy] of s.policies) {
    if (!canSee(resource)) continue;
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
export function reachOf(s: Snapshot, canSee: CanSee, principal: string, now: Date): Reach[] {
  const paths = memberPaths(s, principal);
  return whatCan(s, principal, undefined, { request: { time: now } })
    .filter((e) => {
      const node = s.nodes.get(e.resource);
      return node !== undefined && passagePermission(node.type) === e.permission && canSee(e.resource);
    })
    .map((e) => ({ resource: e.resource, displayName: s.nodes.get(e.resource)?.displayName ?? "", permission: e.permission, grantedBy: e.grantedBy, via: paths.get(e.grantedBy.member) ?? [] }));
}
