// Proxy credentials through the admin API: instance-wide (owners only), the secret shown once,
// paged listing, revocation enforced on the decision path, bad input refused with nothing written.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "@/lib/test/db";
import { startAdminStack, TEST_PUBLIC_URL, type AdminStack } from "@/lib/test/admin-stack";
import { issueIdTokenForPrincipal } from "@/lib/identity/id-token";
import type { DecisionStack } from "@/lib/decide/stack";

const WORLD = {
  organizations: [{ id: "1", domain: "acme.test" }, { id: "2", domain: "other.test" }],
  projects: [{ id: "p1", number: "4242", parent: "organizations/1" }],
  resources: [{ name: "projects/p1/iap_web/compute/services/app", iap: true, hosts: ["app.acme.test"] }],
  users: [{ email: "owner@acme.test" }, { email: "half@acme.test" }, { email: "bob@acme.test" }],
  policies: [
    { resource: "organizations/1", bindings: [{ role: "roles/owner", members: ["user:owner@acme.test", "user:half@acme.test"] }] },
    { resource: "organizations/2", bindings: [{ role: "roles/owner", members: ["user:owner@acme.test"] }] },
    { resource: "projects/p1/iap_web/compute/services/app", bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["user:bob@acme.test"] }] },
  ],
};

let a: AdminStack;
let t: TestDatabase;
let stack: DecisionStack;
let base: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  a = await startAdminStack(WORLD);
  ({ t, stack, base } = a);
  for (const u of ["owner", "half", "bob"]) tokens[u] = (await issueIdTokenForPrincipal(t.prisma, stack.ctx.ring, { principal: `user:${u}@acme.test`, audience: TEST_PUBLIC_URL })).token;
});

afterAll(async () => {
  await a?.stop();
});

async function api(who: string | null, method: string, p: string, body?: unknown) {
  const res = await fetch(`${base}${p}`, { method, headers: who ? { authorization: `Bearer ${tokens[who]}` } : {}, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> & { error?: { code: string } } };
}

describe("/api/v1/proxyKeys", () => {
  it("an instance owner (owner of every organization) creates one; the secret is in that answer only", async () => {
    const created = await api("owner", "POST", "/api/v1/proxyKeys", { name: "edge", regionHeader: "X-Client-Region" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^ghpk_/);
    expect(created.body.proxyKey).toMatchObject({ name: "edge", trusted: false, regionHeader: "x-client-region", createdBy: "user:owner@acme.test", revokedAt: null });
    expect(JSON.stringify((await api("owner", "GET", "/api/v1/proxyKeys")).body)).not.toContain(secret);
    const revision = created.headers.get("x-gatehouse-revision");
    // It works on the decision path once the engine has that revision (credentials follow the feed).
    await stack.ctx.engine.waitFor(BigInt(revision!), 2000);
    const d = await fetch(`${base}/api/v1/decisions`, { method: "POST", headers: { authorization: `Bearer ${secret}` }, body: JSON.stringify({ resource: "projects/p1" }) });
    expect(d.status).toBe(200);
    const audit = await t.prisma.adminActivityLog.findFirstOrThrow({ where: { methodName: "CreateProxyCredential" }, orderBy: { seq: "desc" } });
    expect(JSON.stringify(audit, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))).not.toContain(secret);
  });

  it("owning one organization of two is not enough; neither is anything less; no credential is 401", async () => {
    const before = await t.prisma.proxyCredential.count();
    expect(await api("half", "POST", "/api/v1/proxyKeys", { name: "sneaky", trusted: true })).toMatchObject({ status: 403, body: { error: { code: "PERMISSION_DENIED" } } });
    expect(await api("bob", "POST", "/api/v1/proxyKeys", { name: "sneaky", trusted: true })).toMatchObject({ status: 403 });
    expect(await api("bob", "GET", "/api/v1/proxyKeys")).toMatchObject({ status: 403 });
    expect(await api(null, "GET", "/api/v1/proxyKeys")).toMatchObject({ status: 401 });
    expect(await t.prisma.proxyCredential.count()).toBe(before);
  });

  it("refuses bad input with the field named, a duplicate name with 409, and writes nothing", async () => {
    const before = await t.prisma.proxyCredential.count();
    for (const [body, field] of [
      [{ name: "bad name!" }, "name"],
      [{ name: "ok", regionHeader: "authorization" }, "regionHeader"],
      [{ name: "ok", trusted: "yes" }, "trusted"],
      [{ name: "ok", extra: 1 }, ""],
    ] as const) {
      const r = await api("owner", "POST", "/api/v1/proxyKeys", body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.body.error)).toContain(field);
    }
    expect(await api("owner", "POST", "/api/v1/proxyKeys", { name: "edge" })).toMatchObject({ status: 409, body: { error: { code: "ALREADY_EXISTS" } } });
    expect(await t.prisma.proxyCredential.count()).toBe(before);
    expect((await api("owner", "PATCH", "/api/v1/proxyKeys")).status).toBe(405);
  });

  it("pages with opaque tokens and filters by name", async () => {
    for (const n of ["a-1", "a-2", "a-3", "b-1"]) expect((await api("owner", "POST", "/api/v1/proxyKeys", { name: n })).status).toBe(201);
    const first = await api("owner", "GET", "/api/v1/proxyKeys?pageSize=2&filter=A-");
    expect((first.body.proxyKeys as { name: string }[]).map((k) => k.name)).toEqual(["a-1", "a-2"]);
    const second = await api("owner", "GET", `/api/v1/proxyKeys?pageSize=2&filter=A-&pageToken=${first.body.nextPageToken}`);
    expect((second.body.proxyKeys as { name: string }[]).map((k) => k.name)).toEqual(["a-3"]);
    expect(second.body.nextPageToken).toBeUndefined();
    expect((await api("owner", "GET", "/api/v1/proxyKeys?pageToken=garbage")).status).toBe(400);
    expect((await api("owner", "GET", "/api/v1/proxyKeys?pageSize=5000")).status).toBe(400);
  });

  it("revoking stops the credential on the decision path at that revision; revoking twice is 409", async () => {
    const { body } = await api("owner", "POST", "/api/v1/proxyKeys", { name: "short-lived" });
    const secret = body.secret as string;
    const revoked = await api("owner", "DELETE", "/api/v1/proxyKeys/short-lived");
    expect(revoked.status).toBe(200);
    expect(revoked.body.proxyKey).toMatchObject({ revokedAt: expect.any(String) });
    await stack.ctx.engine.waitFor(BigInt(revoked.headers.get("x-gatehouse-revision")!), 2000);
    const d = await fetch(`${base}/api/v1/decisions`, { method: "POST", headers: { authorization: `Bearer ${secret}` }, body: JSON.stringify({ resource: "projects/p1" }) });
    expect(d.status).toBe(401);
    expect(await api("owner", "DELETE", "/api/v1/proxyKeys/short-lived")).toMatchObject({ status: 409, body: { error: { code: "FAILED_PRECONDITION" } } });
    expect(await api("owner", "DELETE", "/api/v1/proxyKeys/nope")).toMatchObject({ status: 404 });
  });
});
