/**
 * Plain, serialisable input and output types of the policy core. The data layer maps database
 * rows into `PolicyData`; `compile` turns it into an immutable `Snapshot`; `evaluate` answers a
 * `CheckInput` with a `Decision`. Shapes follow Google Cloud IAM / IAP where Google defined one.
 */

/** GCP `resource.type` strings used for hierarchy nodes (see resources.ts for the name grammar). */
export const RESOURCE_TYPES = {
  organization: "cloudresourcemanager.googleapis.com/Organization",
  folder: "cloudresourcemanager.googleapis.com/Folder",
  project: "cloudresourcemanager.googleapis.com/Project",
  /** projects/{p}/iap_web — "All web services". */
  iapWeb: "iap.googleapis.com/Web",
  /** projects/{p}/iap_web/compute, .../appengine-{app}, .../cloud_run-{region}. */
  iapWebType: "iap.googleapis.com/WebType",
  /** .../compute/services/{id}, .../appengine-{app}/services/{svc}, .../cloud_run-{r}/services/{n}. */
  iapWebService: "iap.googleapis.com/WebService",
  /** .../appengine-{app}/services/{svc}/versions/{v}. */
  iapWebServiceVersion: "iap.googleapis.com/WebServiceVersion",
  /** projects/{p}/iap_tunnel. */
  iapTunnel: "iap.googleapis.com/Tunnel",
  /** projects/{p}/iap_tunnel/zones/{zone}. */
  iapTunnelZone: "iap.googleapis.com/TunnelZone",
  /** projects/{p}/iap_tunnel/zones/{zone}/instances/{vm}. */
  iapTunnelInstance: "iap.googleapis.com/TunnelInstance",
  /** projects/{p}/locations/{region}/services/{name}. */
  runService: "run.googleapis.com/Service",
  /** projects/{p}/locations/{region}/functions/{name}. */
  cloudFunction: "cloudfunctions.googleapis.com/CloudFunction",
} as const;
export type ResourceType = (typeof RESOURCE_TYPES)[keyof typeof RESOURCE_TYPES];

/** One node of the resource hierarchy. `parent` is null only for organizations. */
export interface HierarchyNode {
  name: string;
  parent: string | null;
  /** Defaults to the type implied by `name` (resources.ts `resourceTypeOf`). */
  type?: string;
  /** `resource.service` in conditions; defaults to the API service of `type`. */
  service?: string;
  /** Web resources only: IAP switched on. Unset = inherit from the nearest web ancestor, else off. */
  iapEnabled?: boolean;
  displayName?: string;
  /** Hostnames routed to this web resource (for host → resource mapping). */
  hosts?: string[];
  /** Optional path prefix for host → resource mapping. */
  pathPrefix?: string;
}

export interface Role {
  /** `roles/x.y` (predefined) or `organizations/{o}/roles/{r}` / `projects/{p}/roles/{r}` (custom). */
  name: string;
  title?: string;
  permissions: string[];
}

export interface Condition {
  title: string;
  description?: string;
  expression: string;
}

export interface Binding {
  role: string;
  members: string[];
  condition?: Condition;
}

/** One allow policy per node, GCP JSON shape. */
export interface AllowPolicy {
  resource: string;
  version?: number;
  etag?: string;
  bindings: Binding[];
}

export interface DenyRule {
  /** v1 member strings (`user:…`, `group:…`, `domain:…`, `allUsers`, …) or IAM v2 principal identifiers. */
  deniedPrincipals: string[];
  exceptionPrincipals?: string[];
  /** v1 (`iap.webServiceVersions.accessViaIAP`) or v2 (`iap.googleapis.com/webServiceVersions.accessViaIAP`); a trailing `*` is a prefix wildcard. */
  deniedPermissions: string[];
  exceptionPermissions?: string[];
  denialCondition?: { title?: string; description?: string; expression: string };
}

export interface DenyPolicy {
  attachedTo: string;
  /** Optional policy id; several deny policies may attach to one node. */
  name?: string;
  rules: DenyRule[];
}

export interface Group {
  email: string;
  /** Member strings: `user:`, `serviceAccount:`, `group:` (nesting), `deleted:…`. */
  members: string[];
}

export interface Principal {
  /** `user:{email}` or `serviceAccount:{email}`. */
  member: string;
  displayName?: string;
  /**
   * A disabled account is denied everywhere (reason PRINCIPAL_DISABLED), whatever bindings say.
   * Disabled is a property of the account's email (unique across kinds in Gatehouse): a check
   * naming that email as `user:` or as `serviceAccount:` is denied.
   */
  disabled?: boolean;
}

export interface BasicLevelCondition {
  ipSubnetworks?: string[];
  /** ISO 3166-1 alpha-2 codes matched against `request.regionCode` (supplied by the proxy). */
  regions?: string[];
  /** `user:` / `serviceAccount:` member strings. */
  members?: string[];
  requiredAccessLevels?: string[];
  negate?: boolean;
}

export interface AccessLevel {
  /** `accessPolicies/{p}/accessLevels/{name}`. */
  name: string;
  title?: string;
  basic?: { combiningFunction?: "AND" | "OR"; conditions: BasicLevelCondition[] };
  /** CEL over `origin.ip`, `origin.region_code`, `request.time`, `request.host`, `request.path`, `request.method`, `principal`. */
  custom?: { expr: { expression: string; title?: string } };
}

/** Everything `compile` needs. All arrays; order is significant only where documented. */
export interface PolicyData {
  nodes: HierarchyNode[];
  principals?: Principal[];
  groups?: Group[];
  /** Custom roles; the predefined catalogue (roles.ts) is always present. */
  roles?: Role[];
  policies?: AllowPolicy[];
  denyPolicies?: DenyPolicy[];
  accessLevels?: AccessLevel[];
}

export interface RequestAttributes {
  /** The clock: the only source of time for the core. */
  time: Date;
  host?: string;
  /** Raw request path as received (a query string is ignored). */
  path?: string;
  /** Defaults to GET. */
  method?: string;
  /** Client IP (v4 or v6). */
  ip?: string;
  /** ISO 3166-1 alpha-2 region of the client, supplied by the proxy. */
  regionCode?: string;
}

export interface CheckInput {
  /** `user:{email}` / `serviceAccount:{email}`; null = anonymous. */
  principal: string | null;
  resource: string;
  /** Defaults by resource type (resources.ts `defaultPermission`). */
  permission?: string;
  request: RequestAttributes;
  destination?: { ip?: string; port?: number };
  explain?: boolean;
}

export const REASONS = [
  "GRANTED",
  "PRINCIPAL_DISABLED",
  "NO_MATCHING_BINDING",
  "CONDITION_NOT_MET",
  "DENIED_BY_POLICY",
  "IAP_DISABLED",
  "UNAUTHENTICATED",
  "UNKNOWN_RESOURCE",
] as const;
export type Reason = (typeof REASONS)[number];

export interface GrantedBy {
  resource: string;
  role: string;
  member: string;
  /** Title of the binding's condition, if any. */
  condition?: string;
}

export interface DeniedBy {
  attachedTo: string;
  policy?: string;
  /** Index of the deny policy among those attached to `attachedTo` (input order). */
  policyIndex: number;
  ruleIndex: number;
  /** The denied principal entry that matched. */
  principal: string;
  permission: string;
  condition?: string;
  /** True when the rule applied because its condition errored (fail closed). */
  conditionError?: boolean;
}

export type TraceEntry =
  | {
      kind: "binding";
      resource: string;
      bindingIndex: number;
      role: string;
      member?: string;
      condition?: string;
      result: "GRANTED" | "MEMBER_NOT_MATCHED" | "CONDITION_FALSE" | "CONDITION_ERROR" | "ROLE_LACKS_PERMISSION";
      error?: string;
    }
  | {
      kind: "deny";
      attachedTo: string;
      policyIndex: number;
      ruleIndex: number;
      result: "DENIED" | "PRINCIPAL_NOT_MATCHED" | "EXCEPTED_PRINCIPAL" | "PERMISSION_NOT_MATCHED" | "CONDITION_FALSE" | "CONDITION_ERROR";
      error?: string;
    }
  | { kind: "note"; message: string };

export interface Decision {
  allowed: boolean;
  reason: Reason;
  revision: string;
  principal: string | null;
  resource: string;
  permission: string;
  grantedBy?: GrantedBy;
  deniedBy?: DeniedBy;
  accessLevels: { satisfied: string[]; unsatisfied: string[] };
  trace?: TraceEntry[];
}
