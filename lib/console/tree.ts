// The resource tree of the IAP panel: organizations → folders → projects → web resources.
import { db } from "@/lib/db/client";
import type { NodeKind } from "@/lib/generated/prisma/enums";
import { visibleProjects } from "@/lib/auth/console-access";
import { holds } from "@/lib/admin/authz";
import { IAP_SETTINGS_PERMISSION } from "@/lib/admin/hierarchy";
import { adminDeps } from "@/lib/decide/registry";

export type TreeKind =
  | "organization"
  | "folder"
  | "project"
  | "iap_web"
  | "web_backend"
  | "appengine_service"
  | "appengine_version"
  | "cloud_run"
  | "run_service"
  | "function"
  | "tunnel_instance";

export interface TreeNode {
  name: string;
  kind: TreeKind;
  displayName: string;
  iapEnabled: boolean | null;
  hosts: string[];
  pathPrefix: string | null;
  /** The viewer may turn IAP on or off here (its IAP settings permission, decided by the engine). */
  canToggleIap: boolean;
  children: TreeNode[];
}

const KIND: Partial<Record<NodeKind, TreeKind>> = {
  ORGANIZATION: "organization",
  FOLDER: "folder",
  PROJECT: "project",
  IAP_WEB: "iap_web",
  WEB_BACKEND_SERVICE: "web_backend",
  APPENGINE_SERVICE: "appengine_service",
  APPENGINE_VERSION: "appengine_version",
  CLOUD_RUN_SERVICE: "cloud_run",
  RUN_SERVICE: "run_service",
  FUNCTION: "function",
  TUNNEL_INSTANCE: "tunnel_instance",
};

const ORDER: TreeKind[] = ["folder", "project", "web_backend", "appengine_service", "appengine_version", "cloud_run", "run_service", "function", "tunnel_instance", "iap_web"];

/**
 * The tree `principal` may see: their visible projects, what is in them, and their ancestors.
 * Callers pass the principal of a checked session (the page's requireSession / consoleAdmin).
 */
export async function getResourceTree(principal: string): Promise<TreeNode[]> {
  const projects = visibleProjects(principal);
  if (projects.length === 0) return [];
  const all = await db().node.findMany({
    select: { name: true, kind: true, parentName: true, displayName: true, iapEnabled: true, hosts: true, pathPrefix: true },
  });
  const parentOf = new Map(all.map((r) => [r.name, r.parentName]));
  const visible = new Set<string>();
  for (const p of projects) for (let cur: string | null | undefined = p; cur && !visible.has(cur); cur = parentOf.get(cur)) visible.add(cur);
  const projectSet = new Set(projects);
  // A resource belongs to the project its name starts with (projects/{p}/…).
  const projectOf = (name: string) => {
    const end = name.indexOf("/", "projects/".length);
    return end < 0 ? name : name.slice(0, end);
  };
  const rows = all.filter((r) => visible.has(r.name) || projectSet.has(projectOf(r.name)));
  // Implicit containers (iap_web, iap_web/compute, zones…) are folded away: their resources hang
  // directly under the project, as in the IAP panel.
  const byName = new Map(rows.map((r) => [r.name, r]));
  const visibleParent = (name: string | null): string | null => {
    let cur = name;
    while (cur) {
      const row = byName.get(cur);
      if (!row || KIND[row.kind] && row.kind !== "IAP_WEB") return cur;
      cur = row.parentName;
    }
    return null;
  };
  const snapshot = adminDeps().engine.current().snapshot;
  const now = new Date();
  const nodes = new Map<string, TreeNode>();
  for (const r of rows) {
    const kind = KIND[r.kind];
    if (!kind || kind === "iap_web") continue;
    const toggle = IAP_SETTINGS_PERMISSION[r.kind];
    const canToggleIap = Boolean(toggle && holds(snapshot, principal, toggle, r.name, now));
    nodes.set(r.name, { name: r.name, kind, displayName: r.displayName, iapEnabled: r.iapEnabled, hosts: r.hosts, pathPrefix: r.pathPrefix, canToggleIap, children: [] });
  }
  const roots: TreeNode[] = [];
  for (const r of rows) {
    const node = nodes.get(r.name);
    if (!node) continue;
    const parent = nodes.get(visibleParent(r.parentName) ?? "");
    (parent ? parent.children : roots).push(node);
  }
  const sort = (list: TreeNode[]) => {
    list.sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) || a.name.localeCompare(b.name));
    list.forEach((n) => sort(n.children));
  };
  sort(roots);
  return roots;
}
