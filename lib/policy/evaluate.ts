/**
 * evaluate(snapshot, check) → Decision. Pure: the clock is `check.request.time`.
 *
 * Order (INVARIANTS, DESIGN.md §1):
 *  1. unknown resource → UNKNOWN_RESOURCE (deny);
 *  2. web resource with IAP off → IAP_DISABLED (allowed: false — Gatehouse does not protect it and
 *     says so; a proxy that wants to pass such traffic must decide that itself);
 *  3. deny rules on the resource and every ancestor (resource first): a rule applies when the
 *     permission matches and is not excepted, the principal matches a denied principal and no
 *     exception principal, and its condition is true OR ERRORS (fail closed) → DENIED_BY_POLICY;
 *  4. allow bindings on the resource and every ancestor (resource first, then policy order): the
 *     first binding whose role has the permission, with a member matching the principal (directly,
 *     via nested groups, `domain:` for users, `allAuthenticatedUsers` for any principal, `allUsers`
 *     for anyone) and a condition that is true (an error never grants) → GRANTED;
 *  5. otherwise deny: UNAUTHENTICATED for an anonymous check (signing in might help),
 *     CONDITION_NOT_MET when some binding matched the member but no condition held,
 *     else NO_MATCHING_BINDING.
 * Conditions that read request.path must hold for both the normalised and the raw path (allow),
 * and fire when either does (deny).
 */
import type { CheckInput, Decision, DeniedBy, GrantedBy, TraceEntry } from "./types";
import type { CompiledBinding, CompiledDenyRule, CompiledNode, Snapshot, BindingRef } from "./compile";
import { relevantLevels } from "./compile";
import { defaultPermission, permissionMatches, PERMISSIONS } from "./resources";
import { parsePrincipal, emailDomain } from "./members";
import { runCondition, toCelTimestamp, type CompiledCondition, type ConditionOutcome } from "./cel";
import { evaluateAccessLevels } from "./access-levels";
import { normaliseHost, pathVariants } from "./request";
import { parseIp } from "./ip";

const NO_LEVELS: Decision["accessLevels"] = Object.freeze({ satisfied: [], unsatisfied: [] }) as Decision["accessLevels"];

/** The identity of a check: canonical principal and every member key that can match it. */
export interface Identity {
  /** Canonical `user:`/`serviceAccount:` string, or null (anonymous or malformed principal). */
  key: string | null;
  /** Member keys matching this identity, most specific first. */
  keys: readonly string[];
}

const ANONYMOUS: Identity = Object.freeze({ key: null, keys: Object.freeze(["allUsers"]) });

/**
 * Member keys of a principal: itself, its transitive groups, `domain:` (users only — as in IAM,
 * a domain is a Google Workspace domain whose users are members; service accounts are not),
 * allAuthenticatedUsers, allUsers. A null or malformed principal is anonymous (only allUsers).
 */
export function identityOf(s: Snapshot, principal: string | null): Identity {
  if (principal === null) return ANONYMOUS;
  const memo = s._.identityMemo;
  const hit = memo.get(principal);
  if (hit) return hit;
  const p = parsePrincipal(principal);
  let id: Identity;
  if (!p.ok) id = ANONYMOUS;
  else {
    const keys = [p.value.key];
    const groups = s._.memberGroups.get(p.value.key);
    if (groups) for (const g of groups) keys.push(g);
    if (p.value.kind === "user") keys.push(`domain:${emailDomain(p.value.email)}`);
    keys.push("allAuthenticatedUsers", "allUsers");
    id = Object.freeze({ key: p.value.key, keys: Object.freeze(keys) });
  }
  // A pure memo (the identity is a function of the snapshot's group data); bounded.
  if (memo.size >= IDENTITY_MEMO_LIMIT) memo.clear();
  memo.set(principal, id);
  return id;
}

const IDENTITY_MEMO_LIMIT = 200_000;

/** A level is static when its result depends only on the client IP and region. */
function levelIsStatic(s: Snapshot, name: string, seen: Set<string> = new Set()): boolean {
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

/** Per-check evaluation state: request activations and access levels, built lazily once. */
class Context {
  private acts: Array<Record<string, unknown>> | null = null;
  private pathActs: Array<Record<string, unknown>> | null = null;
  satisfied: string[] = [];
  unsatisfied: string[] = [];

  constructor(
    private readonly node: CompiledNode,
    private readonly check: CheckInput,
    private readonly identity: Identity,
  ) {}

  evaluateLevels(s: Snapshot, names: readonly string[]): void {
    const req = this.check.request;
    // Levels that depend only on IP and region are memoised per (levels, IP, region): a pure memo.
    let memoKey: string | null = null;
    let isStatic = s._.levelStaticMemo.get(names);
    if (isStatic === undefined) {
      isStatic = names.every((n) => levelIsStatic(s, n));
      s._.levelStaticMemo.set(names, isStatic);
    }
    if (isStatic) {
      memoKey = `${names.join("\u0001")}\u0000${req.ip ?? ""}\u0000${req.regionCode ?? ""}`;
      const hit = s._.levelResultMemo.get(memoKey);
      if (hit) {
        this.satisfied = hit.satisfied;
        this.unsatisfied = hit.unsatisfied;
        return;
      }
    }
    const ip = req.ip !== undefined ? parseIp(req.ip) : null;
    const results = evaluateAccessLevels(s._.levels, names, {
      ip,
      regionCode: req.regionCode,
      principalKey: this.identity.key,
      // Built only if a custom level is evaluated.
      customActivations: () => {
        const time = toCelTimestamp(req.time);
        return pathVariants(req.path).map((path) => {
          const request: Record<string, unknown> = { time, method: (req.method ?? "GET").toUpperCase() };
          if (req.host !== undefined) request.host = normaliseHost(req.host);
          if (path !== undefined) request.path = path;
          const origin: Record<string, unknown> = {};
          if (ip) origin.ip = ip.toString();
          if (req.regionCode !== undefined) origin.region_code = req.regionCode.toUpperCase();
          return { request, origin, principal: this.identity.key ?? "" };
        });
      },
    });
    for (const n of names) (results.get(n) === true ? this.satisfied : this.unsatisfied).push(n);
    if (memoKey !== null) {
      const memo = s._.levelResultMemo;
      if (memo.size >= 4096) memo.clear();
      memo.set(memoKey, { satisfied: Object.freeze(this.satisfied) as string[], unsatisfied: Object.freeze(this.unsatisfied) as string[] });
    }
  }

  private build(withRaw: boolean): Array<Record<string, unknown>> {
    const req = this.check.request;
    const base: Record<string, unknown> = {
      time: toCelTimestamp(req.time),
      method: (req.method ?? "GET").toUpperCase(),
      auth: { access_levels: this.satisfied },
    };
    if (req.host !== undefined) base.host = normaliseHost(req.host);
    const resource = { type: this.node.type, service: this.node.service, name: this.node.name };
    const destination: Record<string, unknown> = {};
    const d = this.check.destination;
    if (d?.ip !== undefined) destination.ip = d.ip;
    if (d?.port !== undefined) destination.port = BigInt(Math.trunc(d.port));
    const variants = withRaw ? pathVariants(req.path) : pathVariants(req.path).slice(0, 1);
    return variants.map((path) => {
      const request = path === undefined ? base : { ...base, path };
      return { request, resource, destination };
    });
  }

  /** Outcome of a condition: `all` = must hold for every path variant (allow); else any (deny). */
  run(c: CompiledCondition, all: boolean): ConditionOutcome {
    const acts = c.usesPath ? (this.pathActs ??= this.build(true)) : (this.acts ??= this.build(false));
    if (acts.length === 1) return runCondition(c, acts[0] as Record<string, unknown>);
    let error: string | null = null;
    for (const a of acts) {
      const r = runCondition(c, a);
      if (!r.ok) error ??= r.error;
      else if (all && !r.value) return r;
      else if (!all && r.value) return r;
    }
    if (error !== null) return { ok: false, error };
    return { ok: true, value: all };
  }
}

function denyRuleApplies(rule: CompiledDenyRule, permission: string, identity: Identity): string | null {
  let permHit = false;
  for (const p of rule.permissions) if (permissionMatches(p, permission)) permHit = true;
  if (!permHit) return null;
  for (const p of rule.exceptionPermissions) if (permissionMatches(p, permission)) return null;
  // The deciding entry is the first one in deniedPrincipals order that matches.
  let matched: readonly [number, string] | null = null;
  for (const k of identity.keys) {
    if (rule.excepted.has(k)) return null;
    const m = rule.denied.get(k);
    if (m !== undefined && (matched === null || m[0] < matched[0])) matched = m;
  }
  return matched === null ? null : matched[1];
}

/** Candidate bindings on one node for one permission, in (binding, member) order, one per binding. */
const NONE: readonly BindingRef[] = Object.freeze([]);

function candidates(index: ReadonlyMap<string, readonly BindingRef[]>, identity: Identity): readonly BindingRef[] {
  let first: readonly BindingRef[] | null = null;
  let out: BindingRef[] | null = null;
  const keys = identity.keys;
  for (let i = 0; i < keys.length; i++) {
    const refs = index.get(keys[i] as string);
    if (refs === undefined) continue;
    if (first === null) first = refs;
    else {
      out ??= [...first];
      for (const r of refs) out.push(r);
    }
  }
  if (out === null) return first ?? NONE;
  {
    out.sort((a, b) => a.binding.index - b.binding.index || a.memberIdx - b.memberIdx);
    return out.filter((r, i, arr) => i === 0 || (arr[i - 1] as BindingRef).binding !== r.binding);
  }
}

function grantedBy(b: CompiledBinding, memberIdx: number): GrantedBy {
  const g: GrantedBy = { resource: b.resource, role: b.role, member: b.members[memberIdx] ?? "" };
  if (b.conditionTitle !== undefined) g.condition = b.conditionTitle;
  return g;
}

export function evaluate(s: Snapshot, check: CheckInput): Decision {
  const node = s.nodes.get(check.resource);
  const permission = check.permission ?? (node ? defaultPermission(node.type) : PERMISSIONS.webAccess);
  const identity = identityOf(s, check.principal);
  const principal = identity.key ?? check.principal;
  const base = { revision: s.revision, principal, resource: check.resource, permission };
  if (!node) return { ...base, allowed: false, reason: "UNKNOWN_RESOURCE", accessLevels: NO_LEVELS, ...(check.explain ? { trace: [{ kind: "note", message: "resource is not in the hierarchy" }] } : {}) };
  if (node.isWeb && !node.iapEnabled) return { ...base, allowed: false, reason: "IAP_DISABLED", accessLevels: NO_LEVELS, ...(check.explain ? { trace: [{ kind: "note", message: "IAP is disabled on this web resource" }] } : {}) };

  const ctx = new Context(node, check, identity);
  const levels = relevantLevels(s, node);
  if (levels.length > 0) ctx.evaluateLevels(s, levels);
  // INVARIANT: deny rules are checked before any allow binding.
  const accessLevels = levels.length > 0 ? { satisfied: ctx.satisfied, unsatisfied: ctx.unsatisfied } : NO_LEVELS;
  const trace: TraceEntry[] | undefined = check.explain ? [] : undefined;

  // Deny first.
  let deniedBy: DeniedBy | undefined;
  const denyIndex = s._.deny;
  if (denyIndex.size > 0) for (const n of node.chain) {
    const rules = denyIndex.get(n);
    if (!rules) continue;
    for (const rule of rules) {
      const matched = denyRuleApplies(rule, permission, identity);
      if (matched === null) {
        if (trace) trace.push(denyTrace(rule, permission, identity));
        continue;
      }
      let conditionError = false;
      if (rule.condition) {
        const r = ctx.run(rule.condition, false);
        if (r.ok && !r.value) {
          if (trace) trace.push({ kind: "deny", attachedTo: rule.attachedTo, policyIndex: rule.policyIndex, ruleIndex: rule.ruleIndex, result: "CONDITION_FALSE" });
          continue;
        }
        conditionError = !r.ok;
        if (trace && !r.ok) trace.push({ kind: "deny", attachedTo: rule.attachedTo, policyIndex: rule.policyIndex, ruleIndex: rule.ruleIndex, result: "CONDITION_ERROR", error: r.error });
      }
      if (trace && !conditionError) trace.push({ kind: "deny", attachedTo: rule.attachedTo, policyIndex: rule.policyIndex, ruleIndex: rule.ruleIndex, result: "DENIED" });
      deniedBy = { attachedTo: rule.attachedTo, policyIndex: rule.policyIndex, ruleIndex: rule.ruleIndex, principal: matched, permission };
      if (rule.policy !== undefined) deniedBy.policy = rule.policy;
      if (rule.conditionTitle !== undefined) deniedBy.condition = rule.conditionTitle;
      if (conditionError) deniedBy.conditionError = true;
      break;
    }
    if (deniedBy) break;
  }
  if (deniedBy) return { ...base, allowed: false, reason: "DENIED_BY_POLICY", deniedBy, accessLevels, ...(trace ? { trace } : {}) };

  // Allow.
  let memberMatched = false;
  let granted: GrantedBy | undefined;
  if (trace) {
    granted = explainAllow(s, node, permission, identity, ctx, trace, () => (memberMatched = true));
  } else {
    const allowIndex = s._.allow;
    const keys = identity.keys;
    for (const n of node.chain) {
      const index = allowIndex.get(n)?.get(permission);
      if (index === undefined) continue;
      // Fast path: the first ref in (binding, member) order; allocation-free when it grants.
      let best: BindingRef | undefined;
      let hits = 0;
      for (let i = 0; i < keys.length; i++) {
        const refs = index.get(keys[i] as string);
        if (refs === undefined) continue;
        for (let j = 0; j < refs.length; j++) {
          const r = refs[j] as BindingRef;
          hits++;
          if (best === undefined || r.binding.index < best.binding.index || (r.binding === best.binding && r.memberIdx < best.memberIdx)) best = r;
        }
      }
      if (best === undefined) continue;
      memberMatched = true;
      if (best.binding.condition === null) {
        granted = grantedBy(best.binding, best.memberIdx);
        break;
      }
      const r0 = ctx.run(best.binding.condition, true);
      if (r0.ok && r0.value) {
        granted = grantedBy(best.binding, best.memberIdx);
        break;
      }
      if (hits === 1) continue;
      // Slow path: the remaining candidates on this node, in order.
      for (const ref of candidates(index, identity)) {
        if (ref.binding === best.binding) continue;
        const c = ref.binding.condition;
        if (c) {
          const r = ctx.run(c, true);
          if (!r.ok || !r.value) continue;
        }
        granted = grantedBy(ref.binding, ref.memberIdx);
        break;
      }
      if (granted) break;
    }
  }
  if (granted) {
    const d: Decision = { allowed: true, reason: "GRANTED", revision: s.revision, principal, resource: check.resource, permission, grantedBy: granted, accessLevels };
    if (trace) d.trace = trace;
    return d;
  }
  const reason = identity.key === null && check.principal === null ? "UNAUTHENTICATED" : memberMatched ? "CONDITION_NOT_MET" : "NO_MATCHING_BINDING";
  return { ...base, allowed: false, reason, accessLevels, ...(trace ? { trace } : {}) };
}

function denyTrace(rule: CompiledDenyRule, permission: string, identity: Identity): TraceEntry {
  const base = { kind: "deny" as const, attachedTo: rule.attachedTo, policyIndex: rule.policyIndex, ruleIndex: rule.ruleIndex };
  const permHit = rule.permissions.some((p) => permissionMatches(p, permission)) && !rule.exceptionPermissions.some((p) => permissionMatches(p, permission));
  if (!permHit) return { ...base, result: "PERMISSION_NOT_MATCHED" };
  if (identity.keys.some((k) => rule.excepted.has(k))) return { ...base, result: "EXCEPTED_PRINCIPAL" };
  return { ...base, result: "PRINCIPAL_NOT_MATCHED" };
}

/** The explain path: walks every binding on the chain, records why each did or did not apply. */
function explainAllow(s: Snapshot, node: CompiledNode, permission: string, identity: Identity, ctx: Context, trace: TraceEntry[], onMember: () => void): GrantedBy | undefined {
  let granted: GrantedBy | undefined;
  for (const n of node.chain) {
    for (const b of s._.bindings.get(n) ?? []) {
      const entry = { kind: "binding" as const, resource: b.resource, bindingIndex: b.index, role: b.role, ...(b.conditionTitle !== undefined ? { condition: b.conditionTitle } : {}) };
      if (!s._.rolePermissions.get(b.role)?.has(permission)) {
        trace.push({ ...entry, result: "ROLE_LACKS_PERMISSION" });
        continue;
      }
      let memberIdx = -1;
      for (const k of identity.keys) {
        const i = b.memberIndex.get(k);
        if (i !== undefined && (memberIdx < 0 || i < memberIdx)) memberIdx = i;
      }
      if (memberIdx < 0) {
        trace.push({ ...entry, result: "MEMBER_NOT_MATCHED" });
        continue;
      }
      onMember();
      const member = b.members[memberIdx];
      if (b.condition) {
        const r = ctx.run(b.condition, true);
        if (!r.ok) {
          trace.push({ ...entry, member, result: "CONDITION_ERROR", error: r.error });
          continue;
        }
        if (!r.value) {
          trace.push({ ...entry, member, result: "CONDITION_FALSE" });
          continue;
        }
      }
      trace.push({ ...entry, member, result: "GRANTED" });
      granted ??= grantedBy(b, memberIdx);
    }
  }
  return granted;
}
