/**
 * Evaluation plans: per (node, permission), everything `evaluate` needs about the node's chain,
 * built lazily and memoised inside the snapshot (pure functions of its data, see compile.ts).
 *
 *  - Allow candidates by member key, merged over the chain, so that a check looks each of its
 *    member keys up once or twice instead of once per policy-bearing ancestor. Two tiers: the
 *    node's own bindings, then the merged chain of its parent (one memo shared by all siblings —
 *    a full copy per node would repeat the ancestors' bindings for every resource). Within a
 *    member key, candidates are linked in evaluation order (nearest node, then policy order).
 *  - The deny rules on the chain that cover the permission, nearest node first.
 *  - The relevant access levels (interned by content, with a result memo when they depend only
 *    on the client IP and region).
 *
 * INVARIANT (memo safety): a memo entry is a pure function of the snapshot data it was built
 * from; derived snapshots share a memo only where that data is unchanged, and otherwise get a
 * filtered copy without the affected nodes (see compile.ts `derive`).
 */
import type { Decision, GrantedBy } from "./types";
import type { CompiledCondition } from "./cel";
import type { CompiledBinding, CompiledDenyRule, CompiledNode, PermissionIndex, Snapshot } from "./compile";
import { relevantLevels } from "./compile";
import { permissionMatches } from "./resources";

export interface ChainRef {
  readonly binding: CompiledBinding;
  /** `binding.condition` (copied: the hot path reads it without touching the binding). */
  readonly condition: CompiledCondition | null;
  /** Index in `binding.members` of the entry matching this member key (first occurrence). */
  readonly memberIdx: number;
  /** Evaluation order within the tier: chain position × 2^32 + binding index. */
  readonly order: number;
  /** The next candidate for the same member key, in evaluation order (null = none). */
  next: ChainRef | null;
  /** Memo: the frozen `grantedBy` naming this candidate. */
  grant: GrantedBy | null;
}

/** Member-key id → first candidate (the rest follow through `next`). */
export type ChainIndex = ReadonlyMap<number, ChainRef>;

/** One tier of allow candidates. */
export interface Tier {
  readonly index: ChainIndex;
  /**
   * Membership bitset over key ids (bit `id` set ⇔ `index.has(id)`; ids past its end are absent),
   * for large tiers: most of a check's keys miss, and a bit test is far cheaper than a lookup in
   * a large map. Null for small tiers.
   */
  readonly bits: Uint32Array | null;
}

export interface LevelResult {
  readonly accessLevels: Decision["accessLevels"];
}

export interface LevelSet {
  /** Relevant access levels, sorted. */
  readonly names: readonly string[];
  /** Whether their result depends only on the client IP and region (basic levels without members). */
  readonly isStatic: boolean;
  /** Static sets only: IP → region → result. Bounded (cleared when full). */
  readonly results: Map<string, Map<string, LevelResult>>;
  size: number;
}

export interface NodePlan {
  readonly node: CompiledNode;
  readonly permission: string;
  /** Allow candidates, tier by tier (earlier tiers come first in evaluation order). */
  readonly tiers: readonly Tier[];
  /** Deny rules on the chain whose permissions cover `permission` (not excepted), in order. */
  readonly deny: readonly CompiledDenyRule[];
  readonly levels: LevelSet | null;
  /** CEL value of `resource` (built on first use). */
  resourceValue: unknown;
}

/** The plans of one node: the default permission's and others by permission. */
export interface NodePlans {
  readonly node: CompiledNode;
  readonly defaultPermission: string;
  defaultPlan: NodePlan | null;
  others: Map<string, NodePlan> | null;
}

const TIER_SHIFT = 2 ** 32;
/** Tiers with at least this many keys get a membership bitset. */
const BITSET_MIN_KEYS = 32;
const OTHER_PERMISSIONS_LIMIT = 64;
const EMPTY_INDEX: ChainIndex = new Map();

/** Merges the allow indexes of `chain` (nearest first) for one permission. */
function mergeChain(s: Snapshot, chain: readonly string[], permission: string): ChainIndex {
  const allow = s._.allow;
  const out = new Map<number, ChainRef>();
  const tails = new Map<number, ChainRef>();
  for (let pos = 0; pos < chain.length; pos++) {
    const index: PermissionIndex | undefined = allow.get(chain[pos] as string)?.get(permission);
    if (index === undefined) continue;
    for (const [key, refs] of index) {
      let tail = tails.get(key);
      for (const r of refs) {
        const ref: ChainRef = { binding: r.binding, condition: r.binding.condition, memberIdx: r.memberIdx, order: pos * TIER_SHIFT + r.binding.index, next: null, grant: null };
        if (tail === undefined) out.set(key, ref);
        else tail.next = ref;
        tail = ref;
      }
      if (tail !== undefined) tails.set(key, tail);
    }
  }
  return out.size === 0 ? EMPTY_INDEX : out;
}

function tierOf(index: ChainIndex): Tier {
  if (index.size < BITSET_MIN_KEYS) return { index, bits: null };
  let max = 0;
  for (const id of index.keys()) if (id > max) max = id;
  const bits = new Uint32Array((max >>> 5) + 1);
  for (const id of index.keys()) bits[id >>> 5] = (bits[id >>> 5] as number) | (1 << (id & 31));
  return { index, bits };
}

/** The merged allow index of a node's whole chain for one permission (memoised per node). */
export function chainTier(s: Snapshot, node: CompiledNode, permission: string): Tier {
  const memo = s._.chainMemo;
  let per = memo.get(node.name);
  if (per === undefined) memo.set(node.name, (per = new Map()));
  let idx = per.get(permission);
  if (idx === undefined) {
    if (per.size >= OTHER_PERMISSIONS_LIMIT) per.clear();
    idx = tierOf(mergeChain(s, node.chain, permission));
    per.set(permission, idx);
  }
  return idx;
}

function levelSet(s: Snapshot, names: readonly string[]): LevelSet | null {
  if (names.length === 0) return null;
  const key = names.join("\u0000");
  const memo = s._.levelSets;
  let set = memo.get(key);
  if (set === undefined) {
    set = { names, isStatic: names.every((n) => levelIsStatic(s, n, new Set())), results: new Map(), size: 0 };
    memo.set(key, set);
  }
  return set;
}

/** A level is static when its result depends only on the client IP and region. */
function levelIsStatic(s: Snapshot, name: string, seen: Set<string>): boolean {
  if (seen.has(name)) return true;
  seen.add(name);
  const l = s._.levels.get(name);
  if (!l) return true;
  if (l.cyclic) return true;
  if (l.custom) return false;
  for (const c of l.basic ?? []) {
    if (c.members) return false;
    for (const r of c.required) if (!levelIsStatic(s, r, seen)) return false;
  }
  return true;
}

function denyRules(s: Snapshot, node: CompiledNode, permission: string): readonly CompiledDenyRule[] {
  const out: CompiledDenyRule[] = [];
  if (s._.deny.size === 0) return out;
  for (const n of node.chain) {
    for (const rule of s._.deny.get(n) ?? []) {
      if (!rule.permissions.some((p) => permissionMatches(p, permission))) continue;
      if (rule.exceptionPermissions.some((p) => permissionMatches(p, permission))) continue;
      out.push(rule);
    }
  }
  return out;
}

function buildPlan(s: Snapshot, node: CompiledNode, permission: string): NodePlan {
  const tiers: Tier[] = [];
  const own = mergeChain(s, [node.name], permission);
  if (own.size > 0) tiers.push(tierOf(own));
  const parent = node.parent !== null ? s.nodes.get(node.parent) : undefined;
  if (parent !== undefined) {
    const up = chainTier(s, parent, permission);
    if (up.index.size > 0) tiers.push(up);
  }
  return {
    node,
    permission,
    tiers,
    deny: denyRules(s, node, permission),
    levels: levelSet(s, relevantLevels(s, node)),
    resourceValue: undefined,
  };
}

/** The plans of a node, or undefined for an unknown resource. */
export function nodePlans(s: Snapshot, resource: string, defaultPermission: (type: string) => string): NodePlans | undefined {
  const memo = s._.planMemo;
  const hit = memo.get(resource);
  if (hit !== undefined) return hit;
  const node = s.nodes.get(resource);
  if (node === undefined) return undefined;
  const plans: NodePlans = { node, defaultPermission: defaultPermission(node.type), defaultPlan: null, others: null };
  memo.set(resource, plans);
  return plans;
}

/** The plan of (node, permission). */
export function planFor(s: Snapshot, plans: NodePlans, permission: string): NodePlan {
  if (permission === plans.defaultPermission) return (plans.defaultPlan ??= buildPlan(s, plans.node, permission));
  const others = (plans.others ??= new Map());
  let p = others.get(permission);
  if (p === undefined) {
    if (others.size >= OTHER_PERMISSIONS_LIMIT) others.clear();
    p = buildPlan(s, plans.node, permission);
    others.set(permission, p);
  }
  return p;
}
