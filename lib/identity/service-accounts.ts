// Service-account keys, as GCP's user-managed keys: an RS256 key pair per key; Gatehouse keeps
// only the public JWK (ServiceAccountKey.publicJwk) and hands the private key to the caller
// once, inside a GCP-shaped JSON key file. The key authenticates the service account at the
// token endpoint (token-endpoint.ts), which returns an ID token signed by Gatehouse.
//
// This file holds the key material and the key file's shape; creating, listing, disabling,
// enabling and deleting keys are admin methods (lib/admin/service-accounts.ts), authorised and
// recorded like every other change.
import { randomBytes } from "node:crypto";
import { exportJWK, exportPKCS8, generateKeyPair, type JWK } from "jose";
import { tokenEndpointUrl } from "./openid";

export const SERVICE_ACCOUNT_KEY_ALG = "RS256";
/** GCP's limit of user-managed keys per service account. */
export const MAX_KEYS_PER_SERVICE_ACCOUNT = 10;
/** A key id as GCP writes them (and as generateServiceAccountKey makes them). */
export const KEY_ID_RE = /^[0-9a-f]{40}$/;

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

/** A new key: its id (40 hex, as GCP's), its public JWK (stored) and its private key (PKCS#8 PEM, given out once). */
export async function generateServiceAccountKey(): Promise<{ id: string; publicJwk: JWK; privateKeyPem: string }> {
  const id = randomBytes(20).toString("hex");
  const { publicKey, privateKey } = await generateKeyPair(SERVICE_ACCOUNT_KEY_ALG, { modulusLength: 2048, extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: id, alg: SERVICE_ACCOUNT_KEY_ALG, use: "sig" };
  let pem = await exportPKCS8(privateKey);
  if (!pem.endsWith("\n")) pem += "\n";
  return { id, publicJwk, privateKeyPem: pem };
}

/** The JSON key file of a key, for a Gatehouse reachable at `publicUrl`. */
export function serviceAccountKeyFile(input: { keyId: string; privateKeyPem: string; email: string; uniqueId: string; projectId: string; publicUrl: string }): ServiceAccountKeyFile {
  const publicUrl = input.publicUrl.replace(/\/$/, "");
  return {
    type: "service_account",
    project_id: input.projectId,
    private_key_id: input.keyId,
    private_key: input.privateKeyPem,
    client_email: input.email,
    client_id: input.uniqueId,
    auth_uri: `${publicUrl}/signin`,
    token_uri: tokenEndpointUrl(publicUrl),
    auth_provider_x509_cert_url: `${publicUrl}/.well-known/jwks.json`,
  };
}
