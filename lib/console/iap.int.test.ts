// The IAP panel's view model and edits against a real PostgreSQL and the live engine: what each
// viewer sees (direct and inherited, only what they may read) and may edit, grants with a
// condition that flip the engine's decision, conflicts shown with the other change, and the abuse
// each edit invites — no permission, self-escalation, another project's resource, forged and
// oversized input — refused with nothing changed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { principalActor, type AdminContext } from "@/lib/admin/context";
import { setIamPolicy, getIamPolicy } from "@/lib/admin/policies";
import { AppError } from "@/lib/errors";
import { evaluate } from "@/lib/policy";
import { startAdminStack, TEST_AUTH_SECRET, TEST_PUBLIC_URL, type AdminStack } from "@/lib/test/admin-stack";
import { getIapPanel } from "./iap";
import { addPrincipals, checkCondition, removePrincipal, searchPrincipals } from "./iap-edit";

const ORG = "organizations/1";
const PROJECT = "projects/p1";
const APP = "projects/p1/iap_web/compute/services/app";
const OTHER = "projects/p2/iap_web/compute/services/secret";
const ACCESSOR = "roles/iap.httpsResourceAccessor";

const WORLD = {
  organizations: [{ id: "1", displayName: "Acme", domain: "acme.test" }],
  projects: [
    { id: "p1", number: "4242", parent: ORG },
    { id: "p2", number: "4243", parent: ORG },
  ],
  resources: [
    { name: APP, displayName: "App", iap: true, hosts: ["app.acme.test"] },
    { name: OTHER, iap: true, hosts: ["secret.acme.test"] },
  ],
  users: ["owner", "iapadmin", "viewer", "bob", "carol", "member"].map((u) => ({ email: `${u}@acme.test`, displayName: u })),
  groups: [{ email: "readers@acme.test", members: ["user:carol@acme.test"] }],
  policies: [
    { resource: ORG, bindings: [{ role: "roles/owner", members: ["user:owner@acme.test"] }] },
    {
      resource: PROJECT,
      bindings: [
        { role: "roles/iap.admin", members: ["user:iapadmin@acme.test"] },
        { role: "roles/viewer", members: ["user:viewer@acme.test"] },
      ],
    },
    { resource: APP, bindings: [{ role: ACCESSOR, members: ["user:member@acme.test"] }] },
  ],
};

let a: AdminStack;
const as = (email: string): AdminContext => ({
  db: a.t.prisma,
  actor: principalActor(`user:${email}@acme.test`),
  engine: a.stack.ctx.engine,
  instance: { authSecret: TEST_AUTH_SECRET, publicUrl: TEST_PUBLIC_URL },
});
const etagOf = async (resource: string) => (await getIamPolicy(as("owner"), resource, { options: { requestedPolicyVersion: 3 } })).etag;
const settle = async () => {
  await a.stack.ctx.engine.waitFor(await a.revision(), 5000);
};
const allowed = (principal: string, path: string) =>
  evaluate(a.stack.ctx.engine.current().snapshot, { principal, resource: APP, permission: "iap.webServiceVersions.accessViaIAP", request: { time: new Date(), host: "app.acme.test", path } }).allowed;

/** Runs a refused edit: it throws `code`, and the revision and the admin-activity log stay as they were. */
async function refused(call: () => Promise<unknown> | unknown, code: string): Promise<AppError> {
  await settle();
  const before = [await a.revision(), await a.t.prisma.adminActivityLog.count()];
  let caught: unknown;
  try {
    await call();
  } catch (e) {
    caught = e;
  }
  expect(caught, "the edit was refused").toBeInstanceOf(AppError);
  expect((caught as AppError).code, (caught as AppError).message).toBe(code);
  expect([await a.revision(), await a.t.prisma.adminActivityLog.count()]).toEqual(before);
  return caught as AppError;
}

beforeAll(async () => {
  a = await startAdminStack(WORLD);
}, 120_000);
afterAll(() => a?.stop());

describe("info panel", () => {
  it("lists direct and inherited grants with where from, and says the owner may edit", async () => {
    const v = await getIapPanel(as("owner"), [APP]);
    expect(v.refused).toEqual([]);
    expect(v.targets).toEqual([{ name: APP, displayName: "App", etag: await etagOf(APP), canEdit: true, hiddenAncestors: [] }]);
    const rows = v.rows.map(([m, r, c, s]) => [v.members[m], v.roles[r]!.name, c, v.sources[s]]);
    expect(rows).toEqual(
      expect.arrayContaining([
        ["user:member@acme.test", ACCESSOR, -1, APP],
        ["user:iapadmin@acme.test", "roles/iap.admin", -1, PROJECT],
        ["user:owner@acme.test", "roles/owner", -1, ORG],
      ]),
    );
    expect(v.roles.find((r) => r.name === ACCESSOR)?.title).toBe("IAP-secured Web App User");
    expect(v.grantableRoles[0]?.name).toBeDefined();
    expect(v.grantableRoles.map((r) => r.name)).toContain(ACCESSOR);
  });

  it("shows a read-only viewer no edit controls and no grant form", async () => {
    const v = await getIapPanel(as("viewer"), [APP]);
    expect(v.targets.map((t) => t.canEdit)).toEqual([false]);
    expect(v.grantableRoles).toEqual([]);
  });

  it("answers a resource the viewer may not see exactly like a missing one", async () => {
    const v = await getIapPanel(as("bob"), [APP, "projects/p1/iap_web/compute/services/nope"]);
    expect(v.targets).toEqual([]);
    expect(v.refused).toEqual([APP, "projects/p1/iap_web/compute/services/nope"]);
    expect(v.rows).toEqual([]);
    const other = await getIapPanel(as("iapadmin"), [OTHER]);
    expect(other.refused).toEqual([OTHER]);
  });

  it("merges several selected resources, marking which each grant applies to", async () => {
    const v = await getIapPanel(as("owner"), [APP, OTHER]);
    expect(v.targets.map((t) => t.name)).toEqual([APP, OTHER]);
    const owner = v.rows.find(([m, , , s]) => v.members[m] === "user:owner@acme.test" && v.sources[s] === ORG)!;
    expect(owner[4]).toBe(0b11);
    const member = v.rows.find(([m]) => v.members[m] === "user:member@acme.test")!;
    expect(member[4]).toBe(0b01);
  });
});

describe("add and remove principals", () => {
  it("grants a group access under a path condition, which the engine then enforces, and removes it", async () => {
    const carol = "user:carol@acme.test";
    expect(allowed(carol, "/docs/a")).toBe(false);
    const r = await addPrincipals(as("owner"), {
      targets: [{ resource: APP, etag: await etagOf(APP) }],
      members: ["group:Readers@acme.test"],
      role: ACCESSOR,
      condition: { title: "Docs only", expression: 'request.path.startsWith("/docs")' },
    });
    expect(r.conflict).toBeUndefined();
    expect(r.written).toHaveLength(1);
    await a.stack.ctx.engine.waitFor(BigInt(r.written[0]!.revision!), 5000);
    expect(allowed(carol, "/docs/a")).toBe(true);
    expect(allowed(carol, "/admin")).toBe(false);
    const stored = await getIamPolicy(as("owner"), APP, { options: { requestedPolicyVersion: 3 } });
    expect(stored.bindings).toContainEqual({ role: ACCESSOR, members: ["group:readers@acme.test"], condition: { title: "Docs only", expression: 'request.path.startsWith("/docs")' } });
    const last = await a.t.prisma.adminActivityLog.findFirst({ orderBy: { seq: "desc" } });
    expect(last).toMatchObject({ methodName: "SetIamPolicy", actor: "owner@acme.test", resourceName: APP });

    const removed = await removePrincipal(as("owner"), {
      resource: APP,
      etag: stored.etag,
      role: ACCESSOR,
      member: "group:readers@acme.test",
      condition: { title: "Docs only", expression: 'request.path.startsWith("/docs")' },
    });
    await a.stack.ctx.engine.waitFor(BigInt(removed.written[0]!.revision!), 5000);
    expect(allowed(carol, "/docs/a")).toBe(false);
    expect((await getIamPolicy(as("owner"), APP, { options: { requestedPolicyVersion: 3 } })).bindings).toEqual([{ role: ACCESSOR, members: ["user:member@acme.test"] }]);
  });

  it("adds to the existing binding with the same role and condition instead of a second one", async () => {
    const r = await addPrincipals(as("owner"), { targets: [{ resource: APP, etag: await etagOf(APP) }], members: ["user:bob@acme.test"], role: ACCESSOR });
    expect(r.written).toHaveLength(1);
    expect((await getIamPolicy(as("owner"), APP, {})).bindings).toEqual([{ role: ACCESSOR, members: ["user:member@acme.test", "user:bob@acme.test"] }]);
    await settle();
    const e = (await getIamPolicy(as("owner"), APP, {})).etag;
    await removePrincipal(as("owner"), { resource: APP, etag: e, role: ACCESSOR, member: "user:bob@acme.test" });
  });

  it("never overwrites another admin's change: a stale etag answers the other change and writes nothing", async () => {
    await settle();
    const pageEtag = await etagOf(APP);
    // Another admin, meanwhile, through the same write path.
    const other = await getIamPolicy(as("owner"), APP, { options: { requestedPolicyVersion: 3 } });
    await setIamPolicy(as("owner"), APP, { policy: { ...other, bindings: [...other.bindings, { role: "roles/iap.admin", members: ["user:carol@acme.test"] }] } });
    await settle();
    const before = [await a.revision(), await a.t.prisma.adminActivityLog.count()];
    const r = await addPrincipals(as("owner"), { targets: [{ resource: APP, etag: pageEtag }], members: ["user:bob@acme.test"], role: ACCESSOR });
    expect(r.written).toEqual([]);
    expect(r.conflict).toEqual({ resource: APP, changes: [{ action: "ADD", role: "roles/iap.admin", member: "user:carol@acme.test" }] });
    const rm = await removePrincipal(as("owner"), { resource: APP, etag: pageEtag, role: ACCESSOR, member: "user:member@acme.test" });
    expect(rm.conflict?.changes).toHaveLength(1);
    expect([await a.revision(), await a.t.prisma.adminActivityLog.count()]).toEqual(before);
    // Put it back for the tests after this one.
    const now = await getIamPolicy(as("owner"), APP, { options: { requestedPolicyVersion: 3 } });
    await removePrincipal(as("owner"), { resource: APP, etag: now.etag, role: "roles/iap.admin", member: "user:carol@acme.test" });
  });

  it("refuses a principal without setIamPolicy (a direct call of the action) and changes nothing", async () => {
    const etag = await etagOf(APP);
    await refused(() => addPrincipals(as("viewer"), { targets: [{ resource: APP, etag }], members: ["user:viewer@acme.test"], role: ACCESSOR }), "PERMISSION_DENIED");
    await refused(() => addPrincipals(as("bob"), { targets: [{ resource: APP, etag }], members: ["user:bob@acme.test"], role: "roles/owner" }), "PERMISSION_DENIED");
    await refused(() => removePrincipal(as("viewer"), { resource: APP, etag, role: ACCESSOR, member: "user:member@acme.test" }), "PERMISSION_DENIED");
  });

  it("refuses self-escalation: an IAP admin granting themselves web access, or anyone a role they do not hold", async () => {
    const etag = await etagOf(APP);
    const self = await refused(() => addPrincipals(as("iapadmin"), { targets: [{ resource: APP, etag }], members: ["user:iapadmin@acme.test"], role: ACCESSOR }), "PERMISSION_DENIED");
    expect(self.message).toMatch(/iapadmin|yourself|themselves|own/i);
    await refused(() => addPrincipals(as("iapadmin"), { targets: [{ resource: APP, etag }], members: ["user:bob@acme.test"], role: "roles/owner" }), "PERMISSION_DENIED");
  });

  it("refuses another project's resource (IDOR) exactly like a missing one", async () => {
    const etag = await etagOf(OTHER);
    const e1 = await refused(() => addPrincipals(as("iapadmin"), { targets: [{ resource: OTHER, etag }], members: ["user:bob@acme.test"], role: ACCESSOR }), "PERMISSION_DENIED");
    const e2 = await refused(() => addPrincipals(as("iapadmin"), { targets: [{ resource: "projects/p2/iap_web/compute/services/none", etag }], members: ["user:bob@acme.test"], role: ACCESSOR }), "PERMISSION_DENIED");
    expect(e1.message.replace(OTHER, "X")).toBe(e2.message.replace("projects/p2/iap_web/compute/services/none", "X"));
    await refused(() => removePrincipal(as("iapadmin"), { resource: OTHER, etag, role: ACCESSOR, member: "user:member@acme.test" }), "PERMISSION_DENIED");
  });

  it("refuses forged and oversized input with each problem by field, writing nothing", async () => {
    const etag = await etagOf(APP);
    const base = { targets: [{ resource: APP, etag }], members: ["user:bob@acme.test"], role: ACCESSOR };
    const member = await refused(() => addPrincipals(as("owner"), { ...base, members: ["user:bob@acme.test", "usr:nobody", "user:аlice@acme.test"] }), "INVALID_ARGUMENT");
    expect(member.details.map((d) => d.path)).toEqual(["members[1]", "members[2]"]);
    const role = await refused(() => addPrincipals(as("owner"), { ...base, role: "roles/made.up" }), "INVALID_ARGUMENT");
    expect(role.details).toEqual([{ path: "role", message: "unknown role roles/made.up" }]);
    const cel = await refused(() => addPrincipals(as("owner"), { ...base, condition: { title: "Bad", expression: "request.path.startsWith('/a') &&" } }), "INVALID_ARGUMENT");
    expect(cel.details[0]).toMatchObject({ path: "condition.expression" });
    expect(cel.details[0]!.message).toMatch(/^1:\d+: /);
    const untitled = await refused(() => addPrincipals(as("owner"), { ...base, condition: { title: " ", expression: "true" } }), "INVALID_ARGUMENT");
    expect(untitled.details[0]?.path).toBe("condition.title");
    await refused(() => addPrincipals(as("owner"), { ...base, members: Array.from({ length: 101 }, (_, i) => `user:u${i}@acme.test`) }), "INVALID_ARGUMENT");
    await refused(() => addPrincipals(as("owner"), { ...base, targets: Array.from({ length: 21 }, () => ({ resource: APP, etag })) }), "INVALID_ARGUMENT");
    await refused(() => addPrincipals(as("owner"), { ...base, targets: [{ resource: APP, etag: "not an etag!" }] }), "INVALID_ARGUMENT");
    await refused(() => addPrincipals(as("owner"), { ...base, extra: true }), "INVALID_ARGUMENT");
    await refused(() => addPrincipals(as("owner"), { ...base, members: ["deleted:user:bob@acme.test?uid=1"] }), "INVALID_ARGUMENT");
    await refused(() => removePrincipal(as("owner"), { resource: APP, etag, role: ACCESSOR, member: "user:nobody@acme.test" }), "NOT_FOUND");
    await refused(() => addPrincipals(as("owner"), "x".repeat(10)), "INVALID_ARGUMENT");
  });
});

describe("principal autocomplete and condition check", () => {
  it("suggests users, groups and domains to whoever may set the policy, and to nobody else", async () => {
    const hits = searchPrincipals(as("owner"), { resource: APP, query: "read" });
    expect(hits.map((h) => [h.member, h.kind])).toEqual([["group:readers@acme.test", "group"]]);
    expect(searchPrincipals(as("owner"), { resource: APP, query: "acme.test" }).map((h) => h.member)).toContain("domain:acme.test");
    expect(searchPrincipals(as("owner"), { resource: APP, query: "car" })[0]).toMatchObject({ member: "user:carol@acme.test", kind: "user", label: "carol" });
    await refused(() => searchPrincipals(as("viewer"), { resource: APP, query: "c" }), "PERMISSION_DENIED");
    await refused(() => searchPrincipals(as("iapadmin"), { resource: OTHER, query: "c" }), "PERMISSION_DENIED");
    await refused(() => searchPrincipals(as("owner"), { resource: APP, query: "x".repeat(257) }), "INVALID_ARGUMENT");
  });

  it("checks an expression with the core's compiler and gives the error's position", () => {
    expect(checkCondition('request.path.startsWith("/docs")')).toEqual({ ok: true, errors: [] });
    const bad = checkCondition("request.path.startsWith('/a') &&\n  request.nope == 1");
    expect(bad.ok).toBe(false);
    expect(bad.errors[0]).toMatchObject({ line: expect.any(Number), column: expect.any(Number) });
    expect(() => checkCondition(42)).toThrow(AppError);
    expect(() => checkCondition("x".repeat(5000))).toThrow(AppError);
  });
});
