// The CLI's identity commands (DESIGN.md §6) run as a real process against a test database:
// `token`, `keys rotate`, `keys list`, `service-account-key create|list|disable`.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { importPKCS8, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { KeyRing, findSigningKeys } from "./keys";
import { TokenVerifier } from "./verify";
import { handleTokenRequest } from "./token-endpoint";
import type { ServiceAccountKeyFile } from "./service-accounts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const PUBLIC_URL = "http://gatehouse.cli.test:8080";
const SECRET = "cli-integration-test-auth-secret-0123456789";
const SA = "robot@demo.iam.gserviceaccount.com";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  await t.prisma.principal.create({ data: { kind: "USER", email: "alice@example.com" } });
  await t.prisma.principal.create({ data: { kind: "SERVICE_ACCOUNT", email: SA } });
});
afterAll(() => t.drop());

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(path.join(ROOT, "node_modules/.bin/tsx"), ["lib/cli/main.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: t.url, AUTH_SECRET: SECRET, GATEHOUSE_PUBLIC_URL: PUBLIC_URL, NODE_ENV: "test" },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const lastWord = (s: string) => s.trim().split(/\s+/).at(-1)!;

async function serverRing(): Promise<KeyRing> {
  const ring = new KeyRing({ issuer: PUBLIC_URL, secret: SECRET });
  await ring.load(t.prisma);
  return ring;
}

describe("gatehouse CLI — identity commands", () => {
  it("token prints a verifiable ID token as the last word", async () => {
    const r = await cli("token", "--principal", "user:Alice@Example.com");
    expect(r.code).toBe(0);
    const verifier = new TokenVerifier({ ring: await serverRing() });
    expect(r.stderr).toMatch(/ID token for user:alice@example.com/);
    // Without --audience the token is for Gatehouse itself (its issuer URL).
    const v = await verifier.verify(lastWord(r.stdout), { audiences: [PUBLIC_URL] });
    const alice = await t.prisma.principal.findUniqueOrThrow({ where: { email: "alice@example.com" } });
    expect(v).toEqual({
      ok: true,
      identity: { principal: "user:alice@example.com", email: "alice@example.com", subjectId: alice.id, issuer: PUBLIC_URL, expiresAt: expect.any(Number) },
    });

    const sa = await cli("token", "--principal", `serviceAccount:${SA}`, "--audience", "https://api.example.test");
    const v2 = await verifier.verify(lastWord(sa.stdout), { audiences: ["https://api.example.test"] });
    expect(v2.ok && v2.identity.principal).toBe(`serviceAccount:${SA}`);
  });

  it("token refuses a principal whose kind does not match its email, and bad usage", async () => {
    const r = await cli("token", "--principal", `user:${SA}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/service-account address/);
    expect((await cli("token")).code).toBe(2);
  });

  it("keys rotate publishes a NEXT key and prints the states; --immediate switches at once", async () => {
    const before = await findSigningKeys(t.prisma);
    const r = await cli("keys", "rotate");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Rotation started: key \S+ is published now and signs from/);
    expect(r.stdout).toMatch(/ NEXT /);
    expect(r.stdout).toMatch(/ ACTIVE /);
    const after = await findSigningKeys(t.prisma);
    expect(after.length).toBe(before.length + 1);
    expect((await cli("keys", "rotate")).stdout).toMatch(/already under way/);
    const now = await cli("keys", "rotate", "--immediate");
    expect(now.stdout).toMatch(/Rotated: key \S+ signs now/);
    const next = after.find((k) => k.state === "NEXT")!;
    const ring = await serverRing();
    expect(ring.signingKid()).toBe(next.kid);
    expect((await cli("keys", "list")).stdout).toMatch(/RETIRED/);
  });

  it("service-account-key create prints the JSON key file last, and it works at the token endpoint", async () => {
    const r = await cli("service-account-key", "create", "--email", SA);
    expect(r.code).toBe(0);
    const file = JSON.parse(r.stdout) as ServiceAccountKeyFile;
    expect(r.stdout.trim().endsWith("}")).toBe(true);
    expect(file).toMatchObject({ type: "service_account", client_email: SA, token_uri: `${PUBLIC_URL}/api/v1/token` });

    const ring = await serverRing();
    const jwt = await new SignJWT({ target_audience: "https://api.example.test" })
      .setProtectedHeader({ alg: "RS256", kid: file.private_key_id })
      .setIssuer(file.client_email)
      .setSubject(file.client_email)
      .setAudience(file.token_uri)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(await importPKCS8(file.private_key, "RS256"));
    const body = new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: jwt }).toString();
    const res = await handleTokenRequest({ db: t.prisma, ring }, body, "application/x-www-form-urlencoded");
    expect(res.status).toBe(200);

    expect((await cli("service-account-key", "list", "--email", SA)).stdout).toContain(file.private_key_id);
    expect((await cli("service-account-key", "disable", "--email", SA, "--key", file.private_key_id)).stdout).toMatch(/disabled/);
    expect((await handleTokenRequest({ db: t.prisma, ring }, body, "application/x-www-form-urlencoded")).status).toBe(400);
    const missing = await cli("service-account-key", "create", "--email", "ghost@demo.iam.gserviceaccount.com");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
  });
});
