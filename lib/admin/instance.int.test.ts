// Instance-wide admin methods over HTTP against a real PostgreSQL and the live engine: trusted
// issuers (validated as the world file validates them) and Gatehouse's signing keys (listed with
// public parts only; rotated through the admin mutation). Instance-wide means every organization
// or an instance owner: an owner of one organization of two is refused, and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminStack, type AdminStack } from "@/lib/test/admin-stack";

const WORLD = {
  organizations: [
    { id: "1", domain: "acme.test" },
    { id: "2", domain: "other.test" },
  ],
  users: [{ email: "root@acme.test" }, { email: "owner@acme.test" }, { email: "bob@acme.test" }],
  policies: [
    { resource: "organizations/1", bindings: [{ role: "roles/owner", members: ["user:owner@acme.test"] }] },
    { resource: "organizations/2", bindings: [{ role: "roles/viewer", members: ["user:owner@acme.test"] }] },
  ],
};

let a: AdminStack;
beforeAll(async () => {
  a = await startAdminStack(WORLD, { bootstrapAdmins: ["root@acme.test"] });
});
afterAll(() => a?.stop());

const ROOT = "root@acme.test";
const ISSUER = "https://idp.example.com";
const path = (issuer: string) => `/api/v1/trustedIssuers/${encodeURIComponent(issuer)}`;

describe("trusted issuers", () => {
  it("create, get, list, update, delete — one record each; the token verifier follows the feed", async () => {
    const c = await a.oneRecord(() => a.api(ROOT, "POST", "/api/v1/trustedIssuers", { issuer: ISSUER, audiences: ["gatehouse"], domains: ["Acme.test"] }), 201);
    expect(c.body.trustedIssuer).toMatchObject({ issuer: ISSUER, audiences: ["gatehouse"], domains: ["acme.test"], jwksUri: null, allowUnverifiedEmails: false });
    expect(await a.t.prisma.policyChange.count({ where: { kind: "trustedIssuer", key: ISSUER, revision: BigInt(c.headers.get("x-gatehouse-revision")!) } })).toBe(1);
    expect((await a.api(ROOT, "GET", path(ISSUER))).body.issuer).toBe(ISSUER);
    await a.oneRecord(() => a.api(ROOT, "POST", "/api/v1/trustedIssuers", { issuer: "http://127.0.0.1:9999", audiences: ["x"], domains: ["acme.test"], jwksUri: "http://localhost:9999/jwks" }), 201);
    const listed = await a.api(ROOT, "GET", "/api/v1/trustedIssuers?pageSize=1");
    expect(listed.body.trustedIssuers.map((i: { issuer: string }) => i.issuer)).toEqual(["http://127.0.0.1:9999"]);
    expect((await a.api(ROOT, "GET", `/api/v1/trustedIssuers?pageToken=${listed.body.nextPageToken}`)).body.trustedIssuers.map((i: { issuer: string }) => i.issuer)).toEqual([ISSUER]);
    const up = await a.oneRecord(() => a.api(ROOT, "PATCH", path(ISSUER), { audiences: ["gatehouse", "cli"], jwksUri: "https://idp.example.com/keys" }));
    expect(up.body.trustedIssuer).toMatchObject({ audiences: ["gatehouse", "cli"], jwksUri: "https://idp.example.com/keys", domains: ["acme.test"] });
    await a.oneRecord(() => a.api(ROOT, "PATCH", path(ISSUER), { jwksUri: null }));
    await a.unchanged(() => a.api(ROOT, "PATCH", path(ISSUER), { audiences: ["gatehouse", "cli"] }), 200);
    await a.oneRecord(() => a.api(ROOT, "DELETE", path("http://127.0.0.1:9999")));
    expect(await a.t.prisma.trustedIssuer.count()).toBe(1);
  });

  it("refuses what the world file refuses (http off loopback, no domains, query, credentials), with the field named, writing nothing", async () => {
    for (const [body, field] of [
      [{ issuer: "http://idp.example.org", audiences: ["g"], domains: ["acme.test"] }, "issuer"],
      [{ issuer: "https://idp.example.org?x=1", audiences: ["g"], domains: ["acme.test"] }, "issuer"],
      [{ issuer: "https://user:pw@idp.example.org", audiences: ["g"], domains: ["acme.test"] }, "issuer"],
      [{ issuer: "https://idp.example.org", audiences: ["g"], domains: [] }, "domains"],
      [{ issuer: "https://idp.example.org", audiences: ["g"] }, "domains"],
      [{ issuer: "https://idp.example.org", audiences: [], domains: ["acme.test"] }, "audiences"],
      [{ issuer: "https://idp.example.org", audiences: ["g"], domains: ["*.acme.test"] }, "domains"],
      [{ issuer: "https://idp.example.org", audiences: ["g"], domains: ["acme.test"], jwksUri: "http://idp.example.org/k" }, "jwksUri"],
      [{ issuer: "https://idp.example.org", audiences: ["g"], domains: ["acme.test"], extra: 1 }, ""],
    ] as const) {
      const r = await a.unchanged(() => a.api(ROOT, "POST", "/api/v1/trustedIssuers", body), 400, "INVALID_ARGUMENT");
      expect(JSON.stringify(r.body.error), JSON.stringify(body)).toContain(field);
    }
    await a.unchanged(() => a.api(ROOT, "PATCH", path(ISSUER), { domains: [] }), 400, "INVALID_ARGUMENT");
    await a.unchanged(() => a.api(ROOT, "PATCH", path(ISSUER), { issuer: "https://other" }), 400, "INVALID_ARGUMENT");
    await a.unchanged(() => a.api(ROOT, "POST", "/api/v1/trustedIssuers", { issuer: ISSUER, audiences: ["g"], domains: ["acme.test"] }), 409, "ALREADY_EXISTS");
    await a.unchanged(() => a.api(ROOT, "DELETE", path("https://nobody.example.com")), 404, "NOT_FOUND");
  });

  it("are instance-wide: an owner of one organization of two, and anyone less, is refused", async () => {
    const body = { issuer: "https://evil.example.com", audiences: ["gatehouse"], domains: ["acme.test"] };
    await a.unchanged(() => a.api("owner@acme.test", "POST", "/api/v1/trustedIssuers", body), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api("owner@acme.test", "PATCH", path(ISSUER), { domains: ["acme.test", "other.test"] }), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api("owner@acme.test", "DELETE", path(ISSUER)), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api("bob@acme.test", "GET", "/api/v1/trustedIssuers"), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(null, "GET", "/api/v1/trustedIssuers"), 401, "UNAUTHENTICATED");
  });
});

describe("signing keys", () => {
  it("lists public parts and states only", async () => {
    const r = await a.api(ROOT, "GET", "/api/v1/signingKeys");
    expect(r.status).toBe(200);
    expect(r.body.signingKeys).toEqual([expect.objectContaining({ state: "ACTIVE", kid: a.stack.ctx.ring.signingKid(), publicJwk: expect.objectContaining({ kty: "EC", crv: "P-256" }) })]);
    expect(r.body.signingKeys[0].publicJwk.d).toBeUndefined();
    expect(JSON.stringify(r.body)).not.toMatch(/privateJwk|"d":/);
    // Listing is a read (viewers hold gatehouse.signingKeys.list): owner@ views organization 2 and owns 1.
    expect((await a.api("owner@acme.test", "GET", "/api/v1/signingKeys")).status).toBe(200);
    await a.unchanged(() => a.api("bob@acme.test", "GET", "/api/v1/signingKeys"), 403, "PERMISSION_DENIED");
  });

  it("rotating needs gatehouse.signingKeys.rotate instance-wide; without it nothing changes", async () => {
    await a.unchanged(() => a.api("owner@acme.test", "POST", "/api/v1/signingKeys:rotate", {}), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api("owner@acme.test", "POST", "/api/v1/signingKeys:rotate", { immediate: true }), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api("bob@acme.test", "POST", "/api/v1/signingKeys:rotate", {}), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(ROOT, "POST", "/api/v1/signingKeys:rotate", { immediate: "yes" }), 400, "INVALID_ARGUMENT");
    // The secret's own recovery is the CLI's (the caller's secret is the servers' there).
    await a.unchanged(() => a.api(ROOT, "POST", "/api/v1/signingKeys:rotate", { secretChanged: true }), 400, "INVALID_ARGUMENT");
    expect((await a.api(ROOT, "GET", "/api/v1/signingKeys:rotate")).status).toBe(405);
  });

  it("a rotation publishes the next key first (one record), a second call while it is pending changes nothing, immediate switches", async () => {
    const old = a.stack.ctx.ring.signingKid()!;
    const r = await a.oneRecord(() => a.api(ROOT, "POST", "/api/v1/signingKeys:rotate", {}));
    expect(r.body.started).toBe(true);
    expect(new Date(r.body.activateTime).getTime()).toBeGreaterThan(Date.now());
    expect(r.body.signingKeys.map((k: { kid: string; state: string }) => [k.kid, k.state])).toEqual([
      [old, "ACTIVE"],
      [r.body.kid, "NEXT"],
    ]);
    const audit = await a.t.prisma.adminActivityLog.findFirstOrThrow({ where: { methodName: "RotateSigningKeys" }, orderBy: { seq: "desc" } });
    expect(audit).toMatchObject({ actor: ROOT, resourceName: `signingKeys/${r.body.kid}`, response: expect.objectContaining({ retiring: old }) });
    const again = await a.unchanged(() => a.api(ROOT, "POST", "/api/v1/signingKeys:rotate", {}), 200);
    expect([again.body.started, again.body.kid]).toEqual([false, r.body.kid]);
    const now = await a.oneRecord(() => a.api(ROOT, "POST", "/api/v1/signingKeys:rotate", { immediate: true }));
    expect(now.body.kid).toBe(r.body.kid);
    await a.stack.ctx.ring.refresh(a.t.prisma);
    expect(a.stack.ctx.ring.signingKid()).toBe(r.body.kid);
    expect(a.stack.ctx.ring.jwks().keys.map((k) => k.kid).sort()).toEqual([old, r.body.kid].sort());
  });
});
