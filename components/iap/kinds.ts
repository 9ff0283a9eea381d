import type { IconName } from "@/components/ui/icon";
import type { TreeNode } from "@/lib/console/tree";

export type NodeKind = TreeNode["kind"];

/** How each hierarchy kind is labelled in the console (GCP's own wording where it has one). */
export const KIND_META: Record<NodeKind, { label: string; icon: IconName }> = {
  organization: { label: "Organization", icon: "organization" },
  folder: { label: "Folder", icon: "folder" },
  project: { label: "Project", icon: "project" },
  iap_web: { label: "All web services", icon: "globe" },
  web_backend: { label: "Backend service", icon: "server" },
  appengine_service: { label: "App Engine service", icon: "app" },
  appengine_version: { label: "App Engine version", icon: "app" },
  cloud_run: { label: "Cloud Run service", icon: "cloud" },
  run_service: { label: "Serverless service", icon: "cloud" },
  function: { label: "Function", icon: "function" },
  tunnel_instance: { label: "TCP tunnel target", icon: "terminal" },
};

/** IAP-secured web resources (the ones the summary counts as "web resources"). */
export const WEB_KINDS: ReadonlySet<NodeKind> = new Set<NodeKind>([
  "web_backend",
  "appengine_service",
  "appengine_version",
  "cloud_run",
]);

export const CONTAINER_KINDS: ReadonlySet<NodeKind> = new Set<NodeKind>(["organization", "folder", "project"]);
