/**
 * Group membership. Groups nest to any depth. INVARIANT: a principal's groups are the transitive
 * closure over `group:` members; cycles are rejected at write time (`validateGroupMembership`), and
 * compile tolerates them anyway (closure by BFS with a visited set).
 */
import type { Group } from "./types";
import { parseMember } from "./members";

/** Canonical direct members per group key (`group:{email}` → member keys). Unparseable members are dropped. */
export function directMembers(groups: readonly Group[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const g of groups) {
    const gk = parseMember(`group:${g.email}`);
    if (!gk.ok) continue;
    const list = out.get(gk.value.key) ?? [];
    for (const m of g.members) {
      const p = parseMember(m);
      if (p.ok && (p.value.kind === "user" || p.value.kind === "serviceAccount" || p.value.kind === "group")) list.push(p.value.key);
    }
    out.set(gk.value.key, list);
  }
  return out;
}

/** Invert: member key → group keys that list it directly. */
export function parentIndex(direct: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  for (const [g, members] of direct) {
    for (const m of members) {
      const list = parents.get(m);
      if (list) {
        if (!list.includes(g)) list.push(g);
      } else parents.set(m, [g]);
    }
  }
  return parents;
}

/** Transitive groups of one member key, via BFS over the parent index. */
export function transitiveGroups(key: string, parents: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  const seen = new Set<string>([key]);
  const queue = [...(parents.get(key) ?? [])];
  while (queue.length > 0) {
    const g = queue.shift() as string;
    if (seen.has(g)) continue;
    seen.add(g);
    out.push(g);
    for (const p of parents.get(g) ?? []) if (!seen.has(p)) queue.push(p);
  }
  return out;
}

/** Returns a cycle (list of group keys, first = last) in the membership graph, or null. */
export function findGroupCycle(direct: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (g: string): string[] | null => {
    state.set(g, 1);
    path.push(g);
    for (const m of direct.get(g) ?? []) {
      if (!m.startsWith("group:")) continue;
      const s = state.get(m);
      if (s === 1) return [...path.slice(path.indexOf(m)), m];
      if (s === undefined) {
        const c = visit(m);
        if (c) return c;
      }
    }
    path.pop();
    state.set(g, 2);
    return null;
  };
  for (const g of direct.keys()) {
    if (state.get(g) === undefined) {
      const c = visit(g);
      if (c) return c;
    }
  }
  return null;
}

/**
 * Write-time check for a membership change: sets `group`'s members to `members` and rejects the
 * change if it would create a cycle (including a group containing itself).
 */
export function validateGroupMembership(groups: readonly Group[], group: string, members: readonly string[]): { ok: true } | { ok: false; errors: Array<{ path: string; message: string }> } {
  const errors: Array<{ path: string; message: string }> = [];
  members.forEach((m, i) => {
    const p = parseMember(m);
    if (!p.ok) errors.push({ path: `members[${i}]`, message: p.error });
    else if (p.value.kind === "domain" || p.value.kind === "allUsers" || p.value.kind === "allAuthenticatedUsers") {
      errors.push({ path: `members[${i}]`, message: `a group cannot contain ${p.value.key}` });
    }
  });
  if (errors.length > 0) return { ok: false, errors };
  const gk = parseMember(`group:${group}`);
  if (!gk.ok) return { ok: false, errors: [{ path: "group", message: gk.error }] };
  const next = groups.filter((g) => normaliseGroupKey(g.email) !== gk.value.key).concat([{ email: group, members: [...members] }]);
  const cycle = findGroupCycle(directMembers(next));
  if (cycle) return { ok: false, errors: [{ path: "members", message: `membership would create a cycle: ${cycle.join(" → ")}` }] };
  return { ok: true };
}

function normaliseGroupKey(email: string): string | null {
  const p = parseMember(`group:${email}`);
  return p.ok ? p.value.key : null;
}
