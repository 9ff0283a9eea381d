// Two Gatehouse instances on one PostgreSQL: each its own decision stack — engine, key ring,
// proxy credentials, Prisma client — sharing nothing but the database. A setIamPolicy through
// instance A's admin API is enforced by instance B within a second without minRevision (B follows
// the change feed), and at once with minRevision = the x-gatehouse-revision A answered.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { createPrismaClient } from "@/lib/db/client";
import { applyWorld } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { createProxyKey } from "@/lib/admin/proxy-keys";
import { SYSTEM_CLI } from "@/lib/admin/context";
import { issueIdTokenForPrincipal } from "@/lib/identity/id-token";
import { hotPathServer, startDecisionStack, type DecisionStack } from "./stack";

const AUTH_SECRET = "test-only-auth-secret-0123456789abcdef";
const PUBLIC_URL = "http://gatehouse.test";
const APP = "projects/p1/iap_web/compute/services/app";
const ACCESSOR = "roles/iap.httpsResourceAccessor";

const WORLD = {
  organizations: [{ id: "1", domain: "acme.test" }],
  projects: [{ id: "p1", number: "4242", parent: "organizations/1" }],
  resources: [{ name: APP, iap: true, hosts: ["app.acme.test"] }],
  users: [{ email: "owner@acme.test" }],
  policies: [
    { resource: "organizations/1", bindings: [{ role: "roles/owner", members: ["user:owner@acme.test"] }] },
    { resource: APP, bindings: [{ role: ACCESSOR, members: ["user:first@acme.test"] }] },
  ],
};

interface Instance {
  prisma: PrismaClient;
  stack: DecisionStack;
  server: Server;
  base: string;
}

let t: TestDatabase;
let a: Instance;
let b: Instance;
let proxyKey: string;
let token: string;

async function startInstance(): Promise<Instance> {
  // Its own client, pool and engine: nothing in memory is shared with the other instance.
  const prisma = createPrismaClient(t.url);
  const stack = await startDecisionStack({
    prisma,
    databaseUrl: t.url,
    publicUrl: PUBLIC_URL,
    authSecret: AUTH_SECRET,
    bootstrapAdmins: [],
    spoolDir: fs.mkdtempSync(path.join(os.tmpdir(), "gh-instance-")),
  });
  const server = hotPathServer(stack.ctx);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { prisma, stack, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stopInstance(i: Instance | undefined): Promise<void> {
  if (!i) return;
  await new Promise((r) => i.server.close(r));
  await i.stack.stop();
  await i.prisma.$disconnect();
}

beforeAll(async () => {
  t = await createTestDatabase();
  await applyWorld({ db: t.prisma, actor: SYSTEM_CLI }, parseWorld(JSON.stringify(WORLD)), { catalog: worldCatalog() });
  proxyKey = (await createProxyKey({ db: t.prisma, actor: SYSTEM_CLI }, { name: "edge", trusted: true })).secret;
  [a, b] = await Promise.all([startInstance(), startInstance()]);
  expect(a.stack.ctx.engine).not.toBe(b.stack.ctx.engine);
  token = (await issueIdTokenForPrincipal(a.prisma, a.stack.ctx.ring, { principal: "user:owner@acme.test", audience: PUBLIC_URL })).token;
});

afterAll(async () => {
  await stopInstance(a);
  await stopInstance(b);
  await t?.drop();
});

async function post(base: string, urlPath: string, auth: string, body: unknown) {
  const res = await fetch(`${base}${urlPath}`, { method: "POST", headers: { authorization: `Bearer ${auth}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, revision: res.headers.get("x-gatehouse-revision"), body: (await res.json()) as Record<string, unknown> };
}

/** Adds or removes `member` on APP's accessor binding through instance A's admin API; the revision A answers. */
async function changeOnA(member: string, add: boolean): Promise<string> {
  const current = await post(a.base, `/api/v1/${APP}:getIamPolicy`, token, {});
  expect(current.status).toBe(200);
  const policy = current.body as { etag: string; bindings: { role: string; members: string[] }[] };
  const members = new Set(policy.bindings.find((x) => x.role === ACCESSOR)?.members ?? []);
  if (add) members.add(member);
  else members.delete(member);
  const r = await post(a.base, `/api/v1/${APP}:setIamPolicy`, token, { policy: { etag: policy.etag, bindings: [{ role: ACCESSOR, members: [...members] }] } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(r.revision).toMatch(/^\d+$/);
  return r.revision!;
}

async function decideOnB(principal: string, minRevision?: string) {
  const r = await post(b.base, "/api/v1/decisions", proxyKey, { principal, resource: APP, ...(minRevision ? { minRevision } : {}) });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as { allowed: boolean; reason: string; revision: string };
}

describe("two instances on one database", () => {
  it("a grant made through A is enforced by B within a second, without minRevision", async () => {
    expect((await decideOnB("user:second@acme.test")).allowed).toBe(false);
    const revision = await changeOnA("user:second@acme.test", true);
    const start = performance.now();
    let d = await decideOnB("user:second@acme.test");
    while (!d.allowed && performance.now() - start < 2000) {
      await new Promise((r) => setTimeout(r, 10));
      d = await decideOnB("user:second@acme.test");
    }
    const took = performance.now() - start;
    expect(d).toMatchObject({ allowed: true, reason: "GRANTED" });
    expect(BigInt(d.revision)).toBeGreaterThanOrEqual(BigInt(revision));
    expect(took).toBeLessThan(1000);
  });

  it("with minRevision the very next decision on B reflects the write — a grant and a revocation", async () => {
    for (let i = 0; i < 5; i++) {
      const member = `user:m${i}@acme.test`;
      const granted = await changeOnA(member, true);
      expect(await decideOnB(member, granted)).toMatchObject({ allowed: true, reason: "GRANTED", revision: granted });
      const revoked = await changeOnA(member, false);
      expect(await decideOnB(member, revoked)).toMatchObject({ allowed: false, revision: revoked });
    }
  });

  it("A's engine takes its own policy write as written, at once; B reads it back from the feed; they agree", async () => {
    for (const [member, add] of [["user:fourth@acme.test", true], ["user:fourth@acme.test", false], ["user:fifth@acme.test", true]] as const) {
      const revision = BigInt(await changeOnA(member, add));
      // Adopted when the write committed, before A answered: no wait for the change feed.
      expect(a.stack.ctx.engine.current().revision).toBe(revision);
      expect(await b.stack.ctx.engine.waitFor(revision, 1000)).toBe(true);
      expect(a.stack.ctx.engine.current().snapshot.policies.get(APP)).toEqual(b.stack.ctx.engine.current().snapshot.policies.get(APP));
      expect(a.stack.ctx.engine.current().snapshot.policies.get(APP)?.bindings[0]?.members.includes(member)).toBe(add);
    }
  });

  it("B's engine reached A's revision by following the feed, not by sharing A's state", async () => {
    const revision = await changeOnA("user:third@acme.test", true);
    expect(await b.stack.ctx.engine.waitFor(BigInt(revision), 1000)).toBe(true);
    expect(a.stack.ctx.engine.current()).not.toBe(b.stack.ctx.engine.current());
    expect(b.stack.ctx.engine.current().revision).toBe(BigInt(revision));
    expect(b.stack.ctx.engine.current().snapshot.policies.get(APP)?.bindings[0]?.members).toContain("user:third@acme.test");
  });
});
