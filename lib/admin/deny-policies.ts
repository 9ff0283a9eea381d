// Deny policies in IAM v2's shape: `policies/{urlencoded attachment point}/denypolicies/{id}`,
// the attachment point being `cloudresourcemanager.googleapis.com/{organizations|folders|projects}/{id}`
// (%2F-escaped in the path, as Google's clients send it), with displayName, etag and
// rules[{ description, denyRule: { deniedPrincipals, exceptionPrincipals, deniedPermissions,
// exceptionPermissions, denialCondition } }]. Writes answer with the policy itself (Google answers
// with a long-running operation); Google's PUT for an update is PATCH here, with the whole policy.
//
// Authorisation: iam.denypolicies.{create,get,list,update,delete} on the attachment point; a
// missing attachment point or policy answers like a refused one for a caller without it.
//
// Validation: the core's validateDenyPolicy (principals v1 or v2, permissions known or
// wildcards, CEL conditions). Stale etag → 409 ABORTED.
//
// Guard rail (authz.ts checkNoDenialLifted): no change may lift a denial from the caller — an
// exception naming it (directly, by group, by domain), a rule, denied principal or permission
// removed, an exception permission added, a condition changed. Someone else must do that.
//
// Audit: serviceName iam.googleapis.com, resourceName the policy's name; `response` holds the
// policy's rules before and after.
import { z } from "zod";
import { validateDenyPolicy, type DenyPolicy } from "@/lib/policy";
import { AppError } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import { denyPolicyName, type DenyRuleInput } from "@/lib/db/writers";
import type { AdminContext } from "./context";
import { checkNoDenialLifted } from "./authz";
import { runMutation, type MutationScope } from "./mutation";
import { decodePageToken, pageOf, ZPageQuery, type PageQuery } from "./paging";
import { reader } from "./reader";
import { revisionHeader, route } from "./routes";
import { invalid, parse, throwIssues } from "./validation";

type Tx = Prisma.TransactionClient;
type Db = AdminContext["db"] | Tx;

const SERVICE = "iam.googleapis.com";
const CRM = "cloudresourcemanager.googleapis.com/";
const POLICY_ID = /^[a-z][a-z0-9-]{0,62}$/;
const ATTACHABLE = /^(organizations|folders|projects)\/[^/]+$/;
const ETAG = /^[A-Za-z0-9+/]+={0,2}$/;

const ZDenyRuleBody = z.strictObject({
  deniedPrincipals: z.array(z.string().min(1).max(512)).min(1).max(500),
  exceptionPrincipals: z.array(z.string().min(1).max(512)).max(500).optional(),
  deniedPermissions: z.array(z.string().min(3).max(256)).min(1).max(500),
  exceptionPermissions: z.array(z.string().min(3).max(256)).max(500).optional(),
  denialCondition: z.strictObject({ title: z.string().max(100).optional(), expression: z.string().min(1).max(12_000) }).optional(),
});

export const ZDenyPolicyRule = z.strictObject({
  description: z.string().max(256).optional(),
  denyRule: ZDenyRuleBody,
});

const policyFields = {
  displayName: z.string().max(100).optional(),
  rules: z.array(ZDenyPolicyRule).min(1).max(500),
};

/** As Google's CreatePolicy: an etag in the body is ignored. */
export const ZCreateDenyPolicy = z.strictObject({ ...policyFields, etag: z.string().max(128).optional() });
export const ZUpdateDenyPolicy = z.strictObject({
  ...policyFields,
  name: z.string().max(600).optional(),
  etag: z.string().max(128).regex(ETAG, "etag must be the base64 string the policy was read with").optional(),
  kind: z.literal("DenyPolicy").optional(),
});
export const ZCreateDenyPolicyQuery = z.object({ policyId: z.string().regex(POLICY_ID, "policy ids are 1–63 lower-case letters, digits and hyphens, starting with a letter") });
export const ZDeleteDenyPolicyQuery = z.object({ etag: z.string().max(128).optional() });

export const ZDenyPolicyJson = z.object({
  name: z.string().describe("policies/{urlencoded attachment point}/denypolicies/{id}"),
  kind: z.literal("DenyPolicy"),
  displayName: z.string(),
  etag: z.string(),
  createTime: z.string(),
  updateTime: z.string(),
  rules: z.array(ZDenyPolicyRule),
});
export type DenyPolicyJson = z.infer<typeof ZDenyPolicyJson>;
type Rule = z.infer<typeof ZDenyPolicyRule>;

interface PolicyFields {
  displayName: string;
  rules: Rule[];
}

/** The typed admin-activity payloads of this module, one per method. */
export type DenyPolicyActivity =
  | { methodName: "CreateDenyPolicy"; request: { policyId: string; policy: PolicyFields }; response: { after: PolicyFields } }
  | { methodName: "UpdateDenyPolicy"; request: { policy: PolicyFields; etag?: string }; response: { before: PolicyFields; after: PolicyFields } }
  | { methodName: "DeleteDenyPolicy"; request: { etag?: string }; response: { before: PolicyFields } };

function audit(m: MutationScope, name: string, a: DenyPolicyActivity): void {
  m.audit({ methodName: a.methodName, serviceName: SERVICE, resourceName: name, request: a.request as unknown as Prisma.InputJsonValue, response: a.response as unknown as Prisma.InputJsonValue });
}

/**
 * The node a deny policy attaches to, from the attachment point of its name
 * (`cloudresourcemanager.googleapis.com/projects/p1`, already %-decoded); INVALID_ARGUMENT otherwise.
 */
export function attachmentNode(point: string): string {
  const node = point.startsWith(CRM) ? point.slice(CRM.length) : null;
  if (!node || !ATTACHABLE.test(node)) {
    throw invalid("attachmentPoint", `deny policies attach to ${CRM}organizations/{id}, …/folders/{id} or …/projects/{id} (%2F-escaped in the path), not ${JSON.stringify(point)}`);
  }
  return node;
}

function checkPolicyId(id: string): void {
  if (!POLICY_ID.test(id)) throw invalid("policyId", "policy ids are 1–63 lower-case letters, digits and hyphens, starting with a letter");
}

const include = { rules: { orderBy: { position: "asc" } } } as const;
type Row = Prisma.DenyPolicyGetPayload<{ include: typeof include }>;

function toRules(row: Row): Rule[] {
  return row.rules.map((r) => ({
    ...(r.description ? { description: r.description } : {}),
    denyRule: {
      deniedPrincipals: r.deniedPrincipals,
      exceptionPrincipals: r.exceptionPrincipals,
      deniedPermissions: r.deniedPermissions,
      exceptionPermissions: r.exceptionPermissions,
      ...(r.conditionExpression !== null ? { denialCondition: { ...(r.conditionTitle ? { title: r.conditionTitle } : {}), expression: r.conditionExpression } } : {}),
    },
  }));
}

function toJson(row: Row): DenyPolicyJson {
  return { name: row.name, kind: "DenyPolicy", displayName: row.displayName, etag: row.etag, createTime: row.createdAt.toISOString(), updateTime: row.updatedAt.toISOString(), rules: toRules(row) };
}

function fieldsOf(p: { displayName?: string; rules: Rule[] }): PolicyFields {
  return { displayName: p.displayName ?? "", rules: p.rules };
}

async function existing(db: Db, node: string, policyId: string): Promise<Row> {
  const row = await db.denyPolicy.findUnique({ where: { name: denyPolicyName(node, policyId) }, include });
  if (!row) throw new AppError("NOT_FOUND", `deny policy ${denyPolicyName(node, policyId)} does not exist`);
  return row;
}

/** The core's validation, with every issue's path in the API's shape (rules[i].denyRule.…). */
function validate(node: string, p: PolicyFields): void {
  const core: DenyPolicy = {
    attachedTo: node,
    rules: p.rules.map((r) => ({
      deniedPrincipals: r.denyRule.deniedPrincipals,
      exceptionPrincipals: r.denyRule.exceptionPrincipals ?? [],
      deniedPermissions: r.denyRule.deniedPermissions,
      exceptionPermissions: r.denyRule.exceptionPermissions ?? [],
      ...(r.denyRule.denialCondition ? { denialCondition: r.denyRule.denialCondition } : {}),
    })),
  };
  const result = validateDenyPolicy(core);
  if (!result.ok) throwIssues(result.errors.map((e) => ({ path: e.path.replace(/^(rules\[\d+\])\./, "$1.denyRule."), message: e.message })));
}

function toInput(p: PolicyFields): { displayName: string; rules: DenyRuleInput[] } {
  return {
    displayName: p.displayName,
    rules: p.rules.map((r) => ({
      ...(r.description ? { description: r.description } : {}),
      deniedPrincipals: r.denyRule.deniedPrincipals,
      exceptionPrincipals: r.denyRule.exceptionPrincipals ?? [],
      deniedPermissions: r.denyRule.deniedPermissions,
      exceptionPermissions: r.denyRule.exceptionPermissions ?? [],
      ...(r.denyRule.denialCondition ? { denialCondition: r.denyRule.denialCondition } : {}),
    })),
  };
}

/** Writes (or, with null, deletes) a deny policy and checks that the caller lifted no denial from itself. */
async function writePolicy(m: MutationScope, node: string, policyId: string, p: PolicyFields | null): Promise<void> {
  await m.write.setDenyPolicy(node, policyId, p ? toInput(p) : null);
  if (m.before) checkNoDenialLifted(m.before, (await m.after())!, m.actor);
}

function checkEtag(etag: string | undefined, current: string): void {
  if (etag !== undefined && etag !== current) throw new AppError("ABORTED", "There were concurrent changes to this deny policy. Read it again and retry with its etag.");
}

/** A system actor has no engine to refuse a missing attachment point: say so plainly. */
async function requireNodeExists(m: MutationScope, node: string): Promise<void> {
  if (m.actor.kind === "system" && !(await m.tx.node.findUnique({ where: { name: node }, select: { name: true } }))) throw new AppError("NOT_FOUND", `${node} does not exist`);
}

export async function createDenyPolicy(ctx: AdminContext, attachmentPoint: string, policyId: string, input: unknown): Promise<{ policy: DenyPolicyJson; revision: bigint | null }> {
  const node = attachmentNode(attachmentPoint);
  checkPolicyId(policyId);
  const data = parse(ZCreateDenyPolicy, input);
  const fields = fieldsOf(data);
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require("iam.denypolicies.create", node);
    await requireNodeExists(m, node);
    if (await m.tx.denyPolicy.findUnique({ where: { name: denyPolicyName(node, policyId) }, select: { name: true } })) {
      throw new AppError("ALREADY_EXISTS", `deny policy ${denyPolicyName(node, policyId)} already exists`);
    }
    validate(node, fields);
    await writePolicy(m, node, policyId, fields);
    audit(m, denyPolicyName(node, policyId), { methodName: "CreateDenyPolicy", request: { policyId, policy: fields }, response: { after: fields } });
    return toJson(await existing(m.tx, node, policyId));
  });
  return { policy: value, revision };
}

export async function getDenyPolicy(ctx: AdminContext, attachmentPoint: string, policyId: string): Promise<DenyPolicyJson> {
  const node = attachmentNode(attachmentPoint);
  checkPolicyId(policyId);
  reader(ctx).require("iam.denypolicies.get", node);
  return toJson(await existing(ctx.db, node, policyId));
}

export async function listDenyPolicies(ctx: AdminContext, attachmentPoint: string, query: PageQuery): Promise<{ policies: DenyPolicyJson[]; nextPageToken?: string }> {
  const node = attachmentNode(attachmentPoint);
  reader(ctx).require("iam.denypolicies.list", node);
  const after = decodePageToken(query.pageToken);
  const rows = await ctx.db.denyPolicy.findMany({
    where: { attachedTo: node, policyId: { ...(after !== undefined ? { gt: after } : {}), ...(query.filter ? { contains: query.filter, mode: "insensitive" as const } : {}) } },
    orderBy: { policyId: "asc" },
    take: query.pageSize + 1,
    include,
  });
  const page = pageOf(rows, query.pageSize, (r) => r.policyId);
  return { policies: page.items.map(toJson), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

/** Replaces a deny policy's display name and rules (read-modify-write with its etag). */
export async function updateDenyPolicy(ctx: AdminContext, attachmentPoint: string, policyId: string, input: unknown): Promise<{ policy: DenyPolicyJson; revision: bigint | null }> {
  const node = attachmentNode(attachmentPoint);
  checkPolicyId(policyId);
  const data = parse(ZUpdateDenyPolicy, input);
  const name = denyPolicyName(node, policyId);
  if (data.name !== undefined && data.name !== name) throw invalid("name", `the policy's name is ${name}; a deny policy cannot be renamed or moved`);
  const fields = fieldsOf(data);
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require("iam.denypolicies.update", node);
    const row = await existing(m.tx, node, policyId);
    checkEtag(data.etag, row.etag);
    validate(node, fields);
    const before = fieldsOf({ displayName: row.displayName, rules: toRules(row) });
    if (JSON.stringify(before) === JSON.stringify(fields)) return toJson(row);
    await writePolicy(m, node, policyId, fields);
    audit(m, name, { methodName: "UpdateDenyPolicy", request: { policy: fields, ...(data.etag !== undefined ? { etag: data.etag } : {}) }, response: { before, after: fields } });
    return toJson(await existing(m.tx, node, policyId));
  });
  return { policy: value, revision };
}

export async function deleteDenyPolicy(ctx: AdminContext, attachmentPoint: string, policyId: string, etag?: string): Promise<{ revision: bigint | null }> {
  const node = attachmentNode(attachmentPoint);
  checkPolicyId(policyId);
  const { revision } = await runMutation(ctx, async (m) => {
    m.require("iam.denypolicies.delete", node);
    const row = await existing(m.tx, node, policyId);
    checkEtag(etag, row.etag);
    await writePolicy(m, node, policyId, null);
    audit(m, row.name, { methodName: "DeleteDenyPolicy", request: etag !== undefined ? { etag } : {}, response: { before: fieldsOf({ displayName: row.displayName, rules: toRules(row) }) } });
  });
  return { revision };
}

const TAG = "Deny policies";
const BASE = "/api/v1/policies/{attachmentPoint}/denypolicies";

export const denyPolicyRoutes = [
  route({
    method: "GET",
    path: BASE,
    tag: TAG,
    summary: "List the deny policies attached to an organization, folder or project (iam.denypolicies.list on it); attachmentPoint is cloudresourcemanager.googleapis.com%2Fprojects%2F{id}",
    query: ZPageQuery,
    response: z.object({ policies: z.array(ZDenyPolicyJson), nextPageToken: z.string().optional() }),
    handler: async (admin, req) => ({ body: await listDenyPolicies(admin, req.params.attachmentPoint!, req.query) }),
  }),
  route({
    method: "POST",
    path: BASE,
    tag: TAG,
    summary: "Create a deny policy (?policyId=) (iam.denypolicies.create on the attachment point; refused when it would lift a denial from the caller)",
    body: ZCreateDenyPolicy,
    query: ZCreateDenyPolicyQuery,
    response: ZDenyPolicyJson,
    handler: async (admin, req) => {
      const { policy, revision } = await createDenyPolicy(admin, req.params.attachmentPoint!, req.query.policyId, req.body);
      return { status: 201, body: policy, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "GET",
    path: `${BASE}/{policyId}`,
    tag: TAG,
    summary: "Get a deny policy (iam.denypolicies.get on the attachment point)",
    response: ZDenyPolicyJson,
    handler: async (admin, req) => ({ body: await getDenyPolicy(admin, req.params.attachmentPoint!, req.params.policyId!) }),
  }),
  route({
    method: "PATCH",
    path: `${BASE}/{policyId}`,
    tag: TAG,
    summary: "Replace a deny policy's rules (Google's PUT; etag — a stale one is 409 ABORTED) (iam.denypolicies.update; refused when it would lift a denial from the caller)",
    body: ZUpdateDenyPolicy,
    response: ZDenyPolicyJson,
    handler: async (admin, req) => {
      const { policy, revision } = await updateDenyPolicy(admin, req.params.attachmentPoint!, req.params.policyId!, req.body);
      return { body: policy, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "DELETE",
    path: `${BASE}/{policyId}`,
    tag: TAG,
    summary: "Delete a deny policy (?etag=) (iam.denypolicies.delete; refused when it would lift a denial from the caller)",
    query: ZDeleteDenyPolicyQuery,
    response: z.object({}),
    handler: async (admin, req) => {
      const { revision } = await deleteDenyPolicy(admin, req.params.attachmentPoint!, req.params.policyId!, req.query.etag);
      return { body: {}, headers: revisionHeader(revision) };
    },
  }),
];
