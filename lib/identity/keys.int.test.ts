import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import {
  ASSERTION_LIFETIME_SEC,
  ID_TOKEN_LIFETIME_SEC,
  JWKS_MAX_AGE_SEC,
  KeyRing,
  PROPAGATION_DELAY_MS,
  RETIRED_RETENTION_MS,
  findSigningKeys,
} from "./keys";
import { rotateSigningKeys } from "@/lib/admin/signing-keys";
import { SecretBox } from "./secret-box";

const ISSUER = "https://gatehouse.example.test";
const SECRET = "integration-test-auth-secret-0123456789abcdef";
const OTHER_SECRET = "another-auth-secret-0123456789abcdef-xyz";
const MIN = 60_000;

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

/** A rotation as the CLI runs it: an admin mutation by a system actor, at `now`. */
function rotateKeys(db: TestDatabase["prisma"], o: { secret: string; now?: number; immediate?: boolean; secretChanged?: boolean }) {
  return rotateSigningKeys({ db, actor: { kind: "system", name: "system:test" }, instance: { authSecret: o.secret, publicUrl: ISSUER } }, { immediate: o.immediate, secretChanged: o.secretChanged }, { now: o.now });
}

async function fresh(): Promise<TestDatabase> {
  await t.prisma.signingKey.deleteMany();
  return t;
}

describe("bootstrap", () => {
  it("creates exactly one ACTIVE key, also with concurrent instances, and audits it once", async () => {
    const { prisma } = await fresh();
    const before = await prisma.adminActivityLog.count({ where: { methodName: "CreateSigningKey" } });
    const rings = Array.from({ length: 5 }, () => new KeyRing({ issuer: ISSUER, secret: SECRET }));
    await Promise.all(rings.map((r) => r.load(prisma)));
    const keys = await findSigningKeys(prisma);
    expect(keys).toHaveLength(1);
    expect(keys[0]!.state).toBe("ACTIVE");
    expect(new Set(rings.map((r) => r.signingKid()))).toEqual(new Set([keys[0]!.kid]));
    expect(await prisma.adminActivityLog.count({ where: { methodName: "CreateSigningKey" } })).toBe(before + 1);
    await rings[0]!.load(prisma); // idempotent
    expect(await findSigningKeys(prisma)).toHaveLength(1);
  });

  it("publishes the key as an ES256 JWKS whose kid is the RFC 7638 thumbprint", async () => {
    const { prisma } = await fresh();
    const ring = new KeyRing({ issuer: ISSUER, secret: SECRET });
    await ring.load(prisma);
    const jwks = ring.jwks();
    expect(jwks.keys).toHaveLength(1);
    const k = jwks.keys[0]!;
    expect(Object.keys(k).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x", "y"]);
    expect(k).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig", kid: ring.signingKid() });
    expect(k.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.parse(ring.jwksJson())).toEqual(jwks);
  });
});

describe("encryption at rest", () => {
  it("stores the private JWK sealed: the column holds neither 'd' nor its value", async () => {
    const { prisma } = await fresh();
    const ring = new KeyRing({ issuer: ISSUER, secret: SECRET });
    await ring.load(prisma);
    const [row] = await prisma.$queryRaw<{ kid: string; privateJwk: string; publicJwk: unknown }[]>`SELECT kid, "privateJwk", "publicJwk" FROM "SigningKey"`;
    expect(row!.privateJwk.startsWith("v1.")).toBe(true);
    expect(row!.privateJwk).not.toContain('"d"');
    expect(() => JSON.parse(row!.privateJwk)).toThrow();
    expect(JSON.stringify(row!.publicJwk)).not.toContain('"d"');
    const opened = JSON.parse(new SecretBox(SECRET, "signing-key").open(row!.privateJwk, `signing-key:${row!.kid}`)) as { d: string };
    expect(opened.d).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(row!.privateJwk).not.toContain(opened.d);
    // The default client never selects it.
    const viaModel = (await prisma.signingKey.findFirst()) as Record<string, unknown>;
    expect(viaModel.privateJwk).toBeUndefined();
  });

  it("with another AUTH_SECRET: publishes but cannot sign; rotation is refused until --secret-changed", async () => {
    const { prisma } = await fresh();
    await new KeyRing({ issuer: ISSUER, secret: SECRET }).load(prisma);
    const other = new KeyRing({ issuer: ISSUER, secret: OTHER_SECRET });
    await other.load(prisma);
    expect(other.status().undecryptableKids).toHaveLength(1);
    expect(other.jwks().keys).toHaveLength(1);
    await expect(other.sign({}, { audience: "x", lifetimeSec: 60 })).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await expect(rotateKeys(prisma, { secret: OTHER_SECRET })).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
    });
    const r = await rotateKeys(prisma, { secret: OTHER_SECRET, secretChanged: true });
    await other.refresh(prisma);
    expect(other.signingKid()).toBe(r.kid);
    const jwt = await other.sign({ sub: "s" }, { audience: "x", lifetimeSec: 60 });
    await jwtVerify(jwt, createLocalJWKSet(other.jwks()), { audience: "x", issuer: ISSUER });
    expect(other.jwks().keys).toHaveLength(2); // the old key stays published for its tokens
  });
});

describe("rotation", () => {
  it("is gap-free: every live token verifies at every step, and signing kids were published a cache lifetime earlier", async () => {
    const { prisma } = await fresh();
    const t0 = Date.UTC(2031, 5, 1, 8, 0, 0);
    const a = new KeyRing({ issuer: ISSUER, secret: SECRET });
    const b = new KeyRing({ issuer: ISSUER, secret: SECRET }); // a second instance that refreshes late
    await a.load(prisma, t0);
    await b.load(prisma, t0);
    const kids0 = a.signingKid(t0)!;

    const rotations = new Map([
      [t0 + 10 * MIN, "scheduled"],
      [t0 + 12 * MIN, "scheduled"], // while the first is pending: no-op
      [t0 + 80 * MIN, "scheduled"], // the first retired key is still published
      [t0 + 100 * MIN, "immediate"],
    ]);
    const tokens: { jwt: string; kid: string; exp: number; iat: number }[] = [];
    const jwksAt = new Map<number, Set<string>>();
    const signersSeen = new Set<string>();
    const end = t0 + 4 * 60 * MIN;
    let lastImmediate = -Infinity;
    let bRefreshedAt = t0;
    for (let now = t0; now <= end; now += MIN) {
      const mode = rotations.get(now);
      if (mode === "immediate") lastImmediate = now;
      if (mode) {
        const r = await rotateKeys(prisma, { secret: SECRET, now, immediate: mode === "immediate" });
        if (mode === "scheduled" && r.started) expect(r.activatesAt.getTime()).toBe(now + PROPAGATION_DELAY_MS);
        if (now === t0 + 12 * MIN) expect(r.started).toBe(false);
        await a.refresh(prisma, now); // the instance that rotated sees it at once
      } else {
        await a.refresh(prisma, now);
      }
      if ((now - t0) % (3 * MIN) === 0) {
        await b.refresh(prisma, now); // b refreshes every 3 min only
        bRefreshedAt = now;
      }

      const published = new Set(a.jwks(now).keys.map((k) => k.kid!));
      jwksAt.set(now, published);
      const signer = a.signingKid(now)!;
      signersSeen.add(signer);
      // Every instance signs with the same key at the same instant (time-based schedule), even
      // one that has not refreshed since the switch (only an immediate rotation needs a refresh)…
      if (bRefreshedAt >= lastImmediate) expect(b.signingKid(now)).toBe(signer);
      // …and that key was already in the JWKS a verifier may have cached JWKS_MAX_AGE_SEC ago
      // (by design not after an immediate rotation).
      const cachedAt = now - JWKS_MAX_AGE_SEC * 1000;
      if (cachedAt >= t0 && cachedAt >= lastImmediate) expect(jwksAt.get(cachedAt)!.has(signer)).toBe(true);

      for (const [lifetime, who] of [
        [ID_TOKEN_LIFETIME_SEC, a],
        [ASSERTION_LIFETIME_SEC, b],
      ] as const) {
        const jwt = await who.sign({ sub: "s" }, { audience: "aud", lifetimeSec: lifetime, now });
        tokens.push({ jwt, kid: decodeProtectedHeader(jwt).kid!, iat: now, exp: now + lifetime * 1000 });
      }
      const keySet = createLocalJWKSet(a.jwks(now));
      for (const tok of tokens) {
        if (tok.exp <= now) continue;
        expect(published.has(tok.kid), `kid ${tok.kid} of a token signed at +${(tok.iat - t0) / MIN} min missing at +${(now - t0) / MIN} min`).toBe(true);
        await jwtVerify(tok.jwt, keySet, { audience: "aud", issuer: ISSUER, currentDate: new Date(now) });
      }
    }
    expect(signersSeen.size).toBe(4); // bootstrap + 3 rotations that started
    // Old keys leave: at the end only keys whose tokens may still be live are published.
    const last = await findSigningKeys(prisma);
    expect(last.some((k) => k.kid === kids0)).toBe(false);
    for (const k of last.filter((k) => k.state === "RETIRED")) expect(k.expiresAt!.getTime()).toBe(k.retiredAt!.getTime() + RETIRED_RETENTION_MS);
    expect(a.jwks(end).keys.length).toBeLessThanOrEqual(2);
  });

  it("is audited, and --immediate makes the new key sign at once while the old stays published", async () => {
    const { prisma } = await fresh();
    const ring = new KeyRing({ issuer: ISSUER, secret: SECRET });
    await ring.load(prisma);
    const old = ring.signingKid()!;
    const r = await rotateKeys(prisma, { secret: SECRET, immediate: true });
    expect(r.started).toBe(true);
    await ring.refresh(prisma);
    expect(ring.signingKid()).toBe(r.kid);
    expect(ring.jwks().keys.map((k) => k.kid).sort()).toEqual([old, r.kid].sort());
    const states = Object.fromEntries(r.keys.map((k) => [k.kid, k.state]));
    expect(states).toEqual({ [old]: "RETIRED", [r.kid]: "ACTIVE" });
    const audit = await prisma.adminActivityLog.findFirst({ where: { methodName: "RotateSigningKeys", resourceName: `signingKeys/${r.kid}` } });
    expect(audit).toMatchObject({ actor: "system:test", serviceName: "gatehouse.local", revision: r.revision });
  });
});
