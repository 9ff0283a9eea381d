/**
 * Resource-name grammar of the hierarchy (DESIGN.md §1), the GCP `resource.type` of each kind,
 * the implied parent of each name, and the default permission of a check by resource type.
 */
import { RESOURCE_TYPES } from "./types";

export const PERMISSIONS = {
  webAccess: "iap.webServiceVersions.accessViaIAP",
  tunnelAccess: "iap.tunnelInstances.accessViaIAP",
  runInvoke: "run.routes.invoke",
  functionInvoke: "cloudfunctions.functions.invoke",
} as const;

const SEG = "[^/]+";
interface Rule {
  re: RegExp;
  type: string;
  /** Parent name from the match, or null for roots. */
  parent: (m: RegExpMatchArray) => string | null;
}
const g = (m: RegExpMatchArray, i: number): string => m[i] ?? "";
const RULES: Rule[] = [
  { re: new RegExp(`^organizations/(${SEG})$`), type: RESOURCE_TYPES.organization, parent: () => null },
  { re: new RegExp(`^folders/(${SEG})$`), type: RESOURCE_TYPES.folder, parent: () => null },
  { re: new RegExp(`^projects/(${SEG})$`), type: RESOURCE_TYPES.project, parent: () => null },
  { re: new RegExp(`^projects/(${SEG})/iap_web$`), type: RESOURCE_TYPES.iapWeb, parent: (m) => `projects/${g(m, 1)}` },
  { re: new RegExp(`^(projects/${SEG}/iap_web)/(compute|appengine-${SEG}|cloud_run-${SEG})$`), type: RESOURCE_TYPES.iapWebType, parent: (m) => g(m, 1) },
  { re: new RegExp(`^(projects/${SEG}/iap_web/(?:compute|appengine-${SEG}|cloud_run-${SEG}))/services/(${SEG})$`), type: RESOURCE_TYPES.iapWebService, parent: (m) => g(m, 1) },
  { re: new RegExp(`^(projects/${SEG}/iap_web/appengine-${SEG}/services/${SEG})/versions/(${SEG})$`), type: RESOURCE_TYPES.iapWebServiceVersion, parent: (m) => g(m, 1) },
  { re: new RegExp(`^projects/(${SEG})/iap_tunnel$`), type: RESOURCE_TYPES.iapTunnel, parent: (m) => `projects/${g(m, 1)}` },
  { re: new RegExp(`^(projects/${SEG}/iap_tunnel)/zones/(${SEG})$`), type: RESOURCE_TYPES.iapTunnelZone, parent: (m) => g(m, 1) },
  { re: new RegExp(`^(projects/${SEG}/iap_tunnel/zones/${SEG})/instances/(${SEG})$`), type: RESOURCE_TYPES.iapTunnelInstance, parent: (m) => g(m, 1) },
  { re: new RegExp(`^projects/(${SEG})/locations/${SEG}/services/${SEG}$`), type: RESOURCE_TYPES.runService, parent: (m) => `projects/${g(m, 1)}` },
  { re: new RegExp(`^projects/(${SEG})/locations/${SEG}/functions/${SEG}$`), type: RESOURCE_TYPES.cloudFunction, parent: (m) => `projects/${g(m, 1)}` },
];

export interface ResourceNameInfo {
  type: string;
  /** Parent implied by the name; null for organizations, folders and projects (their parent is data). */
  impliedParent: string | null;
}

/** Type and implied parent of a resource name, or null when the name is not in the grammar. */
export function parseResourceName(name: string): ResourceNameInfo | null {
  for (const r of RULES) {
    const m = name.match(r.re);
    if (m) return { type: r.type, impliedParent: r.parent(m) };
  }
  return null;
}

export function resourceTypeOf(name: string): string | undefined {
  return parseResourceName(name)?.type;
}

/** API service of a resource type: the part before the first "/" (`iap.googleapis.com`). */
export function serviceOfType(type: string): string {
  const i = type.indexOf("/");
  return i < 0 ? type : type.slice(0, i);
}

/**
 * Permission a check uses when none is given: tunnel kinds → iap.tunnelInstances.accessViaIAP,
 * serverless services → run.routes.invoke, functions → cloudfunctions.functions.invoke, everything
 * else (web resources and the containers above them) → iap.webServiceVersions.accessViaIAP.
 */
export function defaultPermission(type: string): string {
  switch (type) {
    case RESOURCE_TYPES.iapTunnel:
    case RESOURCE_TYPES.iapTunnelZone:
    case RESOURCE_TYPES.iapTunnelInstance:
      return PERMISSIONS.tunnelAccess;
    case RESOURCE_TYPES.runService:
      return PERMISSIONS.runInvoke;
    case RESOURCE_TYPES.cloudFunction:
      return PERMISSIONS.functionInvoke;
    default:
      return PERMISSIONS.webAccess;
  }
}

/**
 * The permission that grants passage through a resource that traffic actually reaches — an IAP
 * web service or version, a tunnel instance, a serverless service or a function — or null for
 * every other kind (containers, the hierarchy). Identity headers are signed only for a decision
 * on exactly this permission: any other permission (asked by a permission-aware UI, a what-if)
 * says nothing about passage, and its answer must never carry a usable assertion.
 */
export function passagePermission(type: string): string | null {
  switch (type) {
    case RESOURCE_TYPES.iapWebService:
    case RESOURCE_TYPES.iapWebServiceVersion:
      return PERMISSIONS.webAccess;
    case RESOURCE_TYPES.iapTunnelInstance:
      return PERMISSIONS.tunnelAccess;
    case RESOURCE_TYPES.runService:
      return PERMISSIONS.runInvoke;
    case RESOURCE_TYPES.cloudFunction:
      return PERMISSIONS.functionInvoke;
    default:
      return null;
  }
}

/** Web resources carry the IAP on/off switch: backend services, App Engine services/versions, Cloud Run services behind IAP. */
export function isWebResourceType(type: string): boolean {
  return type === RESOURCE_TYPES.iapWebService || type === RESOURCE_TYPES.iapWebServiceVersion;
}

/** Kinds to which deny policies may attach (IAM attaches them to organizations, folders and projects). */
export function isDenyAttachmentType(type: string): boolean {
  return type === RESOURCE_TYPES.organization || type === RESOURCE_TYPES.folder || type === RESOURCE_TYPES.project;
}

/** Normalises a permission written in IAM v2 form (`iap.googleapis.com/webServiceVersions.accessViaIAP`) to v1 form. */
export function normalisePermission(p: string): string {
  const slash = p.indexOf("/");
  if (slash < 0) return p;
  const svc = p.slice(0, slash);
  const short = svc.endsWith(".googleapis.com") ? svc.slice(0, -".googleapis.com".length) : svc;
  const rest = p.slice(slash + 1);
  return rest === "*" ? `${short}.*` : `${short}.${rest}`;
}

/** Whether a (normalised) deny permission pattern covers a permission. `*` suffix = prefix wildcard. */
export function permissionMatches(pattern: string, permission: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith("*")) return permission.startsWith(pattern.slice(0, -1));
  return pattern === permission;
}
