// Reference checks on a whole world (the world that will exist after apply): parents exist,
// roles are known, groups referenced exist, no group cycles, keys unique, one resource per
// (host, path prefix) pair. Pure.
import type { ErrorDetail } from "@/lib/errors";
import { KEY, type Entry } from "./canonical";
import { parseResourceName } from "./names";
import type { World } from "./schema";
import { validateHostRoutes } from "@/lib/policy/validate";

export interface WorldCatalog {
  /** Predefined role name → permissions. */
  predefinedRoles: ReadonlyMap<string, readonly string[]>;
}

export function validateWorld(world: World, catalog: WorldCatalog): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });

  for (const section of Object.keys(KEY) as (keyof World)[]) {
    const seen = new Set<string>();
    const key = KEY[section] as (e: Entry<typeof section>) => string;
    (world[section] as Entry<typeof section>[] | undefined)?.forEach((e, i) => {
      const k = key(e);
      if (seen.has(k)) add(`${section}[${i}]`, `duplicate entry "${k}"`);
      seen.add(k);
    });
  }

  const containers = new Set<string>([
    ...(world.organizations ?? []).map((o) => `organizations/${o.id}`),
    ...(world.folders ?? []).map((f) => `folders/${f.id}`),
  ]);
  const projects = new Set((world.projects ?? []).map((p) => `projects/${p.id}`));
  const resources = new Set((world.resources ?? []).map((r) => r.name));

  (world.folders ?? []).forEach((f, i) => {
    if (!containers.has(f.parent)) add(`folders[${i}].parent`, `parent "${f.parent}" is not declared`);
  });
  // Folder cycles (a folder that is its own ancestor).
  const folderParent = new Map((world.folders ?? []).map((f) => [`folders/${f.id}`, f.parent]));
  for (const start of folderParent.keys()) {
    const seen = new Set<string>();
    for (let cur: string | undefined = start; cur?.startsWith("folders/"); cur = folderParent.get(cur)) {
      if (seen.has(cur)) {
        add(`folders`, `folder "${start}" is its own ancestor`);
        break;
      }
      seen.add(cur);
    }
  }
  const numbers = new Map<string, string>();
  (world.projects ?? []).forEach((p, i) => {
    if (!containers.has(p.parent)) add(`projects[${i}].parent`, `parent "${p.parent}" is not declared`);
    if (p.number) {
      const other = numbers.get(p.number);
      if (other) add(`projects[${i}].number`, `project number ${p.number} is also used by ${other}`);
      numbers.set(p.number, p.id);
    }
  });
  const projectOf = (name: string) => parseResourceName(name)?.project;
  (world.resources ?? []).forEach((r, i) => {
    const p = projectOf(r.name);
    if (!p || !projects.has(`projects/${p}`)) add(`resources[${i}].name`, `project "projects/${p}" is not declared`);
  });
  // Also checked when a file is parsed (with positions); here for worlds built in code.
  problems.push(...validateHostRoutes(world.resources ?? [], (i) => `resources[${i}]`));
  (world.serviceAccounts ?? []).forEach((s, i) => {
    const p = s.email.match(/@([^.]+)\.iam\.gserviceaccount\.com$/)?.[1];
    if (!p || !projects.has(`projects/${p}`)) add(`serviceAccounts[${i}].email`, `project "projects/${p}" is not declared`);
  });
  (world.customRoles ?? []).forEach((r, i) => {
    const parent = r.name.split("/roles/")[0] ?? "";
    if (!containers.has(parent) && !projects.has(parent)) add(`customRoles[${i}].name`, `parent "${parent}" is not declared`);
  });

  const nodeExists = (name: string) => {
    if (containers.has(name) || projects.has(name) || resources.has(name)) return true;
    const parsed = parseResourceName(name);
    // Containers inside a project (iap_web, iap_web/compute, iap_tunnel/zones/…) exist implicitly.
    return Boolean(parsed && parsed.project && projects.has(`projects/${parsed.project}`) && ["IAP_WEB", "IAP_WEB_TYPE", "IAP_TUNNEL"].includes(parsed.kind));
  };

  const roles = new Map<string, readonly string[]>(catalog.predefinedRoles);
  for (const r of world.customRoles ?? []) roles.set(r.name, r.permissions);
  const groups = new Set((world.groups ?? []).map((g) => g.email));
  const checkMember = (path: string, m: string) => {
    if (m.startsWith("group:") && !groups.has(m.slice(6))) add(path, `group "${m.slice(6)}" is not declared`);
  };

  (world.policies ?? []).forEach((p, i) => {
    if (!nodeExists(p.resource)) add(`policies[${i}].resource`, `resource "${p.resource}" is not declared`);
    p.bindings.forEach((b, j) => {
      if (!roles.has(b.role)) add(`policies[${i}].bindings[${j}].role`, `unknown role "${b.role}"`);
      b.members.forEach((m, k) => checkMember(`policies[${i}].bindings[${j}].members[${k}]`, m));
    });
  });
  (world.denyPolicies ?? []).forEach((d, i) => {
    if (!nodeExists(d.attachedTo)) add(`denyPolicies[${i}].attachedTo`, `"${d.attachedTo}" is not declared`);
  });

  // Group nesting: members must exist, no cycles.
  const edges = new Map<string, string[]>();
  (world.groups ?? []).forEach((g, i) => {
    g.members?.forEach((m, k) => checkMember(`groups[${i}].members[${k}]`, m));
    edges.set(g.email, (g.members ?? []).filter((m) => m.startsWith("group:")).map((m) => m.slice(6)));
  });
  const state = new Map<string, 1 | 2>();
  const visit = (g: string, stack: string[]): void => {
    if (state.get(g) === 2) return;
    if (state.get(g) === 1) {
      add("groups", `group nesting cycle: ${[...stack.slice(stack.indexOf(g)), g].join(" → ")}`);
      return;
    }
    state.set(g, 1);
    for (const child of edges.get(g) ?? []) visit(child, [...stack, g]);
    state.set(g, 2);
  };
  for (const g of edges.keys()) visit(g, []);
  return problems;
}
