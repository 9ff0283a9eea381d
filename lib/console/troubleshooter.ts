// The troubleshooter's view model: principal + resource + request → the decision with its full
// trace, from the live engine's snapshot (the same `evaluate` that serves proxies, with explain).
//
// Who may troubleshoot (documented in the page and the README's console section): the viewer
// needs the resource's getIamPolicy permission (iap.webServices.getIamPolicy on a backend service,
// resourcemanager.projects.getIamPolicy on a project, …) — as Google's Policy Troubleshooter asks
// for the policies it reads. A resource the viewer may not see is refused exactly as a missing
// one. Along the hierarchy, each ancestor's bindings are shown only where the viewer also holds
// its getIamPolicy, and deny rules only where it holds iam.denypolicies.get; elsewhere the trace
// says the policy is hidden (the decision itself is still shown).
import { z } from "zod";
import { evaluate, identityOf, normaliseHost, normalisePath, parsePrincipal, PREDEFINED_ROLE_MAP, resolveHost, type Decision, type Snapshot, type TraceEntry } from "@/lib/policy";
import { authorize, permissionDenied } from "@/lib/admin/authz";
import type { Actor } from "@/lib/admin/context";
import { policyPermission } from "@/lib/admin/permissions";
import { parse } from "@/lib/admin/validation";
import { AppError } from "@/lib/errors";
import { groupPath } from "./effective-access";

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : typeof v === "string" ? v.trim() : v), schema.optional());

/** The troubleshooter's question, as it travels in the page's URL (every field a search parameter). */
export const ZTroubleshootQuery = z.strictObject({
  /** `user:EMAIL`, `serviceAccount:EMAIL`, or a bare email (taken as a user). */
  principal: z.preprocess(
    (v) => (typeof v === "string" ? v.trim() : v),
    z
      .string()
      .min(1, "Enter a principal, e.g. user:alice@example.com")
      .max(320)
      .transform((p) => (p.includes(":") ? p : `user:${p}`))
      .refine((p) => parsePrincipal(p).ok, "A principal is user:EMAIL or serviceAccount:EMAIL"),
  ),
  /** A resource name; may be left out when `host` maps to a resource. */
  resource: optional(z.string().max(1024)),
  permission: optional(z.string().max(256).regex(/^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+){2}$/, "A permission such as iap.webServiceVersions.accessViaIAP")),
  method: optional(z.string().regex(/^[A-Za-z]{1,20}$/, "An HTTP method such as GET").transform((m) => m.toUpperCase())),
  host: optional(z.string().max(255).regex(/^[A-Za-z0-9.*:[\]-]+$/, "A host name such as web.example.test")),
  path: optional(z.string().max(8192).refine((p) => p.startsWith("/") && !p.includes("#"), "A path starting with /, without #")),
  ip: optional(z.union([z.ipv4(), z.ipv6()], { error: "An IPv4 or IPv6 address" })),
  region: optional(z.string().regex(/^[A-Za-z]{2}$/, "A two-letter region code such as DE").transform((r) => r.toUpperCase())),
  /** What-if time (RFC 3339 or the browser's datetime-local value, taken as UTC); default: now. */
  time: optional(
    z
      .string()
      .transform((t) => (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(t) ? `${t.length === 16 ? `${t}:00` : t}Z` : t))
      .pipe(z.iso.datetime({ offset: true, error: "A date and time, e.g. 2026-12-06T09:30" })),
  ),
});
export type TroubleshootQuery = z.infer<typeof ZTroubleshootQuery>;

/** The fields of the query, in form order (for the URL and the form). */
export const QUERY_FIELDS = ["principal", "resource", "permission", "method", "host", "path", "ip", "region", "time"] as const;

export interface BindingRow {
  kind: "binding";
  index: number;
  role: string;
  roleTitle?: string;
  /** The matching member as written in the binding, and the way from the principal to it (principal, groups…, member). */
  member?: string;
  via?: string[];
  condition?: { title: string; expression: string };
  result: Extract<TraceEntry, { kind: "binding" }>["result"];
  error?: string;
  /** Members of the binding (for context; capped). */
  members: string[];
  memberCount: number;
}

export interface DenyRow {
  kind: "deny";
  policyIndex: number;
  ruleIndex: number;
  policyName?: string;
  deniedPrincipals: string[];
  exceptionPrincipals: string[];
  deniedPermissions: string[];
  condition?: { title?: string; expression: string };
  result: Extract<TraceEntry, { kind: "deny" }>["result"];
  error?: string;
}

export interface TraceNode {
  name: string;
  displayName?: string;
  type: string;
  /** False: the viewer may not read this node's policy; its rows are left out. */
  visible: boolean;
  denyVisible: boolean;
  deny: DenyRow[];
  bindings: BindingRow[];
  /** Bindings whose role lacks the permission (not listed one by one). */
  otherRoles: number;
}

export interface TroubleshootView {
  query: TroubleshootQuery;
  resource: string;
  /** The resource was found from `host` (and `path`). */
  mappedFromHost: boolean;
  decision: Omit<Decision, "trace">;
  /** The principal's groups (transitive), as the engine sees them. */
  groups: string[];
  /** Request attributes as conditions see them. */
  attributes: Array<{ name: string; value: string }>;
  nodes: TraceNode[];
  notes: string[];
}

const MEMBERS_SHOWN = 20;

function memberKey(member: string): string {
  const p = parsePrincipal(member);
  return p.ok ? p.value.key : member;
}

/**
 * Answers the question for `actor` on snapshot `s` (throws PERMISSION_DENIED when the actor may
 * not troubleshoot the resource, INVALID_ARGUMENT for a malformed question). `now` is the default
 * request time.
 */
export function troubleshoot(s: Snapshot, actor: Actor, input: unknown, now: Date): TroubleshootView {
  const query = parse(ZTroubleshootQuery, input);
  let resource = query.resource;
  let mappedFromHost = false;
  if (!resource) {
    if (!query.host) throw new AppError("INVALID_ARGUMENT", "resource: enter a resource, or a host that maps to one", [{ path: "resource", message: "Enter a resource, or a host that maps to one" }]);
    const mapped = resolveHost(s, query.host, query.path);
    if (!mapped.ok) {
      const message = mapped.reason === "AMBIGUOUS" ? "This host and path map to more than one resource" : "No resource serves this host and path";
      throw new AppError("INVALID_ARGUMENT", `host: ${message}`, [{ path: "host", message }]);
    }
    resource = mapped.resource;
    mappedFromHost = true;
  }
  const getPolicy = policyPermission(resource, "getIamPolicy");
  if (!getPolicy || !s.nodes.has(resource)) throw permissionDenied(getPolicy ?? "iam.troubleshoot", resource);
  authorize(s, actor, getPolicy, resource, now);

  const time = query.time ? new Date(query.time) : now;
  const request = {
    time,
    ...(query.host ? { host: query.host } : {}),
    ...(query.path ? { path: query.path } : {}),
    method: query.method ?? "GET",
    ...(query.ip ? { ip: query.ip } : {}),
    ...(query.region ? { regionCode: query.region } : {}),
  };
  const { trace = [], ...decision } = evaluate(s, { principal: query.principal, resource, ...(query.permission ? { permission: query.permission } : {}), request, explain: true });
  const identity = identityOf(s, query.principal);
  const principalKey = identity.key ?? memberKey(query.principal);
  const may = (permission: string | null, node: string) => {
    if (!permission) return false;
    try {
      authorize(s, actor, permission, node, now);
      return true;
    } catch {
      return false;
    }
  };

  const node = s.nodes.get(resource)!;
  const chain = [...node.chain].reverse();
  const nodes = new Map<string, TraceNode>(
    chain.map((name) => {
      const n = s.nodes.get(name)!;
      const visible = may(policyPermission(name, "getIamPolicy"), name);
      return [name, { name, type: n.type, ...(n.displayName ? { displayName: n.displayName } : {}), visible, denyVisible: may("iam.denypolicies.get", name), deny: [], bindings: [], otherRoles: 0 }];
    }),
  );
  for (const e of trace) {
    if (e.kind === "binding") {
      const t = nodes.get(e.resource);
      if (!t?.visible) continue;
      if (e.result === "ROLE_LACKS_PERMISSION") {
        t.otherRoles++;
        continue;
      }
      const b = s.policies.get(e.resource)?.bindings[e.bindingIndex];
      const role = PREDEFINED_ROLE_MAP.get(e.role) ?? s.customRoles.get(e.role);
      const via = e.member ? groupPath(s, principalKey, memberKey(e.member)) : null;
      t.bindings.push({
        kind: "binding",
        index: e.bindingIndex,
        role: e.role,
        ...(role?.title ? { roleTitle: role.title } : {}),
        ...(e.member ? { member: e.member } : {}),
        ...(via ? { via } : {}),
        ...(b?.condition ? { condition: { title: b.condition.title, expression: b.condition.expression } } : {}),
        result: e.result,
        ...(e.error ? { error: e.error } : {}),
        members: (b?.members ?? []).slice(0, MEMBERS_SHOWN),
        memberCount: b?.members.length ?? 0,
      });
    } else if (e.kind === "deny") {
      const t = nodes.get(e.attachedTo);
      if (!t?.denyVisible) continue;
      const p = s.denyPolicies.get(e.attachedTo)?.[e.policyIndex];
      const r = p?.rules[e.ruleIndex];
      t.deny.push({
        kind: "deny",
        policyIndex: e.policyIndex,
        ruleIndex: e.ruleIndex,
        ...(p?.name ? { policyName: p.name } : {}),
        deniedPrincipals: r?.deniedPrincipals ?? [],
        exceptionPrincipals: r?.exceptionPrincipals ?? [],
        deniedPermissions: r?.deniedPermissions ?? [],
        ...(r?.denialCondition ? { condition: r.denialCondition } : {}),
        result: e.result,
        ...(e.error ? { error: e.error } : {}),
      });
    }
  }
  // Which binding or rule decided is shown only to a viewer who may read where it is.
  const grantedBy = decision.grantedBy && nodes.get(decision.grantedBy.resource)?.visible ? decision.grantedBy : undefined;
  const deniedBy = decision.deniedBy && nodes.get(decision.deniedBy.attachedTo)?.denyVisible ? decision.deniedBy : undefined;

  const attributes = [
    { name: "request.time", value: time.toISOString() },
    { name: "request.method", value: request.method },
    ...(query.host ? [{ name: "request.host", value: normaliseHost(query.host) }] : []),
    ...(query.path ? [{ name: "request.path", value: normalisePath(query.path) }] : []),
    ...(query.ip ? [{ name: "origin.ip", value: query.ip }] : []),
    ...(query.region ? [{ name: "origin.region_code", value: query.region }] : []),
    { name: "resource.name", value: resource },
    { name: "resource.type", value: node.type },
  ];
  return {
    query,
    resource,
    mappedFromHost,
    decision: {
      allowed: decision.allowed,
      reason: decision.reason,
      revision: decision.revision,
      principal: decision.principal,
      resource: decision.resource,
      permission: decision.permission,
      accessLevels: decision.accessLevels,
      ...(grantedBy ? { grantedBy } : {}),
      ...(deniedBy ? { deniedBy } : {}),
    },
    groups: identity.keys.filter((k) => k.startsWith("group:")),
    attributes,
    nodes: [...nodes.values()],
    notes: trace.flatMap((e) => (e.kind === "note" ? [e.message] : [])),
  };
}

/** The troubleshooter's URL for a question (the forward-auth 403 page links here). */
export function troubleshooterHref(q: Partial<Record<(typeof QUERY_FIELDS)[number], string>>): string {
  const params = new URLSearchParams();
  for (const f of QUERY_FIELDS) {
    const v = q[f];
    if (v) params.set(f, v);
  }
  return `/troubleshooter?${params.toString()}`;
}

/** Resources `actor` may troubleshoot (their getIamPolicy), for the form's suggestions; at most `limit`. */
export function troubleshootableResources(s: Snapshot, actor: Actor, now: Date, limit = 2000): string[] {
  const out: string[] = [];
  for (const [name, node] of s.nodes) {
    if (out.length >= limit) break;
    if (!node.isWeb && !node.name.includes("/locations/") && !node.name.includes("/instances/")) continue;
    const p = policyPermission(name, "getIamPolicy");
    if (!p) continue;
    try {
      authorize(s, actor, p, name, now);
      out.push(name);
    } catch {
      // not the viewer's to troubleshoot
    }
  }
  return out.sort();
}

/** Whether `principal` may troubleshoot `resource` (its getIamPolicy): the forward-auth 403 page links admins only. */
export function mayTroubleshoot(s: Snapshot, principal: string, resource: string, now: Date): boolean {
  const p = policyPermission(resource, "getIamPolicy");
  return p !== null && evaluate(s, { principal, resource, permission: p, request: { time: now } }).allowed;
}
