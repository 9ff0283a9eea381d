// TokenVerifier with Gatehouse's own tokens (no I/O: the ring is in memory). Trusted external
// issuers are exercised against a real HTTP issuer in verify.int.test.ts.
import { SignJWT, UnsecuredJWT, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { KeyRing } from "./keys";
import { issueIdToken } from "./id-token";
import { TokenVerifier, principalForEmail } from "./verify";

const ISSUER = "https://gatehouse.example.test";
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

let ring: KeyRing;
let verifier: TokenVerifier;
beforeAll(async () => {
  ring = await KeyRing.ephemeral({ issuer: ISSUER, now: T0 - 60_000 });
  verifier = new TokenVerifier({ ring });
});

const token = (over: { email?: string; audience?: string; now?: number } = {}) =>
  issueIdToken(ring, { email: over.email ?? "alice@example.com", subjectId: "p-1", audience: over.audience ?? ISSUER, now: over.now ?? T0 });

describe("TokenVerifier — Gatehouse's own tokens", () => {
  it("accepts them, as user: or serviceAccount: by the email's domain", async () => {
    expect(await verifier.verify(await token(), { audiences: [ISSUER], now: T0 + 1000 })).toEqual({
      ok: true,
      identity: { principal: "user:alice@example.com", email: "alice@example.com", subjectId: "p-1", issuer: ISSUER, expiresAt: T0 / 1000 + 3600 },
    });
    const sa = await verifier.verify(await token({ email: "gw@demo.iam.gserviceaccount.com" }), { audiences: [ISSUER], now: T0 });
    expect(sa.ok && sa.identity.principal).toBe("serviceAccount:gw@demo.iam.gserviceaccount.com");
  });

  it("rejects expired tokens (beyond the 30 s tolerance) and tokens from the future", async () => {
    const t = await token();
    expect((await verifier.verify(t, { audiences: [ISSUER], now: T0 + 3600_000 + 29_000 })).ok).toBe(true);
    expect(await verifier.verify(t, { audiences: [ISSUER], now: T0 + 3600_000 + 31_000 })).toMatchObject({ ok: false, reason: "expired" });
    const future = await token({ now: T0 + 120_000 });
    expect(await verifier.verify(future, { audiences: [ISSUER], now: T0 })).toMatchObject({ ok: false, reason: "not_yet_valid" });
  });

  it("accepts exactly the audiences the caller names — none by default, not even the issuer URL", async () => {
    const t = await token({ audience: "https://other-service.example" });
    expect(await verifier.verify(t, { now: T0 })).toMatchObject({ ok: false, reason: "wrong_audience" });
    expect(await verifier.verify(t, { now: T0, audiences: [ISSUER] })).toMatchObject({ ok: false, reason: "wrong_audience" });
    expect((await verifier.verify(t, { now: T0, audiences: ["https://other-service.example"] })).ok).toBe(true);
    // The cached success is re-checked against each call's audiences.
    expect(await verifier.verify(t, { now: T0, audiences: ["/projects/1/global/backendServices/web"] })).toMatchObject({ ok: false, reason: "wrong_audience" });
    const forIssuer = await token();
    expect(await verifier.verify(forIssuer, { now: T0, audiences: ["/projects/1/global/backendServices/web"] })).toMatchObject({ ok: false, reason: "wrong_audience" });
  });

  it("never accepts Gatehouse's IAP assertion as a credential", async () => {
    const assertion = await ring.sign({ sub: "accounts.google.com:p-1", email: "alice@example.com" }, { audience: ISSUER, lifetimeSec: 600, now: T0, kind: "assertion" });
    expect(await verifier.verify(assertion, { now: T0, audiences: [ISSUER] })).toMatchObject({ ok: false, reason: "not_a_credential" });
  });

  it("rejects tampered tokens", async () => {
    const [h, p, s] = (await token()).split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, email: "mallory@example.com" })).toString("base64url");
    expect(await verifier.verify(`${h}.${forged}.${s}`, { audiences: [ISSUER], now: T0 })).toMatchObject({ ok: false, reason: "bad_signature" });
    const sig = Buffer.from(s!, "base64url");
    sig[5]! ^= 1;
    expect(await verifier.verify(`${h}.${p}.${sig.toString("base64url")}`, { audiences: [ISSUER], now: T0 })).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("rejects alg none, HS256 and keys Gatehouse does not publish", async () => {
    const claims = { iss: ISSUER, aud: ISSUER, sub: "p-1", email: "alice@example.com", email_verified: true };
    const none = new UnsecuredJWT(claims).setIssuedAt(T0 / 1000).setExpirationTime(T0 / 1000 + 600).encode();
    expect(await verifier.verify(none, { audiences: [ISSUER], now: T0 })).toMatchObject({ ok: false, reason: "bad_signature" });
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", kid: ring.signingKid(T0)! })
      .setIssuedAt(T0 / 1000)
      .setExpirationTime(T0 / 1000 + 600)
      .sign(new TextEncoder().encode("a-shared-secret-of-32-bytes-length!!"));
    expect(await verifier.verify(hs, { audiences: [ISSUER], now: T0 })).toMatchObject({ ok: false, reason: "bad_signature" });
    const { privateKey } = await generateKeyPair("ES256");
    const stranger = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: ring.signingKid(T0)! })
      .setIssuedAt(T0 / 1000)
      .setExpirationTime(T0 / 1000 + 600)
      .sign(privateKey);
    expect(await verifier.verify(stranger, { audiences: [ISSUER], now: T0 })).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("rejects unknown issuers, malformed input and tokens without a usable email", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    const other = await new SignJWT({ sub: "x", email: "a@b.example" })
      .setProtectedHeader({ alg: "ES256" })
      .setIssuer("https://unknown.example")
      .setAudience(ISSUER)
      .setIssuedAt(T0 / 1000)
      .setExpirationTime(T0 / 1000 + 600)
      .sign(privateKey);
    expect(await verifier.verify(other, { audiences: [ISSUER], now: T0 })).toMatchObject({ ok: false, reason: "unknown_issuer" });
    for (const junk of ["", "abc", "a.b.c", "x".repeat(20_000)]) {
      expect(await verifier.verify(junk, { audiences: [ISSUER], now: T0 })).toMatchObject({ ok: false, reason: "malformed" });
    }
    const noEmail = await ring.sign({ sub: "p-1" }, { audience: ISSUER, lifetimeSec: 600, now: T0 });
    expect(await verifier.verify(noEmail, { audiences: [ISSUER], now: T0 })).toMatchObject({ ok: false, reason: "missing_email" });
    const lookalike = await token({ email: "аlice@example.com" }); // Cyrillic а
    expect(await verifier.verify(lookalike, { audiences: [ISSUER], now: T0 })).toMatchObject({ ok: false, reason: "missing_email" });
  });
});

describe("principalForEmail", () => {
  it("recognises Google service-account domains only", () => {
    expect(principalForEmail("gw@demo.iam.gserviceaccount.com")).toBe("serviceAccount:gw@demo.iam.gserviceaccount.com");
    expect(principalForEmail("demo@appspot.gserviceaccount.com")).toBe("serviceAccount:demo@appspot.gserviceaccount.com");
    expect(principalForEmail("a@notgserviceaccount.com")).toBe("user:a@notgserviceaccount.com");
    expect(principalForEmail("a@example.com")).toBe("user:a@example.com");
  });
});
