// Access levels in Access Context Manager's shape: `accessPolicies/{policy}/accessLevels/{name}`
// with title, description and either `basic` ({ combiningFunction, conditions: [{ ipSubnetworks,
// regions, members, requiredAccessLevels, negate }] }) or `custom` ({ expr: { expression } }, CEL).
// Writes answer with the level itself (Google answers with a long-running operation).
//
// Authorisation: accesscontextmanager.accessLevels.* instance-wide (authz.ts authorizeInstance):
// levels are not in the resource hierarchy, and any binding anywhere may name any of them.
//
// Validation: the core's validateAccessLevel (CEL compiled, CIDRs parsed, members, regions), then
// references: required levels exist in the same access policy and no requirement cycle forms.
//
// Deleting a level that something still names is refused (409 FAILED_PRECONDITION, the references
// listed): once a level is gone, `'…/corp' in request.auth.access_levels` is false everywhere, and
// a condition that negates it (`!('…/untrusted' in …)` in an allow binding, or a deny rule that
// fires while a level holds) would then grant more, silently. Remove the references first.
//
// Audit: serviceName accesscontextmanager.googleapis.com, resourceName the level's name;
// `response` holds the level before and after.
import { z } from "zod";
import { parseMember, validateAccessLevel, type AccessLevel } from "@/lib/policy";
import { AppError } from "@/lib/errors";
import { Prisma } from "@/lib/generated/prisma/client";
import type { AdminContext } from "./context";
import { permissionDenied } from "./authz";
import { runMutation, type MutationScope } from "./mutation";
import { decodePageToken, pageOf, ZPageQuery, type PageQuery } from "./paging";
import { reader } from "./reader";
import { revisionHeader, route } from "./routes";
import { invalid, parse, throwIssues } from "./validation";

type Tx = Prisma.TransactionClient;
type Db = AdminContext["db"] | Tx;

const SERVICE = "accesscontextmanager.googleapis.com";
const POLICY_ID = /^[a-zA-Z0-9_-]{1,64}$/;
const LEVEL_ID = /^[a-zA-Z0-9_]{1,50}$/;
const LEVEL_NAME = /^accessPolicies\/[a-zA-Z0-9_-]{1,64}\/accessLevels\/[a-zA-Z0-9_]{1,50}$/;

/** A basic condition's member (user: or serviceAccount:), canonical. */
const ZLevelMember = z
  .string()
  .max(512)
  .transform((s, ctx) => {
    const r = parseMember(s);
    if (r.ok && (r.value.kind === "user" || r.value.kind === "serviceAccount")) return r.value.key;
    ctx.addIssue({ code: "custom", message: r.ok ? `${s}: access-level members are user: or serviceAccount:` : r.error });
    return z.NEVER;
  });

export const ZBasicLevel = z.strictObject({
  combiningFunction: z.enum(["AND", "OR"]).optional(),
  conditions: z
    .array(
      z.strictObject({
        ipSubnetworks: z.array(z.string().max(64)).max(500).optional(),
        regions: z.array(z.string().regex(/^[A-Z]{2}$/, "regions are ISO 3166-1 alpha-2 codes (upper case)")).max(300).optional(),
        members: z.array(ZLevelMember).max(500).optional(),
        requiredAccessLevels: z.array(z.string().regex(LEVEL_NAME, "required levels are full names: accessPolicies/{policy}/accessLevels/{name}")).max(50).optional(),
        negate: z.boolean().optional(),
      }),
    )
    .min(1)
    .max(100),
});

export const ZCustomLevel = z.strictObject({ expr: z.strictObject({ expression: z.string().min(1).max(12_000) }) });

const levelFields = {
  title: z.string().max(100).optional(),
  description: z.string().max(2000).optional(),
  basic: ZBasicLevel.optional(),
  custom: ZCustomLevel.optional(),
};

export const ZCreateAccessLevel = z.strictObject({ name: z.string().regex(LEVEL_NAME, "access levels are named accessPolicies/{policy}/accessLevels/{name}"), ...levelFields });
export const ZPatchAccessLevel = z.strictObject({ name: z.string().max(300).optional(), ...levelFields });
export const ZPatchAccessLevelQuery = z.object({
  /** Comma-separated: title, description, basic, custom. Default: the fields the body has. */
  updateMask: z.string().max(256).optional(),
});

export const ZAccessLevelJson = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  basic: ZBasicLevel.optional(),
  custom: ZCustomLevel.optional(),
});
export type AccessLevelJson = z.infer<typeof ZAccessLevelJson>;

type LevelFields = Omit<AccessLevelJson, "name">;

/** The typed admin-activity payloads of this module, one per method. */
export type AccessLevelActivity =
  | { methodName: "CreateAccessLevel"; request: AccessLevelJson; response: { after: LevelFields } }
  | { methodName: "UpdateAccessLevel"; request: { updateMask: string[]; accessLevel: Partial<LevelFields> }; response: { before: LevelFields; after: LevelFields } }
  | { methodName: "DeleteAccessLevel"; request: Record<string, never>; response: { before: LevelFields } };

function audit(m: MutationScope, name: string, a: AccessLevelActivity): void {
  m.audit({ methodName: a.methodName, serviceName: SERVICE, resourceName: name, request: a.request as unknown as Prisma.InputJsonValue, response: a.response as unknown as Prisma.InputJsonValue });
}

interface LevelRow {
  name: string;
  title: string;
  description: string;
  basic: Prisma.JsonValue;
  customExpression: string | null;
}
const levelSelect = { name: true, title: true, description: true, basic: true, customExpression: true } as const;

function toJson(r: LevelRow): AccessLevelJson {
  return {
    name: r.name,
    title: r.title,
    description: r.description,
    ...(r.basic !== null ? { basic: r.basic as unknown as z.infer<typeof ZBasicLevel> } : {}),
    ...(r.customExpression !== null ? { custom: { expr: { expression: r.customExpression } } } : {}),
  };
}

function fieldsOf(l: AccessLevelJson): LevelFields {
  const { name: _name, ...rest } = l;
  return rest;
}

/** `accessPolicies/{policy}/accessLevels/{level}` from a path's parts; INVALID_ARGUMENT when it cannot be one. */
export function accessLevelName(policy: string, level: string): string {
  if (!POLICY_ID.test(policy)) throw invalid("accessPolicy", "access policy ids are letters, digits, dashes or underscores");
  if (!LEVEL_ID.test(level)) throw invalid("accessLevel", "access level ids are 1–50 letters, digits or underscores");
  return `accessPolicies/${policy}/accessLevels/${level}`;
}

function policyOf(name: string): string {
  return name.slice(0, name.indexOf("/accessLevels/"));
}

async function existingLevel(db: Db, name: string): Promise<LevelRow> {
  const r = await db.accessLevel.findUnique({ where: { name }, select: levelSelect });
  if (!r) throw new AppError("NOT_FOUND", `access level ${name} does not exist`);
  return r;
}

/**
 * The core's validation, then the references it cannot see: every required level exists (this
 * write included) in the same access policy, and requirements form no cycle.
 */
async function validateLevel(tx: Tx, level: AccessLevelJson): Promise<void> {
  const core: AccessLevel = { name: level.name, title: level.title, ...(level.basic ? { basic: level.basic } : {}), ...(level.custom ? { custom: level.custom } : {}) };
  const r = validateAccessLevel(core);
  if (!r.ok) throwIssues(r.errors);
  const required = level.basic?.conditions.flatMap((c, i) => (c.requiredAccessLevels ?? []).map((n, j) => ({ n, path: `basic.conditions[${i}].requiredAccessLevels[${j}]` }))) ?? [];
  if (required.length === 0) return;
  const all = await tx.accessLevel.findMany({ select: { name: true, basic: true } });
  const requires = new Map(all.map((l) => [l.name, requirementsOf(l.basic)]));
  requires.set(level.name, required.map((x) => x.n));
  const issues = required.flatMap(({ n, path }) =>
    policyOf(n) !== policyOf(level.name)
      ? [{ path, message: `${n} is in another access policy; required levels must be in ${policyOf(level.name)}` }]
      : !requires.has(n)
        ? [{ path, message: `access level ${n} does not exist` }]
        : [],
  );
  throwIssues(issues);
  const cycle = findCycle(level.name, requires);
  if (cycle) throwIssues([{ path: "basic", message: `required access levels would form a cycle: ${cycle.join(" → ")}` }]);
}

function requirementsOf(basic: Prisma.JsonValue): string[] {
  const conditions = (basic as { conditions?: Array<{ requiredAccessLevels?: string[] }> } | null)?.conditions ?? [];
  return conditions.flatMap((c) => c.requiredAccessLevels ?? []);
}

/** A requirement path from `start` back to itself, or null. */
function findCycle(start: string, requires: ReadonlyMap<string, readonly string[]>): string[] | null {
  const done = new Set<string>();
  const visit = (n: string, path: string[]): string[] | null => {
    for (const next of requires.get(n) ?? []) {
      if (next === start) return [...path, next];
      if (done.has(next) || path.includes(next)) continue;
      const c = visit(next, [...path, next]);
      if (c) return c;
    }
    done.add(n);
    return null;
  };
  return visit(start, [start]);
}

/** What still names a level: other levels' requirements and conditions (allow, deny, custom levels). */
async function referencesTo(tx: Tx, name: string): Promise<string[]> {
  // A name is also a prefix of longer names (…/corp of …/corp2): match it whole.
  const whole = new RegExp(`${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![A-Za-z0-9_])`);
  const [levels, bindings, denyRules] = await Promise.all([
    tx.accessLevel.findMany({ where: { name: { not: name } }, select: { name: true, basic: true, customExpression: true } }),
    tx.binding.findMany({ where: { conditionExpression: { contains: name } }, select: { policyResourceName: true, role: true, conditionTitle: true, conditionExpression: true } }),
    tx.denyRule.findMany({ where: { conditionExpression: { contains: name } }, select: { policyName: true, position: true, conditionExpression: true } }),
  ]);
  return [
    ...levels.filter((l) => requirementsOf(l.basic).includes(name) || (l.customExpression !== null && whole.test(l.customExpression))).map((l) => `access level ${l.name}`),
    ...bindings.filter((b) => whole.test(b.conditionExpression ?? "")).map((b) => `the condition "${b.conditionTitle ?? ""}" of ${b.role} on ${b.policyResourceName}`),
    ...denyRules.filter((r) => whole.test(r.conditionExpression ?? "")).map((r) => `rules[${r.position}] of deny policy ${r.policyName}`),
  ];
}

async function writeLevel(m: MutationScope, l: AccessLevelJson): Promise<void> {
  await m.write.upsertAccessLevel({ name: l.name, title: l.title, description: l.description, basic: l.basic, customExpression: l.custom?.expr.expression });
}

export async function createAccessLevel(ctx: AdminContext, policy: string, input: unknown): Promise<{ accessLevel: AccessLevelJson; revision: bigint | null }> {
  const data = parse(ZCreateAccessLevel, input);
  if (policyOf(data.name) !== `accessPolicies/${policy}`) throw invalid("name", `the level must be in accessPolicies/${policy}`);
  const level: AccessLevelJson = { name: data.name, title: data.title ?? "", description: data.description ?? "", ...(data.basic ? { basic: data.basic } : {}), ...(data.custom ? { custom: data.custom } : {}) };
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.requireInstance("accesscontextmanager.accessLevels.create");
    if (await m.tx.accessLevel.findUnique({ where: { name: level.name }, select: { name: true } })) throw new AppError("ALREADY_EXISTS", `access level ${level.name} already exists`);
    await validateLevel(m.tx, level);
    await writeLevel(m, level);
    audit(m, level.name, { methodName: "CreateAccessLevel", request: level, response: { after: fieldsOf(level) } });
    return toJson(await existingLevel(m.tx, level.name));
  });
  return { accessLevel: value, revision };
}

/** Instance-wide reads: refused with the level's name, the same whether or not it exists. */
function requireRead(ctx: AdminContext, permission: string, name: string): void {
  try {
    reader(ctx).requireInstance(permission);
  } catch (e) {
    if (e instanceof AppError && e.code === "PERMISSION_DENIED") throw permissionDenied(permission, name);
    throw e;
  }
}

export async function getAccessLevel(ctx: AdminContext, name: string): Promise<AccessLevelJson> {
  requireRead(ctx, "accesscontextmanager.accessLevels.get", name);
  return toJson(await existingLevel(ctx.db, name));
}

/** Levels of one access policy, or of all (`-`, as Google's wildcard parent). */
export async function listAccessLevels(ctx: AdminContext, policy: string, query: PageQuery): Promise<{ accessLevels: AccessLevelJson[]; nextPageToken?: string }> {
  if (policy !== "-" && !POLICY_ID.test(policy)) throw invalid("accessPolicy", "access policy ids are letters, digits, dashes or underscores");
  requireRead(ctx, "accesscontextmanager.accessLevels.list", `accessPolicies/${policy}`);
  const after = decodePageToken(query.pageToken);
  const rows = await ctx.db.accessLevel.findMany({
    where: {
      AND: [
        ...(policy !== "-" ? [{ name: { startsWith: `accessPolicies/${policy}/accessLevels/` } }] : []),
        { name: { ...(after !== undefined ? { gt: after } : {}), ...(query.filter ? { contains: query.filter, mode: "insensitive" as const } : {}) } },
      ],
    },
    orderBy: { name: "asc" },
    take: query.pageSize + 1,
    select: levelSelect,
  });
  const page = pageOf(rows, query.pageSize, (r) => r.name);
  return { accessLevels: page.items.map(toJson), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

const MASKABLE = ["title", "description", "basic", "custom"] as const;
type Maskable = (typeof MASKABLE)[number];

/**
 * Changes a level. Google's updateMask names the fields to take from the body (default: those it
 * has); setting `basic` clears `custom` and the other way round — a level is one or the other.
 */
export async function patchAccessLevel(ctx: AdminContext, name: string, input: unknown, updateMask?: string): Promise<{ accessLevel: AccessLevelJson; revision: bigint | null }> {
  const data = parse(ZPatchAccessLevel, input);
  if (data.name !== undefined && data.name !== name) throw invalid("name", "an access level's name cannot change");
  const mask: Maskable[] = [];
  for (const f of updateMask !== undefined ? updateMask.split(",").map((s) => s.trim()).filter(Boolean) : MASKABLE.filter((k) => data[k] !== undefined)) {
    if (!(MASKABLE as readonly string[]).includes(f)) throw invalid("updateMask", `${JSON.stringify(f)} is not a field of an access level that can change (${MASKABLE.join(", ")})`);
    mask.push(f as Maskable);
  }
  if (data.basic && data.custom) throw invalid("custom", "an access level is either basic or custom, not both");
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.requireInstance("accesscontextmanager.accessLevels.update");
    const current = toJson(await existingLevel(m.tx, name));
    const kind = mask.includes("basic") && data.basic ? "basic" : mask.includes("custom") && data.custom ? "custom" : current.basic ? "basic" : "custom";
    const next: AccessLevelJson = {
      name,
      title: mask.includes("title") ? (data.title ?? "") : current.title,
      description: mask.includes("description") ? (data.description ?? "") : current.description,
      ...(kind === "basic" ? { basic: mask.includes("basic") ? data.basic : current.basic } : {}),
      ...(kind === "custom" ? { custom: mask.includes("custom") ? data.custom : current.custom } : {}),
    };
    if (JSON.stringify(next) === JSON.stringify(current)) return current;
    await validateLevel(m.tx, next);
    await writeLevel(m, next);
    audit(m, name, {
      methodName: "UpdateAccessLevel",
      request: { updateMask: mask, accessLevel: Object.fromEntries(mask.map((k) => [k, data[k] ?? null])) as Partial<LevelFields> },
      response: { before: fieldsOf(current), after: fieldsOf(next) },
    });
    return toJson(await existingLevel(m.tx, name));
  });
  return { accessLevel: value, revision };
}

export async function deleteAccessLevel(ctx: AdminContext, name: string): Promise<{ revision: bigint | null }> {
  const { revision } = await runMutation(ctx, async (m) => {
    m.requireInstance("accesscontextmanager.accessLevels.delete");
    const current = toJson(await existingLevel(m.tx, name));
    const refs = await referencesTo(m.tx, name);
    if (refs.length > 0) {
      throw new AppError(
        "FAILED_PRECONDITION",
        `access level ${name} is still named by ${refs.slice(0, 5).join("; ")}${refs.length > 5 ? `; … (${refs.length} in all)` : ""}. Remove those references first: a condition naming a level that no longer exists can grant more than intended.`,
        refs.map((message) => ({ message })),
      );
    }
    await m.write.deleteAccessLevel(name);
    audit(m, name, { methodName: "DeleteAccessLevel", request: {}, response: { before: fieldsOf(current) } });
  });
  return { revision };
}

const TAG = "Access levels";
const BASE = "/api/v1/accessPolicies/{policy}/accessLevels";

export const accessLevelRoutes = [
  route({
    method: "GET",
    path: BASE,
    tag: TAG,
    summary: "List access levels of an access policy, or of all with policy '-' (accesscontextmanager.accessLevels.list, instance-wide)",
    query: ZPageQuery,
    response: z.object({ accessLevels: z.array(ZAccessLevelJson), nextPageToken: z.string().optional() }),
    handler: async (admin, req) => ({ body: await listAccessLevels(admin, req.params.policy!, req.query) }),
  }),
  route({
    method: "POST",
    path: BASE,
    tag: TAG,
    summary: "Create an access level, basic or custom (accesscontextmanager.accessLevels.create, instance-wide)",
    body: ZCreateAccessLevel,
    response: ZAccessLevelJson,
    handler: async (admin, req) => {
      const { accessLevel, revision } = await createAccessLevel(admin, req.params.policy!, req.body);
      return { status: 201, body: accessLevel, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "GET",
    path: `${BASE}/{level}`,
    tag: TAG,
    summary: "Get an access level (accesscontextmanager.accessLevels.get, instance-wide)",
    response: ZAccessLevelJson,
    handler: async (admin, req) => ({ body: await getAccessLevel(admin, accessLevelName(req.params.policy!, req.params.level!)) }),
  }),
  route({
    method: "PATCH",
    path: `${BASE}/{level}`,
    tag: TAG,
    summary: "Change an access level (updateMask: title, description, basic, custom) (accesscontextmanager.accessLevels.update, instance-wide)",
    body: ZPatchAccessLevel,
    query: ZPatchAccessLevelQuery,
    response: ZAccessLevelJson,
    handler: async (admin, req) => {
      const { accessLevel, revision } = await patchAccessLevel(admin, accessLevelName(req.params.policy!, req.params.level!), req.body, req.query.updateMask);
      return { body: accessLevel, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "DELETE",
    path: `${BASE}/{level}`,
    tag: TAG,
    summary: "Delete an access level; refused (409) while a condition or another level still names it (accesscontextmanager.accessLevels.delete, instance-wide)",
    response: z.object({}),
    handler: async (admin, req) => {
      const { revision } = await deleteAccessLevel(admin, accessLevelName(req.params.policy!, req.params.level!));
      return { body: {}, headers: revisionHeader(revision) };
    },
  }),
];
