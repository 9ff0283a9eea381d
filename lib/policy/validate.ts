/**
 * Write-side validation as pure functions (the admin API calls these before storing anything).
 * Every issue carries a path into the written object, e.g. `bindings[2].members[0]`.
 */
import type { AccessLevel, AllowPolicy, DenyPolicy, Role } from "./types";
import { parseMember, parseDenyPrincipal } from "./members";
import { PREDEFINED_ROLE_MAP, KNOWN_PERMISSIONS, isCustomRoleName } from "./roles";
import { compileCondition, type ConditionKind } from "./cel";
import { isDenyAttachmentType, normalisePermission, parseResourceName } from "./resources";
import { parseSubnet } from "./ip";
import { parsePrincipal } from "./members";
import { normaliseHost, normalisePathPrefix } from "./request";

export const LIMITS = {
  /** Principals (member entries, all bindings together) per allow policy. */
  membersPerPolicy: 1500,
  /** `group:` principals per allow policy. */
  groupsPerPolicy: 250,
  /** Bindings with a condition per allow policy. */
  conditionalBindings: 100,
  conditionTitle: 100,
  conditionDescription: 256,
  denyRulesPerPolicy: 500,
} as const;

export interface ValidationIssue {
  path: string;
  message: string;
}
export type ValidationResult = { ok: true; errors: [] } | { ok: false; errors: ValidationIssue[] };

export interface ValidationContext {
  /** Custom roles that exist (predefined roles are always known). */
  customRoles?: readonly Role[];
  /** Whether a resource exists; when given, unknown resources are errors. */
  resourceExists?: (name: string) => boolean;
}

function result(errors: ValidationIssue[]): ValidationResult {
  return errors.length === 0 ? { ok: true, errors: [] } : { ok: false, errors };
}

/** Validates a CEL condition; messages carry line:column. */
/**
 * The messages of each expression's validation, by kind and expression: every write of a policy
 * validates its conditions again, and compiling one costs ~0.3 ms. Bounded: cleared when full.
 */
const conditionMessages = new Map<string, readonly string[]>();
const CONDITION_MESSAGES_MAX = 2_000;

export function validateCondition(expression: string, path = "expression", kind: ConditionKind = "iam"): ValidationIssue[] {
  const key = `${kind}\u0000${expression}`;
  let messages = conditionMessages.get(key);
  if (messages === undefined) {
    const r = compileCondition(expression, kind);
    messages = r.ok ? [] : r.errors.map((e) => (e.line !== undefined ? `${e.line}:${e.column}: ${e.message}` : e.message));
    if (conditionMessages.size >= CONDITION_MESSAGES_MAX) conditionMessages.clear();
    conditionMessages.set(key, messages);
  }
  return messages.map((message) => ({ path, message }));
}

export function validatePolicy(policy: AllowPolicy, ctx: ValidationContext = {}): ValidationResult {
  const errors: ValidationIssue[] = [];
  if (!parseResourceName(policy.resource)) errors.push({ path: "resource", message: `"${policy.resource}" is not a resource name Gatehouse knows` });
  else if (ctx.resourceExists && !ctx.resourceExists(policy.resource)) errors.push({ path: "resource", message: `resource ${policy.resource} does not exist` });
  const hasConditions = policy.bindings.some((b) => b.condition !== undefined);
  if (policy.version !== undefined && ![1, 3].includes(policy.version)) errors.push({ path: "version", message: "version must be 1 or 3" });
  if (hasConditions && policy.version !== undefined && policy.version !== 3) errors.push({ path: "version", message: "a policy with conditions must have version 3" });
  const custom = new Map((ctx.customRoles ?? []).map((r) => [r.name, r]));
  let members = 0;
  const groups = new Set<string>();
  let conditional = 0;
  const seen = new Map<string, number>();
  policy.bindings.forEach((b, i) => {
    const p = `bindings[${i}]`;
    if (!PREDEFINED_ROLE_MAP.has(b.role) && !custom.has(b.role)) {
      errors.push({ path: `${p}.role`, message: isCustomRoleName(b.role) || b.role.startsWith("roles/") ? `unknown role ${b.role}` : `"${b.role}" is not a role name` });
    }
    if (!Array.isArray(b.members) || b.members.length === 0) errors.push({ path: `${p}.members`, message: "a binding needs at least one member" });
    (b.members ?? []).forEach((m, j) => {
      members++;
      const pm = parseMember(m);
      if (!pm.ok) errors.push({ path: `${p}.members[${j}]`, message: pm.error });
      else if (pm.value.kind === "group") groups.add(pm.value.key);
    });
    if (b.condition) {
      conditional++;
      const c = b.condition;
      if (!c.title || c.title.trim() === "") errors.push({ path: `${p}.condition.title`, message: "a condition needs a title" });
      else if (c.title.length > LIMITS.conditionTitle) errors.push({ path: `${p}.condition.title`, message: `title longer than ${LIMITS.conditionTitle} characters` });
      if (c.description !== undefined && c.description.length > LIMITS.conditionDescription) errors.push({ path: `${p}.condition.description`, message: `description longer than ${LIMITS.conditionDescription} characters` });
      errors.push(...validateCondition(c.expression, `${p}.condition.expression`));
    }
    const sig = `${b.role}\u0000${b.condition?.expression ?? ""}`;
    const prev = seen.get(sig);
    if (prev !== undefined) errors.push({ path: p, message: `duplicates bindings[${prev}] (same role and condition); merge the members` });
    else seen.set(sig, i);
  });
  if (members > LIMITS.membersPerPolicy) errors.push({ path: "bindings", message: `${members} members; a policy may have at most ${LIMITS.membersPerPolicy}` });
  if (groups.size > LIMITS.groupsPerPolicy) errors.push({ path: "bindings", message: `${groups.size} groups; a policy may have at most ${LIMITS.groupsPerPolicy}` });
  if (conditional > LIMITS.conditionalBindings) errors.push({ path: "bindings", message: `${conditional} conditional bindings; a policy may have at most ${LIMITS.conditionalBindings}` });
  return result(errors);
}

function validPermissionPattern(p: string): boolean {
  const n = normalisePermission(p);
  if (n === "*") return true;
  if (n.endsWith(".*")) {
    const prefix = n.slice(0, -1);
    for (const k of KNOWN_PERMISSIONS) if (k.startsWith(prefix)) return true;
    return false;
  }
  return KNOWN_PERMISSIONS.has(n);
}

export function validateDenyPolicy(policy: DenyPolicy, ctx: ValidationContext = {}): ValidationResult {
  const errors: ValidationIssue[] = [];
  const info = parseResourceName(policy.attachedTo);
  if (!info || !isDenyAttachmentType(info.type)) errors.push({ path: "attachedTo", message: "deny policies attach to an organization, folder or project" });
  else if (ctx.resourceExists && !ctx.resourceExists(policy.attachedTo)) errors.push({ path: "attachedTo", message: `resource ${policy.attachedTo} does not exist` });
  if (policy.rules.length > LIMITS.denyRulesPerPolicy) errors.push({ path: "rules", message: `at most ${LIMITS.denyRulesPerPolicy} rules` });
  policy.rules.forEach((r, i) => {
    const p = `rules[${i}]`;
    if (r.deniedPrincipals.length === 0) errors.push({ path: `${p}.deniedPrincipals`, message: "at least one denied principal" });
    r.deniedPrincipals.forEach((m, j) => {
      const pm = parseDenyPrincipal(m);
      if (!pm.ok) errors.push({ path: `${p}.deniedPrincipals[${j}]`, message: pm.error });
    });
    (r.exceptionPrincipals ?? []).forEach((m, j) => {
      const pm = parseDenyPrincipal(m);
      if (!pm.ok) errors.push({ path: `${p}.exceptionPrincipals[${j}]`, message: pm.error });
    });
    if (r.deniedPermissions.length === 0) errors.push({ path: `${p}.deniedPermissions`, message: "at least one denied permission" });
    r.deniedPermissions.forEach((m, j) => {
      if (!validPermissionPattern(m)) errors.push({ path: `${p}.deniedPermissions[${j}]`, message: `unknown permission ${m}` });
    });
    (r.exceptionPermissions ?? []).forEach((m, j) => {
      if (!validPermissionPattern(m)) errors.push({ path: `${p}.exceptionPermissions[${j}]`, message: `unknown permission ${m}` });
    });
    if (r.denialCondition) errors.push(...validateCondition(r.denialCondition.expression, `${p}.denialCondition.expression`));
  });
  return result(errors);
}

export function validateCustomRole(role: Role): ValidationResult {
  const errors: ValidationIssue[] = [];
  if (!isCustomRoleName(role.name)) errors.push({ path: "name", message: "custom roles are named organizations/{org}/roles/{id} or projects/{project}/roles/{id}" });
  if (role.permissions.length === 0) errors.push({ path: "permissions", message: "a role needs at least one permission" });
  role.permissions.forEach((p, i) => {
    if (!KNOWN_PERMISSIONS.has(p)) errors.push({ path: `permissions[${i}]`, message: `unknown permission ${p}` });
  });
  return result(errors);
}

export function validateAccessLevel(level: AccessLevel): ValidationResult {
  const errors: ValidationIssue[] = [];
  if (!/^accessPolicies\/[^/]+\/accessLevels\/[A-Za-z0-9_]{1,50}$/.test(level.name)) errors.push({ path: "name", message: "access levels are named accessPolicies/{policy}/accessLevels/{name}" });
  if ((level.basic ? 1 : 0) + (level.custom ? 1 : 0) !== 1) errors.push({ path: "", message: "an access level is either basic or custom" });
  level.basic?.conditions.forEach((c, i) => {
    const p = `basic.conditions[${i}]`;
    const any = (c.ipSubnetworks?.length ?? 0) + (c.regions?.length ?? 0) + (c.members?.length ?? 0) + (c.requiredAccessLevels?.length ?? 0);
    if (any === 0) errors.push({ path: p, message: "a condition needs at least one of ipSubnetworks, regions, members, requiredAccessLevels" });
    (c.ipSubnetworks ?? []).forEach((s, j) => {
      const r = parseSubnet(s);
      if (!r.ok) errors.push({ path: `${p}.ipSubnetworks[${j}]`, message: r.error });
    });
    (c.regions ?? []).forEach((s, j) => {
      if (!/^[A-Za-z]{2}$/.test(s)) errors.push({ path: `${p}.regions[${j}]`, message: `"${s}" is not an ISO 3166-1 alpha-2 code` });
    });
    (c.members ?? []).forEach((s, j) => {
      const r = parsePrincipal(s);
      if (!r.ok) errors.push({ path: `${p}.members[${j}]`, message: r.error });
    });
    (c.requiredAccessLevels ?? []).forEach((s, j) => {
      if (s === level.name) errors.push({ path: `${p}.requiredAccessLevels[${j}]`, message: "a level cannot require itself" });
    });
  });
  if (level.basic && level.basic.conditions.length === 0) errors.push({ path: "basic.conditions", message: "at least one condition" });
  if (level.custom) errors.push(...validateCondition(level.custom.expr.expression, "custom.expr.expression", "accessLevel"));
  return result(errors);
}

// ---------------------------------------------------------------------------------------------
// Host routes (web resources' `hosts` and `pathPrefix`; see compile.ts `resolveHost`)

/**
 * A path prefix must be written in its normal form (`normalisePathPrefix`): starting with "/",
 * no trailing slash, nothing that path normalisation would change (`..`, `//`, `;params`,
 * %-escapes of ASCII, a query). Refused rather than rewritten: normalising can change which paths a
 * prefix covers (`/a/../b` is `/b`), so what is stored — and exported — is exactly what was written
 * and read. "/" is refused too: it is the same as no prefix (the host's fallback).
 */
export function validatePathPrefix(prefix: string, path = "pathPrefix"): ValidationIssue[] {
  if (!prefix.startsWith("/")) return [{ path, message: `a path prefix must start with / (e.g. "/${prefix}")` }];
  const normal = normalisePathPrefix(prefix);
  if (normal === "") return [{ path, message: `a path prefix of "${prefix}" is the same as no prefix (the host's fallback); leave pathPrefix out` }];
  if (normal !== prefix) return [{ path, message: `path prefix "${prefix}" is not in normal form; write "${normal}" (a prefix matches whole segments: "${normal}" covers ${normal} and ${normal}/…)` }];
  return [];
}

const HOST_LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A mapped host: a lower-case DNS name (optionally with a port, which mapping ignores), or a
 * single-label wildcard `*.example.com` — the whole first label, over at least two labels, as in
 * TLS certificates (`*.example.com` covers `a.example.com`, not `example.com` nor `a.b.example.com`).
 */
export function validateHostPattern(host: string, path = "host"): ValidationIssue[] {
  let h = host.toLowerCase().replace(/\.$/, "");
  const colon = h.lastIndexOf(":");
  if (colon >= 0) {
    if (!/^\d{1,5}$/.test(h.slice(colon + 1))) return [{ path, message: `"${host}" is not a hostname` }];
    h = h.slice(0, colon);
  }
  const wildcard = h.startsWith("*.");
  const rest = wildcard ? h.slice(2) : h;
  if (rest.includes("*")) return [{ path, message: `"${host}": a wildcard is allowed only as the whole first label, as in *.example.com` }];
  const labels = rest.split(".");
  if (rest.length > 253 || !labels.every((l) => HOST_LABEL_RE.test(l))) return [{ path, message: `"${host}" is not a hostname` }];
  if (wildcard && (labels.length < 2 || /^\d+$/.test(labels[labels.length - 1] as string))) {
    return [{ path, message: `"${host}": a wildcard host needs at least two labels after "*." (e.g. *.example.com), not a top-level domain or an address` }];
  }
  return [];
}

export interface HostRouteInput {
  name: string;
  hosts?: readonly string[];
  pathPrefix?: string;
}

/**
 * Two resources may not claim the same (host, path prefix) pair: hosts compared as mapping
 * compares them (case, trailing dot and port ignored), prefixes in normal form (none = "/").
 * Each conflict is reported once, at the later claim, naming both resources; `where(i)` names an
 * entry of `resources` (default `[i]`).
 */
export function validateHostRoutes(resources: readonly HostRouteInput[], where: (i: number) => string = (i) => `[${i}]`): ValidationIssue[] {
  const errors: ValidationIssue[] = [];
  const claimed = new Map<string, { index: number; name: string }>();
  resources.forEach((r, i) => {
    const prefix = normalisePathPrefix(r.pathPrefix);
    (r.hosts ?? []).forEach((host, j) => {
      const h = normaliseHost(host);
      const key = `${h}\u0000${prefix}`;
      const other = claimed.get(key);
      if (other === undefined) claimed.set(key, { index: i, name: r.name });
      else if (other.name !== r.name) {
        const pair = prefix === "" ? `host "${h}" (no path prefix)` : `host "${h}" with path prefix "${prefix}"`;
        errors.push({ path: `${where(i)}.hosts[${j}]`, message: `${pair} is claimed by both ${other.name} (${where(other.index)}) and ${r.name}; one host and prefix must select one resource` });
      }
    });
  });
  return errors;
}

export { validateGroupMembership } from "./groups";
