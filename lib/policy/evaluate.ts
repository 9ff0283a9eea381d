/**
 * evaluate(snapshot, check) → Decision. Pure: the clock is `check.request.time`.
 *
 * Order (INVARIANTS, DESIGN.md §1):
 *  1. unknown resource → UNKNOWN_RESOURCE (deny);
 *  1a. disabled principal (user or service account) → PRINCIPAL_DISABLED (deny, whatever the
 *     bindings — allUsers included — say);
 *  2. web resource with IAP off, asked for passage (iap.webServiceVersions.accessViaIAP) →
 *     IAP_DISABLED (allowed: false — Gatehouse does not protect it and says so; a proxy that wants
 *     to pass such traffic must decide that itself). Other permissions (setIamPolicy,
 *     updateSettings: what an admin needs to turn IAP on) are decided as anywhere else;
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
import { celList, celMap, type CelInput, type CelList, type CelMap } from "@bufbuild/cel";
import { reflect } from "@bufbuild/protobuf/reflect";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { CheckInput, Decision, DeniedBy, GrantedBy, TraceEntry } from "./types";
import type { BindingRef, CompiledBinding, CompiledDenyRule, CompiledNode, Snapshot } from "./compile";
import { findSlot, hashBit, nodePlans, planFor, slotOf, SLOT, type LevelSet, type NodePlan, type Tier } from "./plan";
import { defaultPermission, permissionMatches, PERMISSIONS } from "./resources";
import { parsePrincipal, emailDomain } from "./members";
import { runCondition, toCelTimestamp, type CompiledCondition, type ConditionOutcome, type ConditionRead } from "./cel";
import { evaluateAccessLevels } from "./access-levels";
import { normaliseHost, pathVariants } from "./request";
import { parseIp } from "./ip";

const NO_LEVELS: Decision["accessLevels"] = Object.freeze({ satisfied: [], unsatisfied: [] }) as Decision["accessLevels"];

/** The identity of a check: canonical principal and every member key that can match it. */
export interface Identity {
  /** Canonical `user:`/`serviceAccount:` string, or null (anonymous or malformed principal). */
  readonly key: string | null;
  /** Member keys matching this identity, most specific first. */
  readonly keys: readonly string[];
  /** The account is disabled (snapshot `Internals.disabled`): denied everywhere. */
  readonly disabled: boolean;
}

function makeIdentity(key: string | null, keys: readonly string[], disabled = false): Identity {
  return { key, keys: Object.freeze(keys), disabled };
}

/** Memo key of the anonymous identity (no principal string is empty). */
const ANONYMOUS_KEY = "";

/**
 * Member keys of a principal: itself, its transitive groups, `domain:` (users only — as in IAM,
 * a domain is a Google Workspace domain whose users are members; service accounts are not),
 * allAuthenticatedUsers, allUsers. A null or malformed principal is anonymous (only allUsers).
 */
export function identityOf(s: Snapshot, principal: string | null): Identity {
  const memo = s._.identityMemo;
  const off = identitySlot(s, principal);
  return memo.identities[memo.arena[off + ID_INDEX] as number] as Identity;
}

function buildIdentity(s: Snapshot, principal: string | null): Identity {
  const p = principal === null ? null : parsePrincipal(principal);
  if (p === null || !p.ok) return makeIdentity(null, ["allUsers"]);
  const keys = [p.value.key];
  const groups = s._.memberGroups.get(p.value.key);
  if (groups) for (const g of groups) keys.push(g);
  if (p.value.kind === "user") keys.push(`domain:${emailDomain(p.value.email)}`);
  keys.push("allAuthenticatedUsers", "allUsers");
  return makeIdentity(p.value.key, keys, s._.disabled.has(p.value.email));
}

/**
 * A memoised identity's run in `IdentityMemo.arena`: [ID_INDEX] its index in `identities`,
 * [ID_TABLE_SIZE] the size of the key-id table its ids were taken from (the table only grows, so
 * the ids are current while the size is unchanged), [ID_FLAGS], [ID_COUNT] n, then the ids of its
 * keys that some allow binding names (the others cannot match), most specific first.
 */
const ID_INDEX = 0;
const ID_TABLE_SIZE = 1;
const ID_FLAGS = 2;
const ID_COUNT = 3;
const ID_IDS = 4;
/** Flag: the decision's principal is the check's own string (canonical already, or anonymous). */
const AS_GIVEN = 1;
/** Flag: the principal is disabled (PRINCIPAL_DISABLED). */
const DISABLED = 2;
/**
 * Bound on the arena (ints; 32 MB, twice what IDENTITY_MEMO_LIMIT identities need). Ids made stale
 * by a growing key table are re-appended, not rewritten in place; past the bound the memo restarts.
 */
const ARENA_LIMIT = 1 << 23;

/** The arena offset of a principal's identity, with ids current for the snapshot's key table. */
function identitySlot(s: Snapshot, principal: string | null): number {
  const memo = s._.identityMemo;
  const off = memo.byPrincipal.get(principal ?? ANONYMOUS_KEY);
  if (off !== undefined && memo.arena[off + ID_TABLE_SIZE] === s._.keyIds.size) return off;
  return memoiseIdentity(s, principal, off);
}

function memoiseIdentity(s: Snapshot, principal: string | null, stale: number | undefined): number {
  const memo = s._.identityMemo;
  const table = s._.keyIds;
  let index = stale === undefined ? -1 : (memo.arena[stale + ID_INDEX] as number);
  // A pure memo (the identity is a function of the snapshot's group data); bounded.
  if (index < 0 && memo.identities.length >= IDENTITY_MEMO_LIMIT) memo.clear();
  const identity = index < 0 ? buildIdentity(s, principal) : (memo.identities[index] as Identity);
  const ids: number[] = [];
  for (const k of identity.keys) {
    const id = table.get(k);
    if (id !== undefined) ids.push(id);
  }
  const need = ID_IDS + ids.length;
  if (memo.used + need > memo.arena.length) {
    if (memo.used + need > ARENA_LIMIT) {
      memo.clear();
      index = -1;
    } else {
      const grown = new Int32Array(Math.max(memo.arena.length * 2, memo.used + need));
      grown.set(memo.arena.subarray(0, memo.used));
      memo.arena = grown;
    }
  }
  if (index < 0) {
    index = memo.identities.length;
    memo.identities.push(identity);
  }
  const off = memo.used;
  const arena = memo.arena;
  arena[off + ID_INDEX] = index;
  arena[off + ID_TABLE_SIZE] = table.size;
  arena[off + ID_FLAGS] = (identity.key === null || identity.key === principal ? AS_GIVEN : 0) | (identity.disabled ? DISABLED : 0);
  arena[off + ID_COUNT] = ids.length;
  arena.set(ids, off + ID_IDS);
  memo.used += need;
  memo.byPrincipal.set(principal ?? ANONYMOUS_KEY, off);
  return off;
}

const IDENTITY_MEMO_LIMIT = 200_000;

/** Bound on memoised access-level results per relevant-level set. */
const LEVEL_RESULTS_LIMIT = 4096;

/**
 * Access levels relevant to a plan's node, evaluated for this request. Sets that depend only on
 * the client IP and region are memoised per (IP, region): a pure memo.
 */
function accessLevelsFor(s: Snapshot, set: LevelSet, check: CheckInput, identity: Identity): Decision["accessLevels"] {
  if (!set.isStatic) return computeLevels(s, set.names, check, identity);
  const req = check.request;
  const ip = req.ip ?? "";
  const region = req.regionCode ?? "";
  let byRegion = set.results.get(ip);
  if (byRegion !== undefined) {
    const hit = byRegion.get(region);
    if (hit !== undefined) return hit.accessLevels;
  }
  const r = computeLevels(s, set.names, check, identity);
  Object.freeze(r.satisfied);
  Object.freeze(r.unsatisfied);
  const accessLevels = Object.freeze(r) as Decision["accessLevels"];
  if (set.size >= LEVEL_RESULTS_LIMIT) {
    set.results.clear();
    set.size = 0;
    byRegion = undefined;
  }
  if (byRegion === undefined) set.results.set(ip, (byRegion = new Map()));
  byRegion.set(region, { accessLevels });
  set.size++;
  return accessLevels;
}

function computeLevels(s: Snapshot, names: readonly string[], check: CheckInput, identity: Identity): Decision["accessLevels"] {
  const req = check.request;
  const ip = req.ip !== undefined ? parseIp(req.ip) : null;
  const results = evaluateAccessLevels(s._.levels, names, {
    ip,
    regionCode: req.regionCode,
    principalKey: identity.key,
    // Built only if a custom level is evaluated.
    customActivations: () => {
      const time = celTime(req.time).msg;
      return pathVariants(req.path).map((path) => {
        const request: Record<string, unknown> = { time, method: (req.method ?? "GET").toUpperCase() };
        if (req.host !== undefined) request.host = normaliseHost(req.host);
        if (path !== undefined) request.path = path;
        const origin: Record<string, unknown> = {};
        if (ip) origin.ip = ip.toString();
        if (req.regionCode !== undefined) origin.region_code = req.regionCode.toUpperCase();
        return { request, origin, principal: identity.key ?? "" };
      });
    },
  });
  const satisfied: string[] = [];
  const unsatisfied: string[] = [];
  for (const n of names) (results.get(n) === true ? satisfied : unsatisfied).push(n);
  return { satisfied, unsatisfied };
}

/**
 * `request` for CEL, as a read-only map whose attributes are computed on first read. Entries, in
 * order: time, method, auth, host (if given), path (if given and the condition reads it).
 */
class RequestAttributesMap implements ReadonlyMap<string, CelInput> {
  constructor(
    private readonly ctx: Context,
    private readonly path: string | undefined,
  ) {}

  get(key: string): CelInput | undefined {
    switch (key) {
      case "time":
        return this.ctx.time();
      case "method":
        return this.ctx.method();
      case "auth":
        return this.ctx.auth();
      case "host":
        return this.ctx.host();
      case "path":
        return this.path;
    }
    return undefined;
  }
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
  private keyList(): string[] {
    const keys = ["time", "method", "auth"];
    if (this.ctx.host() !== undefined) keys.push("host");
    if (this.path !== undefined) keys.push("path");
    return keys;
  }
  get size(): number {
    return this.keyList().length;
  }
  keys(): MapIterator<string> {
    return this.keyList()[Symbol.iterator]();
  }
  values(): MapIterator<CelInput> {
    return this.keyList().map((k) => this.get(k) as CelInput)[Symbol.iterator]();
  }
  entries(): MapIterator<[string, CelInput]> {
    return this.keyList().map((k): [string, CelInput] => [k, this.get(k) as CelInput])[Symbol.iterator]();
  }
  [Symbol.iterator](): MapIterator<[string, CelInput]> {
    return this.entries();
  }
  forEach(callback: (value: CelInput, key: string, map: ReadonlyMap<string, CelInput>) => void, thisArg?: unknown): void {
    for (const k of this.keyList()) callback.call(thisArg, this.get(k) as CelInput, k, this);
  }
}

/**
 * The variables of one condition evaluation (one path variant), computed on first read.
 *
 * Besides the roots (`request`, `resource`, `destination`) it answers the qualified names CEL
 * looks up first for `request.time` and the like (CEL resolves `a.b` as the variable "a.b" before
 * "a" with field b), with the same values — so a read skips the failed lookup of the qualified
 * name (a type-registry search in the library) and the map access. An absent attribute
 * (`request.host` without a host) is undefined here, so CEL falls back to the root map and
 * behaves exactly as without the qualified names (`has()` false, a read an error).
 */
class Activation {
  constructor(
    private readonly ctx: Context,
    readonly path: string | undefined,
  ) {}
  get request(): CelMap {
    return celMap(new RequestAttributesMap(this.ctx, this.path));
  }
  get resource(): CelMap {
    return this.ctx.resource();
  }
  get destination(): CelMap {
    return this.ctx.destination();
  }
  get "request.time"(): unknown {
    return this.ctx.timeValue();
  }
  get "request.method"(): string {
    return this.ctx.method();
  }
  get "request.host"(): string | undefined {
    return this.ctx.host();
  }
  get "request.path"(): string | undefined {
    return this.path;
  }
  get "request.auth"(): CelMap {
    return this.ctx.auth();
  }
  get "request.auth.access_levels"(): CelList {
    return this.ctx.accessLevels();
  }
  get "resource.type"(): string {
    return this.ctx.node.type;
  }
  get "resource.service"(): string {
    return this.ctx.node.service;
  }
  get "resource.name"(): string {
    return this.ctx.node.name;
  }
  get "destination.ip"(): string | undefined {
    return this.ctx.check.destination?.ip;
  }
  get "destination.port"(): bigint | undefined {
    const port = this.ctx.check.destination?.port;
    return port === undefined ? undefined : BigInt(Math.trunc(port));
  }
}
// No inherited names (`toString`, `constructor`, …) may resolve as variables.
Object.setPrototypeOf(Activation.prototype, null);

/** Bound on the outcomes memoised per condition (a flood of distinct paths or times clears it). */
const CONDITION_MEMO_LIMIT = 1024;

/**
 * The request time as CEL values, for the last millisecond seen (one slot: consecutive checks
 * mostly share the clock's millisecond, and building and reflecting a timestamp costs more than
 * the comparison that reads it). Safe to share: CEL functions never mutate a timestamp.
 */
const lastTime = { ms: NaN, msg: undefined as Timestamp | undefined, reflected: undefined as unknown };
function celTime(d: Date): typeof lastTime {
  const ms = d.getTime();
  if (ms !== lastTime.ms || lastTime.msg === undefined) {
    lastTime.ms = ms;
    lastTime.msg = toCelTimestamp(d);
    lastTime.reflected = undefined;
  }
  return lastTime;
}

/**
 * Per-check condition context: the request's CEL values (each built on first use, shared by the
 * path variants) and the activations, one per path variant.
 */
class Context {
  private acts: Activation[] | null = null;
  private pathActs: Activation[] | null = null;
  private hostValue: string | undefined;
  private authValue: CelMap | undefined;
  private levelsValue: CelList | undefined;
  private destinationValue: CelMap | undefined;
  private levelsKey: string | undefined;
  readonly node: CompiledNode;

  constructor(
    private readonly plan: NodePlan,
    readonly check: CheckInput,
    private readonly satisfied: readonly string[],
  ) {
    this.node = plan.node;
  }

  time(): Timestamp {
    return celTime(this.check.request.time).msg as Timestamp;
  }
  /** The timestamp as the CEL value the library makes of it (a reflected message). */
  timeValue(): unknown {
    const t = celTime(this.check.request.time);
    return (t.reflected ??= reflect(TimestampSchema, t.msg as Timestamp));
  }
  method(): string {
    return (this.check.request.method ?? "GET").toUpperCase();
  }
  host(): string | undefined {
    const h = this.check.request.host;
    return h === undefined ? undefined : (this.hostValue ??= normaliseHost(h));
  }
  accessLevels(): CelList {
    return (this.levelsValue ??= celList(this.satisfied as string[]));
  }
  auth(): CelMap {
    return (this.authValue ??= celMap(new Map<string, CelInput>([["access_levels", this.accessLevels()]])));
  }
  resource(): CelMap {
    const node = this.node;
    return (this.plan.resourceValue ??= celMap(new Map<string, CelInput>([["type", node.type], ["service", node.service], ["name", node.name]]))) as CelMap;
  }
  destination(): CelMap {
    if (this.destinationValue === undefined) {
      const dest = new Map<string, CelInput>();
      const d = this.check.destination;
      if (d?.ip !== undefined) dest.set("ip", d.ip);
      if (d?.port !== undefined) dest.set("port", BigInt(Math.trunc(d.port)));
      this.destinationValue = celMap(dest);
    }
    return this.destinationValue;
  }

  /** Only a condition that reads request.path sees it (and is evaluated on every variant). */
  private build(withPath: boolean): Activation[] {
    const path = this.check.request.path;
    if (!withPath || path === undefined) return [new Activation(this, undefined)];
    return pathVariants(path).map((p) => new Activation(this, p));
  }

  /** Outcome of a condition: `all` = must hold for every path variant (allow); else any (deny). */
  run(c: CompiledCondition, all: boolean): ConditionOutcome {
    const acts = c.usesPath ? (this.pathActs ??= this.build(true)) : (this.acts ??= this.build(false));
    if (acts.length === 1) return this.outcome(c, acts[0] as Activation);
    let error: string | null = null;
    for (const a of acts) {
      const r = this.outcome(c, a);
      if (!r.ok) error ??= r.error;
      else if (all && !r.value) return r;
      else if (!all && r.value) return r;
    }
    if (error !== null) return { ok: false, error };
    return { ok: true, value: all };
  }

  /**
   * One evaluation, through the condition's outcome memo when it has one: the key is the values of
   * exactly the attributes the condition reads (`c.reads`) — the value itself (undefined = absent)
   * for one attribute, else each tagged present (\u0002value) or absent (\u0001) and separated by
   * NUL: unambiguous because a value with a NUL is then not memoised.
   */
  private outcome(c: CompiledCondition, act: Activation): ConditionOutcome {
    const reads = c.reads;
    if (reads === null) return runCondition(c, act as unknown as Record<string, unknown>);
    let key: string | number | undefined;
    if (reads.length === 1) key = this.readValue(reads[0] as ConditionRead, act.path);
    else {
      key = "";
      for (let i = 0; i < reads.length; i++) {
        const v = this.readValue(reads[i] as ConditionRead, act.path);
        if (v === undefined) key += i === 0 ? "\u0001" : "\u0000\u0001";
        else if (typeof v === "string" && v.includes("\u0000")) return runCondition(c, act as unknown as Record<string, unknown>);
        else key += i === 0 ? "\u0002" + v : "\u0000\u0002" + v;
      }
    }
    const memo = c.memo;
    let r = memo.get(key);
    if (r === undefined) {
      r = runCondition(c, act as unknown as Record<string, unknown>);
      if (memo.size >= CONDITION_MEMO_LIMIT) memo.clear();
      memo.set(key, r);
    }
    return r;
  }

  /** An attribute's value as the memo key records it (undefined = absent; time in seconds and port as numbers). */
  private readValue(read: ConditionRead, path: string | undefined): string | number | undefined {
    switch (read) {
      case "request.time/s":
        return Math.floor(this.check.request.time.getTime() / 1000);
      case "request.host":
        return this.host();
      case "request.path":
        return path;
      case "request.method":
        return this.method();
      case "request.auth":
        return (this.levelsKey ??= JSON.stringify(this.satisfied));
      case "resource.type":
        return this.node.type;
      case "resource.service":
        return this.node.service;
      case "resource.name":
        return this.node.name;
      case "destination.ip":
        return this.check.destination?.ip;
      case "destination.port": {
        const port = this.check.destination?.port;
        return port === undefined ? undefined : Math.trunc(port);
      }
    }
  }

  /** An allow condition holds (an error never grants). */
  holds(c: CompiledCondition): boolean {
    const r = this.run(c, true);
    return r.ok && r.value;
  }
}

/** The deciding denied-principal entry of a rule for an identity (first in deniedPrincipals order), or null. */
function deniedPrincipal(rule: CompiledDenyRule, identity: Identity): string | null {
  let matched: readonly [number, string] | null = null;
  const keys = identity.keys;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (rule.excepted.has(k)) return null;
    const m = rule.denied.get(k);
    if (m !== undefined && (matched === null || m[0] < matched[0])) matched = m;
  }
  return matched === null ? null : matched[1];
}

function denyRuleApplies(rule: CompiledDenyRule, permission: string, identity: Identity): string | null {
  let permHit = false;
  for (const p of rule.permissions) if (permissionMatches(p, permission)) permHit = true;
  if (!permHit) return null;
  for (const p of rule.exceptionPermissions) if (permissionMatches(p, permission)) return null;
  return deniedPrincipal(rule, identity);
}

/** The first rule that applies (condition true or erroring), as `deniedBy`. */
function denyOf(rule: CompiledDenyRule, principal: string, permission: string, conditionError: boolean): DeniedBy {
  const deniedBy: DeniedBy = { attachedTo: rule.attachedTo, policyIndex: rule.policyIndex, ruleIndex: rule.ruleIndex, principal, permission };
  if (rule.policy !== undefined) deniedBy.policy = rule.policy;
  if (rule.conditionTitle !== undefined) deniedBy.condition = rule.conditionTitle;
  if (conditionError) deniedBy.conditionError = true;
  return deniedBy;
}

function grantedBy(b: CompiledBinding, memberIdx: number): GrantedBy {
  const g: GrantedBy = { resource: b.resource, role: b.role, member: b.members[memberIdx] ?? "" };
  if (b.conditionTitle !== undefined) g.condition = b.conditionTitle;
  return g;
}

/** The frozen `grantedBy` naming a candidate. */
function grantOf(ref: BindingRef): GrantedBy {
  return Object.freeze(grantedBy(ref.binding, ref.memberIdx));
}

/** The `grantedBy` of the first candidate of the key with this order, memoised per key. */
function firstGrant(tier: Tier, order: number): GrantedBy {
  return (tier.grants[order] ??= grantOf((tier.lists[order] as readonly BindingRef[])[0] as BindingRef));
}

/**
 * The rest of one tier after its first candidate (binding `failed`) did not grant: every
 * candidate of the identity's keys in policy order, one per binding (its first matching member).
 */
function restOfTier(tier: Tier, ids: Int32Array, failed: CompiledBinding, ctx: Context): BindingRef | undefined {
  const all: BindingRef[] = [];
  for (let i = 0; i < ids.length; i++) {
    const slot = findSlot(tier, ids[i] as number);
    if (slot < 0) continue;
    for (const r of tier.lists[(tier.data[slot + 1] as number) >>> 2] as readonly BindingRef[]) if (r.binding !== failed) all.push(r);
  }
  all.sort((a, b) => a.binding.index - b.binding.index || a.memberIdx - b.memberIdx);
  let last: CompiledBinding | null = null;
  for (const r of all) {
    if (r.binding === last) continue;
    last = r.binding;
    const c = r.binding.condition;
    if (c === null || ctx.holds(c)) return r;
  }
  return undefined;
}

export function evaluate(s: Snapshot, check: CheckInput): Decision {
  if (check.explain) return evaluateExplained(s, check);
  const plans = nodePlans(s, check.resource, defaultPermission);
  const memo = s._.identityMemo;
  const off = identitySlot(s, check.principal);
  // Read after identitySlot (it may replace the arena); nothing below memoises an identity.
  const arena = memo.arena;
  const index = arena[off + ID_INDEX] as number;
  const flags = arena[off + ID_FLAGS] as number;
  const principal = (flags & AS_GIVEN) !== 0 ? check.principal : (memo.identities[index] as Identity).key;
  if (plans === undefined) {
    return { revision: s.revision, principal, resource: check.resource, permission: check.permission ?? PERMISSIONS.webAccess, allowed: false, reason: "UNKNOWN_RESOURCE", accessLevels: NO_LEVELS };
  }
  const permission = check.permission ?? plans.defaultPermission;
  // INVARIANT: a disabled principal is denied everywhere, before anything else is looked at.
  if ((flags & DISABLED) !== 0) return { revision: s.revision, principal, resource: check.resource, permission, allowed: false, reason: "PRINCIPAL_DISABLED", accessLevels: NO_LEVELS };
  const node = plans.node;
  if (node.isWeb && !node.iapEnabled && permission === PERMISSIONS.webAccess) return { revision: s.revision, principal, resource: check.resource, permission, allowed: false, reason: "IAP_DISABLED", accessLevels: NO_LEVELS };
  const plan = planFor(s, plans, permission);
  const accessLevels = plan.levels === null ? NO_LEVELS : accessLevelsFor(s, plan.levels, check, memo.identities[index] as Identity);
  let ctx: Context | null = null;

  // INVARIANT: deny rules are checked before any allow binding.
  const deny = plan.deny;
  for (let i = 0; i < deny.length; i++) {
    const rule = deny[i] as CompiledDenyRule;
    const matched = deniedPrincipal(rule, memo.identities[index] as Identity);
    if (matched === null) continue;
    let conditionError = false;
    if (rule.condition) {
      const r = (ctx ??= new Context(plan, check, accessLevels.satisfied)).run(rule.condition, false);
      if (r.ok && !r.value) continue;
      conditionError = !r.ok;
    }
    return { revision: s.revision, principal, resource: check.resource, permission, allowed: false, reason: "DENIED_BY_POLICY", deniedBy: denyOf(rule, matched, permission, conditionError), accessLevels };
  }

  // Allow: per tier, the first candidate over all member keys; the rest only if it does not grant.
  let memberMatched = false;
  const idsFrom = off + ID_IDS;
  const idsTo = idsFrom + (arena[off + ID_COUNT] as number);
  const tiers = plan.tiers;
  for (let t = 0; t < tiers.length; t++) {
    const tier = tiers[t] as Tier;
    const data = tier.data;
    const words = tier.words;
    const shift = tier.shift;
    const slots = tier.slots;
    const end = words + slots * SLOT;
    // The first candidate over all keys: the smallest order in the table itself (see `Tier`).
    let best = -1;
    let bestValue = 0;
    let hits = 0;
    for (let i = idsFrom; i < idsTo; i++) {
      const id = arena[i] as number;
      const b = shift === 0 ? id : hashBit(id, shift);
      const w = b >>> 5;
      if (w >= words || ((data[w] as number) & (1 << (b & 31))) === 0) continue;
      let h = words + slotOf(id, slots);
      let k = data[h] as number;
      while (k !== id && k !== -1) {
        h = h + SLOT === end ? words : h + SLOT;
        k = data[h] as number;
      }
      if (k === -1) continue;
      hits++;
      const value = data[h + 1] as number;
      if (best < 0 || value < bestValue) {
        best = h;
        bestValue = value;
      }
    }
    if (best < 0) continue;
    memberMatched = true;
    const flags = bestValue;
    const order = bestValue >>> 2;
    let granted: GrantedBy | undefined;
    if ((flags & 1) === 0) granted = tier.grants[order] ?? firstGrant(tier, order);
    else {
      const first = (tier.lists[order] as readonly BindingRef[])[0] as BindingRef;
      if ((ctx ??= new Context(plan, check, accessLevels.satisfied)).holds(first.binding.condition as CompiledCondition)) granted = firstGrant(tier, order);
      else if (hits > 1 || (flags & 2) !== 0) {
        const r = restOfTier(tier, arena.subarray(idsFrom, idsTo), first.binding, ctx);
        if (r !== undefined) granted = grantOf(r);
      }
    }
    if (granted !== undefined) {
      return { allowed: true, reason: "GRANTED", revision: s.revision, principal, resource: check.resource, permission, grantedBy: granted, accessLevels };
    }
  }
  // A null principal is the anonymous identity (a malformed one too, but that one is not UNAUTHENTICATED).
  const reason = check.principal === null ? "UNAUTHENTICATED" : memberMatched ? "CONDITION_NOT_MET" : "NO_MATCHING_BINDING";
  return { revision: s.revision, principal, resource: check.resource, permission, allowed: false, reason, accessLevels };
}

/** `evaluate` with `explain`: walks every deny rule and binding on the chain and records why each did or did not apply. */
function evaluateExplained(s: Snapshot, check: CheckInput): Decision {
  const plans = nodePlans(s, check.resource, defaultPermission);
  const identity = identityOf(s, check.principal);
  const principal = identity.key ?? check.principal;
  const permission = check.permission ?? (plans ? plans.defaultPermission : PERMISSIONS.webAccess);
  const base = { revision: s.revision, principal, resource: check.resource, permission };
  if (!plans) return { ...base, allowed: false, reason: "UNKNOWN_RESOURCE", accessLevels: NO_LEVELS, trace: [{ kind: "note", message: "resource is not in the hierarchy" }] };
  if (identity.disabled) return { ...base, allowed: false, reason: "PRINCIPAL_DISABLED", accessLevels: NO_LEVELS, trace: [{ kind: "note", message: `${identity.key ?? ""} is disabled: a disabled principal is denied everywhere, whatever the bindings say` }] };
  const node = plans.node;
  if (node.isWeb && !node.iapEnabled && permission === PERMISSIONS.webAccess) return { ...base, allowed: false, reason: "IAP_DISABLED", accessLevels: NO_LEVELS, trace: [{ kind: "note", message: "IAP is disabled on this web resource" }] };
  const plan = planFor(s, plans, permission);
  const accessLevels = plan.levels === null ? NO_LEVELS : accessLevelsFor(s, plan.levels, check, identity);
  const ctx = new Context(plan, check, accessLevels.satisfied);
  const trace: TraceEntry[] = [];

  // Deny first.
  let deniedBy: DeniedBy | undefined;
  for (const n of node.chain) {
    for (const rule of s._.deny.get(n) ?? []) {
      const matched = denyRuleApplies(rule, permission, identity);
      if (matched === null) {
        trace.push(denyTrace(rule, permission, identity));
        continue;
      }
      let conditionError = false;
      if (rule.condition) {
        const r = ctx.run(rule.condition, false);
        if (r.ok && !r.value) {
          trace.push({ kind: "deny", attachedTo: rule.attachedTo, policyIndex: rule.policyIndex, ruleIndex: rule.ruleIndex, result: "CONDITION_FALSE" });
          continue;
        }
        conditionError = !r.ok;
        if (!r.ok) trace.push({ kind: "deny", attachedTo: rule.attachedTo, policyIndex: rule.policyIndex, ruleIndex: rule.ruleIndex, result: "CONDITION_ERROR", error: r.error });
      }
      if (!conditionError) trace.push({ kind: "deny", attachedTo: rule.attachedTo, policyIndex: rule.policyIndex, ruleIndex: rule.ruleIndex, result: "DENIED" });
      deniedBy = denyOf(rule, matched, permission, conditionError);
      break;
    }
    if (deniedBy) break;
  }
  if (deniedBy) return { ...base, allowed: false, reason: "DENIED_BY_POLICY", deniedBy, accessLevels, trace };

  let memberMatched = false;
  const granted = explainAllow(s, node, permission, identity, ctx, trace, () => (memberMatched = true));
  if (granted) return { allowed: true, reason: "GRANTED", revision: s.revision, principal, resource: check.resource, permission, grantedBy: granted, accessLevels, trace };
  const reason = identity.key === null && check.principal === null ? "UNAUTHENTICATED" : memberMatched ? "CONDITION_NOT_MET" : "NO_MATCHING_BINDING";
  return { ...base, allowed: false, reason, accessLevels, trace };
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
