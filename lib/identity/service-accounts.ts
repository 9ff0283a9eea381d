// Service-account keys, as GCP's user-managed keys: an RS256 key pair per key; Gatehouse keeps
// only the public JWK (ServiceAccountKey.publicJwk) and hands the private key to the caller
// once, inside a GCP-shaped JSON key file. The key authenticates the service account at the
// token endpoint (token-endpoint.ts), which returns an ID token signed by Gatehouse.
//
// Every change is recorded with recordAdminActivity in the change's own transaction
// (serviceName iam.googleapis.com, resourceName serviceAccounts/{email}/keys/{keyId}). Keys are
// read by the token endpoint per request, not by the decision snapshot: no revision bump.
//
// Authorization (iam.serviceAccountKeys.* on the service account) is the caller's: these
// functions trust `actor` to have been checked.
import { randomBytes } from "node:crypto";
import { exportJWK, exportPKCS8, generateKeyPair, type JWK } from "jose";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { recordAdminActivity } from "@/lib/audit/admin";
import { tokenEndpointUrl } from "./openid";

export const SERVICE_ACCOUNT_KEY_ALG = "RS256";
/** GCP's limit of user-managed keys per service account. */
export const MAX_KEYS_PER_SERVICE_ACCOUNT = 10;
const KEY_ID_RE = /^[0-9a-f]{40}$/;

/** The JSON key file, in GCP's shape (google-auth libraries read type, private_key(_id), client_email, token_uri). */
export interface ServiceAccountKeyFile {
  type: "service_account";
  project_id: string;
  private_key_id: string;
  /** PKCS#8 PEM. */
  private_key: string;
  client_email: string;
  /** The service account's unique id (Principal.id): the `sub` of its ID tokens. */
  client_id: string;
  auth_uri: string;
  /** `${GATEHOUSE_PUBLIC_URL}/api/v1/token`: also the `aud` the signed assertion must carry. */
  token_uri: string;
  /** Gatehouse's own JWKS (it signs the ID tokens). */
  auth_provider_x509_cert_url: string;
}

export interface ServiceAccountKeyInfo {
  /** serviceAccounts/{email}/keys/{id} */
  name: string;
  id: string;
  serviceAccountEmail: string;
  algorithm: string;
  keyType: "USER_MANAGED";
  disabled: boolean;
  validAfter: Date;
  validBefore: Date | null;
  createdAt: Date;
}

type KeyRow = { id: string; algorithm: string; disabled: boolean; validAfter: Date; validBefore: Date | null; createdAt: Date };

function toInfo(email: string, r: KeyRow): ServiceAccountKeyInfo {
  return {
    name: `serviceAccounts/${email}/keys/${r.id}`,
    id: r.id,
    serviceAccountEmail: email,
    algorithm: r.algorithm,
    keyType: "USER_MANAGED",
    disabled: r.disabled,
    validAfter: r.validAfter,
    validBefore: r.validBefore,
    createdAt: r.createdAt,
  };
}

const KEY_COLUMNS = { id: true, algorithm: true, disabled: true, validAfter: true, validBefore: true, createdAt: true } as const;

async function serviceAccount(tx: Prisma.TransactionClient | Db, email: string) {
  const normalised = email.trim().toLowerCase();
  const p = await tx.principal.findUnique({ where: { email: normalised }, select: { id: true, kind: true, email: true, projectName: true } });
  if (!p || p.kind !== "SERVICE_ACCOUNT") throw new AppError("NOT_FOUND", `service account ${normalised} does not exist`);
  return p;
}

function projectIdOf(sa: { email: string; projectName: string | null }): string {
  if (sa.projectName?.startsWith("projects/")) return sa.projectName.slice("projects/".length);
  return sa.email.match(/@([^.]+)\./)?.[1] ?? "";
}

/**
 * Creates a key for a service account and returns its JSON key file — the only time the
 * private key exists outside the caller's hands: Gatehouse stores the public JWK only.
 */
export async function createServiceAccountKey(
  db: Db,
  input: { serviceAccountEmail: string; actor: string; publicUrl: string },
): Promise<{ key: ServiceAccountKeyInfo; keyFile: ServiceAccountKeyFile }> {
  const id = randomBytes(20).toString("hex");
  const { publicKey, privateKey } = await generateKeyPair(SERVICE_ACCOUNT_KEY_ALG, { modulusLength: 2048, extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: id, alg: SERVICE_ACCOUNT_KEY_ALG, use: "sig" };
  let pem = await exportPKCS8(privateKey);
  if (!pem.endsWith("\n")) pem += "\n";
  const publicUrl = input.publicUrl.replace(/\/$/, "");
  return db.$transaction(async (tx) => {
    const sa = await serviceAccount(tx, input.serviceAccountEmail);
    const count = await tx.serviceAccountKey.count({ where: { principalId: sa.id } });
    if (count >= MAX_KEYS_PER_SERVICE_ACCOUNT) {
      throw new AppError("FAILED_PRECONDITION", `${sa.email} already has ${count} keys (at most ${MAX_KEYS_PER_SERVICE_ACCOUNT}): delete one first`);
    }
    const row = await tx.serviceAccountKey.create({
      data: { id, principalId: sa.id, algorithm: SERVICE_ACCOUNT_KEY_ALG, publicJwk: publicJwk as Prisma.InputJsonValue },
      select: KEY_COLUMNS,
    });
    const key = toInfo(sa.email, row);
    await recordAdminActivity(tx, [
      {
        actor: input.actor,
        methodName: "CreateServiceAccountKey",
        serviceName: "iam.googleapis.com",
        resourceName: key.name,
        request: { serviceAccount: sa.email },
        response: { keyId: id, algorithm: SERVICE_ACCOUNT_KEY_ALG },
      },
    ]);
    const keyFile: ServiceAccountKeyFile = {
      type: "service_account",
      project_id: projectIdOf(sa),
      private_key_id: id,
      private_key: pem,
      client_email: sa.email,
      client_id: sa.id,
      auth_uri: `${publicUrl}/signin`,
      token_uri: tokenEndpointUrl(publicUrl),
      auth_provider_x509_cert_url: `${publicUrl}/.well-known/jwks.json`,
    };
    return { key, keyFile };
  });
}

/** The keys of a service account, oldest first, without key material. */
export async function findServiceAccountKeys(db: Db, input: { serviceAccountEmail: string }): Promise<ServiceAccountKeyInfo[]> {
  const sa = await serviceAccount(db, input.serviceAccountEmail);
  const rows = await db.serviceAccountKey.findMany({ where: { principalId: sa.id }, select: KEY_COLUMNS, orderBy: { createdAt: "asc" } });
  return rows.map((r) => toInfo(sa.email, r));
}

async function keyOf(tx: Prisma.TransactionClient, email: string, keyId: string) {
  const sa = await serviceAccount(tx, email);
  const row = KEY_ID_RE.test(keyId)
    ? await tx.serviceAccountKey.findFirst({ where: { id: keyId, principalId: sa.id }, select: KEY_COLUMNS })
    : null;
  if (!row) throw new AppError("NOT_FOUND", `key ${keyId} of ${sa.email} does not exist`);
  return { sa, row };
}

async function setDisabled(
  db: Db,
  input: { serviceAccountEmail: string; keyId: string; actor: string },
  disabled: boolean,
): Promise<ServiceAccountKeyInfo> {
  return db.$transaction(async (tx) => {
    const { sa, row } = await keyOf(tx, input.serviceAccountEmail, input.keyId);
    if (row.disabled === disabled) return toInfo(sa.email, row);
    const updated = await tx.serviceAccountKey.update({ where: { id: row.id }, data: { disabled }, select: KEY_COLUMNS });
    const key = toInfo(sa.email, updated);
    await recordAdminActivity(tx, [
      {
        actor: input.actor,
        methodName: disabled ? "DisableServiceAccountKey" : "EnableServiceAccountKey",
        serviceName: "iam.googleapis.com",
        resourceName: key.name,
      },
    ]);
    return key;
  });
}

/** A disabled key is refused by the token endpoint at once; ID tokens it obtained stay valid until they expire (≤ 1 h). */
export function disableServiceAccountKey(db: Db, input: { serviceAccountEmail: string; keyId: string; actor: string }): Promise<ServiceAccountKeyInfo> {
  return setDisabled(db, input, true);
}

export function enableServiceAccountKey(db: Db, input: { serviceAccountEmail: string; keyId: string; actor: string }): Promise<ServiceAccountKeyInfo> {
  return setDisabled(db, input, false);
}

export async function deleteServiceAccountKey(db: Db, input: { serviceAccountEmail: string; keyId: string; actor: string }): Promise<void> {
  await db.$transaction(async (tx) => {
    const { sa, row } = await keyOf(tx, input.serviceAccountEmail, input.keyId);
    await tx.serviceAccountKey.delete({ where: { id: row.id } });
    await recordAdminActivity(tx, [
      {
        actor: input.actor,
        methodName: "DeleteServiceAccountKey",
        serviceName: "iam.googleapis.com",
        resourceName: `serviceAccounts/${sa.email}/keys/${row.id}`,
      },
    ]);
  });
}
