// Service accounts and their keys through the admin API, in Google's IAM shapes
// (projects/{project}/serviceAccounts/{email}, …/keys/{keyId}; `-` for the project infers it
// from the email, as Google accepts). One function per method for every transport: the REST
// routes below and the CLI's `service-account-key …`.
//
// Authorisation, on the service account's project (Gatehouse keeps no policy on a service
// account itself, so what is held on its project is what counts):
//   iam.serviceAccounts.{create,list,get,update,delete}          (update covers disabling)
//   iam.serviceAccountKeys.{create,list,disable,enable,delete}
// Guard: a key makes its holder the service account, so minting one is refused when the account
// holds more than the actor — every grant naming it or a group it is in is judged as if granted
// to the actor itself, passage permissions included (act-as.ts, authz.ts rule 2).
// Keys are read by the token endpoint per request, not by the decision snapshot; their changes
// are recorded (one admin-activity record each) at a revision like every other change.
import { z } from "zod";
import type { Prisma } from "@/lib/generated/prisma/client";
import { AppError } from "@/lib/errors";
import { ZServiceAccount } from "@/lib/world/schema";
import {
  generateServiceAccountKey,
  KEY_ID_RE,
  MAX_KEYS_PER_SERVICE_ACCOUNT,
  SERVICE_ACCOUNT_KEY_ALG,
  serviceAccountKeyFile,
  type ServiceAccountKeyFile,
} from "@/lib/identity/service-accounts";
import type { AdminContext } from "./context";
import { runMutation, type MutationScope } from "./mutation";
import { parse } from "./validation";
import { decodePageToken, pageOf, ZPageQuery, type PageQuery } from "./paging";
import { reader } from "./reader";
import { revisionHeader, route } from "./routes";
import { checkActAs } from "./act-as";

const IAM = "iam.googleapis.com";
type Db = AdminContext["db"] | Prisma.TransactionClient;

export const ZCreateServiceAccount = z.strictObject({
  /** The part before the @: NAME in NAME@PROJECT.iam.gserviceaccount.com. */
  accountId: z.string().regex(/^[a-z]([a-z0-9-]{4,28}[a-z0-9])$/, "an account id is 6–30 lower-case letters, digits or hyphens, starting with a letter"),
  displayName: ZServiceAccount.shape.displayName,
  description: ZServiceAccount.shape.description,
});
export const ZUpdateServiceAccount = z.strictObject({
  displayName: ZServiceAccount.shape.displayName,
  description: ZServiceAccount.shape.description,
  /** A disabled service account is denied everywhere and gets no tokens. */
  disabled: z.boolean().optional(),
});

export const ZServiceAccountJson = z.object({
  name: z.string(),
  projectId: z.string(),
  /** The `sub` of its ID tokens. */
  uniqueId: z.string(),
  email: z.string(),
  displayName: z.string(),
  description: z.string(),
  disabled: z.boolean(),
});
export type ServiceAccountJson = z.infer<typeof ZServiceAccountJson>;

export const ZServiceAccountKeyJson = z.object({
  /** serviceAccounts/{email}/keys/{id} */
  name: z.string(),
  id: z.string(),
  serviceAccountEmail: z.string(),
  algorithm: z.string(),
  keyType: z.literal("USER_MANAGED"),
  disabled: z.boolean(),
  validAfter: z.string(),
  validBefore: z.string().nullable(),
  createdAt: z.string(),
});
export type ServiceAccountKeyJson = z.infer<typeof ZServiceAccountKeyJson>;

/** The project id of a service-account email (NAME@PROJECT.iam.gserviceaccount.com), or null. */
function projectOfEmail(email: string): string | null {
  return /^[^@]+@([a-z][a-z0-9-]*)\.iam\.gserviceaccount\.com$/.exec(email)?.[1] ?? null;
}

/**
 * The project a request about `email` is authorised on: the path's, or with `-` the email's.
 * A service account outside the path's project does not exist there (NOT_FOUND after the check).
 */
function saTarget(projectParam: string, emailParam: string): { email: string; project: string } {
  const email = emailParam.trim().toLowerCase();
  const project = projectParam === "-" ? (projectOfEmail(email) ?? "-") : projectParam;
  return { email, project: `projects/${project}` };
}

const saSelect = { id: true, kind: true, email: true, displayName: true, description: true, disabled: true, projectName: true } as const;
type SaRow = Prisma.PrincipalGetPayload<{ select: typeof saSelect }>;

async function findServiceAccount(db: Db, t: { email: string; project: string }): Promise<SaRow> {
  const row = await db.principal.findUnique({ where: { email: t.email }, select: saSelect });
  // (A service account stored without a project — rows from before projects were required — is in its email's.)
  const emailProject = projectOfEmail(t.email);
  const project = row?.projectName ?? (emailProject ? `projects/${emailProject}` : null);
  if (!row || row.kind !== "SERVICE_ACCOUNT" || project !== t.project) throw new AppError("NOT_FOUND", `service account ${t.email} does not exist`);
  return row;
}

function saJson(r: SaRow): ServiceAccountJson {
  const projectId = r.projectName?.replace(/^projects\//, "") ?? projectOfEmail(r.email) ?? "";
  return {
    name: `projects/${projectId}/serviceAccounts/${r.email}`,
    projectId,
    uniqueId: r.id,
    email: r.email,
    displayName: r.displayName,
    description: r.description,
    disabled: r.disabled,
  };
}

const keySelect = { id: true, algorithm: true, disabled: true, validAfter: true, validBefore: true, createdAt: true } as const;
type KeyRow = Prisma.ServiceAccountKeyGetPayload<{ select: typeof keySelect }>;

function keyJson(email: string, r: KeyRow): ServiceAccountKeyJson {
  return {
    name: `serviceAccounts/${email}/keys/${r.id}`,
    id: r.id,
    serviceAccountEmail: email,
    algorithm: r.algorithm,
    keyType: "USER_MANAGED",
    disabled: r.disabled,
    validAfter: r.validAfter.toISOString(),
    validBefore: r.validBefore?.toISOString() ?? null,
    createdAt: r.createdAt.toISOString(),
  };
}

// ————————————————————————————————————————————————————————————— service accounts

export async function createServiceAccount(ctx: AdminContext, projectId: string, input: unknown): Promise<{ serviceAccount: ServiceAccountJson; revision: bigint | null }> {
  const data = parse(ZCreateServiceAccount, input);
  const project = `projects/${projectId}`;
  const email = `${data.accountId}@${projectId}.iam.gserviceaccount.com`;
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require("iam.serviceAccounts.create", project);
    if (!(await m.tx.node.findFirst({ where: { name: project, kind: "PROJECT" }, select: { name: true } }))) throw new AppError("NOT_FOUND", `${project} does not exist`);
    parse(ZServiceAccount, { email });
    if (await m.tx.principal.findUnique({ where: { email }, select: { id: true } })) throw new AppError("ALREADY_EXISTS", `service account ${email} already exists`);
    await m.write.upsertPrincipal({ email, kind: "SERVICE_ACCOUNT", displayName: data.displayName, description: data.description });
    m.audit({ methodName: "CreateServiceAccount", serviceName: IAM, resourceName: `${project}/serviceAccounts/${email}`, request: { accountId: data.accountId, displayName: data.displayName ?? "", description: data.description ?? "" } });
    return saJson(await findServiceAccount(m.tx, { email, project }));
  });
  return { serviceAccount: value, revision };
}

export async function getServiceAccount(ctx: AdminContext, projectParam: string, emailParam: string): Promise<ServiceAccountJson> {
  const t = saTarget(projectParam, emailParam);
  reader(ctx).require("iam.serviceAccounts.get", t.project);
  return saJson(await findServiceAccount(ctx.db, t));
}

export async function listServiceAccounts(ctx: AdminContext, projectId: string, query: PageQuery): Promise<{ accounts: ServiceAccountJson[]; nextPageToken?: string }> {
  const project = `projects/${projectId}`;
  reader(ctx).require("iam.serviceAccounts.list", project);
  const after = decodePageToken(query.pageToken);
  const rows = await ctx.db.principal.findMany({
    where: {
      kind: "SERVICE_ACCOUNT",
      projectName: project,
      email: { ...(after !== undefined ? { gt: after } : {}), ...(query.filter ? { contains: query.filter, mode: "insensitive" as const } : {}) },
    },
    orderBy: { email: "asc" },
    take: query.pageSize + 1,
    select: saSelect,
  });
  const page = pageOf(rows, query.pageSize, (r) => r.email);
  return { accounts: page.items.map(saJson), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

export async function updateServiceAccount(ctx: AdminContext, projectParam: string, emailParam: string, input: unknown): Promise<{ serviceAccount: ServiceAccountJson; revision: bigint | null }> {
  const data = parse(ZUpdateServiceAccount, input);
  const t = saTarget(projectParam, emailParam);
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require("iam.serviceAccounts.update", t.project);
    const row = await findServiceAccount(m.tx, t);
    const next = { displayName: data.displayName ?? row.displayName, description: data.description ?? row.description, disabled: data.disabled ?? row.disabled };
    if (next.displayName === row.displayName && next.description === row.description && next.disabled === row.disabled) return saJson(row);
    await m.write.upsertPrincipal({ email: row.email, kind: "SERVICE_ACCOUNT", ...next });
    m.audit({
      methodName: "UpdateServiceAccount",
      serviceName: IAM,
      resourceName: saJson(row).name,
      request: data,
      response: { before: { displayName: row.displayName, description: row.description, disabled: row.disabled } },
    });
    return saJson(await findServiceAccount(m.tx, t));
  });
  return { serviceAccount: value, revision };
}

/** Deletes a service account: its keys go, its bindings and memberships become deleted:serviceAccount:…?uid=…. */
export async function deleteServiceAccount(ctx: AdminContext, projectParam: string, emailParam: string): Promise<{ deletedMember: string; revision: bigint | null }> {
  const t = saTarget(projectParam, emailParam);
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require("iam.serviceAccounts.delete", t.project);
    const row = await findServiceAccount(m.tx, t);
    const deletedMember = `deleted:serviceAccount:${row.email}?uid=${row.id}`;
    await m.write.deletePrincipal(row.email);
    m.audit({ methodName: "DeleteServiceAccount", serviceName: IAM, resourceName: saJson(row).name, request: { email: row.email }, response: { deletedMember } });
    return deletedMember;
  });
  return { deletedMember: value, revision };
}

// ————————————————————————————————————————————————————————————— keys

export interface CreatedServiceAccountKey {
  key: ServiceAccountKeyJson;
  /** The JSON key file: the only time the private key exists outside the caller's hands. */
  keyFile: ServiceAccountKeyFile;
  revision: bigint | null;
}

/**
 * Creates a key and returns its JSON key file (Gatehouse stores the public JWK only). Refused when
 * the service account holds more than the actor (the key would make the actor that account).
 */
export async function createServiceAccountKey(ctx: AdminContext, projectParam: string, emailParam: string): Promise<CreatedServiceAccountKey> {
  const t = saTarget(projectParam, emailParam);
  if (!ctx.instance) throw new AppError("INTERNAL", "a key file names Gatehouse's token endpoint: GATEHOUSE_PUBLIC_URL was not configured for this call");
  const { publicUrl } = ctx.instance;
  const material = await generateServiceAccountKey();
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require("iam.serviceAccountKeys.create", t.project);
    const sa = await findServiceAccount(m.tx, t);
    requireNotStronger(m, ctx, sa.email);
    const count = await m.tx.serviceAccountKey.count({ where: { principalId: sa.id } });
    if (count >= MAX_KEYS_PER_SERVICE_ACCOUNT) {
      throw new AppError("FAILED_PRECONDITION", `${sa.email} already has ${count} keys (at most ${MAX_KEYS_PER_SERVICE_ACCOUNT}): delete one first`);
    }
    const row = await m.tx.serviceAccountKey.create({
      data: { id: material.id, principalId: sa.id, algorithm: SERVICE_ACCOUNT_KEY_ALG, publicJwk: material.publicJwk as Prisma.InputJsonValue },
      select: keySelect,
    });
    const key = keyJson(sa.email, row);
    m.audit({ methodName: "CreateServiceAccountKey", serviceName: IAM, resourceName: key.name, request: { serviceAccount: sa.email }, response: { keyId: key.id, algorithm: key.algorithm } });
    const keyFile = serviceAccountKeyFile({
      keyId: key.id,
      privateKeyPem: material.privateKeyPem,
      email: sa.email,
      uniqueId: sa.id,
      projectId: saJson(sa).projectId,
      publicUrl,
    });
    return { key, keyFile };
  });
  return { ...value, revision };
}

function requireNotStronger(m: MutationScope, ctx: AdminContext, email: string): void {
  if (!m.before) return;
  checkActAs(m.before, m.actor, `serviceAccount:${email}`, ctx.engine?.current().owners ?? [], m.now);
}

/** The keys of a service account, oldest first, without key material. */
export async function listServiceAccountKeys(ctx: AdminContext, projectParam: string, emailParam: string): Promise<{ keys: ServiceAccountKeyJson[] }> {
  const t = saTarget(projectParam, emailParam);
  reader(ctx).require("iam.serviceAccountKeys.list", t.project);
  const sa = await findServiceAccount(ctx.db, t);
  const rows = await ctx.db.serviceAccountKey.findMany({ where: { principalId: sa.id }, select: keySelect, orderBy: { createdAt: "asc" } });
  return { keys: rows.map((r) => keyJson(sa.email, r)) };
}

async function keyOf(tx: Db, t: { email: string; project: string }, keyId: string) {
  const sa = await findServiceAccount(tx, t);
  const row = KEY_ID_RE.test(keyId) ? await tx.serviceAccountKey.findFirst({ where: { id: keyId, principalId: sa.id }, select: keySelect }) : null;
  if (!row) throw new AppError("NOT_FOUND", `key ${keyId} of ${sa.email} does not exist`);
  return { sa, row };
}

async function setKeyDisabled(ctx: AdminContext, projectParam: string, emailParam: string, keyId: string, disabled: boolean): Promise<{ key: ServiceAccountKeyJson; revision: bigint | null }> {
  const t = saTarget(projectParam, emailParam);
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.require(disabled ? "iam.serviceAccountKeys.disable" : "iam.serviceAccountKeys.enable", t.project);
    const { sa, row } = await keyOf(m.tx, t, keyId);
    if (row.disabled === disabled) return keyJson(sa.email, row);
    const updated = await m.tx.serviceAccountKey.update({ where: { id: row.id }, data: { disabled }, select: keySelect });
    const key = keyJson(sa.email, updated);
    m.audit({ methodName: disabled ? "DisableServiceAccountKey" : "EnableServiceAccountKey", serviceName: IAM, resourceName: key.name });
    return key;
  });
  return { key: value, revision };
}

/** A disabled key is refused by the token endpoint at once; ID tokens it obtained stay valid until they expire (≤ 1 h). */
export const disableServiceAccountKey = (ctx: AdminContext, project: string, email: string, keyId: string) => setKeyDisabled(ctx, project, email, keyId, true);
export const enableServiceAccountKey = (ctx: AdminContext, project: string, email: string, keyId: string) => setKeyDisabled(ctx, project, email, keyId, false);

export async function deleteServiceAccountKey(ctx: AdminContext, projectParam: string, emailParam: string, keyId: string): Promise<{ revision: bigint | null }> {
  const t = saTarget(projectParam, emailParam);
  const { revision } = await runMutation(ctx, async (m) => {
    m.require("iam.serviceAccountKeys.delete", t.project);
    const { sa, row } = await keyOf(m.tx, t, keyId);
    await m.tx.serviceAccountKey.delete({ where: { id: row.id } });
    m.audit({ methodName: "DeleteServiceAccountKey", serviceName: IAM, resourceName: `serviceAccounts/${sa.email}/keys/${row.id}` });
  });
  return { revision };
}

// ————————————————————————————————————————————————————————————— routes

const TAG = "Service accounts";
const SA_PATH = "/api/v1/projects/{project}/serviceAccounts";
const ONE = `${SA_PATH}/{email}`;
const ZEmpty = z.strictObject({});

export const serviceAccountRoutes = [
  route({
    method: "GET",
    path: SA_PATH,
    tag: TAG,
    summary: "List a project's service accounts (iam.serviceAccounts.list on the project)",
    query: ZPageQuery,
    response: z.object({ accounts: z.array(ZServiceAccountJson), nextPageToken: z.string().optional() }),
    handler: async (admin, req) => ({ body: await listServiceAccounts(admin, req.params.project!, req.query) }),
  }),
  route({
    method: "POST",
    path: SA_PATH,
    tag: TAG,
    summary: "Create a service account ACCOUNT_ID@PROJECT.iam.gserviceaccount.com",
    body: ZCreateServiceAccount,
    response: z.object({ serviceAccount: ZServiceAccountJson }),
    handler: async (admin, req) => {
      const { serviceAccount, revision } = await createServiceAccount(admin, req.params.project!, req.body);
      return { status: 201, body: { serviceAccount }, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "GET",
    path: ONE,
    tag: TAG,
    summary: "Get a service account (`-` as the project: inferred from the email)",
    response: ZServiceAccountJson,
    handler: async (admin, req) => ({ body: await getServiceAccount(admin, req.params.project!, req.params.email!) }),
  }),
  route({
    method: "PATCH",
    path: ONE,
    tag: TAG,
    summary: "Change a service account's display name or description, or disable / enable it",
    body: ZUpdateServiceAccount,
    response: z.object({ serviceAccount: ZServiceAccountJson }),
    handler: async (admin, req) => {
      const { serviceAccount, revision } = await updateServiceAccount(admin, req.params.project!, req.params.email!, req.body);
      return { body: { serviceAccount }, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "DELETE",
    path: ONE,
    tag: TAG,
    summary: "Delete a service account: its keys go, its bindings become deleted:serviceAccount:EMAIL?uid=ID",
    response: z.object({ deletedMember: z.string() }),
    handler: async (admin, req) => {
      const { deletedMember, revision } = await deleteServiceAccount(admin, req.params.project!, req.params.email!);
      return { body: { deletedMember }, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "GET",
    path: `${ONE}/keys`,
    tag: TAG,
    summary: "List a service account's keys (no key material)",
    response: z.object({ keys: z.array(ZServiceAccountKeyJson) }),
    handler: async (admin, req) => ({ body: await listServiceAccountKeys(admin, req.params.project!, req.params.email!) }),
  }),
  route({
    method: "POST",
    path: `${ONE}/keys`,
    tag: TAG,
    summary: "Create a key; the answer holds the JSON key file (privateKeyData, base64), shown this once. Refused for an account that holds more than the caller",
    body: ZEmpty,
    response: z.object({ key: ZServiceAccountKeyJson, privateKeyType: z.literal("TYPE_GOOGLE_CREDENTIALS_FILE"), privateKeyData: z.string() }),
    handler: async (admin, req) => {
      const { key, keyFile, revision } = await createServiceAccountKey(admin, req.params.project!, req.params.email!);
      return {
        status: 201,
        body: { key, privateKeyType: "TYPE_GOOGLE_CREDENTIALS_FILE", privateKeyData: Buffer.from(JSON.stringify(keyFile, null, 2)).toString("base64") },
        headers: revisionHeader(revision),
      };
    },
  }),
  route({
    method: "POST",
    path: `${ONE}/keys/{keyId}:disable`,
    tag: TAG,
    summary: "Disable a key (the token endpoint refuses it at once)",
    body: ZEmpty,
    response: z.object({ key: ZServiceAccountKeyJson }),
    handler: async (admin, req) => {
      const { key, revision } = await disableServiceAccountKey(admin, req.params.project!, req.params.email!, req.params.keyId!);
      return { body: { key }, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "POST",
    path: `${ONE}/keys/{keyId}:enable`,
    tag: TAG,
    summary: "Enable a disabled key",
    body: ZEmpty,
    response: z.object({ key: ZServiceAccountKeyJson }),
    handler: async (admin, req) => {
      const { key, revision } = await enableServiceAccountKey(admin, req.params.project!, req.params.email!, req.params.keyId!);
      return { body: { key }, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "DELETE",
    path: `${ONE}/keys/{keyId}`,
    tag: TAG,
    summary: "Delete a key",
    handler: async (admin, req) => ({ body: {}, headers: revisionHeader((await deleteServiceAccountKey(admin, req.params.project!, req.params.email!, req.params.keyId!)).revision) }),
  }),
];
