// Roles in IAM's shape (iam.googleapis.com v1 Role: name, title, description,
// includedPermissions, stage, etag, deleted). Predefined roles are the core's catalogue, readable
// by any signed-in caller, as in IAM. Custom roles live on an organization or a project
// (`organizations/{o}/roles/{id}`, `projects/{p}/roles/{id}`) and follow IAM's life cycle: create,
// get, list (view BASIC|FULL, showDeleted), patch (updateMask, etag), delete (soft: the role grants
// nothing but keeps its name), undelete.
//
// Authorisation: iam.roles.{create,get,list,update,delete} on the role's parent. Undelete needs
// iam.roles.update (the catalogue has no iam.roles.undelete). A missing parent or role answers
// like a refused one for a caller without the permission.
//
// Guard rails (authz.ts rule 2): a role may only carry permissions its author holds on its parent
// (passage permissions excepted); and whatever makes a role grant more where it is bound — new
// permissions, undelete, a DISABLED stage lifted — needs the added permissions at every binding
// using it (passage ones too when a binding's members include the author). A deleted role's name
// stays taken, so a new role cannot inherit its bindings.
//
// Audit: serviceName iam.googleapis.com, resourceName the role's name;
// `response.permissionDeltas` lists `{ action: ADD|REMOVE, permission }` of the stored permissions.
import { createHash } from "node:crypto";
import { z } from "zod";
import { PREDEFINED_ROLES, PREDEFINED_ROLE_MAP, validateCustomRole } from "@/lib/policy";
import { AppError } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { AdminContext } from "./context";
import { checkRolePermissionsAdded, checkRolePermissionsHeld } from "./authz";
import { runMutation, type MutationScope } from "./mutation";
import { decodePageToken, pageOf, ZPageQuery } from "./paging";
import { reader } from "./reader";
import { revisionHeader, route, type ApiRoute } from "./routes";
import { invalid, parse, throwIssues } from "./validation";

type Tx = Prisma.TransactionClient;
type Db = AdminContext["db"] | Tx;

const SERVICE = "iam.googleapis.com";
const STAGES = ["ALPHA", "BETA", "GA", "DEPRECATED", "DISABLED", "EAP"] as const;
type Stage = (typeof STAGES)[number];
const ROLE_ID = /^[a-zA-Z0-9_.]{3,64}$/;
const ETAG = /^[A-Za-z0-9+/]+={0,2}$/;
const PARENT_COLLECTIONS = ["organizations", "projects"] as const;

const ZPermission = z.string().regex(/^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+){2}$/, "permissions look like service.resource.verb");
const ZEtag = z.string().max(128).regex(ETAG, "etag must be the base64 string the role was read with");

export const ZRoleFields = z.strictObject({
  title: z.string().max(100).optional(),
  description: z.string().max(300).optional(),
  includedPermissions: z.array(ZPermission).max(3000).optional(),
  stage: z.enum(STAGES).optional(),
});

export const ZCreateRoleRequest = z.strictObject({
  roleId: z.string().regex(ROLE_ID, "role ids are 3–64 letters, digits, underscores or dots"),
  role: ZRoleFields.extend({ includedPermissions: z.array(ZPermission).max(3000) }),
});

/** The Role a patch sends: the fields in updateMask are taken from it; name and deleted cannot change. */
export const ZPatchRole = ZRoleFields.extend({
  name: z.string().max(300).optional(),
  etag: ZEtag.optional(),
  deleted: z.boolean().optional(),
});

export const ZPatchRoleQuery = z.object({
  /** Comma-separated: title, description, includedPermissions, stage. Default: the fields the body has. */
  updateMask: z.string().max(256).optional(),
});

export const ZEtagQuery = z.object({ etag: ZEtag.optional() });
export const ZUndeleteRoleRequest = z.strictObject({ etag: ZEtag.optional() });

export const ZListRolesQuery = ZPageQuery.extend({
  /** BASIC (default, as IAM) leaves includedPermissions out; FULL includes them. */
  view: z.enum(["BASIC", "FULL"]).default("BASIC"),
  showDeleted: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional(),
});
export type ListRolesQuery = z.infer<typeof ZListRolesQuery>;

export const ZRole = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  includedPermissions: z.array(z.string()).optional(),
  stage: z.enum(STAGES),
  etag: z.string(),
  deleted: z.boolean(),
});
export type RoleJson = z.infer<typeof ZRole>;

export interface PermissionDelta {
  action: "ADD" | "REMOVE";
  permission: string;
}

interface RoleFields {
  title: string;
  description: string;
  includedPermissions: string[];
  stage: Stage;
}

/** The typed admin-activity payloads of this module, one per method. */
export type RoleActivity =
  | { methodName: "CreateRole"; request: { roleId: string; role: RoleFields }; response: { permissionDeltas: PermissionDelta[] } }
  | { methodName: "UpdateRole"; request: { updateMask: string[]; role: Partial<RoleFields> }; response: { permissionDeltas: PermissionDelta[]; before: RoleFields; after: RoleFields } }
  | { methodName: "DeleteRole"; request: { etag?: string }; response: { before: RoleFields } }
  | { methodName: "UndeleteRole"; request: { etag?: string }; response: { after: RoleFields } };

function audit(m: MutationScope, name: string, a: RoleActivity): void {
  m.audit({ methodName: a.methodName, serviceName: SERVICE, resourceName: name, request: a.request as unknown as Prisma.InputJsonValue, response: a.response as unknown as Prisma.InputJsonValue });
}

interface RoleRow {
  name: string;
  parentName: string;
  title: string;
  description: string;
  stage: Stage;
  permissions: string[];
  deleted: boolean;
  etag: string;
}

const roleSelect = { name: true, parentName: true, title: true, description: true, stage: true, permissions: true, deleted: true, etag: true } as const;

function toRole(r: RoleRow, full = true): RoleJson {
  return { name: r.name, title: r.title, description: r.description, ...(full ? { includedPermissions: r.permissions } : {}), stage: r.stage, etag: r.etag, deleted: r.deleted };
}

function fieldsOf(r: Pick<RoleRow, "title" | "description" | "permissions" | "stage">): RoleFields {
  return { title: r.title, description: r.description, includedPermissions: r.permissions, stage: r.stage };
}

/** What a role grants where it is bound: nothing when deleted or DISABLED (as loadCustomRoles compiles it). */
function effective(r: { permissions: readonly string[]; stage: Stage; deleted: boolean }): string[] {
  return r.deleted || r.stage === "DISABLED" ? [] : [...r.permissions];
}

const minus = (a: readonly string[], b: readonly string[]) => {
  const s = new Set(b);
  return a.filter((x) => !s.has(x));
};

function deltas(before: readonly string[], after: readonly string[]): PermissionDelta[] {
  return [...minus(after, before).map((permission) => ({ action: "ADD" as const, permission })), ...minus(before, after).map((permission) => ({ action: "REMOVE" as const, permission }))];
}

/** The custom role's name from a path's parts; INVALID_ARGUMENT when it cannot be one. */
export function customRoleName(parent: string, roleId: string): string {
  if (!ROLE_ID.test(roleId)) throw invalid("roleId", "role ids are 3–64 letters, digits, underscores or dots");
  return `${parent}/roles/${roleId}`;
}

/** The parent of a custom role's name (organizations/{o} or projects/{p}). */
function parentOf(name: string): string {
  return name.slice(0, name.indexOf("/roles/"));
}

/** Validates a role's permissions with the core (known permissions, at least one). */
function validatePermissions(name: string, permissions: string[], path: string): void {
  const r = validateCustomRole({ name, permissions });
  if (!r.ok) throwIssues(r.errors.map((e) => ({ path: e.path.replace(/^permissions/, path), message: e.message })));
}

async function existingRole(db: Db, name: string): Promise<RoleRow> {
  const r = await db.role.findUnique({ where: { name }, select: roleSelect });
  if (!r) throw new AppError("NOT_FOUND", `role ${name} does not exist`);
  return r;
}

function checkEtag(etag: string | undefined, current: string): void {
  if (etag !== undefined && etag !== current) throw new AppError("ABORTED", "There were concurrent changes to this role. Read it again and retry with its etag.");
}

/** A system actor has no engine to refuse a missing parent: say so plainly. */
async function requireParentExists(m: MutationScope, parent: string): Promise<void> {
  if (m.actor.kind === "system" && !(await m.tx.node.findUnique({ where: { name: parent }, select: { name: true } }))) throw new AppError("NOT_FOUND", `${parent} does not exist`);
}

/**
 * The guard rails for a role that may grant more after this mutation's writes: the permissions it
 * newly carries must be held on its parent, and what it newly grants must be held wherever it is bound.
 */
async function guardRole(m: MutationScope, name: string, newlyCarried: readonly string[], newlyGranted: readonly string[]): Promise<void> {
  if (!m.before) return;
  checkRolePermissionsHeld(m.before, m.actor, name, parentOf(name), newlyCarried, m.now);
  if (newlyGranted.length) checkRolePermissionsAdded(m.before, (await m.after())!, m.actor, name, newlyGranted, m.now);
}

export async function createRole(ctx: AdminContext, parent: string, input: unknown): Promise<{ role: RoleJson; revision: bigint | null }> {
  const data = parse(ZCreateRoleRequest, input);
  const name = customRoleName(parent, data.roleId);
  const fields: RoleFields = {
    title: data.role.title ?? "",
    description: data.role.description ?? "",
    includedPermissions: [...new Set(data.role.includedPermissions)],
    stage: data.role.stage ?? "GA",
  };
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require("iam.roles.create", parent);
    await requireParentExists(m, parent);
    const existing = await m.tx.role.findUnique({ where: { name }, select: { deleted: true } });
    if (existing) throw new AppError("ALREADY_EXISTS", existing.deleted ? `role ${name} was deleted and keeps its name: undelete it, or choose another id` : `role ${name} already exists`);
    validatePermissions(name, fields.includedPermissions, "role.includedPermissions");
    await m.write.upsertCustomRole({ name, title: fields.title, description: fields.description, stage: fields.stage, permissions: fields.includedPermissions });
    // Bindings can name a role before it exists only through data written outside the API; guard them anyway.
    await guardRole(m, name, fields.includedPermissions, effective({ permissions: fields.includedPermissions, stage: fields.stage, deleted: false }));
    audit(m, name, { methodName: "CreateRole", request: { roleId: data.roleId, role: fields }, response: { permissionDeltas: deltas([], fields.includedPermissions) } });
    return toRole(await existingRole(m.tx, name));
  });
  return { role: value, revision };
}

/** A predefined role in IAM's shape (its etag is a digest of its permissions: it changes only with the catalogue). */
function predefinedRole(name: string, full = true): RoleJson | null {
  const r = PREDEFINED_ROLE_MAP.get(name);
  if (!r) return null;
  const etag = createHash("sha256").update(r.permissions.join("\n")).digest().subarray(0, 8).toString("base64");
  return { name: r.name, title: r.title ?? "", description: "", ...(full ? { includedPermissions: [...r.permissions] } : {}), stage: "GA", etag, deleted: false };
}

export async function getRole(ctx: AdminContext, name: string): Promise<RoleJson> {
  if (name.startsWith("roles/")) {
    const r = predefinedRole(name);
    if (!r) throw new AppError("NOT_FOUND", `there is no predefined role ${name}`);
    return r;
  }
  reader(ctx).require("iam.roles.get", parentOf(name));
  return toRole(await existingRole(ctx.db, name));
}

/** Predefined roles (no permission needed: the catalogue is public, as in IAM). */
export function listPredefinedRoles(query: ListRolesQuery): { roles: RoleJson[]; nextPageToken?: string } {
  const after = decodePageToken(query.pageToken);
  const filter = query.filter?.toLowerCase();
  const names = PREDEFINED_ROLES.map((r) => r.name)
    .filter((n) => (after === undefined || n > after) && (!filter || n.toLowerCase().includes(filter)))
    .sort();
  const page = pageOf(names.slice(0, query.pageSize + 1), query.pageSize, (n) => n);
  return { roles: page.items.map((n) => predefinedRole(n, query.view === "FULL")!), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

export async function listCustomRoles(ctx: AdminContext, parent: string, query: ListRolesQuery): Promise<{ roles: RoleJson[]; nextPageToken?: string }> {
  reader(ctx).require("iam.roles.list", parent);
  const after = decodePageToken(query.pageToken);
  const rows = await ctx.db.role.findMany({
    where: {
      parentName: parent,
      ...(query.showDeleted ? {} : { deleted: false }),
      name: { ...(after !== undefined ? { gt: after } : {}), ...(query.filter ? { contains: query.filter, mode: "insensitive" as const } : {}) },
    },
    orderBy: { name: "asc" },
    take: query.pageSize + 1,
    select: roleSelect,
  });
  const page = pageOf(rows, query.pageSize, (r) => r.name);
  return { roles: page.items.map((r) => toRole(r, query.view === "FULL")), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

const MASKABLE = ["title", "description", "includedPermissions", "stage"] as const;
type Maskable = (typeof MASKABLE)[number];

export async function patchRole(ctx: AdminContext, name: string, input: unknown, updateMask?: string): Promise<{ role: RoleJson; revision: bigint | null }> {
  const data = parse(ZPatchRole, input);
  if (data.name !== undefined && data.name !== name) throw invalid("name", "a role's name cannot change (IAM has no rename): create a new role and move the bindings");
  if (data.deleted !== undefined) throw invalid("deleted", "use DELETE or :undelete to delete or restore a role");
  const mask: Maskable[] = [];
  for (const f of updateMask !== undefined ? updateMask.split(",").map((s) => s.trim()).filter(Boolean) : MASKABLE.filter((k) => data[k] !== undefined)) {
    if (!(MASKABLE as readonly string[]).includes(f)) throw invalid("updateMask", `${JSON.stringify(f)} is not a field of a role that can change (${MASKABLE.join(", ")})`);
    mask.push(f as Maskable);
  }
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require("iam.roles.update", parentOf(name));
    const row = await existingRole(m.tx, name);
    if (row.deleted) throw new AppError("FAILED_PRECONDITION", `role ${name} is deleted: undelete it first`);
    checkEtag(data.etag, row.etag);
    const next: RoleFields = {
      title: mask.includes("title") ? (data.title ?? "") : row.title,
      description: mask.includes("description") ? (data.description ?? "") : row.description,
      includedPermissions: mask.includes("includedPermissions") ? [...new Set(data.includedPermissions ?? [])] : row.permissions,
      stage: mask.includes("stage") ? (data.stage ?? "GA") : row.stage,
    };
    validatePermissions(name, next.includedPermissions, "includedPermissions");
    const before = fieldsOf(row);
    if (JSON.stringify(before) === JSON.stringify(next)) return toRole(row);
    await m.write.upsertCustomRole({ name, title: next.title, description: next.description, stage: next.stage, permissions: next.includedPermissions });
    await guardRole(
      m,
      name,
      minus(next.includedPermissions, row.permissions),
      minus(effective({ permissions: next.includedPermissions, stage: next.stage, deleted: false }), effective(row)),
    );
    audit(m, name, {
      methodName: "UpdateRole",
      request: { updateMask: mask, role: Object.fromEntries(mask.map((k) => [k, next[k]])) as Partial<RoleFields> },
      response: { permissionDeltas: deltas(row.permissions, next.includedPermissions), before, after: next },
    });
    return toRole(await existingRole(m.tx, name));
  });
  return { role: value, revision };
}

export async function deleteRole(ctx: AdminContext, name: string, etag?: string): Promise<{ role: RoleJson; revision: bigint | null }> {
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require("iam.roles.delete", parentOf(name));
    const row = await existingRole(m.tx, name);
    if (row.deleted) throw new AppError("FAILED_PRECONDITION", `role ${name} is already deleted`);
    checkEtag(etag, row.etag);
    await m.write.deleteCustomRole(name);
    audit(m, name, { methodName: "DeleteRole", request: etag !== undefined ? { etag } : {}, response: { before: fieldsOf(row) } });
    return toRole(await existingRole(m.tx, name));
  });
  return { role: value, revision };
}

/** Restores a deleted role: as creating it again, it may only carry and grant what the caller could grant. */
export async function undeleteRole(ctx: AdminContext, name: string, input: unknown): Promise<{ role: RoleJson; revision: bigint | null }> {
  const data = parse(ZUndeleteRoleRequest, input ?? {});
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require("iam.roles.update", parentOf(name));
    const row = await existingRole(m.tx, name);
    if (!row.deleted) throw new AppError("FAILED_PRECONDITION", `role ${name} is not deleted`);
    checkEtag(data.etag, row.etag);
    await m.write.undeleteCustomRole(name);
    await guardRole(m, name, row.permissions, effective({ ...row, deleted: false }));
    audit(m, name, { methodName: "UndeleteRole", request: data.etag !== undefined ? { etag: data.etag } : {}, response: { after: fieldsOf(row) } });
    return toRole(await existingRole(m.tx, name));
  });
  return { role: value, revision };
}

const TAG = "Roles";

function customRoleRoutes(collection: (typeof PARENT_COLLECTIONS)[number]): ApiRoute[] {
  const base = `/api/v1/${collection}/{parentId}/roles`;
  const parent = (p: Record<string, string>) => `${collection}/${p.parentId!}`;
  const name = (p: Record<string, string>) => customRoleName(parent(p), p.roleId!);
  const on = collection === "organizations" ? "organization" : "project";
  return [
    route({
      method: "GET",
      path: base,
      tag: TAG,
      summary: `List the custom roles of an ${on} (iam.roles.list on it); view=FULL includes permissions, showDeleted=true deleted roles`,
      query: ZListRolesQuery,
      response: z.object({ roles: z.array(ZRole), nextPageToken: z.string().optional() }),
      handler: async (admin, req) => ({ body: await listCustomRoles(admin, parent(req.params), req.query) }),
    }),
    route({
      method: "POST",
      path: base,
      tag: TAG,
      summary: `Create a custom role on an ${on} (iam.roles.create; only permissions the caller holds there)`,
      body: ZCreateRoleRequest,
      response: ZRole,
      handler: async (admin, req) => {
        const { role, revision } = await createRole(admin, parent(req.params), req.body);
        return { status: 201, body: role, headers: revisionHeader(revision) };
      },
    }),
    route({
      method: "GET",
      path: `${base}/{roleId}`,
      tag: TAG,
      summary: "Get a custom role, deleted ones included (iam.roles.get)",
      response: ZRole,
      handler: async (admin, req) => ({ body: await getRole(admin, name(req.params)) }),
    }),
    route({
      method: "PATCH",
      path: `${base}/{roleId}`,
      tag: TAG,
      summary: "Change a custom role (iam.roles.update; updateMask, etag — a stale one is 409 ABORTED); added permissions must be held on the parent and wherever the role is bound",
      body: ZPatchRole,
      query: ZPatchRoleQuery,
      response: ZRole,
      handler: async (admin, req) => {
        const { role, revision } = await patchRole(admin, name(req.params), req.body, req.query.updateMask);
        return { body: role, headers: revisionHeader(revision) };
      },
    }),
    route({
      method: "DELETE",
      path: `${base}/{roleId}`,
      tag: TAG,
      summary: "Delete a custom role: it grants nothing and keeps its name (iam.roles.delete; etag)",
      query: ZEtagQuery,
      response: ZRole,
      handler: async (admin, req) => {
        const { role, revision } = await deleteRole(admin, name(req.params), req.query.etag);
        return { body: role, headers: revisionHeader(revision) };
      },
    }),
    route({
      // Google's custom method POST …/roles/{roleId}:undelete: the route table's parameters are
      // whole segments, so {roleId} arrives with its ":undelete".
      method: "POST",
      path: `${base}/{roleId}`,
      tag: TAG,
      summary: "POST …/roles/{roleId}:undelete — restore a deleted custom role (iam.roles.update; as creating it, only what the caller could grant)",
      body: ZUndeleteRoleRequest,
      response: ZRole,
      handler: async (admin, req) => {
        const raw = req.params.roleId!;
        if (!raw.endsWith(":undelete")) throw new AppError("METHOD_NOT_ALLOWED", "use GET, PATCH or DELETE on a role, or POST …/roles/{roleId}:undelete");
        const { role, revision } = await undeleteRole(admin, customRoleName(parent(req.params), raw.slice(0, -":undelete".length)), req.body);
        return { body: role, headers: revisionHeader(revision) };
      },
    }),
  ];
}

export const roleRoutes = [
  route({
    method: "GET",
    path: "/api/v1/roles",
    tag: TAG,
    summary: "List the predefined roles (any signed-in caller); view=FULL includes their permissions",
    query: ZListRolesQuery,
    response: z.object({ roles: z.array(ZRole), nextPageToken: z.string().optional() }),
    handler: async (_admin, req) => ({ body: listPredefinedRoles(req.query) }),
  }),
  route({
    method: "GET",
    path: "/api/v1/roles/{roleId}",
    tag: TAG,
    summary: "Get a predefined role with its permissions (any signed-in caller)",
    response: ZRole,
    handler: async (admin, req) => ({ body: await getRole(admin, `roles/${req.params.roleId!}`) }),
  }),
  ...PARENT_COLLECTIONS.flatMap(customRoleRoutes),
];
