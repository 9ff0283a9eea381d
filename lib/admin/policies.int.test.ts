// The IAM policy methods over HTTP against a real PostgreSQL and the live engine: Google's shapes
// and rules (etags, versions, conditions), the Google-compatible mounts driven by Google's own
// client library, authorisation by the engine, the guard rails and escalation attempts — each of
// which must change nothing — and the one-record-per-change audit, in the change's transaction.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encode } from "next-auth/jwt";
import { OAuth2Client } from "google-auth-library";
import { ProjectsClient } from "@google-cloud/resource-manager";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { applyWorld } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { createProxyKey } from "@/lib/admin/proxy-keys";
import { SYSTEM_CLI } from "@/lib/admin/context";
import { issueIdTokenForPrincipal } from "@/lib/identity/id-token";
import { hotPathServer, startDecisionStack, type DecisionStack } from "@/lib/decide/stack";

const AUTH_SECRET = "test-only-auth-secret-0123456789abcdef";
const PUBLIC_URL = "http://gatehouse.test";
const ORG = "organizations/1";
const PROJECT = "projects/p1";
const APP = "projects/p1/iap_web/compute/services/app";
const ACCESSOR = "roles/iap.httpsResourceAccessor";

const WORLD = {
  organizations: [{ id: "1", displayName: "Acme", domain: "acme.test" }],
  projects: [
    { id: "p1", number: "4242", parent: ORG },
    { id: "p2", number: "4243", parent: ORG },
  ],
  resources: [{ name: APP, iap: true, hosts: ["app.acme.test"] }],
  users: ["owner", "iapadmin", "projadmin", "viewer", "bob", "carol", "member"].map((u) => ({ email: `${u}@acme.test` })),
  groups: [
    { email: "admins@acme.test", members: ["user:iapadmin@acme.test"] },
    { email: "readers@acme.test", members: ["user:carol@acme.test"] },
  ],
  policies: [
    { resource: ORG, bindings: [{ role: "roles/owner", members: ["user:owner@acme.test"] }] },
    {
      resource: PROJECT,
      bindings: [
        { role: "roles/iap.admin", members: ["user:iapadmin@acme.test"] },
        { role: "roles/resourcemanager.projectIamAdmin", members: ["user:projadmin@acme.test"] },
        { role: "roles/viewer", members: ["user:viewer@acme.test"] },
      ],
    },
    { resource: APP, bindings: [{ role: ACCESSOR, members: ["user:member@acme.test"] }] },
  ],
};

let t: TestDatabase;
let stack: DecisionStack;
let server: Server;
let base: string;
let port: number;
let proxyKey: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestDatabase();
  await applyWorld(t.prisma, parseWorld(JSON.stringify(WORLD)), { actor: "test", catalog: worldCatalog() });
  proxyKey = (await createProxyKey({ db: t.prisma, actor: SYSTEM_CLI }, { name: "trusted", trusted: true })).secret;
  stack = await startDecisionStack({
    prisma: t.prisma,
    databaseUrl: t.url,
    publicUrl: PUBLIC_URL,
    authSecret: AUTH_SECRET,
    bootstrapAdmins: [],
    spoolDir: fs.mkdtempSync(path.join(os.tmpdir(), "gh-admin-")),
  });
  server = hotPathServer(stack.ctx);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  for (const u of ["owner", "iapadmin", "projadmin", "viewer", "bob", "carol", "member"]) {
    tokens[u] = (await issueIdTokenForPrincipal(t.prisma, stack.ctx.ring, { principal: `user:${u}@acme.test`, audience: PUBLIC_URL })).token;
  }
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await stack?.stop();
  await t?.drop();
});

interface Policy {
  version: number;
  etag: string;
  bindings: { role: string; members: string[]; condition?: { title: string; expression: string } }[];
}

async function call(who: string | null, resource: string, method: string, body: unknown, opts: { mount?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${base}/${opts.mount ?? "api/v1"}/${resource}:${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}), ...opts.headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> & { error?: { code: string | number; message: string; status?: string } } };
}

const get = async (who: string, resource: string) => (await call(who, resource, "getIamPolicy", { options: { requestedPolicyVersion: 3 } })).body as unknown as Policy;
const revision = async () => (await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value;
const auditCount = () => t.prisma.adminActivityLog.count();

/** Runs `fn` and checks that it changed nothing: no revision, no record, the same policies. */
async function changesNothing<T>(fn: () => Promise<T>): Promise<T> {
  const [rev, audits, policies] = [await revision(), await auditCount(), JSON.stringify(await t.prisma.bindingMember.findMany({ orderBy: [{ bindingId: "asc" }, { member: "asc" }] }))];
  const r = await fn();
  expect(await revision()).toBe(rev);
  expect(await auditCount()).toBe(audits);
  expect(JSON.stringify(await t.prisma.bindingMember.findMany({ orderBy: [{ bindingId: "asc" }, { member: "asc" }] }))).toBe(policies);
  return r;
}

describe("getIamPolicy / setIamPolicy / testIamPermissions", () => {
  it("reads and writes in Google's shape, with a base64 etag that moves on every write", async () => {
    const p = await get("iapadmin", APP);
    expect(p).toEqual({ version: 1, etag: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/), bindings: [{ role: ACCESSOR, members: ["user:member@acme.test"] }] });
    expect(Buffer.from(p.etag, "base64")).toHaveLength(8);
    const before = await revision();
    const auditsBefore = await auditCount();
    const r = await call("iapadmin", APP, "setIamPolicy", { policy: { ...p, bindings: [{ role: ACCESSOR, members: ["user:member@acme.test", "user:Bob@Acme.test"] }] } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ version: 1, bindings: [{ role: ACCESSOR, members: ["user:member@acme.test", "user:bob@acme.test"] }] });
    expect(r.body.etag).not.toBe(p.etag);
    expect(BigInt(r.headers.get("x-gatehouse-revision")!)).toBe(before + 1n);
    expect(await revision()).toBe(before + 1n);
    // Exactly one admin-activity record, with Google's binding deltas, and the new policy version kept.
    expect(await auditCount()).toBe(auditsBefore + 1);
    const record = await t.prisma.adminActivityLog.findFirstOrThrow({ orderBy: { seq: "desc" } });
    expect(record).toMatchObject({ actor: "iapadmin@acme.test", methodName: "SetIamPolicy", serviceName: "iap.googleapis.com", resourceName: APP, revision: before + 1n });
    expect(record.bindingDeltas).toEqual([{ action: "ADD", role: ACCESSOR, member: "user:bob@acme.test" }]);
    expect(await t.prisma.policyVersion.findUniqueOrThrow({ where: { resourceName_revision: { resourceName: APP, revision: before + 1n } } })).toMatchObject({
      etag: r.body.etag,
      bindings: [{ role: ACCESSOR, members: ["user:member@acme.test", "user:bob@acme.test"] }],
    });
    // Read-your-writes on the decision path with the revision the write returned.
    const d = await fetch(`${base}/api/v1/decisions`, {
      method: "POST",
      headers: { authorization: `Bearer ${proxyKey}` },
      body: JSON.stringify({ principal: "user:bob@acme.test", resource: APP, minRevision: r.headers.get("x-gatehouse-revision") }),
    });
    expect(await d.json()).toMatchObject({ allowed: true, reason: "GRANTED" });
  });

  it("a stale etag is ABORTED (409) and changes nothing", async () => {
    const p = await get("iapadmin", APP);
    // A write that changes something moves the etag (one that changes nothing writes nothing).
    const added = p.bindings.map((b) => (b.role === ACCESSOR && !b.condition ? { ...b, members: [...b.members, "user:carol@acme.test"] } : b));
    expect((await call("iapadmin", APP, "setIamPolicy", { policy: { ...p, bindings: added } })).status).toBe(200);
    const r = await changesNothing(() => call("iapadmin", APP, "setIamPolicy", { policy: { ...p, bindings: [] } }));
    expect(r).toMatchObject({ status: 409, body: { error: { code: "ABORTED" } } });
  });

  it("conditions need version 3; a version-1 read shows _withcond_ roles, which cannot be written back; no etag onto conditions is refused", async () => {
    const p = await get("iapadmin", APP);
    const conditional = { role: ACCESSOR, members: ["user:carol@acme.test"], condition: { title: "Docs only", expression: "request.path.startsWith('/docs')" } };
    expect(await changesNothing(() => call("iapadmin", APP, "setIamPolicy", { policy: { ...p, version: 1, bindings: [...p.bindings, conditional] } }))).toMatchObject({
      status: 400,
      body: { error: { code: "INVALID_ARGUMENT" } },
    });
    const ok = await call("iapadmin", APP, "setIamPolicy", { policy: { ...p, version: 3, bindings: [...p.bindings, conditional] } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.version).toBe(3);
    const v1 = (await call("iapadmin", APP, "getIamPolicy", {})).body as unknown as Policy;
    expect(v1.version).toBe(1);
    expect(v1.bindings.map((b) => b.role)).toEqual([ACCESSOR, expect.stringMatching(/^roles\/iap\.httpsResourceAccessor_withcond_[0-9a-f]+$/)]);
    expect(v1.bindings[1]!.condition).toBeUndefined();
    expect(await changesNothing(() => call("iapadmin", APP, "setIamPolicy", { policy: v1 }))).toMatchObject({ status: 400, body: { error: { code: "INVALID_ARGUMENT" } } });
    const noEtag = await changesNothing(() => call("iapadmin", APP, "setIamPolicy", { policy: { version: 3, bindings: p.bindings } }));
    expect(noEtag).toMatchObject({ status: 409, body: { error: { code: "FAILED_PRECONDITION", message: expect.stringMatching(/conditional role bindings/) } } });
    // Clean up: back to unconditional.
    const now = await get("iapadmin", APP);
    expect((await call("iapadmin", APP, "setIamPolicy", { policy: { ...now, bindings: p.bindings } })).status).toBe(200);
  });

  it("every validation error is a 400 naming the binding and field, and writes nothing", async () => {
    const p = await get("owner", APP);
    const bad: [unknown, RegExp][] = [
      [{ ...p, bindings: [{ role: "roles/no.such", members: ["user:bob@acme.test"] }] }, /bindings\[0\]\.role/],
      [{ ...p, bindings: [{ role: ACCESSOR, members: ["bob@acme.test"] }] }, /bindings\[0\]\.members\[0\]/],
      [{ ...p, bindings: [{ role: ACCESSOR, members: [] }] }, /bindings\[0\]\.members/],
      [{ ...p, version: 3, bindings: [{ role: ACCESSOR, members: ["user:bob@acme.test"], condition: { title: "x", expression: "request.path.startsWith(" } }] }, /bindings\[0\]\.condition\.expression/],
      [{ ...p, version: 3, bindings: [{ role: ACCESSOR, members: ["user:bob@acme.test"], condition: { title: "x", expression: "request.nonsense == 1" } }] }, /condition/],
      [{ ...p, bindings: [{ role: ACCESSOR, members: ["user:bоb@acme.test"] }] }, /members\[0\]/], // Cyrillic о: a look-alike
      [{ ...p, etag: "not base64!" }, /etag/],
      [{ ...p, auditConfigs: [{ service: "allServices" }] }, /auditConfigs/],
    ];
    for (const [policy, where] of bad) {
      const r = await changesNothing(() => call("owner", APP, "setIamPolicy", { policy }));
      expect(r.status, JSON.stringify(policy)).toBe(400);
      expect(r.body.error!.code).toBe("INVALID_ARGUMENT");
      expect(JSON.stringify(r.body.error), JSON.stringify(policy)).toMatch(where);
    }
    expect((await changesNothing(() => call("owner", APP, "setIamPolicy", { policy: p, updateMask: "auditConfigs" }))).status).toBe(400);
    expect((await changesNothing(() => call("owner", APP, "setIamPolicy", { nopolicy: true }))).status).toBe(400);
    const raw = await fetch(`${base}/api/v1/${APP}:setIamPolicy`, { method: "POST", headers: { authorization: `Bearer ${tokens.owner}` }, body: "{not json" });
    expect(raw.status).toBe(400);
    const huge = await fetch(`${base}/api/v1/${APP}:setIamPolicy`, { method: "POST", headers: { authorization: `Bearer ${tokens.owner}` }, body: "x".repeat(2 * 1024 * 1024) }).catch(() => null);
    if (huge) expect(huge.status).toBe(413);
  });

  it("testIamPermissions answers the held subset; an unknown resource answers like one where nothing is held", async () => {
    expect((await call("iapadmin", APP, "testIamPermissions", { permissions: ["iap.webServices.setIamPolicy", "iap.webServices.getIamPolicy", "resourcemanager.projects.setIamPolicy"] })).body).toEqual({
      permissions: ["iap.webServices.setIamPolicy", "iap.webServices.getIamPolicy"],
    });
    expect((await call("viewer", PROJECT, "testIamPermissions", { permissions: ["resourcemanager.projects.get", "resourcemanager.projects.setIamPolicy"] })).body).toEqual({
      permissions: ["resourcemanager.projects.get"],
    });
    expect((await call("owner", "projects/nope", "testIamPermissions", { permissions: ["resourcemanager.projects.get"] })).body).toEqual({ permissions: [] });
    expect((await call("owner", PROJECT, "testIamPermissions", { permissions: ["resourcemanager.*"] })).status).toBe(400);
  });
});

describe("who may call, and what a refusal says", () => {
  it("401 without a credential or with a token for another audience; a missing resource is refused exactly like a forbidden one", async () => {
    expect(await call(null, APP, "getIamPolicy", {})).toMatchObject({ status: 401, body: { error: { code: "UNAUTHENTICATED" } } });
    const other = (await issueIdTokenForPrincipal(t.prisma, stack.ctx.ring, { principal: "user:owner@acme.test", audience: "/projects/4242/global/backendServices/app" })).token;
    expect((await call(null, APP, "getIamPolicy", {}, { headers: { authorization: `Bearer ${other}` } })).status).toBe(401);
    const forbidden = await call("bob", PROJECT, "getIamPolicy", {});
    const missing = await call("bob", "projects/nope", "getIamPolicy", {});
    expect(forbidden).toMatchObject({ status: 403, body: { error: { code: "PERMISSION_DENIED" } } });
    expect(forbidden.body.error!.message).toBe("Permission 'resourcemanager.projects.getIamPolicy' denied on resource 'projects/p1' (or it may not exist).");
    expect(missing.body.error!.message).toBe("Permission 'resourcemanager.projects.getIamPolicy' denied on resource 'projects/nope' (or it may not exist).");
    expect(missing.status).toBe(403);
    const get = await fetch(`${base}/api/v1/${APP}:getIamPolicy`, { headers: { authorization: `Bearer ${tokens.owner}` } });
    expect([get.status, get.headers.get("allow")]).toEqual([405, "POST"]);
  });

  it("the console's session cookie works only from the console's own origin (CSRF)", async () => {
    await t.prisma.user.upsert({ where: { email: "owner@acme.test" }, create: { email: "owner@acme.test" }, update: {} });
    const cookie = `authjs.session-token=${await encode({ token: { email: "owner@acme.test", authAt: Date.now(), via: "oidc" }, secret: AUTH_SECRET, salt: "authjs.session-token", maxAge: 600 })}`;
    expect((await call(null, APP, "getIamPolicy", {}, { headers: { cookie, origin: PUBLIC_URL } })).status).toBe(200);
    expect(await call(null, APP, "getIamPolicy", {}, { headers: { cookie } })).toMatchObject({ status: 403 });
    const p = await get("owner", APP);
    expect(await changesNothing(() => call(null, APP, "setIamPolicy", { policy: { ...p, bindings: [] } }, { headers: { cookie, origin: "https://evil.example" } }))).toMatchObject({ status: 403 });
  });

  it("Google's mounts answer in Google's error shape", async () => {
    const r = await call("bob", PROJECT, "getIamPolicy", {}, { mount: "v1" });
    expect(r).toMatchObject({ status: 403, body: { error: { code: 403, status: "PERMISSION_DENIED", message: expect.stringContaining("(or it may not exist)") } } });
    const v3 = await call("owner", PROJECT, "getIamPolicy?$alt=json;enum-encoding=int", { options: { requestedPolicyVersion: 3 } }, { mount: "v3" });
    expect(v3.status).toBe(200);
    const etag = Buffer.from(String(v3.body.etag), "base64");
    etag.writeBigUInt64BE(etag.readBigUInt64BE() + 1000n);
    const stale = await call("owner", PROJECT, "setIamPolicy", { policy: { ...(v3.body as object), etag: etag.toString("base64") } }, { mount: "v3" });
    expect(stale).toMatchObject({ status: 409, body: { error: { code: 409, status: "ABORTED" } } });
    // Only organizations, folders and projects live under /v3.
    expect((await fetch(`${base}/v3/${APP}:getIamPolicy`, { method: "POST", headers: { authorization: `Bearer ${tokens.owner}` }, body: "{}" })).status).toBe(404);
  });
});

describe("Google's client library against Gatehouse", () => {
  it("@google-cloud/resource-manager reads, writes with the etag, hits a conflict, and tests permissions", async () => {
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: tokens.owner, expiry_date: Date.now() + 3600_000 });
    // (The library bundles its own google-auth-library; the client is the same class.)
    const projects = new ProjectsClient({ apiEndpoint: "127.0.0.1", port, protocol: "http", fallback: true, authClient: authClient as never });
    const [policy] = await projects.getIamPolicy({ resource: PROJECT, options: { requestedPolicyVersion: 3 } });
    expect(policy.bindings?.map((b) => b.role)).toContain("roles/iap.admin");
    const bindings = [...(policy.bindings ?? []), { role: "roles/viewer", members: ["user:bob@acme.test"] }];
    const [written] = await projects.setIamPolicy({ resource: PROJECT, policy: { bindings, etag: policy.etag, version: 3 } });
    expect(written.bindings?.some((b) => b.role === "roles/viewer" && b.members?.includes("user:bob@acme.test"))).toBe(true);
    // The etag read before the write is stale now: Google's ABORTED (409), as the library sees it.
    await expect(projects.setIamPolicy({ resource: PROJECT, policy: { bindings: policy.bindings, etag: policy.etag, version: 3 } })).rejects.toMatchObject({
      code: 409,
      message: expect.stringContaining("concurrent policy changes"),
    });
    const [held] = await projects.testIamPermissions({ resource: PROJECT, permissions: ["resourcemanager.projects.setIamPolicy", "iap.webServiceVersions.accessViaIAP"] });
    expect(held.permissions).toEqual(["resourcemanager.projects.setIamPolicy"]);
    await projects.close();
  });
});

describe("read-modify-write under contention", () => {
  it("50 concurrent writers each add a member: no update is lost, losers get ABORTED and retry", async () => {
    const members = Array.from({ length: 50 }, (_, i) => `user:writer${i}@acme.test`);
    let aborted = 0;
    await Promise.all(
      members.map(async (member) => {
        for (let attempt = 0; attempt < 200; attempt++) {
          const p = await get("owner", APP);
          const bindings = p.bindings.map((b) => (b.role === ACCESSOR && !b.condition ? { ...b, members: [...b.members, member] } : b));
          const r = await call("owner", APP, "setIamPolicy", { policy: { ...p, bindings } });
          if (r.status === 200) return;
          expect(r.body.error!.code).toBe("ABORTED");
          aborted++;
          await new Promise((res) => setTimeout(res, Math.random() * 20));
        }
        throw new Error(`${member} never got through`);
      }),
    );
    const final = await get("owner", APP);
    const accessors = final.bindings.find((b) => b.role === ACCESSOR && !b.condition)!.members;
    for (const m of members) expect(accessors).toContain(m);
    expect(aborted).toBeGreaterThan(0);
  });
});
