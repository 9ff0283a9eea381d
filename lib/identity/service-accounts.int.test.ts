// Service-account keys end to end: create (JSON key file) → sign a JWT-bearer assertion with the
// returned private key → token endpoint → ID token that TokenVerifier accepts as the service
// account; and every way the endpoint refuses.
import { SignJWT, generateKeyPair, importPKCS8, decodeProtectedHeader, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { KeyRing } from "./keys";
import { TokenVerifier } from "./verify";
import { MAX_KEYS_PER_SERVICE_ACCOUNT, type ServiceAccountKeyFile } from "./service-accounts";
import {
  createServiceAccountKey,
  deleteServiceAccountKey,
  disableServiceAccountKey,
  enableServiceAccountKey,
  listServiceAccountKeys,
} from "@/lib/admin/service-accounts";
import type { AdminContext } from "@/lib/admin/context";
import { handleTokenRequest, type TokenEndpointResponse } from "./token-endpoint";
import { openidConfiguration } from "./openid";

const PUBLIC_URL = "https://gatehouse.example.test";
const SECRET = "integration-test-auth-secret-0123456789abcdef";
const SA = "gateway@demo.iam.gserviceaccount.com";
const ACTOR = "system:test";
const FORM = "application/x-www-form-urlencoded";
const GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TARGET = "https://api.example.test";

let t: TestDatabase;
let ring: KeyRing;
let verifier: TokenVerifier;
let saId: string;
let keyFile: ServiceAccountKeyFile;
let privateKey: CryptoKey;
let admin: AdminContext;

beforeAll(async () => {
  t = await createTestDatabase();
  await t.prisma.node.create({ data: { name: "projects/demo", kind: "PROJECT", shortId: "demo", projectNumber: "100200300" } });
  saId = (await t.prisma.principal.create({ data: { kind: "SERVICE_ACCOUNT", email: SA, projectName: "projects/demo" } })).id;
  ring = new KeyRing({ issuer: PUBLIC_URL, secret: SECRET });
  await ring.load(t.prisma);
  verifier = new TokenVerifier({ ring });
  admin = { db: t.prisma, actor: { kind: "system", name: ACTOR }, instance: { authSecret: SECRET, publicUrl: PUBLIC_URL } };
  ({ keyFile } = await createServiceAccountKey(admin, "-", SA));
  privateKey = await importPKCS8(keyFile.private_key, "RS256");
});
afterAll(() => t.drop());

interface AssertionOpts {
  key?: CryptoKey;
  kid?: string;
  iss?: string;
  sub?: string | null;
  aud?: string;
  iat?: number;
  exp?: number;
  target?: string | null;
}

function assertion(o: AssertionOpts = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const iat = o.iat ?? now;
  const claims: Record<string, unknown> = {};
  if (o.target !== null) claims.target_audience = o.target ?? TARGET;
  if (o.sub !== null) claims.sub = o.sub ?? SA;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: o.kid ?? keyFile.private_key_id, typ: "JWT" })
    .setIssuer(o.iss ?? SA)
    .setAudience(o.aud ?? keyFile.token_uri)
    .setIssuedAt(iat)
    .setExpirationTime(o.exp ?? iat + 3600)
    .sign(o.key ?? privateKey);
}

function exchange(jwt: string, extra: Record<string, string> = {}, contentType = FORM): Promise<TokenEndpointResponse> {
  const body = new URLSearchParams({ grant_type: GRANT, assertion: jwt, ...extra }).toString();
  return handleTokenRequest({ db: t.prisma, ring }, body, contentType);
}

function refused(r: TokenEndpointResponse, error = "invalid_grant") {
  expect(r.status).toBe(400);
  expect(r.body).toMatchObject({ error, error_description: expect.any(String) });
}

describe("service-account keys", () => {
  it("returns a GCP-shaped JSON key file and stores only the public key", async () => {
    expect(keyFile).toEqual({
      type: "service_account",
      project_id: "demo",
      private_key_id: expect.stringMatching(/^[0-9a-f]{40}$/),
      private_key: expect.stringMatching(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/),
      client_email: SA,
      client_id: saId,
      auth_uri: `${PUBLIC_URL}/signin`,
      token_uri: `${PUBLIC_URL}/api/v1/token`,
      auth_provider_x509_cert_url: `${PUBLIC_URL}/.well-known/jwks.json`,
    });
    expect(keyFile.token_uri).toBe(openidConfiguration(PUBLIC_URL).token_endpoint);
    const row = await t.prisma.serviceAccountKey.findUniqueOrThrow({ where: { id: keyFile.private_key_id } });
    expect(Object.keys(row.publicJwk as object).sort()).toEqual(["alg", "e", "kid", "kty", "n", "use"]);
    const listed = (await listServiceAccountKeys(admin, "-", SA)).keys;
    expect(listed).toEqual([
      expect.objectContaining({ id: keyFile.private_key_id, name: `serviceAccounts/${SA}/keys/${keyFile.private_key_id}`, disabled: false, keyType: "USER_MANAGED" }),
    ]);
    expect(JSON.stringify(listed)).not.toContain("PRIVATE");
    const audit = await t.prisma.adminActivityLog.findFirst({ where: { methodName: "CreateServiceAccountKey" } });
    expect(audit).toMatchObject({ actor: ACTOR, serviceName: "iam.googleapis.com", resourceName: `serviceAccounts/${SA}/keys/${keyFile.private_key_id}` });
    expect(JSON.stringify([audit!.request, audit!.response])).not.toContain("PRIVATE KEY");
  });

  it("refuses unknown service accounts, users and the 11th key", async () => {
    await t.prisma.principal.create({ data: { kind: "USER", email: "alice@example.com" } });
    for (const email of ["nobody@demo.iam.gserviceaccount.com", "alice@example.com"]) {
      await expect(createServiceAccountKey(admin, "-", email)).rejects.toMatchObject({
        code: "NOT_FOUND",
      });
    }
    const other = "many@demo.iam.gserviceaccount.com";
    const { id: otherId } = await t.prisma.principal.create({ data: { kind: "SERVICE_ACCOUNT", email: other } });
    await t.prisma.serviceAccountKey.createMany({
      data: Array.from({ length: MAX_KEYS_PER_SERVICE_ACCOUNT }, (_, i) => ({ id: i.toString(16).padStart(40, "0"), principalId: otherId, publicJwk: {} })),
    });
    await expect(createServiceAccountKey(admin, "-", other)).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
    });
  });
});

describe("token endpoint", () => {
  it("exchanges a JWT-bearer assertion for an ID token that verifies as the service account", async () => {
    const r = await exchange(await assertion());
    expect(r.status).toBe(200);
    expect(r.headers["cache-control"]).toBe("no-store");
    const idToken = (r.body as { id_token: string }).id_token;
    expect(decodeProtectedHeader(idToken)).toMatchObject({ alg: "ES256", kid: ring.signingKid() });
    const v = await verifier.verify(idToken, { audiences: [TARGET] });
    expect(v).toEqual({
      ok: true,
      identity: { principal: `serviceAccount:${SA}`, email: SA, subjectId: saId, issuer: PUBLIC_URL, expiresAt: expect.any(Number) },
    });
    const claims = JSON.parse(Buffer.from(idToken.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: PUBLIC_URL, aud: TARGET, sub: saId, azp: saId, email: SA, email_verified: true });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    // Minted for TARGET: not accepted by Gatehouse for another audience.
    expect(await verifier.verify(idToken)).toMatchObject({ ok: false, reason: "wrong_audience" });
    // sub is optional in the assertion (google-auth omits it for ID tokens).
    expect((await exchange(await assertion({ sub: null }))).status).toBe(200);
  });

  it("refuses a disabled key until it is enabled again, and audits both", async () => {
    const id = keyFile.private_key_id;
    await disableServiceAccountKey(admin, "-", SA, id);
    refused(await exchange(await assertion()));
    await enableServiceAccountKey(admin, "-", SA, id);
    expect((await exchange(await assertion())).status).toBe(200);
    const methods = (await t.prisma.adminActivityLog.findMany({ where: { resourceName: `serviceAccounts/${SA}/keys/${id}` }, orderBy: { seq: "asc" } })).map(
      (a) => a.methodName,
    );
    expect(methods).toEqual(["CreateServiceAccountKey", "DisableServiceAccountKey", "EnableServiceAccountKey"]);
  });

  it("refuses a disabled service account", async () => {
    await t.prisma.principal.update({ where: { email: SA }, data: { disabled: true } });
    try {
      refused(await exchange(await assertion()));
    } finally {
      await t.prisma.principal.update({ where: { email: SA }, data: { disabled: false } });
    }
  });

  it("refuses bad assertions", async () => {
    const now = Math.floor(Date.now() / 1000);
    const stranger = (await generateKeyPair("RS256")).privateKey;
    refused(await exchange(await assertion({ key: stranger }))); // right kid, wrong key
    refused(await exchange(await assertion({ kid: "0".repeat(40) }))); // unknown key
    refused(await exchange(await assertion({ aud: "https://oauth2.googleapis.com/token" })));
    refused(await exchange(await assertion({ iss: "other@demo.iam.gserviceaccount.com" })));
    refused(await exchange(await assertion({ sub: "someone@example.com" }))); // no domain-wide delegation
    refused(await exchange(await assertion({ iat: now - 7200, exp: now - 3600 }))); // expired
    refused(await exchange(await assertion({ iat: now, exp: now + 3601 + 60 }))); // lifetime > 1 h
    refused(await exchange(await assertion({ iat: now + 600, exp: now + 1200 }))); // issued in the future
    refused(await exchange(await assertion({ target: null })), "invalid_scope");
    refused(await exchange("not-a-jwt"));
    const es = await new SignJWT({ target_audience: TARGET })
      .setProtectedHeader({ alg: "ES256", kid: keyFile.private_key_id })
      .setIssuer(SA)
      .setAudience(keyFile.token_uri)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign((await generateKeyPair("ES256")).privateKey);
    refused(await exchange(es));
  });

  it("refuses malformed requests with OAuth errors", async () => {
    const jwt = await assertion();
    refused(await exchange(jwt, {}, "application/json"), "invalid_request");
    refused(await exchange(jwt, { grant_type: "client_credentials" }), "unsupported_grant_type");
    refused(await handleTokenRequest({ db: t.prisma, ring }, `grant_type=${encodeURIComponent(GRANT)}`, FORM), "invalid_request");
    refused(await handleTokenRequest({ db: t.prisma, ring }, "", FORM), "invalid_request");
    expect((await exchange(jwt, {}, "application/x-www-form-urlencoded; charset=UTF-8")).status).toBe(200);
  });

  it("refuses a deleted key", async () => {
    const { keyFile: second } = await createServiceAccountKey(admin, "-", SA);
    const key = await importPKCS8(second.private_key, "RS256");
    expect((await exchange(await assertion({ key, kid: second.private_key_id }))).status).toBe(200);
    await deleteServiceAccountKey(admin, "-", SA, second.private_key_id);
    refused(await exchange(await assertion({ key, kid: second.private_key_id })));
    await expect(deleteServiceAccountKey(admin, "-", SA, second.private_key_id)).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });
});
