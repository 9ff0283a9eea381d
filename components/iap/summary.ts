import type { TreeNode } from "@/lib/console/tree";
import { WEB_KINDS } from "./kinds";

export interface TreeSummary {
  organizations: number;
  folders: number;
  projects: number;
  webResources: number;
  webIapOn: number;
  serverless: number;
  tunnelTargets: number;
}

export function summarizeTree(roots: readonly TreeNode[]): TreeSummary {
  const s: TreeSummary = {
    organizations: 0,
    folders: 0,
    projects: 0,
    webResources: 0,
    webIapOn: 0,
    serverless: 0,
    tunnelTargets: 0,
  };
  const stack = [...roots];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.kind === "organization") s.organizations++;
    else if (node.kind === "folder") s.folders++;
    else if (node.kind === "project") s.projects++;
    else if (node.kind === "run_service" || node.kind === "function") s.serverless++;
    else if (node.kind === "tunnel_instance") s.tunnelTargets++;
    else if (WEB_KINDS.has(node.kind)) {
      s.webResources++;
      if (node.iapEnabled === true) s.webIapOn++;
    }
    stack.push(...node.children);
  }
  return s;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
