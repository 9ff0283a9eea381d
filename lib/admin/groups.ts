// Groups and memberships (DESIGN.md §1, §3), shaped like Cloud Identity's Groups API: a group is
// `groups/{email}` with its `groupKey`, a membership names its member with `preferredMemberKey` and
// the IAM member string. Members are users, service accounts, nested groups and deleted: members.
//
// Authorisation: cloudidentity.groups.{create,get,list,update,delete} on the organization of the
// group's email domain (instance-wide for a domain no organization has; authz.ts
// authorizeForDomain). A refusal names the group and reads the same whether it exists or not.
//
// Guard rails (authz.ts): adding a member — oneself included — or nesting a group grants it
// every role the group, and every group containing it, holds where they hold it, so it is checked
// as that many direct grants (checkMembershipGrants). No membership change — joining a group named
// in a deny rule's exceptions, leaving or deleting a denied group — may lift a denial from the
// actor (checkNoDenialLifted). Nesting that would make a cycle is INVALID_ARGUMENT.
//
// Audit: one record per change, serviceName cloudidentity.googleapis.com, resourceName
// groups/{email}; `response.memberDeltas` lists `{ action: ADD|REMOVE, member }`.
import { z } from "zod";
import { checkEmail, parseMember, validateGroupMembership } from "@/lib/policy";
import { AppError } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { AdminContext } from "./context";
import { checkMembershipGrants, checkNoDenialLifted, permissionDenied } from "./authz";
import { domainOrganizations, runMutation, type MutationScope } from "./mutation";
import { decodePageToken, pageOf, ZPageQuery, type PageQuery } from "./paging";
import { reader } from "./reader";
import { revisionHeader, route } from "./routes";
import { invalid, parse, throwIssues } from "./validation";

type Tx = Prisma.TransactionClient;
type Db = AdminContext["db"] | Tx;

const SERVICE = "cloudidentity.googleapis.com";

/** An email, canonical (lower-case; look-alike Unicode refused, not folded). */
const ZEmail = z
  .string()
  .max(254)
  .transform((s, ctx) => {
    const r = checkEmail(s);
    if (r.ok) return r.value;
    ctx.addIssue({ code: "custom", message: r.error });
    return z.NEVER;
  });

/** A group member: user:, serviceAccount:, group: (nesting) or deleted:, canonical. */
export const ZGroupMember = z
  .string()
  .max(512)
  .transform((s, ctx) => {
    const r = parseMember(s);
    if (!r.ok) ctx.addIssue({ code: "custom", message: r.error });
    else if (!["user", "serviceAccount", "group", "deleted"].includes(r.value.kind)) ctx.addIssue({ code: "custom", message: `a group cannot contain ${r.value.key}: members are user:, serviceAccount:, group: or deleted: members` });
    else return r.value.key;
    return z.NEVER;
  });

export const ZCreateGroup = z
  .strictObject({
    /** The group's email (Cloud Identity: groupKey.id; either may be given). */
    email: ZEmail.optional(),
    groupKey: z.strictObject({ id: ZEmail }).optional(),
    displayName: z.string().max(100).optional(),
    description: z.string().max(4096).optional(),
    /** Initial direct members (each checked as an added member). */
    members: z.array(ZGroupMember).max(1000).optional(),
  })
  .superRefine((g, ctx) => {
    if (g.email === undefined && g.groupKey === undefined) ctx.addIssue({ code: "custom", path: ["email"], message: "a group needs its email (or groupKey.id)" });
    if (g.email !== undefined && g.groupKey !== undefined && g.email !== g.groupKey.id) ctx.addIssue({ code: "custom", path: ["groupKey", "id"], message: "email and groupKey.id differ" });
  });

export const ZUpdateGroup = z.strictObject({
  displayName: z.string().max(100).optional(),
  description: z.string().max(4096).optional(),
});

export const ZAddGroupMember = z
  .strictObject({
    /** The IAM member string (user:…, serviceAccount:…, group:…, deleted:…). */
    member: ZGroupMember.optional(),
    /** Cloud Identity's way: the member's email, looked up among groups, users and service accounts. */
    preferredMemberKey: z.strictObject({ id: ZEmail }).optional(),
    /** Cloud Identity membership roles: only MEMBER is modelled. */
    roles: z.array(z.strictObject({ name: z.literal("MEMBER") })).max(1).optional(),
  })
  .superRefine((b, ctx) => {
    if ((b.member === undefined) === (b.preferredMemberKey === undefined)) ctx.addIssue({ code: "custom", path: ["member"], message: "give exactly one of member and preferredMemberKey" });
  });

export const ZGroup = z.object({
  name: z.string().describe("groups/{email}"),
  groupKey: z.object({ id: z.string() }),
  email: z.string(),
  displayName: z.string(),
  description: z.string(),
  createTime: z.string(),
  updateTime: z.string(),
});
export type GroupJson = z.infer<typeof ZGroup>;

const MEMBER_TYPES = ["USER", "SERVICE_ACCOUNT", "GROUP", "OTHER_TYPE"] as const;

export const ZMembership = z.object({
  name: z.string().describe("groups/{email}/memberships/{member}"),
  member: z.string(),
  preferredMemberKey: z.object({ id: z.string() }),
  type: z.enum(MEMBER_TYPES),
  roles: z.array(z.object({ name: z.literal("MEMBER") })),
  createTime: z.string(),
});
export type MembershipJson = z.infer<typeof ZMembership>;

export const ZEffectiveMember = z.object({
  member: z.string(),
  preferredMemberKey: z.object({ id: z.string() }),
  type: z.enum(MEMBER_TYPES),
  /** DIRECT: listed in the group; INDIRECT: through nested groups; both: DIRECT_AND_INDIRECT. */
  relationType: z.enum(["DIRECT", "INDIRECT", "DIRECT_AND_INDIRECT"]),
});
export type EffectiveMemberJson = z.infer<typeof ZEffectiveMember>;

export interface MemberDelta {
  action: "ADD" | "REMOVE";
  member: string;
}

/** The typed admin-activity payloads of this module, one per method. */
export type GroupActivity =
  | { methodName: "CreateGroup"; request: { email: string; displayName: string; description: string; members: string[] }; response: { memberDeltas: MemberDelta[] } }
  | { methodName: "UpdateGroup"; request: { displayName?: string; description?: string }; response: { before: GroupFields; after: GroupFields } }
  | { methodName: "DeleteGroup"; request: Record<string, never>; response: { memberDeltas: MemberDelta[]; removedFrom: string[]; rewrittenBindings: Array<{ resource: string; role: string }>; before: GroupFields } }
  | { methodName: "CreateMembership"; request: { member: string }; response: { memberDeltas: MemberDelta[] } }
  | { methodName: "DeleteMembership"; request: { member: string }; response: { memberDeltas: MemberDelta[] } };

interface GroupFields {
  displayName: string;
  description: string;
}

function audit(m: MutationScope, email: string, a: GroupActivity): void {
  m.audit({ methodName: a.methodName, serviceName: SERVICE, resourceName: `groups/${email}`, request: a.request as Prisma.InputJsonValue, response: a.response as unknown as Prisma.InputJsonValue });
}

/** A group email from a path, canonical; INVALID_ARGUMENT when it is not an email. */
export function groupEmail(raw: string): string {
  const r = checkEmail(raw);
  if (!r.ok) throw invalid("email", r.error);
  return r.value;
}

interface Authorizer {
  requireForDomain(permission: string, email: string): Promise<void>;
}

/** Rule 1 for a group, refused with the group's name — the same words whether or not it exists. */
async function requireGroup(a: Authorizer, permission: string, email: string): Promise<void> {
  try {
    await a.requireForDomain(permission, email);
  } catch (e) {
    if (e instanceof AppError && e.code === "PERMISSION_DENIED") throw permissionDenied(permission, `groups/${email}`);
    throw e;
  }
}

function toGroup(g: { email: string; displayName: string; description: string; createdAt: Date; updatedAt: Date }): GroupJson {
  return {
    name: `groups/${g.email}`,
    groupKey: { id: g.email },
    email: g.email,
    displayName: g.displayName,
    description: g.description,
    createTime: g.createdAt.toISOString(),
    updateTime: g.updatedAt.toISOString(),
  };
}

function memberInfo(member: string): { preferredMemberKey: { id: string }; type: (typeof MEMBER_TYPES)[number] } {
  const p = parseMember(member);
  if (!p.ok) return { preferredMemberKey: { id: member }, type: "OTHER_TYPE" };
  const v = p.value;
  switch (v.kind) {
    case "user":
      return { preferredMemberKey: { id: v.email }, type: "USER" };
    case "serviceAccount":
      return { preferredMemberKey: { id: v.email }, type: "SERVICE_ACCOUNT" };
    case "group":
      return { preferredMemberKey: { id: v.email }, type: "GROUP" };
    case "deleted":
      return { preferredMemberKey: { id: v.email }, type: "OTHER_TYPE" };
    default:
      return { preferredMemberKey: { id: v.key }, type: "OTHER_TYPE" };
  }
}

function toMembership(email: string, row: { member: string; createdAt: Date }): MembershipJson {
  return { name: `groups/${email}/memberships/${row.member}`, member: row.member, ...memberInfo(row.member), roles: [{ name: "MEMBER" }], createTime: row.createdAt.toISOString() };
}

const groupSelect = { email: true, displayName: true, description: true, createdAt: true, updatedAt: true } as const;

async function existingGroup(db: Db, email: string) {
  const g = await db.group.findUnique({ where: { email }, select: groupSelect });
  if (!g) throw new AppError("NOT_FOUND", `group ${email} does not exist`);
  return g;
}

/**
 * Nested groups among `added` must exist and be visible to the actor (nesting one is naming it),
 * and the nesting must not close a cycle (the core's validateGroupMembership).
 */
async function checkNesting(m: MutationScope, email: string, added: readonly string[], path: string): Promise<void> {
  const nested = added.filter((k) => k.startsWith("group:")).map((k) => k.slice("group:".length));
  if (nested.length === 0) return;
  for (const inner of nested) {
    if (inner === email) continue; // a cycle: reported below
    await requireGroup(m, "cloudidentity.groups.get", inner);
    if (!(await m.tx.group.findUnique({ where: { email: inner }, select: { email: true } }))) throw invalid(path, `group ${inner} does not exist`);
  }
  // Only group-in-group edges can close a cycle.
  const edges = await m.tx.groupMember.findMany({ where: { member: { startsWith: "group:" } }, select: { groupEmail: true, member: true } });
  const byGroup = new Map<string, string[]>();
  for (const e of edges) byGroup.set(e.groupEmail, [...(byGroup.get(e.groupEmail) ?? []), e.member]);
  const r = validateGroupMembership(
    [...byGroup].map(([g, members]) => ({ email: g, members })),
    email,
    [...(byGroup.get(email) ?? []), ...nested.map((g) => `group:${g}`)],
  );
  if (!r.ok) throwIssues(r.errors.map((e) => ({ path, message: e.message })));
}

/** The guard rails for members just added (after the writes): grants as if direct, and no denial lifted from the actor. */
async function guardMembershipChange(m: MutationScope, email: string, added: readonly string[]): Promise<void> {
  if (!m.before) return;
  const after = (await m.after())!;
  checkMembershipGrants(m.before, after, m.actor, email, added, m.now);
  checkNoDenialLifted(m.before, after, m.actor);
}

export async function createGroup(ctx: AdminContext, input: unknown): Promise<{ group: GroupJson; revision: bigint | null }> {
  const data = parse(ZCreateGroup, input);
  const email = (data.email ?? data.groupKey?.id)!;
  const members = [...new Set(data.members ?? [])];
  const { value, revision } = await runMutation(ctx, async (m) => {
    await requireGroup(m, "cloudidentity.groups.create", email);
    if (await m.tx.group.findUnique({ where: { email }, select: { email: true } })) throw new AppError("ALREADY_EXISTS", `group ${email} already exists`);
    if (await m.tx.principal.findUnique({ where: { email }, select: { email: true } })) throw new AppError("ALREADY_EXISTS", `a user or service account already has the email ${email}`);
    await checkNesting(m, email, members, "members");
    await m.write.upsertGroup({ email, displayName: data.displayName ?? "", description: data.description ?? "", members });
    await guardMembershipChange(m, email, members);
    audit(m, email, {
      methodName: "CreateGroup",
      request: { email, displayName: data.displayName ?? "", description: data.description ?? "", members },
      response: { memberDeltas: members.map((member) => ({ action: "ADD", member })) },
    });
    return toGroup(await existingGroup(m.tx, email));
  });
  return { group: value, revision };
}

export async function getGroup(ctx: AdminContext, rawEmail: string): Promise<GroupJson> {
  const email = groupEmail(rawEmail);
  await requireGroup(reader(ctx), "cloudidentity.groups.get", email);
  return toGroup(await existingGroup(ctx.db, email));
}

/** Which groups the actor may list: a database filter (null: all). PERMISSION_DENIED when none. */
async function visibleGroups(ctx: AdminContext, permission: string): Promise<Prisma.GroupWhereInput | null> {
  if (ctx.actor.kind === "system") return null;
  const r = reader(ctx);
  const snapshot = r.snapshot;
  // As authorizeForDomain: a domain belongs to an organization only while that organization exists.
  const orgDomains = [...(await domainOrganizations(ctx.db))].filter(([, org]) => snapshot?.nodes.has(org));
  const allowed = orgDomains.filter(([, org]) => r.can(permission, org)).map(([d]) => d);
  let elsewhere = true;
  try {
    r.requireInstance(permission);
  } catch {
    elsewhere = false;
  }
  if (allowed.length === 0 && !elsewhere) throw permissionDenied(permission, "groups");
  return {
    OR: [
      ...allowed.map((d) => ({ email: { endsWith: `@${d}` } })),
      ...(elsewhere ? [{ AND: orgDomains.map(([d]) => ({ NOT: { email: { endsWith: `@${d}` } } })) }] : []),
    ],
  };
}

export async function listGroups(ctx: AdminContext, query: PageQuery): Promise<{ groups: GroupJson[]; nextPageToken?: string }> {
  const visible = await visibleGroups(ctx, "cloudidentity.groups.list");
  const after = decodePageToken(query.pageToken);
  const rows = await ctx.db.group.findMany({
    where: {
      AND: [
        ...(visible ? [visible] : []),
        { email: { ...(after !== undefined ? { gt: after } : {}), ...(query.filter ? { contains: query.filter, mode: "insensitive" as const } : {}) } },
      ],
    },
    orderBy: { email: "asc" },
    take: query.pageSize + 1,
    select: groupSelect,
  });
  const page = pageOf(rows, query.pageSize, (g) => g.email);
  return { groups: page.items.map(toGroup), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

export async function updateGroup(ctx: AdminContext, rawEmail: string, input: unknown): Promise<{ group: GroupJson; revision: bigint | null }> {
  const email = groupEmail(rawEmail);
  const data = parse(ZUpdateGroup, input);
  const { value, revision } = await runMutation(ctx, async (m) => {
    await requireGroup(m, "cloudidentity.groups.update", email);
    const current = await existingGroup(m.tx, email);
    const next = { displayName: data.displayName ?? current.displayName, description: data.description ?? current.description };
    if (next.displayName === current.displayName && next.description === current.description) return toGroup(current);
    await m.write.upsertGroup({ email, ...next });
    audit(m, email, {
      methodName: "UpdateGroup",
      request: { ...(data.displayName !== undefined ? { displayName: data.displayName } : {}), ...(data.description !== undefined ? { description: data.description } : {}) },
      response: { before: { displayName: current.displayName, description: current.description }, after: next },
    });
    return toGroup(await existingGroup(m.tx, email));
  });
  return { group: value, revision };
}

/**
 * Deletes a group. Its memberships in other groups and the bindings naming it become
 * `deleted:group:{email}?uid=…` (row writer), so a new group with the same email inherits nothing.
 */
export async function deleteGroup(ctx: AdminContext, rawEmail: string): Promise<{ revision: bigint | null }> {
  const email = groupEmail(rawEmail);
  const { revision } = await runMutation(ctx, async (m) => {
    await requireGroup(m, "cloudidentity.groups.delete", email);
    const current = await existingGroup(m.tx, email);
    const key = `group:${email}`;
    const [members, parents, bindings] = await Promise.all([
      m.tx.groupMember.findMany({ where: { groupEmail: email }, orderBy: { member: "asc" }, select: { member: true } }),
      m.tx.groupMember.findMany({ where: { member: key }, orderBy: { groupEmail: "asc" }, select: { groupEmail: true } }),
      m.tx.bindingMember.findMany({ where: { member: key }, select: { binding: { select: { policyResourceName: true, role: true } } } }),
    ]);
    await m.write.deleteGroup(email);
    if (m.before) checkNoDenialLifted(m.before, (await m.after())!, m.actor);
    audit(m, email, {
      methodName: "DeleteGroup",
      request: {},
      response: {
        memberDeltas: members.map((r) => ({ action: "REMOVE", member: r.member })),
        removedFrom: parents.map((p) => `groups/${p.groupEmail}`),
        rewrittenBindings: bindings.map((b) => ({ resource: b.binding.policyResourceName, role: b.binding.role })),
        before: { displayName: current.displayName, description: current.description },
      },
    });
  });
  return { revision };
}

/** The member an add request names: its member string, or the kind of account its email belongs to. */
async function resolveAddedMember(db: Db, data: z.infer<typeof ZAddGroupMember>): Promise<string> {
  if (data.member !== undefined) return data.member;
  const id = data.preferredMemberKey!.id;
  if (await db.group.findUnique({ where: { email: id }, select: { email: true } })) return `group:${id}`;
  const p = await db.principal.findUnique({ where: { email: id }, select: { kind: true } });
  if (p) return `${p.kind === "USER" ? "user" : "serviceAccount"}:${id}`;
  throw invalid("preferredMemberKey.id", `no group, user or service account has the email ${id}; name the member with member: "user:${id}"`);
}

export async function addGroupMember(ctx: AdminContext, rawEmail: string, input: unknown): Promise<{ membership: MembershipJson; revision: bigint | null }> {
  const email = groupEmail(rawEmail);
  const data = parse(ZAddGroupMember, input);
  const { value, revision } = await runMutation(ctx, async (m) => {
    await requireGroup(m, "cloudidentity.groups.update", email);
    await existingGroup(m.tx, email);
    const member = await resolveAddedMember(m.tx, data);
    if (await m.tx.groupMember.findUnique({ where: { groupEmail_member: { groupEmail: email, member } }, select: { member: true } })) {
      throw new AppError("ALREADY_EXISTS", `${member} is already a member of ${email}`);
    }
    await checkNesting(m, email, [member], "member");
    await m.write.addGroupMember(email, member);
    await guardMembershipChange(m, email, [member]);
    audit(m, email, { methodName: "CreateMembership", request: { member }, response: { memberDeltas: [{ action: "ADD", member }] } });
    const row = await m.tx.groupMember.findUniqueOrThrow({ where: { groupEmail_member: { groupEmail: email, member } }, select: { member: true, createdAt: true } });
    return toMembership(email, row);
  });
  return { membership: value, revision };
}

/** The member a path names: a member string, or an email that names exactly one current member. */
async function resolveListedMember(db: Db, email: string, raw: string): Promise<string> {
  const p = parseMember(raw);
  if (p.ok) return p.value.key;
  const e = checkEmail(raw);
  if (!e.ok) throw invalid("member", p.error);
  const rows = await db.groupMember.findMany({ where: { groupEmail: email, member: { in: ["user", "serviceAccount", "group"].map((k) => `${k}:${e.value}`) } }, select: { member: true } });
  if (rows.length === 1) return rows[0]!.member;
  if (rows.length === 0) throw new AppError("NOT_FOUND", `${e.value} is not a member of ${email}`);
  throw invalid("member", `${e.value} names more than one member of ${email}: give the member string (${rows.map((r) => r.member).join(", ")})`);
}

export async function removeGroupMember(ctx: AdminContext, rawEmail: string, rawMember: string): Promise<{ revision: bigint | null }> {
  const email = groupEmail(rawEmail);
  const { revision } = await runMutation(ctx, async (m) => {
    await requireGroup(m, "cloudidentity.groups.update", email);
    await existingGroup(m.tx, email);
    const member = await resolveListedMember(m.tx, email, rawMember);
    if (!(await m.write.removeGroupMember(email, member))) throw new AppError("NOT_FOUND", `${member} is not a member of ${email}`);
    // Leaving a group named in a deny rule can lift a denial from oneself.
    if (m.before) checkNoDenialLifted(m.before, (await m.after())!, m.actor);
    audit(m, email, { methodName: "DeleteMembership", request: { member }, response: { memberDeltas: [{ action: "REMOVE", member }] } });
  });
  return { revision };
}

export async function listGroupMembers(ctx: AdminContext, rawEmail: string, query: PageQuery): Promise<{ memberships: MembershipJson[]; nextPageToken?: string }> {
  const email = groupEmail(rawEmail);
  await requireGroup(reader(ctx), "cloudidentity.groups.get", email);
  await existingGroup(ctx.db, email);
  const after = decodePageToken(query.pageToken);
  const rows = await ctx.db.groupMember.findMany({
    where: { groupEmail: email, member: { ...(after !== undefined ? { gt: after } : {}), ...(query.filter ? { contains: query.filter, mode: "insensitive" as const } : {}) } },
    orderBy: { member: "asc" },
    take: query.pageSize + 1,
    select: { member: true, createdAt: true },
  });
  const page = pageOf(rows, query.pageSize, (r) => r.member);
  return { memberships: page.items.map((r) => toMembership(email, r)), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

/**
 * Everyone in the group through any nesting (Cloud Identity's searchTransitiveMemberships): each
 * member once, DIRECT, INDIRECT or both. Nested groups are listed too (type GROUP).
 */
export async function listEffectiveGroupMembers(ctx: AdminContext, rawEmail: string, query: PageQuery): Promise<{ members: EffectiveMemberJson[]; nextPageToken?: string }> {
  const email = groupEmail(rawEmail);
  await requireGroup(reader(ctx), "cloudidentity.groups.get", email);
  await existingGroup(ctx.db, email);
  const relation = new Map<string, { direct: boolean; indirect: boolean }>();
  const seen = new Set([email]);
  let level = [email];
  let depth = 0;
  while (level.length > 0) {
    const rows = await ctx.db.groupMember.findMany({ where: { groupEmail: { in: level } }, select: { member: true } });
    const next: string[] = [];
    for (const { member } of rows) {
      const r = relation.get(member) ?? { direct: false, indirect: false };
      if (depth === 0) r.direct = true;
      else r.indirect = true;
      relation.set(member, r);
      if (member.startsWith("group:")) {
        const g = member.slice("group:".length);
        if (!seen.has(g)) {
          seen.add(g);
          next.push(g);
        }
      }
    }
    level = next;
    depth++;
  }
  const after = decodePageToken(query.pageToken);
  const filter = query.filter?.toLowerCase();
  const all = [...relation.keys()].filter((k) => (after === undefined || k > after) && (!filter || k.toLowerCase().includes(filter))).sort();
  const page = pageOf(all.slice(0, query.pageSize + 1), query.pageSize, (k) => k);
  return {
    members: page.items.map((k) => {
      const r = relation.get(k)!;
      return { member: k, ...memberInfo(k), relationType: r.direct && r.indirect ? "DIRECT_AND_INDIRECT" : r.direct ? "DIRECT" : "INDIRECT" };
    }),
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
  };
}

const TAG = "Groups";

export const groupRoutes = [
  route({
    method: "GET",
    path: "/api/v1/groups",
    tag: TAG,
    summary: "List the groups the caller may list (cloudidentity.groups.list on the organization of each group's domain)",
    query: ZPageQuery,
    response: z.object({ groups: z.array(ZGroup), nextPageToken: z.string().optional() }),
    handler: async (admin, req) => ({ body: await listGroups(admin, req.query) }),
  }),
  route({
    method: "POST",
    path: "/api/v1/groups",
    tag: TAG,
    summary: "Create a group, optionally with members (cloudidentity.groups.create; each member is checked as a grant of the group's roles)",
    body: ZCreateGroup,
    response: ZGroup,
    handler: async (admin, req) => {
      const { group, revision } = await createGroup(admin, req.body);
      return { status: 201, body: group, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/groups/{email}",
    tag: TAG,
    summary: "Get a group (cloudidentity.groups.get)",
    response: ZGroup,
    handler: async (admin, req) => ({ body: await getGroup(admin, req.params.email!) }),
  }),
  route({
    method: "PATCH",
    path: "/api/v1/groups/{email}",
    tag: TAG,
    summary: "Change a group's display name or description (cloudidentity.groups.update)",
    body: ZUpdateGroup,
    response: ZGroup,
    handler: async (admin, req) => {
      const { group, revision } = await updateGroup(admin, req.params.email!, req.body);
      return { body: group, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/groups/{email}",
    tag: TAG,
    summary: "Delete a group; bindings and memberships naming it become deleted:group:…?uid= (cloudidentity.groups.delete)",
    response: z.object({}),
    handler: async (admin, req) => {
      const { revision } = await deleteGroup(admin, req.params.email!);
      return { body: {}, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/groups/{email}/members",
    tag: TAG,
    summary: "List a group's direct members (cloudidentity.groups.get)",
    query: ZPageQuery,
    response: z.object({ memberships: z.array(ZMembership), nextPageToken: z.string().optional() }),
    handler: async (admin, req) => ({ body: await listGroupMembers(admin, req.params.email!, req.query) }),
  }),
  route({
    method: "POST",
    path: "/api/v1/groups/{email}/members",
    tag: TAG,
    summary: "Add a member: user:, serviceAccount:, group: (nesting; cycles refused) or deleted: (cloudidentity.groups.update; refused when it would grant more than the caller could grant directly)",
    body: ZAddGroupMember,
    response: ZMembership,
    handler: async (admin, req) => {
      const { membership, revision } = await addGroupMember(admin, req.params.email!, req.body);
      return { status: 201, body: membership, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/groups/{email}/members/{member}",
    tag: TAG,
    summary: "Remove a member, named by its member string or its email (cloudidentity.groups.update)",
    response: z.object({}),
    handler: async (admin, req) => {
      const { revision } = await removeGroupMember(admin, req.params.email!, req.params.member!);
      return { body: {}, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/groups/{email}/effectiveMembers",
    tag: TAG,
    summary: "Everyone in the group through any nesting, each with its relation (DIRECT, INDIRECT, DIRECT_AND_INDIRECT) (cloudidentity.groups.get)",
    query: ZPageQuery,
    response: z.object({ members: z.array(ZEffectiveMember), nextPageToken: z.string().optional() }),
    handler: async (admin, req) => ({ body: await listEffectiveGroupMembers(admin, req.params.email!, req.query) }),
  }),
];
