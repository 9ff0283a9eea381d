/**
 * Evaluation plans: per (node, permission), everything `evaluate` needs about the node's chain,
 * built lazily and memoised inside the snapshot (pure functions of its data, see compile.ts).
 *
 *  - Allow candidates: one tier per policy-bearing node of the chain (nearest first), each a
 *    compact table keyed by member-key id behind a membership filter (see `Tier`), so that a
 *    check tests its ~15 member keys against a few small bit arrays and looks up only the hits;
 *    a tier is a memo per (node, permission) shared by every plan whose chain contains the node.
 *    (Measured against merging the whole chain into one table per node or per parent: equally
 *    fast, and no copy of the ancestors' bindings per resource — the organization's bindings
 *    would otherwise be repeated in every resource's table.)
 *  - The deny rules on the chain that cover the permission, nearest node first.
 *  - The relevant access levels (interned by content, with a result memo when they depend only
 *    on the client IP and region).
 *
 * INVARIANT (memo safety): a memo entry is a pure function of the snapshot data it was built
 * from; derived snapshots share a memo only where that data is unchanged, and otherwise get a
 * filtered copy without the affected nodes (see compile.ts `derive`).
 */
import type { Decision, GrantedBy } from "./types";
import type { BindingRef, CompiledDenyRule, CompiledNode, PermissionIndex, Snapshot } from "./compile";
import { relevantLevels } from "./compile";
import { permissionMatches } from "./resources";

/**
 * One tier of allow candidates: the bindings on one node that grant one permission, by member-key id.
 *
 * Laid out for few cache misses (a check probes ~15 ids per tier, most of which miss), in one
 * `Int32Array` per tier (`data`: one object and one allocation to reach, not two):
 *  - `data[0, words)`, a membership filter tested first. With `shift` 0 it is exact — bit `id`
 *    set ⇔ the id is a key (ids past its end are absent); otherwise a one-hash Bloom filter — bit
 *    `hashBit(id, shift)` set for every key, false positives only — used when the id space is
 *    much larger than the tier, so the filter stays small (~16 bits per key).
 *  - `data[words, …)`, the table: open addressing with linear probing over `slots` slots of `SLOT`
 *    ints: [key id (−1 = empty), order << 2 | flags], where order is the position of the key's
 *    first candidate among the tier's first candidates sorted by (binding index, member index) —
 *    so the first candidate over several keys is the smallest value — and flags = (more than one
 *    candidate ? 2 : 0) | (conditional ? 1 : 0). Choosing the first candidate and granting it
 *    unconditionally touch no object but the shared `grantedBy`; the probe of `id` starts at
 *    `slotOf(id, slots)`. 8 bytes per slot and a load factor of up to TABLE_LOAD (not rounded up
 *    to a power of two): the tables of a large world outgrow the CPU caches, and their size is
 *    what a check pays for there (measured: tables 6.3 → 2.9 MB in the 100k-user benchmark world,
 *    about 5 % faster per check there, the same in the small world).
 *  - by order, `lists` — the key's candidates in policy order (the compile-time index's own
 *    array) — and `grants` — the frozen `grantedBy` of its first candidate (filled on first use).
 */
export interface Tier {
  readonly size: number;
  /** The filter (`words` words), then the table (`slots` × SLOT ints). */
  readonly data: Int32Array;
  readonly words: number;
  readonly shift: number;
  readonly slots: number;
  readonly lists: ReadonlyArray<readonly BindingRef[]>;
  readonly grants: Array<GrantedBy | null>;
}

export const SLOT = 2;

/** Filter bit / table slot of an id: the top bits of a multiplicative hash (shift = 32 − log2(size)). */
export function hashBit(id: number, shift: number): number {
  return Math.imul(id, 0x9e3779b1) >>> shift;
}

/**
 * The offset (from the table's start) of the first slot to probe for `id` among `slots` slots: a
 * 32-bit multiplicative hash scaled to the slot count. Always below `slots`: the product is at
 * least `slots` short of 2^32 · slots, far more than a double's rounding error there.
 */
export function slotOf(id: number, slots: number): number {
  return Math.floor(((Math.imul(id, 0x85ebca6b) >>> 0) * slots) / 4294967296) * SLOT;
}

/** The table offset of `id` in a tier, or −1. */
export function findSlot(tier: Tier, id: number): number {
  const table = tier.data;
  const base = tier.words;
  const end = base + tier.slots * SLOT;
  for (let h = base + slotOf(id, tier.slots); ; h = h + SLOT === end ? base : h + SLOT) {
    const k = table[h] as number;
    if (k === id) return h;
    if (k === -1) return -1;
  }
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
  /** Allow candidates, one tier per node of the chain with any (nearest first: evaluation order). */
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

/** Bloom filter size: bits per key (one hash: ~6 % false positives), and the minimum. */
const BLOOM_BITS_PER_KEY = 16;
const BLOOM_MIN_BITS = 256;
/** Table load factor bound (linear probing; at 0.7 a hit takes ~2 probes, within one or two cache lines). */
const TABLE_LOAD = 0.7;
const OTHER_PERMISSIONS_LIMIT = 64;

/** The candidates on one node for one permission, as a tier; null when there are none. */
function buildTier(s: Snapshot, name: string, permission: string): Tier | null {
  const index: PermissionIndex | undefined = s._.allow.get(name)?.get(permission);
  if (index === undefined || index.size === 0) return null;
  const size = index.size;
  const slots = Math.max(4, Math.ceil(size / TABLE_LOAD));
  let max = 0;
  for (const id of index.keys()) if (id > max) max = id;
  let bloomBits = BLOOM_MIN_BITS;
  while (bloomBits < size * BLOOM_BITS_PER_KEY) bloomBits *= 2;
  const exact = max + 1 <= bloomBits;
  const shift = exact ? 0 : 32 - Math.log2(bloomBits);
  const words = exact ? (max >>> 5) + 1 : bloomBits >>> 5;
  const data = new Int32Array(words + slots * SLOT);
  data.fill(-1, words);
  const bits = data.subarray(0, words);
  const table = data.subarray(words);
  // A key's order is its position in the index: the index lists keys in the order of their first
  // candidates, and each key's candidates in policy order (compile.ts `PermissionIndex`).
  const lists = new Array<readonly BindingRef[]>(size);
  let order = 0;
  for (const [id, list] of index) {
    const b = exact ? id : hashBit(id, shift);
    bits[b >>> 5] = (bits[b >>> 5] as number) | (1 << (b & 31));
    const first = list[0] as BindingRef;
    let h = slotOf(id, slots);
    while (table[h] !== -1) h = h + SLOT === slots * SLOT ? 0 : h + SLOT;
    table[h] = id;
    table[h + 1] = (order << 2) | (list.length > 1 ? 2 : 0) | (first.binding.condition !== null ? 1 : 0);
    lists[order++] = list;
  }
  return { size, data, words, shift, slots, lists, grants: new Array<GrantedBy | null>(size).fill(null) };
}

/** The candidates on one node for one permission (memoised per node; null = none). */
function nodeTier(s: Snapshot, name: string, permission: string): Tier | null {
  const memo = s._.tierMemo;
  let per = memo.get(name);
  if (per === undefined) memo.set(name, (per = new Map()));
  let tier = per.get(permission);
  if (tier === undefined) {
    if (per.size >= OTHER_PERMISSIONS_LIMIT) per.clear();
    tier = buildTier(s, name, permission);
    per.set(permission, tier);
  }
  return tier;
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
  for (const name of node.chain) {
    const t = nodeTier(s, name, permission);
    if (t !== null) tiers.push(t);
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
