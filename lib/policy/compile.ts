/**
 * compile(data, revision) → Snapshot: an immutable, indexed form of all policy data.
 *
 * INVARIANTS: a snapshot is never mutated after construction (the only interior mutability is
 * memoisation of pure functions of the snapshot); incremental updates (`withPolicy`, …) return a
 * new snapshot that shares every unchanged index with the old one and is observationally equal to
 * `compile` of the updated data (tested).
 */
import { RESOURCE_TYPES } from "./types";
import type { AccessLevel, AllowPolicy, DenyPolicy, Group, HierarchyNode, PolicyData, Principal, Role } from "./types";
import { parseResourceName, serviceOfType, isWebResourceType, normalisePermission } from "./resources";
import { PREDEFINED_ROLES } from "./roles";
import { parseMember, parseDenyPrincipal, parsePrincipal } from "./members";
import { compileOrBroken, type CompiledCondition } from "./cel";
import { compileAccessLevels, levelClosure, type CompiledAccessLevel } from "./access-levels";
import { directMembers, parentIndex, transitiveGroups } from "./groups";
import { normaliseHost, normalisePath, normalisePathPrefix, rawPath, underPrefix } from "./request";

export interface CompiledNode {
  readonly name: string;
  readonly type: string;
  readonly service: string;
  readonly parent: string | null;
  /** The node itself, then its ancestors up to the root. */
  readonly chain: readonly string[];
  /** A web resource (backend service, App Engine service/version, Cloud Run service behind IAP). */
  readonly isWeb: boolean;
  /** Effective IAP switch (web resources and web types; nearest explicit setting up the web chain, default off). */
  readonly iapEnabled: boolean;
  readonly hosts: readonly string[];
  readonly pathPrefix?: string;
  readonly displayName?: string;
}

export interface CompiledBinding {
  readonly resource: string;
  readonly index: number;
  readonly role: string;
  readonly members: readonly string[];
  /** Canonical member key → first index in `members` (deleted/invalid members are absent: they never match). */
  readonly memberIndex: ReadonlyMap<string, number>;
  readonly condition: CompiledCondition | null;
  readonly conditionTitle?: string;
}

export interface BindingRef {
  readonly binding: CompiledBinding;
  readonly memberIdx: number;
}

/**
 * Identities memoised per principal string (evaluate.ts). The hot path reads only `byPrincipal`
 * (principal → offset, a small integer stored in the map itself) and one run of `arena`; the
 * identity objects are read only for deny rules, access levels and explanations. Laid out so
 * because in a large world the identities do not fit in the CPU caches, and each object or array
 * between the principal and its ids is one more cache miss per check.
 */
export interface IdentityMemo {
  readonly byPrincipal: Map<string, number>;
  /** Runs of [identity index, key-table size the ids are for, flags, n, id × n] (see evaluate.ts). */
  arena: Int32Array;
  used: number;
  readonly identities: import("./evaluate").Identity[];
  clear(): void;
}

export function newIdentityMemo(): IdentityMemo {
  return {
    byPrincipal: new Map(),
    arena: new Int32Array(4096),
    used: 0,
    identities: [],
    clear() {
      this.byPrincipal.clear();
      this.identities.length = 0;
      this.arena = new Int32Array(4096);
      this.used = 0;
    },
  };
}

/**
 * Bindings on one node granting one permission, by member-key id (`Internals.keyIds`): each key's
 * candidates in policy order (binding, then member), and the keys in the order of their first
 * candidates — the map's insertion order, as `indexBindings` walks bindings and members in order.
 * plan.ts relies on both.
 */
export type PermissionIndex = ReadonlyMap<number, readonly BindingRef[]>;

export interface CompiledDenyRule {
  readonly attachedTo: string;
  readonly policy?: string;
  readonly policyIndex: number;
  readonly ruleIndex: number;
  /** Canonical key → [index in deniedPrincipals, entry as written] (first occurrence). */
  readonly denied: ReadonlyMap<string, readonly [number, string]>;
  readonly excepted: ReadonlySet<string>;
  readonly permissions: readonly string[];
  readonly exceptionPermissions: readonly string[];
  readonly condition: CompiledCondition | null;
  readonly conditionTitle?: string;
}

export interface Internals {
  /**
   * Interned member keys: canonical member key → small integer id, for every key named by an
   * allow binding. Shared by all snapshots derived from one `compile` and only ever grows (an id
   * is a label; a key keeps its id), so sharing it is safe.
   */
  readonly keyIds: Map<string, number>;
  readonly bindings: ReadonlyMap<string, readonly CompiledBinding[]>;
  readonly allow: ReadonlyMap<string, ReadonlyMap<string, PermissionIndex>>;
  readonly deny: ReadonlyMap<string, readonly CompiledDenyRule[]>;
  /** Group key → canonical direct member keys. */
  readonly direct: ReadonlyMap<string, readonly string[]>;
  /** Member key → group keys listing it directly. */
  readonly parents: ReadonlyMap<string, readonly string[]>;
  /** Member key (user/serviceAccount/group) → transitive group keys. */
  readonly memberGroups: ReadonlyMap<string, readonly string[]>;
  readonly levels: ReadonlyMap<string, CompiledAccessLevel>;
  readonly rolePermissions: ReadonlyMap<string, ReadonlySet<string>>;
  /** Memo: node → access levels relevant to it (sorted), see `relevantLevels`. */
  readonly levelMemo: Map<string, readonly string[]>;
  /** Memo: expression → compiled condition (pure). */
  readonly conditionCache: Map<string, CompiledCondition>;
  /** Memo: relevant-level list (by content) → static-ness and, if static, results per (IP, region); see plan.ts. */
  readonly levelSets: Map<string, import("./plan").LevelSet>;
  /** Memo: node → its evaluation plans per permission (plan.ts). Depends on the node's chain. */
  readonly planMemo: Map<string, import("./plan").NodePlans>;
  /** Memo: node → permission → tier of the node's own allow candidates (plan.ts). Depends on the node's allow data. */
  readonly tierMemo: Map<string, Map<string, import("./plan").Tier | null>>;
  /** Memo: principal string → identity (member keys and their ids); see evaluate.ts `identitySlot`. */
  readonly identityMemo: IdentityMemo;
  /** Host (exact, or a `*.` wildcard) → its routes, longest prefix first (for `resolveHost`). */
  readonly hosts: ReadonlyMap<string, readonly HostRoute[]>;
  /**
   * Canonical emails of disabled accounts (`Principal.disabled`). Identities depend on it (a
   * memoised identity carries its disabled flag), so a change of this set resets `identityMemo`.
   */
  readonly disabled: ReadonlySet<string>;
}

/** One (host, path prefix) → resource mapping; `prefix` in normal form, "" = the host's fallback. */
export interface HostRoute {
  readonly prefix: string;
  readonly resource: string;
}

export interface Snapshot {
  readonly revision: string;
  readonly nodes: ReadonlyMap<string, CompiledNode>;
  /** Node → direct children. */
  readonly children: ReadonlyMap<string, readonly string[]>;
  readonly principals: ReadonlyMap<string, Principal>;
  /** Group key (`group:{email}`) → group as given. */
  readonly groups: ReadonlyMap<string, Group>;
  /** Custom roles as given (predefined roles are implicit). */
  readonly customRoles: ReadonlyMap<string, Role>;
  readonly policies: ReadonlyMap<string, AllowPolicy>;
  readonly denyPolicies: ReadonlyMap<string, readonly DenyPolicy[]>;
  readonly accessLevels: ReadonlyMap<string, AccessLevel>;
  /** Problems found in the data (dangling references, invalid members); they never grant. */
  readonly warnings: readonly string[];
  /** Indexes; not part of the stable API. */
  readonly _: Internals;
}

export type Revision = string | number | bigint;

// ---------------------------------------------------------------------------------------------
// Pieces

function buildNodes(list: readonly HierarchyNode[], warnings: string[]): { nodes: Map<string, CompiledNode>; children: Map<string, string[]> } {
  const byName = new Map<string, HierarchyNode>();
  for (const n of list) byName.set(n.name, n);
  const nodes = new Map<string, CompiledNode>();
  const children = new Map<string, string[]>();
  const build = (name: string, stack: Set<string>): CompiledNode | null => {
    const done = nodes.get(name);
    if (done) return done;
    const n = byName.get(name);
    if (!n) return null;
    if (stack.has(name)) {
      warnings.push(`hierarchy cycle at ${name}; parent link ignored`);
      return null;
    }
    stack.add(name);
    const info = parseResourceName(n.name);
    const type = n.type ?? info?.type ?? "unknown";
    const parentName = n.parent ?? info?.impliedParent ?? null;
    let parent: CompiledNode | null = null;
    if (parentName !== null) {
      parent = build(parentName, stack);
      if (!parent) warnings.push(`${name}: parent ${parentName} is unknown`);
    }
    stack.delete(name);
    const isWeb = isWebResourceType(type);
    // The IAP switch is inherited down the web chain: WebType (e.g. one App Engine app) → service → version.
    const iapScope = isWeb || type === RESOURCE_TYPES.iapWebType;
    const parentInScope = parent !== null && (parent.isWeb || parent.type === RESOURCE_TYPES.iapWebType);
    const iapEnabled = iapScope ? (n.iapEnabled ?? (parentInScope && parent ? parent.iapEnabled : false)) : false;
    const node: CompiledNode = Object.freeze({
      name,
      type,
      service: n.service ?? serviceOfType(type),
      parent: parent ? parent.name : null,
      chain: Object.freeze(parent ? [name, ...parent.chain] : [name]),
      isWeb,
      iapEnabled,
      hosts: Object.freeze((n.hosts ?? []).map(normaliseHost)),
      pathPrefix: n.pathPrefix,
      displayName: n.displayName,
    });
    nodes.set(name, node);
    if (parent) {
      const c = children.get(parent.name);
      if (c) c.push(name);
      else children.set(parent.name, [name]);
    }
    return node;
  };
  for (const n of list) build(n.name, new Set());
  return { nodes, children };
}

function buildRolePermissions(custom: ReadonlyMap<string, Role>): Map<string, ReadonlySet<string>> {
  const m = new Map<string, ReadonlySet<string>>();
  for (const r of PREDEFINED_ROLES) m.set(r.name, new Set(r.permissions));
  for (const r of custom.values()) m.set(r.name, new Set(r.permissions));
  return m;
}

function cachedCondition(cache: Map<string, CompiledCondition>, expression: string): CompiledCondition {
  let c = cache.get(expression);
  if (!c) {
    c = compileOrBroken(expression, "iam");
    cache.set(expression, c);
  }
  return c;
}

function compileBindings(policy: AllowPolicy, cache: Map<string, CompiledCondition>, warnings: string[]): CompiledBinding[] {
  return policy.bindings.map((b, index) => {
    const memberIndex = new Map<string, number>();
    b.members.forEach((m, j) => {
      const p = parseMember(m);
      if (!p.ok) {
        warnings.push(`${policy.resource} bindings[${index}].members[${j}]: ${p.error}`);
        return;
      }
      if (p.value.kind === "deleted") return; // INVARIANT: deleted members never match a live principal.
      if (!memberIndex.has(p.value.key)) memberIndex.set(p.value.key, j);
    });
    return Object.freeze({
      resource: policy.resource,
      index,
      role: b.role,
      members: Object.freeze([...b.members]),
      memberIndex,
      condition: b.condition ? cachedCondition(cache, b.condition.expression) : null,
      conditionTitle: b.condition?.title,
    });
  });
}

/** A `user:` or `serviceAccount:` key (one identity's own), as opposed to keys shared by many identities. */
function isPrincipalKey(key: string): boolean {
  return key.startsWith("user:") || key.startsWith("serviceAccount:");
}

function keyId(keyIds: Map<string, number>, key: string): number {
  let id = keyIds.get(key);
  if (id === undefined) keyIds.set(key, (id = keyIds.size));
  return id;
}

function indexBindings(bindings: readonly CompiledBinding[], roles: ReadonlyMap<string, ReadonlySet<string>>, keyIds: Map<string, number>, warnings: string[]): Map<string, PermissionIndex> {
  const byPerm = new Map<string, Map<number, BindingRef[]>>();
  for (const b of bindings) {
    const perms = roles.get(b.role);
    if (!perms) {
      warnings.push(`${b.resource} bindings[${b.index}]: unknown role ${b.role}`);
      continue;
    }
    for (const p of perms) {
      let idx = byPerm.get(p);
      if (!idx) byPerm.set(p, (idx = new Map()));
      for (const [key, memberIdx] of b.memberIndex) {
        const id = keyId(keyIds, key);
        const list = idx.get(id);
        const ref: BindingRef = { binding: b, memberIdx };
        if (list) list.push(ref);
        else idx.set(id, [ref]);
      }
    }
  }
  return byPerm as Map<string, PermissionIndex>;
}

function compileDenyPolicies(attachedTo: string, policies: readonly DenyPolicy[], cache: Map<string, CompiledCondition>, warnings: string[]): CompiledDenyRule[] {
  const out: CompiledDenyRule[] = [];
  policies.forEach((p, policyIndex) => {
    p.rules.forEach((r, ruleIndex) => {
      const denied = new Map<string, readonly [number, string]>();
      r.deniedPrincipals.forEach((m, i) => {
        const pm = parseDenyPrincipal(m);
        if (!pm.ok) warnings.push(`deny ${attachedTo}[${policyIndex}].rules[${ruleIndex}]: ${pm.error}`);
        else if (pm.value.kind !== "deleted" && !denied.has(pm.value.key)) denied.set(pm.value.key, [i, m]);
      });
      const excepted = new Set<string>();
      for (const m of r.exceptionPrincipals ?? []) {
        const pm = parseDenyPrincipal(m);
        if (pm.ok && pm.value.kind !== "deleted") excepted.add(pm.value.key);
      }
      out.push(
        Object.freeze({
          attachedTo,
          policy: p.name,
          policyIndex,
          ruleIndex,
          denied,
          excepted,
          permissions: r.deniedPermissions.map(normalisePermission),
          exceptionPermissions: (r.exceptionPermissions ?? []).map(normalisePermission),
          condition: r.denialCondition ? cachedCondition(cache, r.denialCondition.expression) : null,
          conditionTitle: r.denialCondition?.title,
        }),
      );
    });
  });
  return out;
}

function computeMemberGroups(direct: ReadonlyMap<string, readonly string[]>, parents: ReadonlyMap<string, readonly string[]>, keys?: Iterable<string>): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  const all = keys ?? new Set([...parents.keys(), ...direct.keys()]);
  for (const k of all) {
    const gs = transitiveGroups(k, parents);
    if (gs.length > 0) out.set(k, Object.freeze(gs));
  }
  return out;
}

function buildHosts(nodes: ReadonlyMap<string, CompiledNode>): Map<string, HostRoute[]> {
  const m = new Map<string, HostRoute[]>();
  for (const n of nodes.values()) {
    const prefix = normalisePathPrefix(n.pathPrefix);
    for (const h of n.hosts) {
      const l = m.get(h);
      const route: HostRoute = Object.freeze({ prefix, resource: n.name });
      if (l) l.push(route);
      else m.set(h, [route]);
    }
  }
  for (const l of m.values()) l.sort((a, b) => b.prefix.length - a.prefix.length);
  return m;
}

/**
 * Known principals by canonical key. Entries naming the same principal (in another case) merge,
 * and `disabled` sticks: the account is disabled if any entry says so (fail closed).
 */
function principalMap(list: readonly Principal[], warnings: string[]): Map<string, Principal> {
  const m = new Map<string, Principal>();
  for (const p of list) {
    const pp = parsePrincipal(p.member);
    if (!pp.ok) {
      warnings.push(`principal ${p.member}: ${pp.error}`);
      continue;
    }
    const prev = m.get(pp.value.key);
    m.set(pp.value.key, prev?.disabled === true && p.disabled !== true ? { ...p, disabled: true } : p);
  }
  return m;
}

/** Canonical emails of the disabled principals (of either kind: an email is one account). */
function disabledEmails(principals: ReadonlyMap<string, Principal>): Set<string> {
  const out = new Set<string>();
  for (const [key, p] of principals) if (p.disabled === true) out.add(key.slice(key.indexOf(":") + 1));
  return out;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function groupMap(list: readonly Group[], warnings: string[]): Map<string, Group> {
  const m = new Map<string, Group>();
  for (const g of list) {
    const k = parseMember(`group:${g.email}`);
    if (k.ok) m.set(k.value.key, g);
    else warnings.push(`group ${g.email}: ${k.error}`);
  }
  return m;
}

function freezeSnapshot(s: Snapshot): Snapshot {
  return Object.freeze(s);
}

// ---------------------------------------------------------------------------------------------
// compile

export function compile(data: PolicyData, revision: Revision): Snapshot {
  const warnings: string[] = [];
  const { nodes, children } = buildNodes(data.nodes, warnings);
  const customRoles = new Map<string, Role>((data.roles ?? []).map((r) => [r.name, r]));
  const rolePermissions = buildRolePermissions(customRoles);
  const conditionCache = new Map<string, CompiledCondition>();
  const keyIds = new Map<string, number>();

  const policies = new Map<string, AllowPolicy>();
  for (const p of data.policies ?? []) {
    if (policies.has(p.resource)) warnings.push(`${p.resource}: more than one allow policy; the last one wins`);
    policies.set(p.resource, p);
  }
  const bindings = new Map<string, readonly CompiledBinding[]>();
  const allow = new Map<string, ReadonlyMap<string, PermissionIndex>>();
  for (const [res, p] of policies) {
    if (!nodes.has(res)) warnings.push(`allow policy on unknown resource ${res}`);
    bindings.set(res, compileBindings(p, conditionCache, warnings));
  }
  // Keys many identities share (groups, domains, allUsers, allAuthenticatedUsers) get the low ids:
  // the filter bits a check tests (plan.ts) are then mostly in a small range that stays in cache.
  for (const cb of bindings.values()) for (const b of cb) for (const key of b.memberIndex.keys()) if (!isPrincipalKey(key)) keyId(keyIds, key);
  for (const [res, cb] of bindings) allow.set(res, indexBindings(cb, rolePermissions, keyIds, warnings));

  const denyPolicies = new Map<string, DenyPolicy[]>();
  for (const d of data.denyPolicies ?? []) {
    const l = denyPolicies.get(d.attachedTo);
    if (l) l.push(d);
    else denyPolicies.set(d.attachedTo, [d]);
  }
  const deny = new Map<string, readonly CompiledDenyRule[]>();
  for (const [res, list] of denyPolicies) {
    if (!nodes.has(res)) warnings.push(`deny policy on unknown resource ${res}`);
    deny.set(res, compileDenyPolicies(res, list, conditionCache, warnings));
  }

  const groups = groupMap(data.groups ?? [], warnings);
  const direct = directMembers([...groups.values()]);
  const parents = parentIndex(direct);
  const memberGroups = computeMemberGroups(direct, parents);

  const accessLevels = new Map<string, AccessLevel>((data.accessLevels ?? []).map((l) => [l.name, l]));
  const levels = compileAccessLevels([...accessLevels.values()]);
  const principals = principalMap(data.principals ?? [], warnings);

  return freezeSnapshot({
    revision: String(revision),
    nodes,
    children,
    principals,
    groups,
    customRoles,
    policies,
    denyPolicies,
    accessLevels,
    warnings,
    _: {
      keyIds,
      bindings,
      allow,
      deny,
      direct,
      parents,
      memberGroups,
      levels,
      rolePermissions,
      levelMemo: new Map(),
      identityMemo: newIdentityMemo(),
      levelSets: new Map(),
      planMemo: new Map(),
      tierMemo: new Map(),
      conditionCache,
      hosts: buildHosts(nodes),
      disabled: disabledEmails(principals),
    },
  });
}

/** The data a snapshot was compiled from (after all incremental updates). */
export function snapshotData(s: Snapshot): PolicyData {
  return {
    nodes: [...s.nodes.values()].map((n) => {
      const src: HierarchyNode = { name: n.name, parent: n.parent, type: n.type, service: n.service };
      if (n.isWeb || n.type === RESOURCE_TYPES.iapWebType) src.iapEnabled = n.iapEnabled;
      if (n.hosts.length > 0) src.hosts = [...n.hosts];
      if (n.pathPrefix !== undefined) src.pathPrefix = n.pathPrefix;
      if (n.displayName !== undefined) src.displayName = n.displayName;
      return src;
    }),
    principals: [...s.principals.values()],
    groups: [...s.groups.values()],
    roles: [...s.customRoles.values()],
    policies: [...s.policies.values()],
    denyPolicies: [...s.denyPolicies.values()].flat(),
    accessLevels: [...s.accessLevels.values()],
  };
}

// ---------------------------------------------------------------------------------------------
// Incremental updates

/** What an incremental update changed, for memo invalidation. */
interface Changed {
  /** Allow bindings changed on this node, or (true) everywhere (role permissions changed). */
  allow?: string | true;
  /** Deny policies changed on this node. */
  deny?: string;
  levels?: boolean;
  nodes?: boolean;
  /** Identities changed (the disabled set). */
  identities?: boolean;
}

/** A copy of a node-keyed memo without the nodes whose chain includes `changed`. */
function withoutChainsOf<V>(s: Snapshot, memo: Map<string, V>, changed: string): Map<string, V> {
  const out = new Map<string, V>();
  for (const [name, v] of memo) if (s.nodes.get(name)?.chain.includes(changed) === false) out.set(name, v);
  return out;
}

function withoutKey<V>(memo: Map<string, V>, key: string): Map<string, V> {
  const out = new Map(memo);
  out.delete(key);
  return out;
}

/**
 * A new snapshot with `patch` applied. Memos are shared where the data they depend on is
 * unchanged, filtered where only some chains are affected, and reset otherwise.
 */
function derive(s: Snapshot, revision: Revision, patch: Partial<Omit<Snapshot, "_" | "revision">>, internals: Partial<Internals>, changed: Changed): Snapshot {
  const m = s._;
  const onNode = typeof changed.allow === "string" ? changed.allow : changed.deny;
  const resetPlans = changed.nodes === true || changed.levels === true || changed.allow === true;
  // Tiers depend on one node's bindings and on role permissions only (not on the hierarchy).
  const resetTiers = changed.allow === true;
  const resetLevels = changed.nodes === true || changed.levels === true;
  return freezeSnapshot({
    ...s,
    ...patch,
    revision: String(revision),
    _: {
      ...m,
      ...internals,
      levelMemo: resetLevels ? new Map() : onNode !== undefined ? withoutChainsOf(s, m.levelMemo, onNode) : m.levelMemo,
      planMemo: resetPlans ? new Map() : onNode !== undefined ? withoutChainsOf(s, m.planMemo, onNode) : m.planMemo,
      tierMemo: resetTiers ? new Map() : typeof changed.allow === "string" ? withoutKey(m.tierMemo, changed.allow) : m.tierMemo,
      levelSets: changed.levels === true ? new Map() : m.levelSets,
      identityMemo: internals.memberGroups || changed.identities === true ? newIdentityMemo() : m.identityMemo,
    },
  });
}

/**
 * The same snapshot under another revision (for a change that touched no policy data, e.g. a
 * principal's display name). Shares every index and memo.
 */
export function withRevision(s: Snapshot, revision: Revision): Snapshot {
  const r = String(revision);
  if (r === s.revision) return s;
  return derive(s, r, {}, {}, {});
}

/** Replaces (or, with no bindings, empties) the allow policy of one node. */
export function withPolicy(s: Snapshot, policy: AllowPolicy, revision: Revision): Snapshot {
  const warnings = [...s.warnings];
  const policies = new Map(s.policies);
  const bindings = new Map(s._.bindings);
  const allow = new Map(s._.allow);
  if (policy.bindings.length === 0) {
    policies.delete(policy.resource);
    bindings.delete(policy.resource);
    allow.delete(policy.resource);
  } else {
    policies.set(policy.resource, policy);
    const cb = compileBindings(policy, s._.conditionCache, warnings);
    bindings.set(policy.resource, cb);
    allow.set(policy.resource, indexBindings(cb, s._.rolePermissions, s._.keyIds, warnings));
  }
  return derive(s, revision, { policies, warnings }, { bindings, allow }, { allow: policy.resource });
}

/** Replaces all deny policies attached to one node (an empty list removes them). */
export function withDenyPolicies(s: Snapshot, attachedTo: string, list: readonly DenyPolicy[], revision: Revision): Snapshot {
  const warnings = [...s.warnings];
  const denyPolicies = new Map(s.denyPolicies);
  const deny = new Map(s._.deny);
  if (list.length === 0) {
    denyPolicies.delete(attachedTo);
    deny.delete(attachedTo);
  } else {
    const fixed = list.map((d) => ({ ...d, attachedTo }));
    denyPolicies.set(attachedTo, fixed);
    deny.set(attachedTo, compileDenyPolicies(attachedTo, fixed, s._.conditionCache, warnings));
  }
  return derive(s, revision, { denyPolicies, warnings }, { deny }, { deny: attachedTo });
}

/**
 * Sets a group's members (creating the group if needed; `null` deletes it). Only the transitive
 * memberships of principals below the changed group are recomputed.
 */
export function withGroupMembers(s: Snapshot, groupEmail: string, members: readonly string[] | null, revision: Revision): Snapshot {
  const gk = parseMember(`group:${groupEmail}`);
  if (!gk.ok) throw new Error(gk.error);
  const key = gk.value.key;
  const groups = new Map(s.groups);
  if (members === null) groups.delete(key);
  else groups.set(key, { email: groupEmail, members: [...members] });
  // Affected member keys: everything below the group, before and after the change.
  const affected = new Set<string>();
  const collect = (direct: ReadonlyMap<string, readonly string[]>) => {
    const stack = [key];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const g = stack.pop() as string;
      if (seen.has(g)) continue;
      seen.add(g);
      affected.add(g);
      for (const m of direct.get(g) ?? []) {
        affected.add(m);
        if (m.startsWith("group:")) stack.push(m);
      }
    }
  };
  collect(s._.direct);
  const direct = new Map(s._.direct);
  const newDirect = directMembers(members === null ? [] : [{ email: groupEmail, members: [...members] }]);
  if (members === null) direct.delete(key);
  else direct.set(key, newDirect.get(key) ?? []);
  collect(direct);
  const parents = parentIndex(direct);
  const memberGroups = new Map(s._.memberGroups);
  for (const k of affected) {
    const gs = transitiveGroups(k, parents);
    if (gs.length > 0) memberGroups.set(k, Object.freeze(gs));
    else memberGroups.delete(k);
  }
  return derive(s, revision, { groups }, { direct, parents, memberGroups }, {});
}

/** Replaces the custom roles; re-indexes the bindings (their permissions may change). */
export function withCustomRoles(s: Snapshot, roles: readonly Role[], revision: Revision): Snapshot {
  const warnings = [...s.warnings];
  const customRoles = new Map(roles.map((r) => [r.name, r]));
  const rolePermissions = buildRolePermissions(customRoles);
  const allow = new Map<string, ReadonlyMap<string, PermissionIndex>>();
  for (const [res, cb] of s._.bindings) allow.set(res, indexBindings(cb, rolePermissions, s._.keyIds, warnings));
  return derive(s, revision, { customRoles, warnings }, { allow, rolePermissions }, { allow: true });
}

/** Replaces the access levels. */
export function withAccessLevels(s: Snapshot, list: readonly AccessLevel[], revision: Revision): Snapshot {
  const accessLevels = new Map(list.map((l) => [l.name, l]));
  return derive(s, revision, { accessLevels }, { levels: compileAccessLevels(list) }, { levels: true });
}

/** Adds or replaces hierarchy nodes (e.g. a new resource, IAP switched on/off, a project moved). */
export function withNodes(s: Snapshot, changed: readonly HierarchyNode[], revision: Revision): Snapshot {
  const warnings = [...s.warnings];
  const current = new Map(snapshotData(s).nodes.map((n) => [n.name, n]));
  for (const n of changed) current.set(n.name, n);
  const { nodes, children } = buildNodes([...current.values()], warnings);
  return derive(s, revision, { nodes, children, warnings }, { hosts: buildHosts(nodes) }, { nodes: true });
}

/** Removes hierarchy nodes (and their policies). Children of a removed node lose their parent. */
export function withoutNodes(s: Snapshot, names: readonly string[], revision: Revision): Snapshot {
  const gone = new Set(names);
  const data = snapshotData(s);
  let next = compileNodesOnly(s, data.nodes.filter((n) => !gone.has(n.name)), revision);
  for (const n of names) {
    if (next.policies.has(n)) next = withPolicy(next, { resource: n, bindings: [] }, revision);
    if (next.denyPolicies.has(n)) next = withDenyPolicies(next, n, [], revision);
  }
  return next;
}

function compileNodesOnly(s: Snapshot, list: readonly HierarchyNode[], revision: Revision): Snapshot {
  const warnings = [...s.warnings];
  const { nodes, children } = buildNodes(list, warnings);
  return derive(s, revision, { nodes, children, warnings }, { hosts: buildHosts(nodes) }, { nodes: true });
}

/**
 * Replaces the known principals. Checks accept any well-formed principal; the list matters to
 * queries (candidates) and for `disabled`: a principal disabled or re-enabled takes effect at once
 * (the identity memo is replaced when the disabled set changes, and shared when it does not).
 */
export function withPrincipals(s: Snapshot, list: readonly Principal[], revision: Revision): Snapshot {
  const warnings = [...s.warnings];
  const principals = principalMap(list, warnings);
  const disabled = disabledEmails(principals);
  const changed = !sameSet(disabled, s._.disabled);
  return derive(s, revision, { principals, warnings }, changed ? { disabled } : {}, { identities: changed });
}

// ---------------------------------------------------------------------------------------------
// Derived lookups

/**
 * Access levels relevant to a node: those referenced (directly or through requiredAccessLevels)
 * by any condition of any binding or deny rule on the node's chain; all levels if some condition
 * reads `request.auth.access_levels` other than as `'<level>' in request.auth.access_levels`.
 */
export function relevantLevels(s: Snapshot, node: CompiledNode): readonly string[] {
  const memo = s._.levelMemo.get(node.name);
  if (memo) return memo;
  const roots = new Set<string>();
  let all = false;
  const add = (c: CompiledCondition | null) => {
    if (!c || c.accessLevelRefs === null) return;
    if (c.accessLevelRefs === "all") all = true;
    else for (const l of c.accessLevelRefs) roots.add(l);
  };
  for (const n of node.chain) {
    for (const b of s._.bindings.get(n) ?? []) add(b.condition);
    for (const r of s._.deny.get(n) ?? []) add(r.condition);
  }
  const result = Object.freeze([...levelClosure(s._.levels, all ? [...roots, ...s._.levels.keys()] : roots)].sort());
  s._.levelMemo.set(node.name, result);
  return result;
}

export type HostResolution = { ok: true; resource: string } | { ok: false; reason: "UNMAPPED" | "AMBIGUOUS" };

const UNMAPPED: HostResolution = Object.freeze({ ok: false, reason: "UNMAPPED" });
const AMBIGUOUS: HostResolution = Object.freeze({ ok: false, reason: "AMBIGUOUS" });
/** A tie between two resources on one (host, prefix) pair (stored data the write side refuses). */
const TIE = "\u0000tie";

/** The resource of the longest prefix containing `path` (whole segments), null if none, TIE if two. */
function selectRoute(routes: readonly HostRoute[], path: string): string | null {
  let best: string | null = null;
  let len = -1;
  for (const r of routes) {
    if (r.prefix.length < len) break; // longest first: nothing shorter can win
    if (!underPrefix(path, r.prefix)) continue;
    if (best === null) {
      best = r.resource;
      len = r.prefix.length;
    } else if (r.resource !== best) return TIE;
  }
  return best;
}

const IPV4_RE = /^\d+\.\d+\.\d+\.\d+$/;

/**
 * The routes for a request host: the exact host's if any resource names it (an exact host takes
 * the host entirely, as a server name does), else those of the single-label wildcard covering it
 * (`*.example.com` covers `a.example.com`, not `example.com` nor `a.b.example.com`, as in TLS).
 */
function routesFor(s: Snapshot, host: string): readonly HostRoute[] | undefined {
  if (host === "" || host.includes("*")) return undefined;
  const exact = s._.hosts.get(host);
  if (exact !== undefined) return exact;
  const dot = host.indexOf(".");
  if (dot <= 0 || host.indexOf(".", dot + 1) < 0 || host.startsWith("[") || IPV4_RE.test(host)) return undefined;
  return s._.hosts.get(`*${host.slice(dot)}`);
}

/**
 * Maps a request host (and path) to the web resource serving it. Within the host's routes the
 * longest path prefix containing the path wins, by whole segments (`/app` matches `/app` and
 * `/app/…`, never `/application`); a resource without prefix is the host's fallback. The path is
 * mapped both raw and normalised (request.ts); if they select different resources, or one selects
 * none, the answer is AMBIGUOUS — normalisation must never move a request to another resource.
 * Two resources on one (host, prefix) pair (refused on write) are AMBIGUOUS too, never first-wins.
 */
export function resolveHost(s: Snapshot, host: string, path?: string): HostResolution {
  const routes = routesFor(s, normaliseHost(host));
  if (routes === undefined) return UNMAPPED;
  const p = path ?? "/";
  const normal = normalisePath(p);
  const chosen = selectRoute(routes, normal);
  if (chosen === TIE) return AMBIGUOUS;
  const raw = rawPath(p);
  if (raw !== normal && selectRoute(routes, raw) !== chosen) return AMBIGUOUS;
  return chosen === null ? UNMAPPED : { ok: true, resource: chosen };
}
