/**
 * Access levels (context-aware access), evaluated per request.
 *
 * Basic level: each condition is the AND of the attributes it specifies (ipSubnetworks: the client
 * IP is in any subnet; regions: the client region is listed; members: the principal is listed;
 * requiredAccessLevels: all are satisfied), optionally negated; conditions combine with AND
 * (default) or OR. INVARIANTS: a condition needing an attribute the request lacks (no IP, no region)
 * is false even when negated (fail closed); a level with no conditions, a broken definition, an
 * unknown or cyclic required level is unsatisfied; a custom (CEL) level that errors is unsatisfied.
 */
import type { AccessLevel } from "./types";
import { compileOrBroken, runCondition, type CompiledCondition } from "./cel";
import { parseSubnet, ipInSubnet, type Ip, type Subnet } from "./ip";
import { parsePrincipal } from "./members";

export interface CompiledBasicCondition {
  subnets: Subnet[] | null;
  regions: ReadonlySet<string> | null;
  members: ReadonlySet<string> | null;
  required: string[];
  negate: boolean;
  /** Invalid definition (bad CIDR, bad member): the condition is false. */
  broken: boolean;
}

export interface CompiledAccessLevel {
  name: string;
  title?: string;
  combining: "AND" | "OR";
  basic: CompiledBasicCondition[] | null;
  custom: CompiledCondition | null;
  /** Levels this one depends on directly. */
  requires: string[];
  /** Part of a requiredAccessLevels cycle: always unsatisfied (set by `compileAccessLevels`). */
  cyclic: boolean;
}

export function compileAccessLevel(level: AccessLevel): CompiledAccessLevel {
  const basic = level.basic
    ? level.basic.conditions.map((c): CompiledBasicCondition => {
        let broken = false;
        const subnets = c.ipSubnetworks
          ? c.ipSubnetworks.flatMap((s) => {
              const p = parseSubnet(s);
              if (!p.ok) broken = true;
              return p.ok ? [p.value] : [];
            })
          : null;
        const members = c.members
          ? new Set(
              c.members.flatMap((m) => {
                const p = parsePrincipal(m);
                if (!p.ok) broken = true;
                return p.ok ? [p.value.key] : [];
              }),
            )
          : null;
        const regions = c.regions ? new Set(c.regions.map((r) => r.toUpperCase())) : null;
        const specified = subnets !== null || members !== null || regions !== null || (c.requiredAccessLevels?.length ?? 0) > 0;
        return { subnets, regions, members, required: c.requiredAccessLevels ?? [], negate: c.negate === true, broken: broken || !specified };
      })
    : null;
  const custom = level.custom ? compileOrBroken(level.custom.expr.expression, "accessLevel") : null;
  return {
    name: level.name,
    title: level.title,
    combining: level.basic?.combiningFunction === "OR" ? "OR" : "AND",
    basic,
    custom,
    requires: basic ? [...new Set(basic.flatMap((c) => c.required))] : [],
    cyclic: false,
  };
}

/** Compiles all levels and marks those on a requiredAccessLevels cycle (they are never satisfied). */
export function compileAccessLevels(levels: readonly AccessLevel[]): Map<string, CompiledAccessLevel> {
  const out = new Map<string, CompiledAccessLevel>();
  for (const l of levels) out.set(l.name, compileAccessLevel(l));
  for (const [name, lvl] of out) {
    // A level is cyclic when it can reach itself through requiredAccessLevels.
    const seen = new Set<string>();
    const stack = [...lvl.requires];
    while (stack.length > 0) {
      const n = stack.pop() as string;
      if (n === name) {
        lvl.cyclic = true;
        break;
      }
      if (seen.has(n)) continue;
      seen.add(n);
      for (const r of out.get(n)?.requires ?? []) stack.push(r);
    }
  }
  return out;
}

export interface LevelContext {
  ip: Ip | null;
  regionCode: string | undefined;
  /** Canonical principal member string, or null when anonymous. */
  principalKey: string | null;
  /** Activations for custom levels, one per path variant (all must be true). */
  customActivations: () => Array<Record<string, unknown>>;
}

/**
 * Evaluates the named levels (and, through requiredAccessLevels, their dependencies) against one
 * request. Returns name → satisfied for every level it touched, in first-evaluation order.
 */
export function evaluateAccessLevels(levels: ReadonlyMap<string, CompiledAccessLevel>, names: Iterable<string>, ctx: LevelContext): Map<string, boolean> {
  const memo = new Map<string, boolean>();
  for (const n of names) evalLevel(levels, n, ctx, memo);
  return memo;
}

// Module-level functions (no per-call closures: this runs on every check).
// INVARIANT: recursion terminates because levels on a requiredAccessLevels cycle are marked
// `cyclic` at compile time and answer false without recursing.
function evalLevel(levels: ReadonlyMap<string, CompiledAccessLevel>, name: string, ctx: LevelContext, memo: Map<string, boolean>): boolean {
  const known = memo.get(name);
  if (known !== undefined) return known;
  const lvl = levels.get(name);
  let ok = false;
  if (lvl && !lvl.cyclic) {
    if (lvl.custom) {
      const acts = ctx.customActivations();
      ok = acts.length > 0;
      for (const act of acts) {
        const r = runCondition(lvl.custom, act);
        if (!r.ok || !r.value) ok = false;
      }
    } else if (lvl.basic && lvl.basic.length > 0) {
      const or = lvl.combining === "OR";
      ok = !or;
      for (const c of lvl.basic) {
        // Every condition is evaluated (no short-circuit), so results are order independent.
        const v = evalBasic(levels, c, ctx, memo);
        ok = or ? ok || v : ok && v;
      }
    }
  }
  memo.set(name, ok);
  return ok;
}

function evalBasic(levels: ReadonlyMap<string, CompiledAccessLevel>, c: CompiledBasicCondition, ctx: LevelContext, memo: Map<string, boolean>): boolean {
  if (c.broken) return false;
  let v = true;
  if (c.subnets) {
    const ip = ctx.ip;
    if (!ip) return false;
    let inAny = false;
    for (const s of c.subnets) if (ipInSubnet(ip, s)) inAny = true;
    v = inAny;
  }
  if (c.regions) {
    if (!ctx.regionCode) return false;
    v = v && c.regions.has(ctx.regionCode.toUpperCase());
  }
  if (c.members) v = v && ctx.principalKey !== null && c.members.has(ctx.principalKey);
  for (const r of c.required) {
    const sat = evalLevel(levels, r, ctx, memo);
    v = v && sat;
  }
  return c.negate ? !v : v;
}

/** All levels reachable from `roots` through requiredAccessLevels (roots included). */
export function levelClosure(levels: ReadonlyMap<string, CompiledAccessLevel>, roots: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const n = stack.pop() as string;
    if (out.has(n)) continue;
    out.add(n);
    for (const r of levels.get(n)?.requires ?? []) stack.push(r);
  }
  return out;
}
