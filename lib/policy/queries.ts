/**
 * Queries for the console and the troubleshooter. INVARIANT: consistent with `evaluate` by
 * construction — the principal lists are exactly the candidates for which `evaluate` allows.
 */
import type { CheckInput, GrantedBy, RequestAttributes } from "./types";
import type { Snapshot } from "./compile";
import { evaluate } from "./evaluate";
import { defaultPermission, PERMISSIONS } from "./resources";
import { parseMember } from "./members";

export interface MemberGrant {
  /** The member as written in the binding (may be a group, domain, allUsers, …). */
  member: string;
  grantedBy: GrantedBy;
  /** The binding has a condition: whether it applies depends on the request. */
  conditional: boolean;
  /** Inherited from an ancestor rather than set on the resource itself. */
  inherited: boolean;
}

export interface WhoCanResult {
  resource: string;
  permission: string;
  /** Set when no principal can pass: the resource is unknown or IAP is off. */
  blocked?: "UNKNOWN_RESOURCE" | "IAP_DISABLED";
  /** Every (binding, member) on the resource and its ancestors whose role holds the permission. */
  members: MemberGrant[];
  /** Known principals (snapshot principals, and users/service accounts named in bindings or groups) that `evaluate` allows for this request. */
  principals: Array<{ principal: string; grantedBy: GrantedBy }>;
  /** Whether an anonymous request is allowed. */
  anonymous: boolean;
}

export interface QueryOptions {
  request: RequestAttributes;
  destination?: CheckInput["destination"];
}

/** Who holds `permission` (default: by resource type) on `resource`, under the given request. */
export function whoCan(s: Snapshot, resource: string, permission: string | undefined, opts: QueryOptions): WhoCanResult {
  const node = s.nodes.get(resource);
  const perm = permission ?? (node ? defaultPermission(node.type) : PERMISSIONS.webAccess);
  const result: WhoCanResult = { resource, permission: perm, members: [], principals: [], anonymous: false };
  if (!node) return { ...result, blocked: "UNKNOWN_RESOURCE" };
  const candidates = new Set<string>(s.principals.keys());
  const addGroupMembers = (groupKey: string, seen: Set<string>) => {
    if (seen.has(groupKey)) return;
    seen.add(groupKey);
    for (const m of s._.direct.get(groupKey) ?? []) {
      if (m.startsWith("group:")) addGroupMembers(m, seen);
      else candidates.add(m);
    }
  };
  for (const n of node.chain) {
    for (const b of s._.bindings.get(n) ?? []) {
      if (!s._.rolePermissions.get(b.role)?.has(perm)) continue;
      b.members.forEach((m, i) => {
        const grantedBy: GrantedBy = { resource: b.resource, role: b.role, member: m };
        if (b.conditionTitle !== undefined) grantedBy.condition = b.conditionTitle;
        result.members.push({ member: m, grantedBy, conditional: b.condition !== null, inherited: n !== resource });
        if (b.memberIndex.get(parseKey(m) ?? "") !== i) return;
        const p = parseMember(m);
        if (!p.ok) return;
        if (p.value.kind === "user" || p.value.kind === "serviceAccount") candidates.add(p.value.key);
        else if (p.value.kind === "group") addGroupMembers(p.value.key, new Set());
      });
    }
  }
  if (node.isWeb && !node.iapEnabled && perm === PERMISSIONS.webAccess) return { ...result, blocked: "IAP_DISABLED" };
  for (const c of [...candidates].sort()) {
    const d = evaluate(s, { principal: c, resource, permission: perm, request: opts.request, destination: opts.destination });
    if (d.allowed && d.grantedBy) result.principals.push({ principal: c, grantedBy: d.grantedBy });
  }
  result.anonymous = evaluate(s, { principal: null, resource, permission: perm, request: opts.request, destination: opts.destination }).allowed;
  return result;
}

function parseKey(m: string): string | null {
  const p = parseMember(m);
  return p.ok ? p.value.key : null;
}

export interface WhatCanEntry {
  resource: string;
  permission: string;
  grantedBy: GrantedBy;
}

/**
 * Resources `principal` (null = anonymous) can reach under the given request: with `permission`,
 * that permission on every node; without, each node's default permission.
 */
export function whatCan(s: Snapshot, principal: string | null, permission: string | undefined, opts: QueryOptions): WhatCanEntry[] {
  const out: WhatCanEntry[] = [];
  for (const name of [...s.nodes.keys()].sort()) {
    const d = evaluate(s, { principal, resource: name, permission, request: opts.request, destination: opts.destination });
    if (d.allowed && d.grantedBy) out.push({ resource: name, permission: d.permission, grantedBy: d.grantedBy });
  }
  return out;
}
