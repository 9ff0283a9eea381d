// Grammar of Gatehouse resource names (DESIGN.md §1). Pure: used by the world file, the admin
// API and the DB mappers. A name parses to its kind, its project, and its parent name; the
// containers between a project and a resource (iap_web, iap_web/compute, …) are implicit nodes.
import type { NodeKind } from "@/lib/generated/prisma/enums";

export interface ParsedName {
  name: string;
  kind: NodeKind;
  parent: string | null;
  /** Last segment (org id, folder id, project id, service id…). */
  shortId: string;
  /** Project id for every node at or below a project. */
  project: string | null;
}

const SEG = "[a-z0-9](?:[a-z0-9_.-]{0,61}[a-z0-9])?";
const PROJECT = "[a-z][a-z0-9-]{1,28}[a-z0-9]";
const REGION = "[a-z]+-[a-z]+[0-9]+";
const ZONE = `${REGION}-[a-z]`;

const RULES: { re: RegExp; kind: NodeKind; parent: (m: RegExpMatchArray) => string | null }[] = [
  { re: /^organizations\/(\d{1,20})$/, kind: "ORGANIZATION", parent: () => null },
  { re: /^folders\/(\d{1,20})$/, kind: "FOLDER", parent: () => null },
  { re: new RegExp(`^projects/(${PROJECT})$`), kind: "PROJECT", parent: () => null },
  { re: new RegExp(`^projects/(${PROJECT})/iap_web$`), kind: "IAP_WEB", parent: (m) => `projects/${m[1]}` },
  {
    re: new RegExp(`^projects/(${PROJECT})/iap_web/(compute|appengine-${SEG}|cloud_run-${REGION})$`),
    kind: "IAP_WEB_TYPE",
    parent: (m) => `projects/${m[1]}/iap_web`,
  },
  {
    re: new RegExp(`^projects/(${PROJECT})/iap_web/compute/services/(${SEG})$`),
    kind: "WEB_BACKEND_SERVICE",
    parent: (m) => `projects/${m[1]}/iap_web/compute`,
  },
  {
    re: new RegExp(`^projects/(${PROJECT})/iap_web/(appengine-${SEG})/services/(${SEG})$`),
    kind: "APPENGINE_SERVICE",
    parent: (m) => `projects/${m[1]}/iap_web/${m[2]}`,
  },
  {
    re: new RegExp(`^projects/(${PROJECT})/iap_web/(appengine-${SEG})/services/(${SEG})/versions/(${SEG})$`),
    kind: "APPENGINE_VERSION",
    parent: (m) => `projects/${m[1]}/iap_web/${m[2]}/services/${m[3]}`,
  },
  {
    re: new RegExp(`^projects/(${PROJECT})/iap_web/(cloud_run-${REGION})/services/(${SEG})$`),
    kind: "CLOUD_RUN_SERVICE",
    parent: (m) => `projects/${m[1]}/iap_web/${m[2]}`,
  },
  {
    re: new RegExp(`^projects/(${PROJECT})/locations/(${REGION})/services/(${SEG})$`),
    kind: "RUN_SERVICE",
    parent: (m) => `projects/${m[1]}`,
  },
  {
    re: new RegExp(`^projects/(${PROJECT})/locations/(${REGION})/functions/(${SEG})$`),
    kind: "FUNCTION",
    parent: (m) => `projects/${m[1]}`,
  },
  { re: new RegExp(`^projects/(${PROJECT})/iap_tunnel$`), kind: "IAP_TUNNEL", parent: (m) => `projects/${m[1]}` },
  {
    re: new RegExp(`^projects/(${PROJECT})/iap_tunnel/zones/(${ZONE})$`),
    kind: "IAP_TUNNEL",
    parent: (m) => `projects/${m[1]}/iap_tunnel`,
  },
  {
    re: new RegExp(`^projects/(${PROJECT})/iap_tunnel/zones/(${ZONE})/instances/(${SEG})$`),
    kind: "TUNNEL_INSTANCE",
    parent: (m) => `projects/${m[1]}/iap_tunnel/zones/${m[2]}`,
  },
];

export function parseResourceName(name: string): ParsedName | null {
  for (const rule of RULES) {
    const m = name.match(rule.re);
    if (m) {
      const shortId = name.slice(name.lastIndexOf("/") + 1);
      const project = name.startsWith("projects/") ? (m[1] ?? null) : null;
      return { name, kind: rule.kind, parent: rule.parent(m), shortId, project };
    }
  }
  return null;
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
