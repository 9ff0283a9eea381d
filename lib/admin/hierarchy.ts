// The resource hierarchy through the admin API (DESIGN.md §1, §3): organizations, folders,
// projects and the resources inside them (web services, App Engine services and versions, Cloud
// Run services behind IAP, serverless services, functions, tunnel instances), IAP on and off.
// One function per method for every transport (REST routes below, the console, the CLI).
//
// Permissions (the method and the resource's kind together; "on X" = held on X in the snapshot
// at the revision written on — a node the caller may not see is refused like a missing one):
//
//   method                 organization / folder / project                      on
//   create                 resourcemanager.organizations.create                 instance (every organization, or an instance owner)
//                          resourcemanager.folders.create, .projects.create     the parent
//   get, list              resourcemanager.{organizations,folders,projects}.get the node (lists show what one may get)
//   update                 resourcemanager.{…}.update                           the node; an organization's domain also
//                                                                               instance-wide (it decides who governs that domain's users and groups)
//   move                   resourcemanager.{folders,projects}.move              the node, and .create on the destination
//   delete                 resourcemanager.{…}.delete                           the node; only when empty
//
//   resource kind          get / create / update / delete                       IAP on/off (:enableIap, :disableIap)
//   backend service        compute.backendServices.*                            iap.webServices.updateSettings
//   App Engine service     appengine.services.get/update/delete, create: appengine.versions.create
//                                                                               iap.webServices.updateSettings
//   App Engine version     appengine.versions.*                                 iap.webServiceVersions.updateSettings
//   Cloud Run (IAP web)    run.services.*                                       iap.webServices.updateSettings
//   web service type       get: iap.webTypes.getSettings (implicit container)  iap.webTypes.updateSettings
//   serverless service     run.services.*                                       —
//   function               cloudfunctions.functions.*                           —
//   tunnel instance        compute.instances.*                                  —
//   (create is checked on the project; the others on the resource.)
//
// Rules beyond the permission (authz.ts rule 2 applied to what these methods can do indirectly):
//   - Deleting a node deletes its allow policy (and those of the implicit containers below it):
//     that needs the permission to set each such non-empty policy — deleting is emptying it and
//     more. So a resource someone else administers cannot be reset by deleting and re-creating it.
//   - Moving a folder or project under a new parent is a grant: every binding inherited from the
//     new ancestors is granted on the moved node, so each must pass checkGrant for the mover
//     (passage permissions included where the member covers the mover). Moving out from under a
//     deny policy lifts it for the moved subtree: that needs iam.denypolicies.update where it is
//     attached.
//   - A resource's hosts and path prefix are write-validated by the core (validateHostPattern,
//     validatePathPrefix, and validateHostRoutes across ALL resources: one host and prefix select
//     one resource). Claiming a host another resource already serves (the same host, or one its
//     wildcard covers) diverts some of its traffic: that needs the update permission on it.
//   - IAP is switched only by :enableIap / :disableIap (never by create or update). Enabling
//     creates the resource's OAuth client the first time; its secret is sealed with AUTH_SECRET
//     (SecretBox) and returned in that answer only.
// Projects get a number when none is given, derived from the id exactly as `apply` derives it;
// audiences follow the project number (lib/world/names.ts audienceFor, via the row writers).
import { randomBytes, randomInt } from "node:crypto";
import { z } from "zod";
import type { NodeKind } from "@/lib/generated/prisma/enums";
import type { Prisma } from "@/lib/generated/prisma/client";
import { AppError } from "@/lib/errors";
import { checkGrant, checkOrganizationsAdministered, coversActor } from "./authz";
import { bindingDeltas } from "@/lib/audit/admin";
import { normaliseHost, validateHostRoutes } from "@/lib/policy";
import { parseResourceName, WEB_KINDS } from "@/lib/world/names";
import { ZFolder, ZOrganization, ZProject, ZResource } from "@/lib/world/schema";
import { derivedProjectNumber } from "@/lib/world/apply";
import { SecretBox } from "@/lib/identity/secret-box";
import type { AdminContext } from "./context";
import { runMutation, type MutationScope } from "./mutation";
import { parse } from "./validation";
import { ZPageQuery } from "./paging";
import { reader, type Reader } from "./reader";
import { revisionHeader, route } from "./routes";
import { visiblePage } from "./visible-page";
import { policyPermission } from "./permissions";

const CRM = "cloudresourcemanager.googleapis.com";
const IAP = "iap.googleapis.com";
type Tx = Prisma.TransactionClient;
type Db = AdminContext["db"] | Tx;

// ————————————————————————————————————————————————————————————— permission tables

interface ResourcePermissions {
  service: string;
  get: string;
  create?: string;
  update?: string;
  delete?: string;
}

const crud = (service: string, prefix: string, create = `${prefix}.create`): ResourcePermissions => ({
  service,
  get: `${prefix}.get`,
  create,
  update: `${prefix}.update`,
  delete: `${prefix}.delete`,
});

/** Per resource kind: the permissions of its methods (see the table above). */
export const RESOURCE_PERMISSIONS: Partial<Record<NodeKind, ResourcePermissions>> = {
  WEB_BACKEND_SERVICE: crud("compute.googleapis.com", "compute.backendServices"),
  APPENGINE_SERVICE: crud("appengine.googleapis.com", "appengine.services", "appengine.versions.create"),
  APPENGINE_VERSION: crud("appengine.googleapis.com", "appengine.versions"),
  CLOUD_RUN_SERVICE: crud("run.googleapis.com", "run.services"),
  RUN_SERVICE: crud("run.googleapis.com", "run.services"),
  FUNCTION: crud("cloudfunctions.googleapis.com", "cloudfunctions.functions"),
  TUNNEL_INSTANCE: crud("compute.googleapis.com", "compute.instances"),
  IAP_WEB_TYPE: { service: IAP, get: "iap.webTypes.getSettings" },
};

/** Per web kind: the permission that turns IAP on or off. */
export const IAP_SETTINGS_PERMISSION: Partial<Record<NodeKind, string>> = {
  IAP_WEB_TYPE: "iap.webTypes.updateSettings",
  WEB_BACKEND_SERVICE: "iap.webServices.updateSettings",
  APPENGINE_SERVICE: "iap.webServices.updateSettings",
  CLOUD_RUN_SERVICE: "iap.webServices.updateSettings",
  APPENGINE_VERSION: "iap.webServiceVersions.updateSettings",
};

type ContainerKind = "ORGANIZATION" | "FOLDER" | "PROJECT";
const NOUN: Record<ContainerKind, "organizations" | "folders" | "projects"> = { ORGANIZATION: "organizations", FOLDER: "folders", PROJECT: "projects" };
const METHOD_NOUN: Record<ContainerKind, string> = { ORGANIZATION: "Organization", FOLDER: "Folder", PROJECT: "Project" };

// ————————————————————————————————————————————————————————————— shapes

const nodeSelect = {
  name: true,
  kind: true,
  parentName: true,
  displayName: true,
  implicit: true,
  shortId: true,
  projectNumber: true,
  domain: true,
  iapEnabled: true,
  hosts: true,
  pathPrefix: true,
  audience: true,
  oauthClientId: true,
  createdAt: true,
  updatedAt: true,
} as const;
type NodeRow = Prisma.NodeGetPayload<{ select: typeof nodeSelect }>;

export const ZOrganizationJson = z.object({
  name: z.string(),
  id: z.string(),
  displayName: z.string(),
  domain: z.string().nullable(),
  createTime: z.string(),
  updateTime: z.string(),
});
export const ZFolderJson = z.object({ name: z.string(), id: z.string(), parent: z.string(), displayName: z.string(), createTime: z.string(), updateTime: z.string() });
export const ZProjectJson = z.object({
  name: z.string(),
  projectId: z.string(),
  projectNumber: z.string(),
  parent: z.string(),
  displayName: z.string(),
  createTime: z.string(),
  updateTime: z.string(),
});
export const ZResourceJson = z.object({
  name: z.string(),
  kind: z.string(),
  parent: z.string(),
  displayName: z.string(),
  /** Null: not set on this resource (the nearest setting above it applies; none = off). */
  iapEnabled: z.boolean().nullable(),
  hosts: z.array(z.string()),
  pathPrefix: z.string().nullable(),
  /** The `aud` of the signed header for this resource. */
  audience: z.string().nullable(),
  /** Created the first time IAP is enabled; its secret was shown once, then. */
  oauthClientId: z.string().nullable(),
  createTime: z.string(),
  updateTime: z.string(),
});
export type OrganizationJson = z.infer<typeof ZOrganizationJson>;
export type FolderJson = z.infer<typeof ZFolderJson>;
export type ProjectJson = z.infer<typeof ZProjectJson>;
export type ResourceJson = z.infer<typeof ZResourceJson>;

const times = (r: NodeRow) => ({ createTime: r.createdAt.toISOString(), updateTime: r.updatedAt.toISOString() });
const organizationJson = (r: NodeRow): OrganizationJson => ({ name: r.name, id: r.shortId ?? "", displayName: r.displayName, domain: r.domain, ...times(r) });
const folderJson = (r: NodeRow): FolderJson => ({ name: r.name, id: r.shortId ?? "", parent: r.parentName ?? "", displayName: r.displayName, ...times(r) });
const projectJson = (r: NodeRow): ProjectJson => ({
  name: r.name,
  projectId: r.shortId ?? "",
  projectNumber: r.projectNumber ?? "",
  parent: r.parentName ?? "",
  displayName: r.displayName,
  ...times(r),
});
export const resourceJson = (r: NodeRow): ResourceJson => ({
  name: r.name,
  kind: r.kind,
  parent: r.parentName ?? "",
  displayName: r.displayName,
  iapEnabled: r.iapEnabled,
  hosts: r.hosts,
  pathPrefix: r.pathPrefix,
  audience: r.audience,
  oauthClientId: r.oauthClientId,
  ...times(r),
});

const containerJson = { ORGANIZATION: organizationJson, FOLDER: folderJson, PROJECT: projectJson };

// ————————————————————————————————————————————————————————————— inputs

const ZDisplayName = z.string().max(100);
const ZDomain = ZOrganization.shape.domain.unwrap();
export const ZCreateOrganization = ZOrganization.partial({ id: true });
export const ZUpdateOrganization = z.strictObject({ displayName: ZDisplayName.optional(), domain: ZDomain.nullable().optional() });
export const ZCreateFolder = ZFolder.partial({ id: true });
export const ZUpdateFolder = z.strictObject({ displayName: ZDisplayName.optional() });
export const ZCreateProject = ZProject;
export const ZUpdateProject = z.strictObject({ displayName: ZDisplayName.optional() });
export const ZMoveRequest = z.strictObject({ destinationParent: ZFolder.shape.parent });
export const ZCreateResource = ZResource.omit({ iap: true });
export const ZUpdateResource = z.strictObject({
  displayName: ZDisplayName.optional(),
  hosts: ZResource.shape.hosts,
  /** null removes the prefix (the resource becomes its hosts' fallback). */
  pathPrefix: ZResource.shape.pathPrefix.unwrap().nullable().optional(),
});
export const ZListQuery = ZPageQuery.extend({ parent: z.string().max(1024).optional() });
export type ListQuery = z.infer<typeof ZListQuery>;

// ————————————————————————————————————————————————————————————— helpers

function containerName(kind: ContainerKind, id: string): string {
  return `${NOUN[kind]}/${id}`;
}

async function nodeRow(db: Db, name: string): Promise<NodeRow | null> {
  return db.node.findUnique({ where: { name }, select: nodeSelect });
}

async function existing(db: Db, name: string, kinds?: readonly NodeKind[]): Promise<NodeRow> {
  const row = await nodeRow(db, name);
  if (!row || row.implicit || (kinds && !kinds.includes(row.kind))) throw new AppError("NOT_FOUND", `${name} does not exist`);
  return row;
}

/** A random numeric id that no node of that kind uses yet (Google assigns organization and folder ids). */
async function freshId(db: Db, kind: ContainerKind): Promise<string> {
  for (;;) {
    const id = String(randomInt(100_000_000, 999_999_999)) + String(randomInt(100, 999));
    if (!(await nodeRow(db, containerName(kind, id)))) return id;
  }
}

/** Every stored policy with bindings at `name` or at an implicit container below it. */
async function policiesBelow(tx: Tx, name: string): Promise<{ resource: string; bindings: { role: string; members: string[] }[] }[]> {
  const names = [name];
  for (let i = 0; i < names.length; i++) {
    const children = await tx.node.findMany({ where: { parentName: names[i]!, implicit: true }, select: { name: true } });
    names.push(...children.map((c) => c.name));
  }
  const rows = await tx.allowPolicy.findMany({
    where: { resourceName: { in: names } },
    include: { bindings: { orderBy: { position: "asc" }, include: { members: { orderBy: { position: "asc" } } } } },
  });
  return rows
    .filter((r) => r.bindings.length > 0)
    .map((r) => ({ resource: r.resourceName, bindings: r.bindings.map((b) => ({ role: b.role, members: b.members.map((m) => m.member) })) }));
}

/**
 * Deleting `name` deletes its allow policy and those of the implicit containers below it: each
 * non-empty one needs its setIamPolicy permission (deleting is emptying it, and more). Returns
 * the removed bindings of `name`'s own policy for the audit record; notes the policies as changed
 * (their PolicyVersion records the removal).
 */
async function requirePoliciesDeletable(m: MutationScope, name: string) {
  let own: { role: string; members: string[] }[] = [];
  for (const p of await policiesBelow(m.tx, name)) {
    const permission = policyPermission(p.resource, "setIamPolicy");
    if (permission && m.actor.kind === "principal") {
      try {
        m.require(permission, p.resource);
      } catch {
        throw new AppError(
          "PERMISSION_DENIED",
          `Deleting ${name} also deletes the IAM policy of ${p.resource}, which needs '${permission}' there (someone else administers it).`,
        );
      }
    }
    m.changed({ kind: "policy", key: p.resource });
    if (p.resource === name) own = p.bindings;
  }
  return bindingDeltas({ bindings: own }, { bindings: [] });
}

/** The permission of `verb` on a resource of `kind`, or INVALID_ARGUMENT when the kind has no such method. */
function resourcePermission(name: string, verb: "get" | "create" | "update" | "delete"): { kind: NodeKind; project: string; permission: string; service: string } {
  const parsed = parseResourceName(name);
  const perms = parsed ? RESOURCE_PERMISSIONS[parsed.kind] : undefined;
  if (!parsed || !parsed.project || !perms) {
    throw new AppError("INVALID_ARGUMENT", `"${name}" is not the name of a resource (web service, App Engine service or version, Cloud Run service, serverless service, function or tunnel instance)`, [
      { path: "name", message: "not a resource name" },
    ]);
  }
  const permission = perms[verb];
  if (!permission) throw new AppError("INVALID_ARGUMENT", `${name} is a container that exists implicitly; it cannot be ${verb}d`, [{ path: "name", message: `cannot be ${verb}d` }]);
  return { kind: parsed.kind, project: `projects/${parsed.project}`, permission, service: perms.service };
}

// ————————————————————————————————————————————————————————————— organizations, folders, projects

async function getContainer<K extends ContainerKind>(ctx: AdminContext, kind: K, id: string): Promise<ReturnType<(typeof containerJson)[K]>> {
  const name = containerName(kind, id);
  reader(ctx).require(`resourcemanager.${NOUN[kind]}.get`, name);
  return containerJson[kind](await existing(ctx.db, name, [kind])) as ReturnType<(typeof containerJson)[K]>;
}

async function listContainers<K extends ContainerKind>(ctx: AdminContext, kind: K, query: ListQuery) {
  const r = reader(ctx);
  const permission = `resourcemanager.${NOUN[kind]}.get`;
  const page = await visiblePage(
    query,
    (after, take) =>
      ctx.db.node.findMany({
        where: {
          kind,
          implicit: false,
          ...(query.parent ? { parentName: query.parent } : {}),
          name: { startsWith: `${NOUN[kind]}/`, ...(after !== undefined ? { gt: after } : {}), ...(query.filter ? { contains: query.filter, mode: "insensitive" as const } : {}) },
        },
        orderBy: { name: "asc" },
        take,
        select: nodeSelect,
      }),
    (row) => row.name,
    (row) => r.can(permission, row.name),
  );
  return { items: page.items.map((row) => containerJson[kind](row) as ReturnType<(typeof containerJson)[K]>), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

export const getOrganization = (ctx: AdminContext, id: string) => getContainer(ctx, "ORGANIZATION", id);
export const getFolder = (ctx: AdminContext, id: string) => getContainer(ctx, "FOLDER", id);
export const getProject = (ctx: AdminContext, id: string) => getContainer(ctx, "PROJECT", id);

export async function listOrganizations(ctx: AdminContext, query: ListQuery): Promise<{ organizations: OrganizationJson[]; nextPageToken?: string }> {
  const { items, nextPageToken } = await listContainers(ctx, "ORGANIZATION", { ...query, parent: undefined });
  return { organizations: items, ...(nextPageToken ? { nextPageToken } : {}) };
}
export async function listFolders(ctx: AdminContext, query: ListQuery): Promise<{ folders: FolderJson[]; nextPageToken?: string }> {
  const { items, nextPageToken } = await listContainers(ctx, "FOLDER", query);
  return { folders: items, ...(nextPageToken ? { nextPageToken } : {}) };
}
export async function listProjects(ctx: AdminContext, query: ListQuery): Promise<{ projects: ProjectJson[]; nextPageToken?: string }> {
  const { items, nextPageToken } = await listContainers(ctx, "PROJECT", query);
  return { projects: items, ...(nextPageToken ? { nextPageToken } : {}) };
}

export async function createOrganization(ctx: AdminContext, input: unknown): Promise<{ organization: OrganizationJson; revision: bigint | null }> {
  const data = parse(ZCreateOrganization, input);
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.requireInstance("resourcemanager.organizations.create");
    const id = data.id ?? (await freshId(m.tx, "ORGANIZATION"));
    const name = containerName("ORGANIZATION", id);
    if (await nodeRow(m.tx, name)) throw new AppError("ALREADY_EXISTS", `${name} already exists`);
    if (data.domain) await requireDomainFree(m.tx, data.domain, name);
    await m.write.upsertContainer({ kind: "ORGANIZATION", name, shortId: id, parent: null, displayName: data.displayName, domain: data.domain });
    // Rule 3 for the new organization: someone (an instance owner) must be able to administer it.
    const after = await m.after();
    if (after) checkOrganizationsAdministered(after, [name], m.now);
    m.audit({ methodName: "CreateOrganization", serviceName: CRM, resourceName: name, request: { id, displayName: data.displayName ?? "", domain: data.domain ?? null } });
    return organizationJson(await existing(m.tx, name));
  });
  return { organization: value, revision };
}

async function requireDomainFree(tx: Tx, domain: string, self: string): Promise<void> {
  const other = await tx.node.findFirst({ where: { kind: "ORGANIZATION", domain, name: { not: self } }, select: { name: true } });
  if (other) throw new AppError("ALREADY_EXISTS", `the domain ${domain} belongs to another organization`, [{ path: "domain", message: "taken by another organization" }]);
}

export async function createFolder(ctx: AdminContext, input: unknown): Promise<{ folder: FolderJson; revision: bigint | null }> {
  const data = parse(ZCreateFolder, input);
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require("resourcemanager.folders.create", data.parent);
    await existing(m.tx, data.parent, ["ORGANIZATION", "FOLDER"]);
    const id = data.id ?? (await freshId(m.tx, "FOLDER"));
    const name = containerName("FOLDER", id);
    if (await nodeRow(m.tx, name)) throw new AppError("ALREADY_EXISTS", `${name} already exists`);
    await m.write.upsertContainer({ kind: "FOLDER", name, shortId: id, parent: data.parent, displayName: data.displayName });
    m.audit({ methodName: "CreateFolder", serviceName: CRM, resourceName: name, request: { id, parent: data.parent, displayName: data.displayName ?? "" } });
    return folderJson(await existing(m.tx, name));
  });
  return { folder: value, revision };
}

export async function createProject(ctx: AdminContext, input: unknown): Promise<{ project: ProjectJson; revision: bigint | null }> {
  const data = parse(ZCreateProject, input);
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require("resourcemanager.projects.create", data.parent);
    await existing(m.tx, data.parent, ["ORGANIZATION", "FOLDER"]);
    const name = containerName("PROJECT", data.id);
    // Project ids are unique across the instance (as in Google Cloud), seen or not.
    if (await nodeRow(m.tx, name)) throw new AppError("ALREADY_EXISTS", `a project with id ${data.id} already exists`, [{ path: "id", message: "taken" }]);
    const number = data.number ?? derivedProjectNumber(data.id);
    if (await m.tx.node.findUnique({ where: { projectNumber: number }, select: { name: true } })) {
      throw new AppError("ALREADY_EXISTS", `project number ${number} is taken${data.number ? "" : " (derived from the id): give a number"}`, [{ path: "number", message: "taken" }]);
    }
    await m.write.upsertContainer({ kind: "PROJECT", name, shortId: data.id, parent: data.parent, displayName: data.displayName, projectNumber: number });
    m.audit({ methodName: "CreateProject", serviceName: CRM, resourceName: name, request: { projectId: data.id, parent: data.parent, displayName: data.displayName ?? "" }, response: { projectNumber: number } });
    return projectJson(await existing(m.tx, name));
  });
  return { project: value, revision };
}

type ContainerUpdate = { displayName?: string; domain?: string | null };

async function updateContainer<K extends ContainerKind>(ctx: AdminContext, kind: K, id: string, data: ContainerUpdate) {
  const name = containerName(kind, id);
  return runMutation(ctx, async (m) => {
    m.require(`resourcemanager.${NOUN[kind]}.update`, name);
    const row = await existing(m.tx, name, [kind]);
    const displayName = data.displayName ?? row.displayName;
    const domain = data.domain === undefined ? row.domain : data.domain;
    if (displayName === row.displayName && domain === row.domain) return containerJson[kind](row) as ReturnType<(typeof containerJson)[K]>;
    if (domain !== row.domain) {
      // An organization's domain decides who governs the users and groups of that domain.
      m.requireInstance("resourcemanager.organizations.update");
      if (domain) await requireDomainFree(m.tx, domain, name);
    }
    await m.write.upsertContainer({
      kind,
      name,
      shortId: row.shortId ?? id,
      parent: row.parentName,
      displayName,
      ...(domain ? { domain } : {}),
      ...(row.projectNumber ? { projectNumber: row.projectNumber } : {}),
    });
    m.audit({ methodName: `Update${METHOD_NOUN[kind]}`, serviceName: CRM, resourceName: name, request: data, response: { before: { displayName: row.displayName, domain: row.domain } } });
    return containerJson[kind](await existing(m.tx, name)) as ReturnType<(typeof containerJson)[K]>;
  });
}

export async function updateOrganization(ctx: AdminContext, id: string, input: unknown): Promise<{ organization: OrganizationJson; revision: bigint | null }> {
  const { value, revision } = await updateContainer(ctx, "ORGANIZATION", id, parse(ZUpdateOrganization, input));
  return { organization: value, revision };
}
export async function updateFolder(ctx: AdminContext, id: string, input: unknown): Promise<{ folder: FolderJson; revision: bigint | null }> {
  const { value, revision } = await updateContainer(ctx, "FOLDER", id, parse(ZUpdateFolder, input));
  return { folder: value, revision };
}
export async function updateProject(ctx: AdminContext, id: string, input: unknown): Promise<{ project: ProjectJson; revision: bigint | null }> {
  const { value, revision } = await updateContainer(ctx, "PROJECT", id, parse(ZUpdateProject, input));
  return { project: value, revision };
}

/**
 * Moving is granting (see the header): every binding inherited from ancestors the node gains must
 * pass checkGrant on the node for the mover, and every deny policy on an ancestor it leaves needs
 * iam.denypolicies.update there.
 */
function checkMove(m: MutationScope, name: string, destination: string): void {
  const s = m.before;
  if (!s) return;
  const node = s.nodes.get(name);
  const dest = s.nodes.get(destination);
  if (!node || !dest) return;
  const oldAncestors = node.chain.slice(1);
  const newAncestors = dest.chain;
  for (const a of newAncestors) {
    if (oldAncestors.includes(a)) continue;
    const seen = new Set<string>();
    for (const b of s.policies.get(a)?.bindings ?? []) {
      for (const member of b.members) {
        const self = coversActor(s, m.actor, member);
        const sig = `${b.role}\u0000${self}`;
        if (seen.has(sig)) continue;
        seen.add(sig);
        try {
          checkGrant(s, s, m.actor, { resource: name, role: b.role, member }, m.now);
        } catch (e) {
          if (!(e instanceof AppError)) throw e;
          throw new AppError("PERMISSION_DENIED", `Moving ${name} under ${destination} would grant ${b.role} on it to ${member} (inherited from ${a}). ${e.message}`);
        }
      }
    }
  }
  for (const a of oldAncestors) {
    if (newAncestors.includes(a) || (s.denyPolicies.get(a)?.length ?? 0) === 0) continue;
    try {
      m.require("iam.denypolicies.update", a);
    } catch {
      throw new AppError("PERMISSION_DENIED", `Moving ${name} out of ${a} would lift the deny policies attached there from it; that needs 'iam.denypolicies.update' on ${a}.`);
    }
  }
}

async function moveContainer(ctx: AdminContext, kind: "FOLDER" | "PROJECT", id: string, input: unknown) {
  const data = parse(ZMoveRequest, input);
  const name = containerName(kind, id);
  const destination = data.destinationParent;
  return runMutation(ctx, async (m) => {
    m.require(`resourcemanager.${NOUN[kind]}.move`, name);
    m.require(`resourcemanager.${NOUN[kind]}.create`, destination);
    const row = await existing(m.tx, name, [kind]);
    await existing(m.tx, destination, ["ORGANIZATION", "FOLDER"]);
    if (row.parentName === destination) return containerJson[kind](row) as FolderJson | ProjectJson;
    if (kind === "FOLDER") {
      for (let cur: string | null = destination; cur; cur = (await nodeRow(m.tx, cur))?.parentName ?? null) {
        if (cur === name) throw new AppError("INVALID_ARGUMENT", `${name} cannot be moved under itself (${destination} is inside it)`, [{ path: "destinationParent", message: "inside the folder being moved" }]);
      }
    }
    checkMove(m, name, destination);
    await m.write.upsertContainer({
      kind,
      name,
      shortId: row.shortId ?? id,
      parent: destination,
      displayName: row.displayName,
      ...(row.projectNumber ? { projectNumber: row.projectNumber } : {}),
    });
    m.audit({ methodName: `Move${METHOD_NOUN[kind]}`, serviceName: CRM, resourceName: name, request: { destinationParent: destination }, response: { previousParent: row.parentName } });
    return containerJson[kind](await existing(m.tx, name)) as FolderJson | ProjectJson;
  });
}

export async function moveFolder(ctx: AdminContext, id: string, input: unknown): Promise<{ folder: FolderJson; revision: bigint | null }> {
  const { value, revision } = await moveContainer(ctx, "FOLDER", id, input);
  return { folder: value as FolderJson, revision };
}
export async function moveProject(ctx: AdminContext, id: string, input: unknown): Promise<{ project: ProjectJson; revision: bigint | null }> {
  const { value, revision } = await moveContainer(ctx, "PROJECT", id, input);
  return { project: value as ProjectJson, revision };
}

/** Deletes an organization, folder or project: only when nothing is declared in it. */
async function deleteContainer(ctx: AdminContext, kind: ContainerKind, id: string): Promise<{ revision: bigint | null }> {
  const name = containerName(kind, id);
  const { revision } = await runMutation(ctx, async (m) => {
    m.require(`resourcemanager.${NOUN[kind]}.delete`, name);
    await existing(m.tx, name, [kind]);
    const [children, accounts, roles] = await Promise.all([
      // Declared nodes directly in it, or (in a project) anywhere below it, under implicit containers.
      m.tx.node.findMany({
        where: { implicit: false, OR: [{ parentName: name }, ...(kind === "PROJECT" ? [{ name: { startsWith: `${name}/` } }] : [])] },
        select: { name: true },
        orderBy: { name: "asc" },
        take: 4,
      }),
      m.tx.principal.count({ where: { projectName: name } }),
      m.tx.role.count({ where: { parentName: name, deleted: false } }),
    ]);
    const inside = [
      ...children.slice(0, 3).map((c) => c.name),
      ...(children.length > 3 ? ["…"] : []),
      ...(accounts ? [`${accounts} service account${accounts > 1 ? "s" : ""}`] : []),
      ...(roles ? [`${roles} custom role${roles > 1 ? "s" : ""}`] : []),
    ];
    if (inside.length) throw new AppError("FAILED_PRECONDITION", `${name} is not empty (${inside.join(", ")}): delete or move what is in it first`);
    const deltas = await requirePoliciesDeletable(m, name);
    await m.write.deleteNode(name);
    m.audit({ methodName: `Delete${METHOD_NOUN[kind]}`, serviceName: CRM, resourceName: name, ...(deltas.length ? { bindingDeltas: deltas } : {}), request: { name } });
  });
  return { revision };
}

export const deleteOrganization = (ctx: AdminContext, id: string) => deleteContainer(ctx, "ORGANIZATION", id);
export const deleteFolder = (ctx: AdminContext, id: string) => deleteContainer(ctx, "FOLDER", id);
export const deleteProject = (ctx: AdminContext, id: string) => deleteContainer(ctx, "PROJECT", id);

// ————————————————————————————————————————————————————————————— resources

export async function getResource(ctx: AdminContext, name: string): Promise<ResourceJson> {
  const { permission } = resourcePermission(name, "get");
  reader(ctx).require(permission, name);
  const row = await nodeRow(ctx.db, name);
  if (!row || (row.implicit && row.kind !== "IAP_WEB_TYPE")) throw new AppError("NOT_FOUND", `${name} does not exist`);
  return resourceJson(row);
}

export async function listResources(ctx: AdminContext, query: ListQuery): Promise<{ resources: ResourceJson[]; nextPageToken?: string }> {
  const r = reader(ctx);
  const kinds = Object.keys(RESOURCE_PERMISSIONS) as NodeKind[];
  const prefix = query.parent ? `${query.parent.replace(/\/$/, "")}/` : "projects/";
  const page = await visiblePage(
    query,
    (after, take) =>
      ctx.db.node.findMany({
        where: {
          kind: { in: kinds },
          implicit: false,
          name: { startsWith: prefix, ...(after !== undefined ? { gt: after } : {}), ...(query.filter ? { contains: query.filter, mode: "insensitive" as const } : {}) },
        },
        orderBy: { name: "asc" },
        take,
        select: nodeSelect,
      }),
    (row) => row.name,
    (row) => r.can(RESOURCE_PERMISSIONS[row.kind]!.get, row.name),
  );
  return { resources: page.items.map(resourceJson), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

interface HostClaim {
  name: string;
  kind: NodeKind;
  hosts: string[];
  pathPrefix: string | null;
}

/** Whether a mapped host pattern serves `host` (equal, or a wildcard covering it by one label). */
function serves(pattern: string, host: string): boolean {
  const p = normaliseHost(pattern);
  const h = normaliseHost(host);
  if (p === h) return true;
  return p.startsWith("*.") && !h.startsWith("*.") && h.endsWith(p.slice(1)) && !h.slice(0, h.length - p.length + 1).includes(".");
}

/**
 * The write-time checks of a resource's host claims: the core's validateHostRoutes against every
 * other resource (one host and prefix select one resource), and the takeover rule (claiming a
 * host another resource serves needs its update permission). `added`: the hosts newly claimed.
 * Names of resources the caller may not see are not revealed.
 */
async function checkHosts(m: MutationScope, r: Reader, name: string, hosts: readonly string[], pathPrefix: string | null, added: readonly string[]): Promise<void> {
  if (hosts.length === 0) return;
  const others: HostClaim[] = await m.tx.node.findMany({
    where: { hosts: { isEmpty: false }, name: { not: name } },
    select: { name: true, kind: true, hosts: true, pathPrefix: true },
    orderBy: { name: "asc" },
  });
  const shown = (o: HostClaim) => (m.actor.kind === "system" || r.can(RESOURCE_PERMISSIONS[o.kind]?.get ?? "-", o.name) ? o.name : "another resource");
  const mine = others.length;
  const issues = validateHostRoutes([...others.map((o) => ({ name: o.name, hosts: o.hosts, ...(o.pathPrefix ? { pathPrefix: o.pathPrefix } : {}) })), { name, hosts: [...hosts], ...(pathPrefix ? { pathPrefix } : {}) }]).filter((i) =>
    i.path.startsWith(`[${mine}]`),
  );
  if (issues.length) {
    const details = issues.map((i) => {
      let message = i.message.replace(` (${`[${mine}]`})`, "");
      for (const o of others) if (message.includes(o.name)) message = message.split(o.name).join(shown(o)).replace(/ \(\[\d+\]\)/g, "");
      return { path: i.path.replace(`[${mine}].`, ""), message };
    });
    throw new AppError("INVALID_ARGUMENT", `${details[0]!.path}: ${details[0]!.message}`, details);
  }
  if (m.actor.kind === "system") return;
  for (const host of added) {
    for (const o of others) {
      if (!o.hosts.some((p) => serves(p, host))) continue;
      const permission = RESOURCE_PERMISSIONS[o.kind]?.update;
      if (!permission || !r.can(permission, o.name)) {
        throw new AppError("PERMISSION_DENIED", `host "${host}" is served by ${shown(o)}: claiming it takes over some of its requests, which needs '${permission ?? "its update permission"}' on it`);
      }
    }
  }
}

export async function createResource(ctx: AdminContext, input: unknown): Promise<{ resource: ResourceJson; revision: bigint | null }> {
  const data = parse(ZCreateResource, input);
  const { project, permission, service } = resourcePermission(data.name, "create");
  const hosts = [...new Set(data.hosts ?? [])];
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require(permission, project);
    await existing(m.tx, project, ["PROJECT"]);
    const row = await nodeRow(m.tx, data.name);
    if (row && !row.implicit) throw new AppError("ALREADY_EXISTS", `${data.name} already exists`);
    await checkHosts(m, reader(ctx), data.name, hosts, data.pathPrefix ?? null, hosts);
    // IAP is never switched here (:enableIap); an implicit node being declared keeps its switch.
    await m.write.upsertResource({ name: data.name, displayName: data.displayName, hosts, pathPrefix: data.pathPrefix, ...(row?.iapEnabled != null ? { iap: row.iapEnabled } : {}) });
    const created = await existing(m.tx, data.name);
    m.audit({ methodName: "CreateResource", serviceName: service, resourceName: data.name, request: { ...data, hosts }, response: { audience: created.audience } });
    return resourceJson(created);
  });
  return { resource: value, revision };
}

export async function updateResource(ctx: AdminContext, name: string, input: unknown): Promise<{ resource: ResourceJson; revision: bigint | null }> {
  const data = parse(ZUpdateResource, input);
  const { permission, service } = resourcePermission(name, "update");
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require(permission, name);
    const row = await existing(m.tx, name);
    const hosts = data.hosts ? [...new Set(data.hosts)] : row.hosts;
    const pathPrefix = data.pathPrefix === undefined ? row.pathPrefix : data.pathPrefix;
    const displayName = data.displayName ?? row.displayName;
    const hostsChanged = hosts.length !== row.hosts.length || hosts.some((h, i) => h !== row.hosts[i]);
    if (!hostsChanged && pathPrefix === row.pathPrefix && displayName === row.displayName) return resourceJson(row);
    if (hostsChanged || pathPrefix !== row.pathPrefix) {
      const added = pathPrefix !== row.pathPrefix ? hosts : hosts.filter((h) => !row.hosts.includes(h));
      await checkHosts(m, reader(ctx), name, hosts, pathPrefix, added);
    }
    await m.write.upsertResource({ name, displayName, hosts, ...(pathPrefix ? { pathPrefix } : {}), ...(row.iapEnabled !== null ? { iap: row.iapEnabled } : {}) });
    m.audit({
      methodName: "UpdateResource",
      serviceName: service,
      resourceName: name,
      request: data as Prisma.InputJsonValue,
      response: { before: { displayName: row.displayName, hosts: row.hosts, pathPrefix: row.pathPrefix } },
    });
    return resourceJson(await existing(m.tx, name));
  });
  return { resource: value, revision };
}

/** Deletes a resource and its policy (see the header: that needs the permission to set the policy). */
export async function deleteResource(ctx: AdminContext, name: string): Promise<{ revision: bigint | null }> {
  const { permission, service } = resourcePermission(name, "delete");
  const { revision } = await runMutation(ctx, async (m) => {
    m.require(permission, name);
    await existing(m.tx, name);
    const children = await m.tx.node.findMany({ where: { name: { startsWith: `${name}/` }, implicit: false }, select: { name: true }, take: 3 });
    if (children.length) throw new AppError("FAILED_PRECONDITION", `${name} is not empty (${children.map((c) => c.name).join(", ")}): delete what is in it first`);
    const deltas = await requirePoliciesDeletable(m, name);
    await m.write.deleteNode(name);
    await m.write.removeOrphanContainers();
    m.audit({ methodName: "DeleteResource", serviceName: service, resourceName: name, ...(deltas.length ? { bindingDeltas: deltas } : {}), request: { name } });
  });
  return { revision };
}

// ————————————————————————————————————————————————————————————— IAP on / off

const OAUTH_SECRET_PURPOSE = "oauth-client-secret";
const OAUTH_SECRET_PREFIX = "ghcs_";

function oauthAad(clientId: string): string {
  return `oauth-client:${clientId}`;
}

/** Opens a stored OAuth client secret (for whoever later needs it server-side). */
export function openOauthClientSecret(authSecret: string, clientId: string, sealed: string): string {
  return new SecretBox(authSecret, OAUTH_SECRET_PURPOSE).open(sealed, oauthAad(clientId));
}

function iapPermission(name: string): string {
  const parsed = parseResourceName(name);
  const permission = parsed && WEB_KINDS.has(parsed.kind) ? IAP_SETTINGS_PERMISSION[parsed.kind] : undefined;
  if (!permission) {
    throw new AppError("INVALID_ARGUMENT", `${name} is not an IAP web resource (web services, App Engine services and versions, Cloud Run services behind IAP, and web service types)`, [
      { path: "name", message: "not an IAP web resource" },
    ]);
  }
  return permission;
}

export interface IapResult {
  resource: ResourceJson;
  /** Only in the answer that created the OAuth client: its secret is never shown again. */
  oauthClient?: { clientId: string; clientSecret: string };
  revision: bigint | null;
}

/** Turns IAP on; the first time, creates the resource's OAuth client (secret in this answer only). */
export async function enableIap(ctx: AdminContext, name: string): Promise<IapResult> {
  const permission = iapPermission(name);
  let oauthClient: IapResult["oauthClient"];
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require(permission, name);
    const row = await nodeRow(m.tx, name);
    if (!row) throw new AppError("NOT_FOUND", `${name} does not exist`);
    if (row.iapEnabled === true && row.oauthClientId) return resourceJson(row);
    let sealed: { clientId: string; sealedSecret: string } | undefined;
    if (!row.oauthClientId) {
      if (!ctx.instance) throw new AppError("INTERNAL", "enabling IAP creates an OAuth client, whose secret is sealed with AUTH_SECRET: none was configured for this call");
      const project = parseResourceName(name)!.project;
      const number = (await m.tx.node.findUnique({ where: { name: `projects/${project}` }, select: { projectNumber: true } }))?.projectNumber ?? "0";
      const clientId = `${number}-${randomBytes(16).toString("hex")}.apps.gatehouse.internal`;
      const clientSecret = OAUTH_SECRET_PREFIX + randomBytes(32).toString("base64url");
      sealed = { clientId, sealedSecret: new SecretBox(ctx.instance.authSecret, OAUTH_SECRET_PURPOSE).seal(clientSecret, oauthAad(clientId)) };
      oauthClient = { clientId, clientSecret };
    }
    await m.write.setIap(name, true, sealed);
    m.audit({
      methodName: "EnableIap",
      serviceName: IAP,
      resourceName: name,
      request: { name },
      response: { iapEnabled: true, oauthClientId: sealed?.clientId ?? row.oauthClientId, oauthClientCreated: Boolean(sealed) },
    });
    return resourceJson(await existing(m.tx, name));
  });
  return { resource: value, ...(oauthClient && revision !== null ? { oauthClient } : {}), revision };
}

export async function disableIap(ctx: AdminContext, name: string): Promise<IapResult> {
  const permission = iapPermission(name);
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require(permission, name);
    const row = await nodeRow(m.tx, name);
    if (!row) throw new AppError("NOT_FOUND", `${name} does not exist`);
    if (row.iapEnabled === false) return resourceJson(row);
    await m.write.setIap(name, false);
    m.audit({ methodName: "DisableIap", serviceName: IAP, resourceName: name, request: { name }, response: { iapEnabled: false } });
    return resourceJson(await existing(m.tx, name));
  });
  return { resource: value, revision };
}

// ————————————————————————————————————————————————————————————— routes

const ZEmpty = z.strictObject({});
const TAG = "Resource hierarchy";

function containerRoutes<K extends ContainerKind>(
  kind: K,
  fns: {
    list: (ctx: AdminContext, q: ListQuery) => Promise<unknown>;
    create: (ctx: AdminContext, input: unknown) => Promise<{ revision: bigint | null } & Record<string, unknown>>;
    update: (ctx: AdminContext, id: string, input: unknown) => Promise<{ revision: bigint | null } & Record<string, unknown>>;
    remove: (ctx: AdminContext, id: string) => Promise<{ revision: bigint | null }>;
    move?: (ctx: AdminContext, id: string, input: unknown) => Promise<{ revision: bigint | null } & Record<string, unknown>>;
  },
  schemas: { create: z.ZodType; update: z.ZodType; json: z.ZodType },
) {
  const noun = NOUN[kind];
  const one = noun.slice(0, -1);
  const answer = (r: { revision: bigint | null } & Record<string, unknown>, status = 200) => {
    const { revision, ...body } = r;
    return { status, body, headers: revisionHeader(revision) };
  };
  return [
    route({
      method: "GET",
      path: `/api/v1/${noun}`,
      tag: TAG,
      summary: `List the ${noun} the caller may get${kind === "ORGANIZATION" ? "" : " (optionally under `parent`)"}`,
      query: ZListQuery,
      response: z.object({ [noun]: z.array(schemas.json), nextPageToken: z.string().optional() }),
      handler: async (admin, req) => ({ body: await fns.list(admin, req.query) }),
    }),
    route({
      method: "POST",
      path: `/api/v1/${noun}`,
      tag: TAG,
      summary: `Create ${kind === "ORGANIZATION" ? "an organization (instance-wide permission)" : `a ${one} (resourcemanager.${noun}.create on the parent)`}`,
      body: schemas.create,
      response: z.object({ [one]: schemas.json }),
      handler: async (admin, req) => answer(await fns.create(admin, req.body), 201),
    }),
    route({
      method: "GET",
      path: `/api/v1/${noun}/{id}`,
      tag: TAG,
      summary: `Get a ${one}`,
      response: schemas.json,
      handler: async (admin, req) => ({ body: await getContainer(admin, kind, req.params.id!) }),
    }),
    route({
      method: "PATCH",
      path: `/api/v1/${noun}/{id}`,
      tag: TAG,
      summary: `Update a ${one}`,
      body: schemas.update,
      response: z.object({ [one]: schemas.json }),
      handler: async (admin, req) => answer(await fns.update(admin, req.params.id!, req.body)),
    }),
    route({
      method: "DELETE",
      path: `/api/v1/${noun}/{id}`,
      tag: TAG,
      summary: `Delete an empty ${one} (and its IAM policy)`,
      handler: async (admin, req) => answer(await fns.remove(admin, req.params.id!)),
    }),
    ...(fns.move
      ? [
          route({
            method: "POST",
            path: `/api/v1/${noun}/{id}:move`,
            tag: TAG,
            summary: `Move a ${one} under another organization or folder (.move on it, .create on the destination; no inherited grant beyond the mover's own)`,
            body: ZMoveRequest,
            response: z.object({ [one]: schemas.json }),
            handler: async (admin, req) => answer(await fns.move!(admin, req.params.id!, req.body)),
          }),
        ]
      : []),
  ];
}

const resourceName = (p: Record<string, string>) => `projects/${p.project}/${p.path}`;

export const hierarchyRoutes = [
  ...containerRoutes(
    "ORGANIZATION",
    { list: listOrganizations, create: createOrganization, update: updateOrganization, remove: deleteOrganization },
    { create: ZCreateOrganization, update: ZUpdateOrganization, json: ZOrganizationJson },
  ),
  ...containerRoutes(
    "FOLDER",
    { list: listFolders, create: createFolder, update: updateFolder, remove: deleteFolder, move: moveFolder },
    { create: ZCreateFolder, update: ZUpdateFolder, json: ZFolderJson },
  ),
  ...containerRoutes(
    "PROJECT",
    { list: listProjects, create: createProject, update: updateProject, remove: deleteProject, move: moveProject },
    { create: ZCreateProject, update: ZUpdateProject, json: ZProjectJson },
  ),
  route({
    method: "GET",
    path: "/api/v1/resources",
    tag: TAG,
    summary: "List resources (web services, serverless services, functions, tunnel instances) the caller may get, optionally under `parent` (a project)",
    query: ZListQuery,
    response: z.object({ resources: z.array(ZResourceJson), nextPageToken: z.string().optional() }),
    handler: async (admin, req) => ({ body: await listResources(admin, req.query) }),
  }),
  route({
    method: "POST",
    path: "/api/v1/resources",
    tag: TAG,
    summary: "Create a resource in a project, with its hosts and path prefix (IAP is switched with :enableIap)",
    body: ZCreateResource,
    response: z.object({ resource: ZResourceJson }),
    handler: async (admin, req) => {
      const { resource, revision } = await createResource(admin, req.body);
      return { status: 201, body: { resource }, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/resources/{name=**}",
    tag: TAG,
    summary: "Get a resource",
    response: ZResourceJson,
    handler: async (admin, req) => ({ body: await getResource(admin, req.params.name!) }),
  }),
  route({
    method: "PATCH",
    path: "/api/v1/resources/{name=**}",
    tag: TAG,
    summary: "Update a resource's display name, hosts or path prefix",
    body: ZUpdateResource,
    response: z.object({ resource: ZResourceJson }),
    handler: async (admin, req) => {
      const { resource, revision } = await updateResource(admin, req.params.name!, req.body);
      return { body: { resource }, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/resources/{name=**}",
    tag: TAG,
    summary: "Delete a resource and its IAM policy (which needs the permission to set that policy)",
    handler: async (admin, req) => ({ body: {}, headers: revisionHeader((await deleteResource(admin, req.params.name!)).revision) }),
  }),
  route({
    method: "POST",
    path: "/api/v1/projects/{project}/{path=**}:enableIap",
    tag: TAG,
    summary: "Turn IAP on for a web resource (iap.<kind>.updateSettings); the first time, the answer holds its new OAuth client's secret, shown this once",
    body: ZEmpty,
    response: z.object({ resource: ZResourceJson, oauthClient: z.object({ clientId: z.string(), clientSecret: z.string() }).optional() }),
    handler: async (admin, req) => {
      const { revision, ...body } = await enableIap(admin, resourceName(req.params));
      return { body, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "POST",
    path: "/api/v1/projects/{project}/{path=**}:disableIap",
    tag: TAG,
    summary: "Turn IAP off for a web resource (iap.<kind>.updateSettings): passage is then refused with IAP_DISABLED",
    body: ZEmpty,
    response: z.object({ resource: ZResourceJson }),
    handler: async (admin, req) => {
      const { revision, ...body } = await disableIap(admin, resourceName(req.params));
      return { body, headers: revisionHeader(revision) };
    },
  }),
];
