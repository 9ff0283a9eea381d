/**
 * A deliberately simple reference evaluator: no indexes, no caching, no precomputation. It walks
 * the raw `PolicyData` for every question and re-compiles every condition it meets. It shares only
 * leaf helpers with the core (member/email parsing, the resource-name grammar, path normalisation,
 * IP parsing and the CEL library), never the core's indexes or evaluation logic. Used as the
 * oracle for the case table and the differential tests.
 *
 * Its one memo is CEL compilation keyed by expression text (a pure function of the text, owned by
 * the CEL library), so that 100,000 differential checks run in seconds.
 */
import type { AccessLevel, CheckInput, Decision, DeniedBy, GrantedBy, PolicyData, Reason } from "./types";
import { RESOURCE_TYPES } from "./types";
import { parseMember, parsePrincipal, parseDenyPrincipal, emailDomain, type Member, type ParsedPrincipal } from "./members";
import { parseResourceName, serviceOfType, defaultPermission, normalisePermission, PERMISSIONS } from "./resources";
import { PREDEFINED_ROLES } from "./roles";
import { compileCondition, runCondition, toCelTimestamp, type CompiledCondition } from "./cel";
import { normaliseHost, normalisePath, rawPath } from "./request";
import { parseIp, parseSubnet } from "./ip";

const celMemo = new Map<string, ReturnType<typeof compileCondition>>();
function compileExpr(expr: string, kind: "iam" | "accessLevel" = "iam"): ReturnType<typeof compileCondition> {
  const key = `${kind}\u0000${expr}`;
  let r = celMemo.get(key);
  if (!r) {
    r = compileCondition(expr, kind);
    celMemo.set(key, r);
  }
  return r;
}

function findNode(data: PolicyData, name: string) {
  let found: PolicyData["nodes"][number] | undefined;
  for (const n of data.nodes) if (n.name === name) found = n;
  return found;
}

function nodeType(n: PolicyData["nodes"][number]): string {
  return n.type ?? parseResourceName(n.name)?.type ?? "unknown";
}

function ancestry(data: PolicyData, name: string): string[] {
  const out: string[] = [];
  let cur = findNode(data, name);
  while (cur && !out.includes(cur.name)) {
    out.push(cur.name);
    const parent = cur.parent ?? parseResourceName(cur.name)?.impliedParent ?? null;
    cur = parent === null ? undefined : findNode(data, parent);
  }
  return out;
}

function iapOn(data: PolicyData, name: string): boolean {
  for (const n of ancestry(data, name)) {
    const node = findNode(data, n);
    if (!node) return false;
    const t = nodeType(node);
    if (t !== RESOURCE_TYPES.iapWebService && t !== RESOURCE_TYPES.iapWebServiceVersion && t !== RESOURCE_TYPES.iapWebType) return false;
    if (node.iapEnabled !== undefined) return node.iapEnabled;
  }
  return false;
}

function sameEmail(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Whether the group (by email) contains the principal, directly or through nested groups. */
function groupContains(data: PolicyData, groupEmail: string, p: ParsedPrincipal, visited: string[]): boolean {
  if (visited.some((v) => sameEmail(v, groupEmail))) return false;
  const group = data.groups?.find((g) => sameEmail(g.email, groupEmail));
  if (!group) return false;
  for (const m of group.members) {
    const pm = parseMember(m);
    if (!pm.ok) continue;
    if ((pm.value.kind === "user" || pm.value.kind === "serviceAccount") && pm.value.kind === p.kind && pm.value.email === p.email) return true;
    if (pm.value.kind === "group" && groupContains(data, pm.value.email, p, [...visited, groupEmail])) return true;
  }
  return false;
}

/** Whether any principal entry with this email (either kind, any case) says disabled. */
function isDisabled(data: PolicyData, p: ParsedPrincipal): boolean {
  for (const x of data.principals ?? []) {
    if (x.disabled !== true) continue;
    const pp = parsePrincipal(x.member);
    if (pp.ok && pp.value.email === p.email) return true;
  }
  return false;
}

function memberMatches(data: PolicyData, m: Member, p: ParsedPrincipal | null): boolean {
  switch (m.kind) {
    case "allUsers":
      return true;
    case "allAuthenticatedUsers":
      return p !== null;
    case "deleted":
      return false;
    case "domain":
      return p !== null && p.kind === "user" && emailDomain(p.email) === m.domain;
    case "group":
      return p !== null && groupContains(data, m.email, p, []);
    default:
      return p !== null && p.kind === m.kind && p.email === m.email;
  }
}

function rolePermissions(data: PolicyData, role: string): string[] | null {
  let custom: string[] | null = null;
  for (const r of data.roles ?? []) if (r.name === role) custom = r.permissions;
  if (custom) return custom;
  return PREDEFINED_ROLES.find((r) => r.name === role)?.permissions ?? null;
}

function permMatch(pattern: string, permission: string): boolean {
  const p = normalisePermission(pattern);
  if (p === "*") return true;
  return p.endsWith("*") ? permission.startsWith(p.slice(0, -1)) : p === permission;
}

function levelSatisfied(data: PolicyData, name: string, check: CheckInput, principal: ParsedPrincipal | null, stack: string[]): boolean {
  const levels = data.accessLevels ?? [];
  let level: AccessLevel | undefined;
  for (const l of levels) if (l.name === name) level = l;
  if (!level) return false;
  if (stack.includes(name)) return false;
  // A level on a requiredAccessLevels cycle is never satisfied.
  const reachesItself = (from: string, seen: string[]): boolean => {
    let l: AccessLevel | undefined;
    for (const x of levels) if (x.name === from) l = x;
    for (const c of l?.basic?.conditions ?? []) {
      for (const r of c.requiredAccessLevels ?? []) {
        if (r === name) return true;
        if (!seen.includes(r) && reachesItself(r, [...seen, r])) return true;
      }
    }
    return false;
  };
  if (reachesItself(name, [])) return false;
  const req = check.request;
  if (level.custom) {
    const c = compileExpr(level.custom.expr.expression, "accessLevel");
    if (!c.ok) return false;
    const ip = req.ip !== undefined ? parseIp(req.ip) : null;
    for (const path of paths(req.path)) {
      const request: Record<string, unknown> = { time: toCelTimestamp(req.time), method: (req.method ?? "GET").toUpperCase() };
      if (req.host !== undefined) request.host = normaliseHost(req.host);
      if (path !== undefined) request.path = path;
      const origin: Record<string, unknown> = {};
      if (ip) origin.ip = ip.toString();
      if (req.regionCode !== undefined) origin.region_code = req.regionCode.toUpperCase();
      const r = runCondition(c.value, { request, origin, principal: principal ? `${principal.kind}:${principal.email}` : "" });
      if (!r.ok || !r.value) return false;
    }
    return true;
  }
  const conds = level.basic?.conditions ?? [];
  if (conds.length === 0) return false;
  const results = conds.map((c) => {
    const specified = c.ipSubnetworks !== undefined || c.regions !== undefined || c.members !== undefined || (c.requiredAccessLevels?.length ?? 0) > 0;
    if (!specified) return false;
    const subnets = (c.ipSubnetworks ?? []).map(parseSubnet);
    if (subnets.some((s) => !s.ok)) return false;
    const members = (c.members ?? []).map(parsePrincipal);
    if (members.some((m) => !m.ok)) return false;
    let v = true;
    if (c.ipSubnetworks !== undefined) {
      const ip = req.ip !== undefined ? parseIp(req.ip) : null;
      if (!ip) return false;
      v = v && subnets.some((s) => s.ok && s.value[0].kind() === ip.kind() && ip.match(s.value));
    }
    if (c.regions !== undefined) {
      if (!req.regionCode) return false;
      v = v && c.regions.some((r) => r.toUpperCase() === req.regionCode?.toUpperCase());
    }
    if (c.members !== undefined) v = v && principal !== null && members.some((m) => m.ok && m.value.kind === principal.kind && m.value.email === principal.email);
    for (const r of c.requiredAccessLevels ?? []) v = levelSatisfied(data, r, check, principal, [...stack, name]) && v;
    return c.negate ? !v : v;
  });
  return level.basic?.combiningFunction === "OR" ? results.some((x) => x) : results.every((x) => x);
}

function paths(path: string | undefined): Array<string | undefined> {
  if (path === undefined) return [undefined];
  const n = normalisePath(path);
  const r = rawPath(path);
  return n === r ? [n] : [n, r];
}

/** Levels referenced by conditions on the chain (closure over requiredAccessLevels); all when read non-literally. */
function relevant(data: PolicyData, chain: string[]): string[] {
  const roots = new Set<string>();
  let all = false;
  const visit = (expr: string | undefined) => {
    if (expr === undefined) return;
    const c = compileExpr(expr);
    if (!c.ok || c.value.accessLevelRefs === null) return;
    if (c.value.accessLevelRefs === "all") all = true;
    else for (const l of c.value.accessLevelRefs) roots.add(l);
  };
  for (const n of chain) {
    let policy: PolicyData["policies"] extends (infer T)[] | undefined ? T | undefined : never;
    for (const p of data.policies ?? []) if (p.resource === n) policy = p;
    for (const b of policy?.bindings ?? []) visit(b.condition?.expression);
    for (const d of data.denyPolicies ?? []) if (d.attachedTo === n) for (const r of d.rules) visit(r.denialCondition?.expression);
  }
  const out = new Set<string>();
  const stack = [...roots, ...(all ? (data.accessLevels ?? []).map((l) => l.name) : [])];
  while (stack.length > 0) {
    const l = stack.pop() as string;
    if (out.has(l)) continue;
    out.add(l);
    for (const x of data.accessLevels ?? []) if (x.name === l) for (const c of x.basic?.conditions ?? []) for (const r of c.requiredAccessLevels ?? []) stack.push(r);
  }
  return [...out].sort();
}

function conditionHolds(expr: string, check: CheckInput, nodeName: string, type: string, service: string, satisfied: string[], mode: "all" | "any"): { ok: true; value: boolean } | { ok: false } {
  const c = compileExpr(expr);
  if (!c.ok) return { ok: false };
  const compiled: CompiledCondition = c.value;
  const req = check.request;
  const results = paths(req.path).map((path) => {
    const request: Record<string, unknown> = { time: toCelTimestamp(req.time), method: (req.method ?? "GET").toUpperCase(), auth: { access_levels: satisfied } };
    if (req.host !== undefined) request.host = normaliseHost(req.host);
    if (path !== undefined) request.path = path;
    const destination: Record<string, unknown> = {};
    if (check.destination?.ip !== undefined) destination.ip = check.destination.ip;
    if (check.destination?.port !== undefined) destination.port = BigInt(Math.trunc(check.destination.port));
    return runCondition(compiled, { request, resource: { type, service, name: nodeName }, destination });
  });
  if (mode === "all") {
    if (results.some((r) => r.ok && !r.value)) return { ok: true, value: false };
    if (results.some((r) => !r.ok)) return { ok: false };
    return { ok: true, value: true };
  }
  if (results.some((r) => r.ok && r.value)) return { ok: true, value: true };
  if (results.some((r) => !r.ok)) return { ok: false };
  return { ok: true, value: false };
}

export function referenceEvaluate(data: PolicyData, check: CheckInput, revision = "0"): Decision {
  const node = findNode(data, check.resource);
  const type = node ? nodeType(node) : "";
  const permission = check.permission ?? (node ? defaultPermission(type) : PERMISSIONS.webAccess);
  const pp = check.principal === null ? null : parsePrincipal(check.principal);
  const principal = pp && pp.ok ? pp.value : null;
  const out = (allowed: boolean, reason: Reason, extra: Partial<Decision> = {}): Decision => ({
    allowed,
    reason,
    revision,
    principal: principal ? `${principal.kind}:${principal.email}` : check.principal,
    resource: check.resource,
    permission,
    accessLevels: { satisfied: [], unsatisfied: [] },
    ...extra,
  });
  if (!node) return out(false, "UNKNOWN_RESOURCE");
  if (principal !== null && isDisabled(data, principal)) return out(false, "PRINCIPAL_DISABLED");
  if ((type === RESOURCE_TYPES.iapWebService || type === RESOURCE_TYPES.iapWebServiceVersion) && permission === PERMISSIONS.webAccess && !iapOn(data, node.name)) return out(false, "IAP_DISABLED");
  const service = node.service ?? serviceOfType(type);
  const chain = ancestry(data, node.name);

  const rel = relevant(data, chain);
  const satisfied = rel.filter((l) => levelSatisfied(data, l, check, principal, []));
  const accessLevels = { satisfied, unsatisfied: rel.filter((l) => !satisfied.includes(l)) };

  // Deny rules, resource first.
  for (const n of chain) {
    const policies = (data.denyPolicies ?? []).filter((d) => d.attachedTo === n);
    for (let pi = 0; pi < policies.length; pi++) {
      const dp = policies[pi];
      if (!dp) continue;
      for (let ri = 0; ri < dp.rules.length; ri++) {
        const rule = dp.rules[ri];
        if (!rule) continue;
        if (!rule.deniedPermissions.some((p) => permMatch(p, permission))) continue;
        if ((rule.exceptionPermissions ?? []).some((p) => permMatch(p, permission))) continue;
        const matches = (s: string) => {
          const m = parseDenyPrincipal(s);
          return m.ok && memberMatches(data, m.value, principal);
        };
        const hit = rule.deniedPrincipals.find(matches);
        if (hit === undefined) continue;
        if ((rule.exceptionPrincipals ?? []).some(matches)) continue;
        let conditionError = false;
        if (rule.denialCondition) {
          const r = conditionHolds(rule.denialCondition.expression, check, node.name, type, service, satisfied, "any");
          if (r.ok && !r.value) continue;
          conditionError = !r.ok;
        }
        const deniedBy: DeniedBy = { attachedTo: n, policyIndex: pi, ruleIndex: ri, principal: hit, permission };
        if (dp.name !== undefined) deniedBy.policy = dp.name;
        if (rule.denialCondition?.title !== undefined) deniedBy.condition = rule.denialCondition.title;
        if (conditionError) deniedBy.conditionError = true;
        return out(false, "DENIED_BY_POLICY", { deniedBy, accessLevels });
      }
    }
  }

  // Allow bindings, resource first.
  let memberMatched = false;
  for (const n of chain) {
    let policy: PolicyData["policies"] extends (infer T)[] | undefined ? T | undefined : never;
    for (const p of data.policies ?? []) if (p.resource === n) policy = p;
    if (!policy) continue;
    for (const b of policy.bindings) {
      const perms = rolePermissions(data, b.role);
      if (!perms || !perms.includes(permission)) continue;
      const member = b.members.find((m) => {
        const pm = parseMember(m);
        return pm.ok && memberMatches(data, pm.value, principal);
      });
      if (member === undefined) continue;
      memberMatched = true;
      if (b.condition) {
        const r = conditionHolds(b.condition.expression, check, node.name, type, service, satisfied, "all");
        if (!r.ok || !r.value) continue;
      }
      const grantedBy: GrantedBy = { resource: n, role: b.role, member };
      if (b.condition) grantedBy.condition = b.condition.title;
      return out(true, "GRANTED", { grantedBy, accessLevels });
    }
  }
  if (check.principal === null) return out(false, "UNAUTHENTICATED", { accessLevels });
  return out(false, memberMatched ? "CONDITION_NOT_MET" : "NO_MATCHING_BINDING", { accessLevels });
}
