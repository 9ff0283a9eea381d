// The Roles section's view models: IAM's predefined catalogue (public, as in IAM) and the custom
// roles of the organizations and projects where the viewer may list them, with what the viewer
// may create or change (the permissions lib/admin's writes check).
import { getRole, listCustomRoles, listPredefinedRoles, ZListRolesQuery, type RoleJson } from "@/lib/admin/roles";
import { KNOWN_PERMISSIONS, RESOURCE_TYPES } from "@/lib/policy";
import { readable, viewer, type Readable } from "./identity";

export interface RolesPage {
  predefined: RoleJson[];
  custom: RoleJson[];
  /** Parents (organizations/…, projects/…) where the viewer may create custom roles. */
  creatableIn: string[];
  /** Every permission a custom role may carry. */
  permissions: string[];
}

const FULL = ZListRolesQuery.parse({ view: "FULL", pageSize: 1000 });

/** Whether a role matches a search: its name, title or one of its permissions contains `q`. */
function matches(role: RoleJson, q: string): boolean {
  const s = q.toLowerCase();
  return role.name.toLowerCase().includes(s) || role.title.toLowerCase().includes(s) || (role.includedPermissions ?? []).some((p) => p.toLowerCase().includes(s));
}

export async function getRolesPage(params: { q?: string }): Promise<Readable<RolesPage>> {
  const { ctx, r } = await viewer();
  return readable(async () => {
    const parents = [...(r.snapshot?.nodes.values() ?? [])].filter((n) => n.type === RESOURCE_TYPES.organization || n.type === RESOURCE_TYPES.project).map((n) => n.name);
    const custom = (await Promise.all(parents.filter((p) => r.can("iam.roles.list", p)).map((p) => listCustomRoles(ctx, p, FULL)))).flatMap((x) => x.roles);
    const q = params.q?.trim();
    return {
      predefined: listPredefinedRoles(FULL).roles.filter((x) => !q || matches(x, q)),
      custom: custom.filter((x) => !q || matches(x, q)),
      creatableIn: parents.filter((p) => r.can("iam.roles.create", p)),
      permissions: [...KNOWN_PERMISSIONS].sort(),
    };
  });
}

export interface RoleDetail {
  role: RoleJson;
  custom: boolean;
  canEdit: boolean;
  canDelete: boolean;
  permissions: string[];
}

export async function getRoleDetail(name: string): Promise<Readable<RoleDetail>> {
  const { ctx, r } = await viewer();
  return readable(async () => {
    const role = await getRole(ctx, name);
    const custom = !name.startsWith("roles/");
    const parent = custom ? name.slice(0, name.indexOf("/roles/")) : "";
    return {
      role,
      custom,
      canEdit: custom && !role.deleted && r.can("iam.roles.update", parent),
      canDelete: custom && !role.deleted && r.can("iam.roles.delete", parent),
      permissions: [...KNOWN_PERMISSIONS].sort(),
    };
  });
}
