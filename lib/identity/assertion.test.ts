import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { KeyRing } from "./keys";
import { ASSERTION_CACHE_SIZE, buildIapHeaders, hostedDomain, subjectIdForEmail } from "./assertion";

const ISSUER = "https://gatehouse.example.test";
const AUD = "/projects/100200300/global/backendServices/web";
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

let ring: KeyRing;
beforeAll(async () => {
  ring = await KeyRing.ephemeral({ issuer: ISSUER, now: T0 - 60_000 });
});

const alice = (over: Partial<Parameters<typeof buildIapHeaders>[1]> = {}) => ({
  principal: "user:alice@example.com",
  email: "alice@example.com",
  subjectId: "1234567890",
  audience: AUD,
  accessLevels: ["accessPolicies/1/accessLevels/corp"],
  now: T0,
  ...over,
});

describe("buildIapHeaders", () => {
  it("produces IAP's headers and exactly IAP's claims, verifiable against the ring's JWKS", async () => {
    const h = await buildIapHeaders(ring, alice());
    expect(Object.keys(h).sort()).toEqual(["x-goog-authenticated-user-email", "x-goog-authenticated-user-id", "x-goog-iap-jwt-assertion"]);
    expect(h["x-goog-authenticated-user-email"]).toBe("accounts.google.com:alice@example.com");
    expect(h["x-goog-authenticated-user-id"]).toBe("accounts.google.com:1234567890");
    const jwt = h["x-goog-iap-jwt-assertion"];
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: "ES256", kid: ring.signingKid(T0), typ: "JWT" });
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(ring.jwks(T0)), {
      issuer: `${ISSUER}/iap`,
      audience: AUD,
      algorithms: ["ES256"],
      currentDate: new Date(T0),
    });
    expect(payload).toEqual({
      // The assertion's own issuer, never the ID tokens' (GATEHOUSE_PUBLIC_URL).
      iss: `${ISSUER}/iap`,
      aud: AUD,
      sub: "accounts.google.com:1234567890",
      email: "alice@example.com",
      hd: "example.com",
      iat: T0 / 1000,
      exp: T0 / 1000 + 600,
      google: { access_levels: ["accessPolicies/1/accessLevels/corp"] },
    });
  });

  it("sets hd only for users of a hosted domain", async () => {
    const sa = await buildIapHeaders(ring, alice({ principal: "serviceAccount:gw@demo.iam.gserviceaccount.com", email: "gw@demo.iam.gserviceaccount.com", accessLevels: [] }));
    const gmail = await buildIapHeaders(ring, alice({ principal: "user:bob@gmail.com", email: "bob@gmail.com" }));
    const verify = async (jwt: string) => (await jwtVerify(jwt, createLocalJWKSet(ring.jwks(T0)), { currentDate: new Date(T0) })).payload;
    const saClaims = await verify(sa["x-goog-iap-jwt-assertion"]);
    expect(saClaims.hd).toBeUndefined();
    expect(saClaims.google).toEqual({ access_levels: [] });
    expect((await verify(gmail["x-goog-iap-jwt-assertion"])).hd).toBeUndefined();
    expect(hostedDomain("user:x@Corp.Example", "x@Corp.Example")).toBe("corp.example");
  });

  it("reuses an assertion while it has more than 5 minutes left, per (principal, audience, levels)", async () => {
    const a = await buildIapHeaders(ring, alice({ principal: "user:reuse@example.com", email: "reuse@example.com" }));
    const again = await buildIapHeaders(ring, alice({ principal: "user:reuse@example.com", email: "reuse@example.com", now: T0 + 299_000 }));
    expect(again).toBe(a);
    const renewed = await buildIapHeaders(ring, alice({ principal: "user:reuse@example.com", email: "reuse@example.com", now: T0 + 300_000 }));
    expect(renewed["x-goog-iap-jwt-assertion"]).not.toBe(a["x-goog-iap-jwt-assertion"]);
    const otherAud = await buildIapHeaders(ring, alice({ principal: "user:reuse@example.com", email: "reuse@example.com", audience: "/projects/1/apps/x" }));
    const otherLevels = await buildIapHeaders(ring, alice({ principal: "user:reuse@example.com", email: "reuse@example.com", accessLevels: [] }));
    expect(new Set([a, otherAud, otherLevels].map((h) => h["x-goog-iap-jwt-assertion"])).size).toBe(3);
    // A clock that went back before the cached iat does not get a token from its future.
    const earlier = await buildIapHeaders(ring, alice({ principal: "user:reuse@example.com", email: "reuse@example.com", now: T0 - 10_000 }));
    expect(earlier["x-goog-iap-jwt-assertion"]).not.toBe(a["x-goog-iap-jwt-assertion"]);
  });

  it("signs once for concurrent callers", async () => {
    const all = await Promise.all(Array.from({ length: 20 }, () => buildIapHeaders(ring, alice({ principal: "user:burst@example.com", email: "burst@example.com" }))));
    expect(new Set(all.map((h) => h["x-goog-iap-jwt-assertion"])).size).toBe(1);
  });

  it("refuses members that are not a user or a service account", async () => {
    await expect(buildIapHeaders(ring, alice({ principal: "group:eng@example.com" }))).rejects.toThrow(/user: or serviceAccount:/);
  });

  it("keeps at most ASSERTION_CACHE_SIZE assertions (least recently used go first)", async () => {
    const small = await KeyRing.ephemeral({ issuer: ISSUER, now: T0 - 60_000 });
    const first = await buildIapHeaders(small, alice({ principal: "user:u0@example.com", email: "u0@example.com" }));
    const hot = await buildIapHeaders(small, alice({ principal: "user:u1@example.com", email: "u1@example.com" }));
    for (let i = 2; i <= ASSERTION_CACHE_SIZE; i++) {
      if (i % 1000 === 0) expect(await buildIapHeaders(small, alice({ principal: "user:u1@example.com", email: "u1@example.com" }))).toBe(hot);
      await buildIapHeaders(small, alice({ principal: `user:u${i}@example.com`, email: `u${i}@example.com` }));
    }
    expect(await buildIapHeaders(small, alice({ principal: "user:u1@example.com", email: "u1@example.com" }))).toBe(hot);
    expect(await buildIapHeaders(small, alice({ principal: "user:u0@example.com", email: "u0@example.com" }))).not.toBe(first);
  });
});

describe("subjectIdForEmail", () => {
  it("is stable, 21 digits, case-insensitive", () => {
    expect(subjectIdForEmail("Alice@Example.com")).toBe(subjectIdForEmail("alice@example.com"));
    expect(subjectIdForEmail("alice@example.com")).toMatch(/^\d{21}$/);
    expect(subjectIdForEmail("bob@example.com")).not.toBe(subjectIdForEmail("alice@example.com"));
  });
});
