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
 * Laid out for few cache misses (a check probes ~15 ids per tier, most of which miss):
 *  - `bits`, a membership filter tested first. With `shift` 0 it is exact — bit `id` set ⇔ the
 *    id is a key (ids past its end are absent); otherwise a one-hash Bloom filter — bit
 *    `hashBit(id, shift)` set for every key, false positives only — used when the id space is
 *    much larger than the tier, so the filter stays small (~16 bits per key).
 *  - `table`, open addressing with linear probing, `SLOT` ints per slot: [key id (−1 = empty),
 *    order << 2 | flags], where order is the position of the key's first candidate among the
 *    tier's first candidates sorted by (binding index, member index) — so the first candidate over
 *    several keys is the smallest value — and flags = (more than one candidate ? 2 : 0) |
 *    (conditional ? 1 : 0). Choosing the first candidate and granting it unconditionally touch no
 *    object but the shared `grantedBy`; the slot of `id` starts at `hashBit(id, slotShift)`. Two
 *    ints (8 bytes) per slot, as the tables of a large world outgrow the CPU caches.
 *  - per slot, `grants` — the frozen `grantedBy` of the key's first candidate (filled on first
 *    use) — and `lists` — the key's candidates in policy order (the compile-time index's own array).
 */
export interface Tier {
  readonly size: number;
  readonly bits: Uint32Array;
  readonly shift: number;
  readonly table: Int32Array;
  readonly slotShift: number;
  /** `table.length − 1` (offsets wrap with `& mask`; slot count and SLOT are powers of two). */
  readonly mask: number;
  readonly lists: ReadonlyArray<readonly BindingRef[] | undefined>;
  readonly grants: Array<GrantedBy | null>;
}

export const SLOT = 2;

/** Filter bit / table slot of an id: the top bits of a multiplicative hash (shift = 32 − log2(size)). */
export function hashBit(id: number, shift: number): number {
  return Math.imul(id, 0x9e3779b1) >>> shift;
}

/** The table offset of `id` in a tier, or −1. */
export function findSlot(tier: Tier, id: number): number {
  const table = tier.table;
  for (let h = hashBit(id, tier.slotShift) * SLOT; ; h = (h + SLOT) & tier.mask) {
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
const OTHER_PERMISSIONS_LIMIT = 64;

/** The candidates on one node for one permission, as a tier; null when there are none. */
function buildTier(s: Snapshot, name: string, permission: string): Tier | null {
  const index: PermissionIndex | undefined = s._.allow.get(name)?.get(permission);
  if (index === undefined || index.size === 0) return null;
  const size = index.size;
  let slots = 4;
  while (slots < size * 2) slots *= 2;
  const slotShift = 32 - Math.log2(slots);
  const table = new Int32Array(slots * SLOT).fill(-1);
  const lists = new Array<readonly BindingRef[] | undefined>(slots).fill(undefined);
  let max = 0;
  for (const id of index.keys()) if (id > max) max = id;
  let bloomBits = BLOOM_MIN_BITS;
  while (bloomBits < size * BLOOM_BITS_PER_KEY) bloomBits *= 2;
  const exact = max + 1 <= bloomBits;
  const shift = exact ? 0 : 32 - Math.log2(bloomBits);
  const bits = new Uint32Array(exact ? (max >>> 5) + 1 : bloomBits >>> 5);
  // The index lists a key's candidates in policy order (compile.ts `indexBindings`).
  const entries = [...index];
  const byFirst = entries.map((_, i) => i);
  const firstOf = (i: number) => (entries[i] as [number, readonly BindingRef[]])[1][0] as BindingRef;
  byFirst.sort((a, b) => firstOf(a).binding.index - firstOf(b).binding.index || firstOf(a).memberIdx - firstOf(b).memberIdx);
  const order = new Array<number>(entries.length);
  byFirst.forEach((e, pos) => (order[e] = pos));
  entries.forEach(([id, list], e) => {
    const b = exact ? id : hashBit(id, shift);
    bits[b >>> 5] = (bits[b >>> 5] as number) | (1 << (b & 31));
    const first = list[0] as BindingRef;
    let h = hashBit(id, slotShift);
    while (table[h * SLOT] !== -1) h = (h + 1) & (slots - 1);
    table[h * SLOT] = id;
    table[h * SLOT + 1] = ((order[e] as number) << 2) | (list.length > 1 ? 2 : 0) | (first.binding.condition !== null ? 1 : 0);
    lists[h] = list;
  });
  return { size, bits, shift, table, slotShift, mask: slots * SLOT - 1, lists, grants: new Array<GrantedBy | null>(slots).fill(null) };
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
