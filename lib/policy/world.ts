/**
 * The world file of DESIGN.md §6 (what `gatehouse apply -f` reads) and its conversion into
 * compile input. Intermediate resource nodes implied by a resource name (projects/p/iap_web,
 * …/iap_web/compute, …/appengine-{app}/services/{svc}, …/iap_tunnel/zones/{z}) are created
 * automatically, so a world lists only the resources it cares about.
 */
import type { AccessLevel, AllowPolicy, DenyPolicy, HierarchyNode, PolicyData } from "./types";
import { parseResourceName } from "./resources";

export interface World {
  organizations?: Array<{ id: string; displayName?: string; domain?: string }>;
  folders?: Array<{ id: string; parent: string; displayName?: string }>;
  projects?: Array<{ id: string; number?: string; parent?: string; displayName?: string }>;
  resources?: Array<{ name: string; displayName?: string; iap?: boolean; hosts?: string[]; pathPrefix?: string; audience?: string }>;
  users?: Array<{ email: string; displayName?: string; disabled?: boolean }>;
  serviceAccounts?: Array<{ email: string; displayName?: string; disabled?: boolean }>;
  groups?: Array<{ email: string; displayName?: string; members?: string[] }>;
  customRoles?: Array<{ name: string; title?: string; description?: string; permissions: string[] }>;
  accessLevels?: AccessLevel[];
  trustedIssuers?: Array<{ issuer: string; audiences?: string[]; jwksUri?: string; domains?: string[]; allowUnverifiedEmails?: boolean }>;
  policies?: AllowPolicy[];
  denyPolicies?: DenyPolicy[];
}

export function worldToPolicyData(world: World): PolicyData {
  const nodes = new Map<string, HierarchyNode>();
  for (const o of world.organizations ?? []) nodes.set(`organizations/${o.id}`, { name: `organizations/${o.id}`, parent: null, displayName: o.displayName });
  for (const f of world.folders ?? []) nodes.set(`folders/${f.id}`, { name: `folders/${f.id}`, parent: f.parent, displayName: f.displayName });
  for (const p of world.projects ?? []) nodes.set(`projects/${p.id}`, { name: `projects/${p.id}`, parent: p.parent ?? null, displayName: p.displayName });
  for (const r of world.resources ?? []) {
    const info = parseResourceName(r.name);
    const node: HierarchyNode = { name: r.name, parent: info?.impliedParent ?? null };
    if (r.displayName !== undefined) node.displayName = r.displayName;
    if (r.iap !== undefined) node.iapEnabled = r.iap;
    if (r.hosts !== undefined) node.hosts = r.hosts;
    if (r.pathPrefix !== undefined) node.pathPrefix = r.pathPrefix;
    nodes.set(r.name, node);
  }
  // Implied intermediate nodes, up to (not including) the project, which must be declared.
  for (const n of [...nodes.values()]) {
    let parent = n.parent;
    while (parent !== null && !nodes.has(parent)) {
      const info = parseResourceName(parent);
      if (!info || info.impliedParent === null) break;
      nodes.set(parent, { name: parent, parent: info.impliedParent });
      parent = info.impliedParent;
    }
  }
  return {
    nodes: [...nodes.values()],
    principals: [
      ...(world.users ?? []).map((u) => ({ member: `user:${u.email}`, displayName: u.displayName, ...(u.disabled ? { disabled: true } : {}) })),
      ...(world.serviceAccounts ?? []).map((u) => ({ member: `serviceAccount:${u.email}`, displayName: u.displayName, ...(u.disabled ? { disabled: true } : {}) })),
    ],
    groups: (world.groups ?? []).map((g) => ({ email: g.email, members: g.members ?? [] })),
    roles: (world.customRoles ?? []).map((r) => ({ name: r.name, title: r.title, permissions: r.permissions })),
    policies: world.policies ?? [],
    denyPolicies: world.denyPolicies ?? [],
    accessLevels: world.accessLevels ?? [],
  };
}
