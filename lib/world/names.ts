// Resource names as stored (DESIGN.md §1): a name parses to its kind, its project, and its parent
// name; the containers between a project and a resource (iap_web, iap_web/compute, …) are
// implicit nodes. Pure: used by the world file, the admin API and the DB mappers.
import type { NodeKind } from "@/lib/generated/prisma/enums";
import { parseResourceName as parseCoreName } from "@/lib/policy/resources";
import { RESOURCE_TYPES } from "@/lib/policy/types";

export interface ParsedName {
  name: string;
  kind: NodeKind;
  parent: string | null;
  /** Last segment (org id, folder id, project id, service id…). */
  shortId: string;
  /** Project id for every node at or below a project. */
  project: string | null;
}

/** Each path segment of a name a user writes: conservative characters only (the core's grammar accepts more). */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function kindOf(name: string, type: string): NodeKind | null {
  switch (type) {
    case RESOURCE_TYPES.organization:
      return "ORGANIZATION";
    case RESOURCE_TYPES.folder:
      return "FOLDER";
    case RESOURCE_TYPES.project:
      return "PROJECT";
    case RESOURCE_TYPES.iapWeb:
      return "IAP_WEB";
    case RESOURCE_TYPES.iapWebType:
      return "IAP_WEB_TYPE";
    case RESOURCE_TYPES.iapWebService:
      return name.includes("/iap_web/compute/") ? "WEB_BACKEND_SERVICE" : name.includes("/iap_web/cloud_run-") ? "CLOUD_RUN_SERVICE" : "APPENGINE_SERVICE";
    case RESOURCE_TYPES.iapWebServiceVersion:
      return "APPENGINE_VERSION";
    case RESOURCE_TYPES.iapTunnel:
    case RESOURCE_TYPES.iapTunnelZone:
      return "IAP_TUNNEL";
    case RESOURCE_TYPES.iapTunnelInstance:
      return "TUNNEL_INSTANCE";
    case RESOURCE_TYPES.runService:
      return "RUN_SERVICE";
    case RESOURCE_TYPES.cloudFunction:
      return "FUNCTION";
    default:
      return null;
  }
}

/**
 * Parses a resource name with the policy core's grammar (lib/policy/resources.ts — one grammar
 * for the engine and the database) and maps it to its stored kind.
 */
export function parseResourceName(name: string): ParsedName | null {
  const info = parseCoreName(name);
  if (!info) return null;
  const segments = name.split("/");
  if (!segments.every((seg) => SEGMENT.test(seg))) return null;
  const kind = kindOf(name, info.type);
  if (!kind) return null;
  const shortId = segments[segments.length - 1] ?? "";
  const project = name.startsWith("projects/") ? (segments[1] ?? null) : null;
  if (project !== null && !/^[a-z][a-z0-9-]{0,28}[a-z0-9]$|^[a-z]$/.test(project)) return null;
  return { name, kind, parent: info.impliedParent, shortId, project };
}

/** Kinds that carry an IAP on/off switch, hosts and a JWT audience. */
export const WEB_KINDS: ReadonlySet<NodeKind> = new Set<NodeKind>([
  "IAP_WEB_TYPE",
  "WEB_BACKEND_SERVICE",
  "APPENGINE_SERVICE",
  "APPENGINE_VERSION",
  "CLOUD_RUN_SERVICE",
]);

/** Kinds a world file may declare under `resources:` (containers above them are implicit). */
export const RESOURCE_KINDS: ReadonlySet<NodeKind> = new Set<NodeKind>([
  ...WEB_KINDS,
  "IAP_WEB",
  "RUN_SERVICE",
  "FUNCTION",
  "IAP_TUNNEL",
  "TUNNEL_INSTANCE",
]);

/**
 * The JWT audience IAP uses for a resource: `/projects/{number}/global/backendServices/{id}` for
 * load-balanced backends, `/projects/{number}/apps/{appId}` for App Engine, and the service path
 * for Cloud Run and serverless targets. Null for containers and tunnels.
 */
export function audienceFor(parsed: ParsedName, projectNumber: string): string | null {
  const n = parsed.name;
  switch (parsed.kind) {
    case "WEB_BACKEND_SERVICE":
      return `/projects/${projectNumber}/global/backendServices/${parsed.shortId}`;
    case "APPENGINE_SERVICE":
    case "APPENGINE_VERSION":
    case "IAP_WEB_TYPE": {
      const app = n.match(/\/iap_web\/appengine-([^/]+)/)?.[1];
      return app ? `/projects/${projectNumber}/apps/${app}` : null;
    }
    case "CLOUD_RUN_SERVICE": {
      const m = n.match(/\/iap_web\/cloud_run-([^/]+)\/services\/([^/]+)$/);
      return m ? `/projects/${projectNumber}/locations/${m[1]}/services/${m[2]}` : null;
    }
    case "RUN_SERVICE":
    case "FUNCTION":
      return `/projects/${projectNumber}/${n.split("/").slice(2).join("/")}`;
    default:
      return null;
  }
}
