// Effective access: "who can reach this resource" and "what can this principal reach", each row
// with its reason (the binding, where it is set, and the group path from the principal to the
// member it names), from the live engine's snapshot. Pure over (snapshot, actor, query, now), so
// the page, the CSV export and the benchmark share it.
//
// A row is one (principal, binding) pair whose role carries the permission. Its `access` says
// what that means now: GRANTED (unconditional), CONDITIONAL (the binding's condition decides per
// request), or why the principal gets no passage whatever the binding says (DENIED_BY_POLICY by an
// unconditional deny rule, PRINCIPAL_DISABLED, IAP_DISABLED). A deny rule with a condition is
// request-dependent like an allow condition: its rows stay CONDITIONAL — the troubleshooter
// answers for one request.
//
// Who may see what: rows come only from policies the viewer may read (getIamPolicy on the node
// the binding is set on), and "who can reach" needs getIamPolicy on the resource itself (refused
// exactly as a missing resource otherwise); "what can reach" lists only resources whose policy
// the viewer may read.
import { stringify } from "csv-stringify/sync";
import { z } from "zod";
import { evaluate, parseMember, parsePrincipal, passagePermission, defaultPermission, type Snapshot } from "@/lib/policy";
import { authorize, permissionDenied } from "@/lib/admin/authz";
import type { Actor } from "@/lib/admin/context";
import { policyPermission } from "@/lib/admin/permissions";
import { parse } from "@/lib/admin/validation";

export type Access = "GRANTED" | "CONDITIONAL" | "DENIED_BY_POLICY" | "PRINCIPAL_DISABLED" | "IAP_DISABLED";

export interface AccessRow {
  /** A `user:`/`serviceAccount:` key, or the member itself when it is not one person (domain:, allUsers, …). */
  principal: string;
  resource: string;
  permission: string;
  access: Access;
  role: string;
  /** Where the binding is set (the resource or an ancestor). */
  grantedOn: string;
  /** The member as the binding names it. */
  member: string;
  /** From the principal to the member: principal, the groups between, member (one element when direct). */
  via: string[];
  condition?: string;
}

const trimmed = (max: number) => z.preprocess((v) => (typeof v === "string" ? v.trim() || undefined : v), z.string().max(max).optional());

export const ZEffectiveAccessQuery = z
  .strictObject({
    resource: trimmed(1024),
    principal: trimmed(320)
      .transform((p) => (p && !p.includes(":") ? `user:${p}` : p))
      .refine((p) => p === undefined || parsePrincipal(p).ok, "A principal is user:EMAIL or serviceAccount:EMAIL"),
    permission: trimmed(256).refine((p) => p === undefined || /^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+){2}$/.test(p), "A permission such as iap.webServiceVersions.accessViaIAP"),
  })
  .refine((q) => Boolean(q.resource) !== Boolean(q.principal), { message: "Ask about a resource or a principal (one of them)", path: ["resource"] });
export type EffectiveAccessQuery = z.infer<typeof ZEffectiveAccessQuery>;

export interface EffectiveAccessView {
  mode: "resource" | "principal";
  query: EffectiveAccessQuery;
  rows: AccessRow[];
  /** Distinct principals (resource mode) or resources (principal mode) among the rows. */
  distinct: number;
  /** Policies along the way the viewer may not read (their rows are left out). */
  hiddenPolicies: number;
}

type Can = (permission: string, node: string) => boolean;

function viewerCan(s: Snapshot, actor: Actor, now: Date): Can {
  const memo = new Map<string, boolean>();
  return (permission, node) => {
    const k = `${permission}\u0000${node}`;
    let v = memo.get(k);
    if (v === undefined) {
      try {
        authorize(s, actor, permission, node, now);
        v = true;
      } catch {
        v = false;
      }
      memo.set(k, v);
    }
    return v;
  };
}

const canReadPolicy = (can: Can, node: string) => {
  const p = policyPermission(node, "getIamPolicy");
  return p !== null && can(p, node);
};

/** The condition title of binding `index` of `resource`'s policy. */
function conditionOf(s: Snapshot, resource: string, index: number): string | undefined {
  return s.policies.get(resource)?.bindings[index]?.condition?.title;
}

/**
 * Every user and service account in group `groupKey`, transitively, each with the path from it up
 * to the group (member, inner groups…, group). Cycles are tolerated (each group visited once).
 */
function expandGroup(s: Snapshot, groupKey: string, memo: Map<string, Array<[string, string[]]>>): Array<[string, string[]]> {
  const hit = memo.get(groupKey);
  if (hit) return hit;
  const out: Array<[string, string[]]> = [];
  const seen = new Set<string>([groupKey]);
  const queue: Array<[string, string[]]> = [[groupKey, [groupKey]]];
  const people = new Set<string>();
  for (let i = 0; i < queue.length; i++) {
    const [g, path] = queue[i]!;
    for (const m of s._.direct.get(g) ?? []) {
      if (m.startsWith("group:")) {
        if (!seen.has(m)) {
          seen.add(m);
          queue.push([m, [m, ...path]]);
        }
      } else if (!people.has(m)) {
        people.add(m);
        out.push([m, [m, ...path]]);
      }
    }
  }
  memo.set(groupKey, out);
  return out;
}

/** What a principal's decision says beyond the binding (deny, disabled, IAP off), if anything. */
function blocker(s: Snapshot, principal: string | null, resource: string, permission: string, now: Date): Access | null {
  // Fast path: nothing can block (the principal is not disabled, IAP is on, no deny rule on the chain).
  const node = s.nodes.get(resource);
  const email = principal === null ? "" : principal.slice(principal.indexOf(":") + 1);
  if (node && !s._.disabled.has(email) && !(node.isWeb && !node.iapEnabled) && node.chain.every((n) => (s._.deny.get(n)?.length ?? 0) === 0)) return null;
  const d = evaluate(s, { principal, resource, permission, request: { time: now } });
  if (d.reason === "PRINCIPAL_DISABLED" || d.reason === "IAP_DISABLED") return d.reason;
  if (d.reason === "DENIED_BY_POLICY" && d.deniedBy && d.deniedBy.condition === undefined && !d.deniedBy.conditionError) return "DENIED_BY_POLICY";
  return null;
}

/** Who can reach `resource` with `permission` (default: the resource's passage permission). */
export function whoCanReach(s: Snapshot, actor: Actor, resource: string, permission: string | undefined, now: Date): Omit<EffectiveAccessView, "query" | "mode"> {
  const node = s.nodes.get(resource);
  const getPolicy = policyPermission(resource, "getIamPolicy");
  if (!node || !getPolicy) throw permissionDenied(getPolicy ?? "iam.troubleshoot", resource);
  authorize(s, actor, getPolicy, resource, now);
  const can = viewerCan(s, actor, now);
  const perm = permission ?? defaultPermission(node.type);
  const rows: AccessRow[] = [];
  const blocked = new Map<string, Access | null>();
  const blockOf = (p: string) => {
    let b = blocked.get(p);
    if (b === undefined) {
      b = parsePrincipal(p).ok ? blocker(s, p, resource, perm, now) : node.isWeb && !node.iapEnabled ? "IAP_DISABLED" : null;
      blocked.set(p, b);
    }
    return b;
  };
  const groups = new Map<string, Array<[string, string[]]>>();
  let hiddenPolicies = 0;
  for (const n of [...node.chain].reverse()) {
    const bindings = s._.bindings.get(n) ?? [];
    if (bindings.length === 0) continue;
    if (!canReadPolicy(can, n)) {
      hiddenPolicies++;
      continue;
    }
    for (const b of bindings) {
      if (!s._.rolePermissions.get(b.role)?.has(perm)) continue;
      const condition = conditionOf(s, n, b.index);
      const add = (principal: string, member: string, via: string[]) => {
        const block = blockOf(principal);
        rows.push({ principal, resource, permission: perm, access: block ?? (condition !== undefined ? "CONDITIONAL" : "GRANTED"), role: b.role, grantedOn: n, member, via, ...(condition !== undefined ? { condition } : {}) });
      };
      for (const m of b.members) {
        const p = parseMember(m);
        if (!p.ok || p.value.kind === "deleted") continue;
        if (p.value.kind === "group") for (const [who, path] of expandGroup(s, p.value.key, groups)) add(who, m, path);
        else add(p.value.key, m, [p.value.key]);
      }
    }
  }
  return { rows, distinct: new Set(rows.map((r) => r.principal)).size, hiddenPolicies };
}

/** What `principal` can reach: every resource with a passage permission (or `permission`) whose policy the viewer may read. */
export function whatCanReach(s: Snapshot, actor: Actor, principal: string, permission: string | undefined, now: Date): Omit<EffectiveAccessView, "query" | "mode"> {
  const p = parsePrincipal(principal);
  if (!p.ok) throw permissionDenied("iam.troubleshoot", principal);
  const key = p.value.key;
  const can = viewerCan(s, actor, now);
  const keys = [key, ...(s._.memberGroups.get(key) ?? []), ...(p.value.kind === "user" ? [`domain:${p.value.email.slice(p.value.email.lastIndexOf("@") + 1)}`] : []), "allAuthenticatedUsers", "allUsers"];
  const rows: AccessRow[] = [];
  let hiddenPolicies = 0;
  const hidden = new Set<string>();
  const viaMemo = new Map<string, string[]>();
  const viaOf = (member: string) => {
    let v = viaMemo.get(member);
    if (!v) {
      v = member.startsWith("group:") ? (groupPath(s, key, member) ?? [key, member]) : member === key ? [key] : [key, member];
      viaMemo.set(member, v);
    }
    return v;
  };
  // The principal's bindings on one node for one permission, found once per node (every
  // descendant shares its ancestors' answer).
  type Match = { role: string; grantedOn: string; member: string; via: string[]; condition?: string };
  const matchMemo = new Map<string, Match[]>();
  const matchesAt = (n: string, perm: string): Match[] => {
    const k = `${perm}\u0000${n}`;
    let out = matchMemo.get(k);
    if (out) return out;
    out = [];
    for (const b of s._.bindings.get(n) ?? []) {
      if (!s._.rolePermissions.get(b.role)?.has(perm)) continue;
      let idx = -1;
      for (const key of keys) {
        const i = b.memberIndex.get(key);
        if (i !== undefined && (idx < 0 || i < idx)) idx = i;
      }
      if (idx < 0) continue;
      const member = b.members[idx]!;
      const canonical = parseMember(member);
      const condition = conditionOf(s, n, b.index);
      out.push({ role: b.role, grantedOn: n, member, via: viaOf(canonical.ok ? canonical.value.key : member), ...(condition !== undefined ? { condition } : {}) });
    }
    matchMemo.set(k, out);
    return out;
  };
  for (const name of [...s.nodes.keys()].sort()) {
    const node = s.nodes.get(name)!;
    const perm = permission ?? passagePermission(node.type);
    if (!perm || !canReadPolicy(can, name)) continue;
    let blockedFor: Access | null | undefined;
    for (let c = node.chain.length - 1; c >= 0; c--) {
      const n = node.chain[c]!;
      if ((s._.bindings.get(n)?.length ?? 0) === 0) continue;
      if (!canReadPolicy(can, n)) {
        if (!hidden.has(n)) {
          hidden.add(n);
          hiddenPolicies++;
        }
        continue;
      }
      for (const m of matchesAt(n, perm)) {
        blockedFor ??= blocker(s, key, name, perm, now);
        rows.push({ principal: key, resource: name, permission: perm, access: blockedFor ?? (m.condition !== undefined ? "CONDITIONAL" : "GRANTED"), ...m });
      }
    }
  }
  return { rows, distinct: new Set(rows.map((r) => r.resource)).size, hiddenPolicies };
}

/** The way from a member key up to group `to` through memberships (s._.parents): from, groups…, to; null when none. */
export function groupPath(s: Snapshot, from: string, to: string): string[] | null {
  if (from === to) return [from];
  const prev = new Map<string, string>([[from, ""]]);
  const queue = [from];
  for (let i = 0; i < queue.length; i++) {
    const cur = queue[i]!;
    for (const g of s._.parents.get(cur) ?? []) {
      if (prev.has(g)) continue;
      prev.set(g, cur);
      if (g === to) {
        const path = [g];
        for (let k = cur; k; k = prev.get(k)!) path.unshift(k);
        return path;
      }
      queue.push(g);
    }
  }
  return null;
}

/** Answers the query (INVALID_ARGUMENT for a malformed one, PERMISSION_DENIED as described above). */
export function effectiveAccess(s: Snapshot, actor: Actor, input: unknown, now: Date): EffectiveAccessView {
  const query = parse(ZEffectiveAccessQuery, input);
  const r = query.resource ? whoCanReach(s, actor, query.resource, query.permission, now) : whatCanReach(s, actor, query.principal!, query.permission, now);
  return { mode: query.resource ? "resource" : "principal", query, ...r };
}

export const CSV_COLUMNS = ["principal", "resource", "permission", "access", "role", "granted_on", "member", "via", "condition"] as const;

/** A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is prefixed with ' (OWASP CSV injection). */
const inert = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);

/** The rows as CSV (RFC 4180, a header line; `via` joined with " > "). */
export function accessCsv(rows: readonly AccessRow[]): string {
  return stringify(
    rows.map((r) => [r.principal, r.resource, r.permission, r.access, r.role, r.grantedOn, r.member, r.via.join(" > "), r.condition ?? ""].map(inert)),
    { header: true, columns: [...CSV_COLUMNS], record_delimiter: "windows" },
  );
}
