// TokenVerifier against a real (tiny) OpenID issuer over HTTP: discovery, JWKS, rotation at the
// issuer, audiences, email_verified, and the TrustedIssuer rows it loads from the database.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { KeyRing } from "./keys";
import { TokenVerifier } from "./verify";

interface IssuerKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

class TestIssuer {
  server!: http.Server;
  url = "";
  keys: IssuerKey[] = [];
  jwksFetches = 0;
  discoveryFetches = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      if (req.url === "/.well-known/openid-configuration") {
        this.discoveryFetches++;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ issuer: this.url, jwks_uri: `${this.url}/keys` }));
      } else if (req.url === "/keys") {
        this.jwksFetches++;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async addKey(alg: "RS256" | "ES256", kid: string): Promise<IssuerKey> {
    const { publicKey, privateKey } = await generateKeyPair(alg);
    const key = { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
    this.keys.push(key);
    return key;
  }

  token(key: IssuerKey, claims: Record<string, unknown>, opts: { aud?: string; exp?: number; iss?: string } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sub: "ext-123", email: "alice@corp.example", email_verified: true, ...claims })
      .setProtectedHeader({ alg: key.jwk.alg!, kid: key.kid })
      .setIssuer(opts.iss ?? this.url)
      .setAudience(opts.aud ?? "gatehouse")
      .setIssuedAt(now)
      .setExpirationTime(opts.exp ?? now + 600)
      .sign(key.privateKey);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let t: TestDatabase;
let issuer: TestIssuer;
let ring: KeyRing;
beforeAll(async () => {
  t = await createTestDatabase();
  issuer = new TestIssuer();
  await issuer.start();
  ring = await KeyRing.ephemeral({ issuer: "https://gatehouse.example.test" });
});
afterAll(async () => {
  await issuer.stop();
  await t.drop();
});

describe("TokenVerifier — trusted issuers", () => {
  it("loads issuers from the database, discovers the JWKS and verifies RS256 and ES256 tokens", async () => {
    const rsa = await issuer.addKey("RS256", "rsa-1");
    const ec = await issuer.addKey("ES256", "ec-1");
    await t.prisma.trustedIssuer.create({ data: { issuer: issuer.url, audiences: ["gatehouse", "other-client"], domains: ["corp.example"] } });
    const verifier = new TokenVerifier({ ring });
    await verifier.refreshIssuers(t.prisma);

    const r = await verifier.verify(await issuer.token(rsa, {}));
    expect(r).toEqual({
      ok: true,
      identity: expect.objectContaining({ principal: "user:alice@corp.example", email: "alice@corp.example", subjectId: "ext-123", issuer: issuer.url }),
    });
    const r2 = await verifier.verify(await issuer.token(ec, { email: "Bob@Corp.Example" }, { aud: "other-client" }));
    expect(r2.ok && r2.identity.principal).toBe("user:bob@corp.example");
    expect(issuer.discoveryFetches).toBe(1);
    expect(issuer.jwksFetches).toBe(1);
  });

  it("picks up a key rotation at the issuer (new kid) by refetching the JWKS", async () => {
    const verifier = new TokenVerifier({ ring, issuers: [{ issuer: issuer.url, audiences: ["gatehouse"], domains: ["corp.example"] }], jwksCooldownMs: 0 });
    expect((await verifier.verify(await issuer.token(issuer.keys[0]!, {}))).ok).toBe(true);
    const fetches = issuer.jwksFetches;
    const rotated = await issuer.addKey("RS256", "rsa-2");
    issuer.keys = issuer.keys.filter((k) => k.kid !== "rsa-1");
    const r = await verifier.verify(await issuer.token(rotated, {}));
    expect(r.ok).toBe(true);
    expect(issuer.jwksFetches).toBe(fetches + 1);
  });

  it("does not refetch within the cooldown: an unknown kid is then refused", async () => {
    const verifier = new TokenVerifier({ ring, issuers: [{ issuer: issuer.url, audiences: ["gatehouse"], domains: ["corp.example"] }] });
    expect((await verifier.verify(await issuer.token(issuer.keys.at(-1)!, {}))).ok).toBe(true);
    const later = await issuer.addKey("ES256", "ec-late");
    expect(await verifier.verify(await issuer.token(later, {}))).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("rejects wrong audience, expiry, unverified email, missing email, unknown issuer, alg none, and a forged signature", async () => {
    const verifier = new TokenVerifier({ ring, issuers: [{ issuer: issuer.url, audiences: ["gatehouse"], domains: ["corp.example"] }], jwksCooldownMs: 0 });
    const key = issuer.keys.at(-1)!;
    const now = Math.floor(Date.now() / 1000);
    expect(await verifier.verify(await issuer.token(key, {}, { aud: "someone-else" }))).toMatchObject({ ok: false, reason: "wrong_audience" });
    expect(await verifier.verify(await issuer.token(key, {}, { exp: now - 31 }))).toMatchObject({ ok: false, reason: "expired" });
    expect((await verifier.verify(await issuer.token(key, {}, { exp: now - 20 }))).ok).toBe(true); // within 30 s skew
    expect(await verifier.verify(await issuer.token(key, { nbf: now + 120 }))).toMatchObject({ ok: false, reason: "not_yet_valid" });
    expect(await verifier.verify(await issuer.token(key, { email_verified: false }))).toMatchObject({ ok: false, reason: "email_unverified" });
    expect(await verifier.verify(await issuer.token(key, { email_verified: undefined }))).toMatchObject({ ok: false, reason: "email_unverified" });
    expect(await verifier.verify(await issuer.token(key, { email_verified: "yes" }))).toMatchObject({ ok: false, reason: "email_unverified" });
    expect((await verifier.verify(await issuer.token(key, { email_verified: "true" }))).ok).toBe(true);
    // Only the issuer's own domains; never a service account (those come from Gatehouse's tokens only).
    expect(await verifier.verify(await issuer.token(key, { email: "alice@other.example" }))).toMatchObject({ ok: false, reason: "domain_not_allowed" });
    expect(await verifier.verify(await issuer.token(key, { email: "alice@sub.corp.example" }))).toMatchObject({ ok: false, reason: "domain_not_allowed" });
    expect(await verifier.verify(await issuer.token(key, { email: "build@proj.iam.gserviceaccount.com" }))).toMatchObject({ ok: false, reason: "domain_not_allowed" });
    const sa = new TokenVerifier({ ring, issuers: [{ issuer: issuer.url, audiences: ["gatehouse"], domains: ["proj.iam.gserviceaccount.com"] }], jwksCooldownMs: 0 });
    expect(await sa.verify(await issuer.token(key, { email: "build@proj.iam.gserviceaccount.com" }))).toMatchObject({ ok: false, reason: "domain_not_allowed" });
    // An issuer configured to allow unverified emails.
    const lax = new TokenVerifier({ ring, issuers: [{ issuer: issuer.url, audiences: ["gatehouse"], domains: ["corp.example"], allowUnverifiedEmails: true }], jwksCooldownMs: 0 });
    expect((await lax.verify(await issuer.token(key, { email_verified: undefined }))).ok).toBe(true);
    expect(await verifier.verify(await issuer.token(key, { email: undefined }))).toMatchObject({ ok: false, reason: "missing_email" });
    expect(await verifier.verify(await issuer.token(key, {}, { iss: "https://evil.example" }))).toMatchObject({ ok: false, reason: "unknown_issuer" });
    const [, p] = (await issuer.token(key, {})).split(".");
    const none = Buffer.from(JSON.stringify({ alg: "none", kid: key.kid })).toString("base64url");
    expect(await verifier.verify(`${none}.${p}.`)).toMatchObject({ ok: false, reason: "bad_signature" });
    const impostor = await generateKeyPair("ES256");
    const forged = await new SignJWT({ sub: "x", email: "ceo@corp.example" })
      .setProtectedHeader({ alg: "ES256", kid: key.kid })
      .setIssuer(issuer.url)
      .setAudience("gatehouse")
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(impostor.privateKey);
    expect(await verifier.verify(forged)).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("refuses everything from an issuer with no configured audience, and reports an unreachable issuer", async () => {
    const key = issuer.keys.at(-1)!;
    const none = new TokenVerifier({ ring, issuers: [{ issuer: issuer.url, audiences: [], domains: ["corp.example"] }] });
    expect(await none.verify(await issuer.token(key, {}))).toMatchObject({ ok: false, reason: "wrong_audience" });
    const down = new TokenVerifier({ ring, issuers: [{ issuer: "http://127.0.0.1:9", audiences: ["gatehouse"], domains: ["corp.example"] }], fetchTimeoutMs: 1000 });
    const tok = await issuer.token(key, {}, { iss: "http://127.0.0.1:9" });
    expect(await down.verify(tok)).toMatchObject({ ok: false, reason: "issuer_unavailable" });
    expect(await down.verify(tok)).toMatchObject({ ok: false, reason: "issuer_unavailable" }); // retry is throttled
  });

  it("fetches keys only over https, except from loopback", async () => {
    const key = issuer.keys.at(-1)!;
    const plain = new TokenVerifier({ ring, issuers: [{ issuer: "http://idp.example.test", audiences: ["gatehouse"], domains: ["corp.example"], jwksUri: `${issuer.url}/keys` }] });
    const tok = await issuer.token(key, {}, { iss: "http://idp.example.test" });
    expect(await plain.verify(tok)).toMatchObject({ ok: false, reason: "issuer_unavailable", message: expect.stringMatching(/https/) });
    const plainJwks = new TokenVerifier({ ring, issuers: [{ issuer: issuer.url, audiences: ["gatehouse"], domains: ["corp.example"], jwksUri: "http://keys.example.test/jwks" }] });
    expect(await plainJwks.verify(await issuer.token(key, {}))).toMatchObject({ ok: false, reason: "issuer_unavailable", message: expect.stringMatching(/https/) });
  });

  it("drops cached results when the issuer configuration changes", async () => {
    const verifier = new TokenVerifier({ ring, issuers: [{ issuer: issuer.url, audiences: ["gatehouse"], domains: ["corp.example"] }] });
    const tok = await issuer.token(issuer.keys.at(-1)!, {});
    expect((await verifier.verify(tok)).ok).toBe(true);
    verifier.setIssuers([]);
    expect(await verifier.verify(tok)).toMatchObject({ ok: false, reason: "unknown_issuer" });
  });
});
