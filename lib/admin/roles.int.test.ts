// Roles over HTTP against a real PostgreSQL and the live engine: the predefined catalogue, custom
// roles' life cycle in IAM's shapes (etags, soft delete, undelete), validation refused with nothing
// written, a missing role refused like a hidden one, and the escalation attempts through roles —
// creating a role with more, adding permissions to a role others (or oneself) hold, undeleting or
// re-enabling one, reusing a deleted role's name — each refused and changing nothing, next to a
// positive control.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, startAdminTestStack, type AdminTestStack, type ApiAnswer } from "@/lib/test/admin-stack";

const ORG = "organizations/1";
const P1 = "projects/proj1";
const P2 = "projects/proj2";
const PASSAGE = "iap.webServiceVersions.accessViaIAP";
const SET_PROJECT_POLICY = "resourcemanager.projects.setIamPolicy";

const USERS = ["owner", "radmin", "bob", "viewer"];
const WORLD = {
  organizations: [{ id: "1", domain: "acme.test" }],
  projects: [
    { id: "proj1", number: "4242", parent: ORG },
    { id: "proj2", number: "4243", parent: ORG },
  ],
  users: USERS.map((u) => ({ email: `${u}@acme.test` })),
  groups: [{ email: "radmins@acme.test", members: ["user:radmin@acme.test"] }],
  customRoles: [
    { name: "projects/proj1/roles/shared", title: "Shared", permissions: ["run.services.get"] },
    { name: "projects/proj1/roles/mine", title: "Mine", permissions: ["run.services.get"] },
    { name: "projects/proj1/roles/big", title: "Big", permissions: [SET_PROJECT_POLICY, "run.services.get"] },
    { name: "projects/proj1/roles/dormant", title: "Dormant", stage: "DISABLED", permissions: [SET_PROJECT_POLICY] },
    { name: "organizations/1/roles/orgwide", title: "Org-wide", permissions: ["compute.instances.get"] },
  ],
  policies: [
    {
      resource: ORG,
      bindings: [
        { role: "roles/owner", members: ["user:owner@acme.test"] },
        // radmin: an editor everywhere (iam.roles.create/update/delete, no setIamPolicy, no passage).
        { role: "roles/editor", members: ["user:radmin@acme.test"] },
        { role: "roles/viewer", members: ["user:viewer@acme.test"] },
      ],
    },
    {
      resource: P1,
      bindings: [
        { role: "projects/proj1/roles/shared", members: ["user:bob@acme.test"] },
        { role: "projects/proj1/roles/mine", members: ["group:radmins@acme.test"] },
        { role: "projects/proj1/roles/big", members: ["user:bob@acme.test"] },
        { role: "projects/proj1/roles/dormant", members: ["user:viewer@acme.test"] },
      ],
    },
    { resource: P2, bindings: [{ role: "organizations/1/roles/orgwide", members: ["user:bob@acme.test"] }] },
  ],
  // radmin is an editor everywhere except that compute.instances.delete is denied to it on p2.
  denyPolicies: [{ attachedTo: P2, name: "no-delete", rules: [{ deniedPrincipals: ["user:radmin@acme.test"], deniedPermissions: ["compute.instances.delete"] }] }],
};

let k: AdminTestStack;
beforeAll(async () => {
  k = await startAdminTestStack(WORLD, USERS);
});
afterAll(async () => {
  await k?.close();
});

const rows = () => k.t.prisma.role.findMany({ orderBy: { name: "asc" }, omit: { createdAt: true, updatedAt: true } });
const refused = (fn: () => Promise<ApiAnswer>, status: number, code: string, says?: string | RegExp) => k.refused(rows, fn, status, code, says);
const oneRecord = (fn: () => Promise<ApiAnswer>, status: number) => k.oneRecord(fn, status);
const role = (name: string) => `/api/v1/${name}`;
const create = (who: string, parent: string, roleId: string, permissions: string[], extra: object = {}) =>
  k.api(who, "POST", `/api/v1/${parent}/roles`, { roleId, role: { title: roleId, includedPermissions: permissions, ...extra } });
const patch = (who: string, name: string, body: object, mask?: string) => k.api(who, "PATCH", `${role(name)}${mask ? `?updateMask=${mask}` : ""}`, body);
const permissionsOf = async (name: string) => (await k.t.prisma.role.findUniqueOrThrow({ where: { name } })).permissions;

describe("predefined roles", () => {
  it("lists the catalogue to any signed-in caller (BASIC without permissions, FULL with), paged; gets one with its permissions", async () => {
    const basic = await k.api("bob", "GET", "/api/v1/roles?pageSize=3");
    expect(basic.status).toBe(200);
    const roles = basic.body.roles as Array<{ name: string; includedPermissions?: string[] }>;
    expect(roles).toHaveLength(3);
    expect(roles[0]).not.toHaveProperty("includedPermissions");
    const next = await k.api("bob", "GET", `/api/v1/roles?pageSize=3&pageToken=${basic.body.nextPageToken as string}`);
    expect((next.body.roles as { name: string }[])[0]!.name > roles[2]!.name).toBe(true);
    const full = await k.api("bob", "GET", "/api/v1/roles?view=FULL&filter=httpsResourceAccessor");
    expect(full.body.roles).toEqual([{ name: "roles/iap.httpsResourceAccessor", title: "IAP-secured Web App User", description: "", includedPermissions: [PASSAGE], stage: "GA", etag: expect.any(String), deleted: false }]);
    expect((await k.api("bob", "GET", "/api/v1/roles/iap.admin")).body).toMatchObject({ name: "roles/iap.admin", includedPermissions: expect.arrayContaining(["iap.webServices.setIamPolicy"]) });
    expectError(await k.api("bob", "GET", "/api/v1/roles/nope"), 404, "NOT_FOUND");
    expectError(await k.api("bob", "GET", "/api/v1/roles?view=ALL"), 400, "INVALID_ARGUMENT");
    expectError(await k.api(null, "GET", "/api/v1/roles"), 401, "UNAUTHENTICATED");
  });
});

describe("custom roles: create, get, list, patch, delete, undelete", () => {
  it("creates a role with IAM's shape; one CreateRole record with the permission deltas", async () => {
    const { r, audit } = await oneRecord(() => create("radmin", P1, "webReader", [PASSAGE, "run.services.get", "run.services.get"], { description: "Reads the web", stage: "BETA" }), 201);
    expect(r.body).toEqual({ name: "projects/proj1/roles/webReader", title: "webReader", description: "Reads the web", includedPermissions: [PASSAGE, "run.services.get"], stage: "BETA", etag: expect.any(String), deleted: false });
    expect(audit).toMatchObject({
      methodName: "CreateRole",
      serviceName: "iam.googleapis.com",
      resourceName: "projects/proj1/roles/webReader",
      actor: "radmin@acme.test",
      response: { permissionDeltas: [{ action: "ADD", permission: PASSAGE }, { action: "ADD", permission: "run.services.get" }] },
    });
    expect((await k.api("viewer", "GET", role("projects/proj1/roles/webReader"))).body).toEqual(r.body);
    // The role can be granted at once (the engine knows it).
    const p = (await k.api("owner", "POST", `/api/v1/${P1}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } })).body as { etag: string; bindings: object[] };
    expect((await k.api("owner", "POST", `/api/v1/${P1}:setIamPolicy`, { policy: { etag: p.etag, bindings: [...p.bindings, { role: "projects/proj1/roles/webReader", members: ["user:viewer@acme.test"] }] } })).status).toBe(200);
    expect(k.holds("user:viewer@acme.test", PASSAGE, P1)).toBe(true);
  });

  it("lists a parent's roles (BASIC/FULL, showDeleted, paged, filtered) to those who may list them", async () => {
    const names = (r: ApiAnswer) => (r.body.roles as { name: string }[]).map((x) => x.name);
    const basic = await k.api("viewer", "GET", `/api/v1/${P1}/roles`);
    expect(names(basic)).toEqual(["projects/proj1/roles/big", "projects/proj1/roles/dormant", "projects/proj1/roles/mine", "projects/proj1/roles/shared", "projects/proj1/roles/webReader"]);
    expect((basic.body.roles as object[])[0]).not.toHaveProperty("includedPermissions");
    const paged = await k.api("viewer", "GET", `/api/v1/${P1}/roles?pageSize=2&view=FULL`);
    expect(names(paged)).toEqual(["projects/proj1/roles/big", "projects/proj1/roles/dormant"]);
    expect((paged.body.roles as { includedPermissions: string[] }[])[1]!.includedPermissions).toEqual([SET_PROJECT_POLICY]);
    expect(names(await k.api("viewer", "GET", `/api/v1/${P1}/roles?pageSize=2&pageToken=${paged.body.nextPageToken as string}`))).toEqual(["projects/proj1/roles/mine", "projects/proj1/roles/shared"]);
    expect(names(await k.api("viewer", "GET", `/api/v1/${P1}/roles?filter=READER`))).toEqual(["projects/proj1/roles/webReader"]);
    expect(names(await k.api("viewer", "GET", `/api/v1/${ORG}/roles`))).toEqual(["organizations/1/roles/orgwide"]);
    expectError(await k.api("bob", "GET", `/api/v1/${P1}/roles`), 403, "PERMISSION_DENIED");
  });

  it("patches with an updateMask and etag; one UpdateRole record with before, after and deltas; a stale etag is ABORTED", async () => {
    const current = (await k.api("radmin", "GET", role("projects/proj1/roles/webReader"))).body as { etag: string };
    const { r, audit } = await oneRecord(() => patch("radmin", "projects/proj1/roles/webReader", { title: "Web reader", includedPermissions: ["run.services.get", "run.services.update"], etag: current.etag }), 200);
    expect(r.body).toMatchObject({ title: "Web reader", includedPermissions: ["run.services.get", "run.services.update"], stage: "BETA" });
    expect(audit).toMatchObject({
      methodName: "UpdateRole",
      request: { updateMask: ["title", "includedPermissions"] },
      response: {
        permissionDeltas: [
          { action: "ADD", permission: "run.services.update" },
          { action: "REMOVE", permission: PASSAGE },
        ],
        before: { title: "webReader" },
        after: { title: "Web reader" },
      },
    });
    await refused(() => patch("radmin", "projects/proj1/roles/webReader", { title: "Stale", etag: current.etag }), 409, "ABORTED");
    // The mask takes only the fields it names.
    expect((await patch("radmin", "projects/proj1/roles/webReader", { title: "Ignored", description: "Only this" }, "description")).body).toMatchObject({ title: "Web reader", description: "Only this" });
  });

  it("deletes softly (the role grants nothing and keeps its name) and undeletes; one record each", async () => {
    expect(k.holds("user:viewer@acme.test", "run.services.update", P1)).toBe(true);
    const del = await oneRecord(() => k.api("radmin", "DELETE", role("projects/proj1/roles/webReader")), 200);
    expect(del.r.body).toMatchObject({ name: "projects/proj1/roles/webReader", deleted: true });
    expect(del.audit).toMatchObject({ methodName: "DeleteRole", response: { before: { title: "Web reader" } } });
    expect(k.holds("user:viewer@acme.test", "run.services.update", P1)).toBe(false);
    expect((await k.api("viewer", "GET", role("projects/proj1/roles/webReader"))).body).toMatchObject({ deleted: true });
    const names = (r: ApiAnswer) => (r.body.roles as { name: string }[]).map((x) => x.name);
    expect(names(await k.api("viewer", "GET", `/api/v1/${P1}/roles`))).not.toContain("projects/proj1/roles/webReader");
    expect(names(await k.api("viewer", "GET", `/api/v1/${P1}/roles?showDeleted=true`))).toContain("projects/proj1/roles/webReader");
    await refused(() => k.api("radmin", "DELETE", role("projects/proj1/roles/webReader")), 409, "FAILED_PRECONDITION");
    await refused(() => patch("radmin", "projects/proj1/roles/webReader", { title: "x" }), 409, "FAILED_PRECONDITION", /undelete/);

    const und = await oneRecord(() => k.api("radmin", "POST", `${role("projects/proj1/roles/webReader")}:undelete`, {}), 200);
    expect(und.r.body).toMatchObject({ deleted: false });
    expect(und.audit).toMatchObject({ methodName: "UndeleteRole", resourceName: "projects/proj1/roles/webReader" });
    expect(k.holds("user:viewer@acme.test", "run.services.update", P1)).toBe(true);
    await refused(() => k.api("radmin", "POST", `${role("projects/proj1/roles/webReader")}:undelete`, {}), 409, "FAILED_PRECONDITION");
    expectError(await k.api("radmin", "POST", role("projects/proj1/roles/webReader"), {}), 405, "METHOD_NOT_ALLOWED");
  });

  it("refuses invalid input with a code and the field, writing nothing", async () => {
    for (const [body, field] of [
      [{ roleId: "ok_id", role: { includedPermissions: ["made.up.permission"] } }, "role.includedPermissions[0]"],
      [{ roleId: "ok_id", role: { includedPermissions: [] } }, "role.includedPermissions"],
      [{ roleId: "ok_id", role: { includedPermissions: ["not a permission"] } }, "role.includedPermissions.0"],
      [{ roleId: "x", role: { includedPermissions: ["run.services.get"] } }, "roleId"],
      [{ roleId: "bad/id", role: { includedPermissions: ["run.services.get"] } }, "roleId"],
      [{ roleId: "ok_id", role: { includedPermissions: ["run.services.get"], stage: "LIVE" } }, "role.stage"],
      [{ roleId: "ok_id", role: { includedPermissions: ["run.services.get"], name: "projects/proj1/roles/other" } }, "role"],
      [{ roleId: "ok_id" }, "role"],
    ] as const) {
      const r = await refused(() => k.api("radmin", "POST", `/api/v1/${P1}/roles`, body), 400, "INVALID_ARGUMENT");
      expect(JSON.stringify(r.body.error), JSON.stringify(body)).toContain(field);
    }
    await refused(() => create("radmin", P1, "shared", ["run.services.get"]), 409, "ALREADY_EXISTS");
    await refused(() => patch("radmin", "projects/proj1/roles/shared", { title: "x" }, "title,owner"), 400, "INVALID_ARGUMENT", /updateMask/);
    await refused(() => patch("radmin", "projects/proj1/roles/shared", { includedPermissions: ["made.up.permission"] }), 400, "INVALID_ARGUMENT", /unknown permission/);
    await refused(() => patch("radmin", "projects/proj1/roles/shared", { etag: "not base64!" }), 400, "INVALID_ARGUMENT");
    await refused(() => create("radmin", "projects/nosuch", "ok_id", ["run.services.get"]), 403, "PERMISSION_DENIED");
  });
});

describe("a missing role is refused exactly like a hidden one", () => {
  it("answers 403 with the same words to a caller without the permission, 404 to one with it", async () => {
    const hidden = await k.api("bob", "GET", role("projects/proj1/roles/shared"));
    const missing = await k.api("bob", "GET", role("projects/proj1/roles/nosuch"));
    expectError(hidden, 403, "PERMISSION_DENIED");
    expect(missing).toMatchObject({ status: 403, body: hidden.body });
    expectError(await k.api("bob", "GET", role("projects/nosuch/roles/shared")), 403, "PERMISSION_DENIED");
    expectError(await k.api("radmin", "GET", role("projects/proj1/roles/nosuch")), 404, "NOT_FOUND");
    for (const [method, suffix, body] of [
      ["PATCH", "", { title: "x" }],
      ["DELETE", "", undefined],
      ["POST", ":undelete", {}],
    ] as const) {
      const a = await refused(() => k.api("bob", method, `${role("projects/proj1/roles/shared")}${suffix}`, body), 403, "PERMISSION_DENIED");
      const b = await refused(() => k.api("bob", method, `${role("projects/proj1/roles/nosuch")}${suffix}`, body), 403, "PERMISSION_DENIED");
      expect(b.body).toEqual(a.body);
    }
  });
});

describe("escalation through custom roles is refused and changes nothing", () => {
  it("creating a role with permissions one does not hold on its parent: refused; with passage and held ones: allowed", async () => {
    await refused(() => create("radmin", P1, "sneaky", ["run.services.get", SET_PROJECT_POLICY]), 403, "PERMISSION_DENIED", /resourcemanager\.projects\.setIamPolicy into projects\/proj1\/roles\/sneaky/);
    await refused(() => create("radmin", ORG, "sneaky", ["resourcemanager.organizations.setIamPolicy"]), 403, "PERMISSION_DENIED");
    // A DISABLED role carries its permissions all the same: refused too.
    await refused(() => create("radmin", P1, "sneaky", [SET_PROJECT_POLICY], { stage: "DISABLED" }), 403, "PERMISSION_DENIED");
    expect((await create("radmin", P1, "runReader", [PASSAGE, "run.services.get"])).status).toBe(201);
    expect((await create("owner", P1, "sneaky", [SET_PROJECT_POLICY])).status).toBe(201); // control: the owner holds it
  });

  it("adding a permission one lacks to a role others hold: refused; one one holds: allowed, and granted at once", async () => {
    await refused(() => patch("radmin", "projects/proj1/roles/shared", { includedPermissions: ["run.services.get", SET_PROJECT_POLICY] }), 403, "PERMISSION_DENIED");
    expect(k.holds("user:bob@acme.test", "run.services.update", P1)).toBe(false);
    expect((await patch("radmin", "projects/proj1/roles/shared", { includedPermissions: ["run.services.get", "run.services.update"] })).status).toBe(200);
    expect(k.holds("user:bob@acme.test", "run.services.update", P1)).toBe(true);
    expect(await permissionsOf("projects/proj1/roles/shared")).toEqual(["run.services.get", "run.services.update"]);
  });

  it("a permission held on the role's parent but denied where the role is bound: refused there; elsewhere allowed", async () => {
    // radmin holds compute.instances.delete on the organization, but a deny rule takes it away on p2, where orgwide is bound.
    expect(k.holds("user:radmin@acme.test", "compute.instances.delete", ORG)).toBe(true);
    await refused(() => patch("radmin", "organizations/1/roles/orgwide", { includedPermissions: ["compute.instances.get", "compute.instances.delete"] }), 403, "PERMISSION_DENIED", /bound on projects\/proj2/);
    expect((await patch("radmin", "organizations/1/roles/orgwide", { includedPermissions: ["compute.instances.get", "compute.instances.update"] })).status).toBe(200);
  });

  it("adding passage to a role bound to oneself (through a group): refused; to a role bound to others: allowed", async () => {
    await refused(() => patch("radmin", "projects/proj1/roles/mine", { includedPermissions: ["run.services.get", PASSAGE] }), 403, "PERMISSION_DENIED", /include you/);
    expect((await patch("radmin", "projects/proj1/roles/shared", { includedPermissions: ["run.services.get", "run.services.update", PASSAGE] })).status).toBe(200);
  });

  it("undeleting a role that grants more than one holds: refused; the owner undeleting it: allowed", async () => {
    expect((await k.api("owner", "DELETE", role("projects/proj1/roles/big"))).status).toBe(200);
    expect(k.holds("user:bob@acme.test", SET_PROJECT_POLICY, P1)).toBe(false);
    await refused(() => k.api("radmin", "POST", `${role("projects/proj1/roles/big")}:undelete`, {}), 403, "PERMISSION_DENIED");
    // Nor by re-creating it under its old name (it keeps it), nor by editing it first.
    await refused(() => create("radmin", P1, "big", ["run.services.get"]), 409, "ALREADY_EXISTS", /undelete/);
    await refused(() => patch("radmin", "projects/proj1/roles/big", { includedPermissions: ["run.services.get"] }), 409, "FAILED_PRECONDITION");
    expect((await k.api("owner", "POST", `${role("projects/proj1/roles/big")}:undelete`, {})).status).toBe(200);
    expect(k.holds("user:bob@acme.test", SET_PROJECT_POLICY, P1)).toBe(true);
  });

  it("re-enabling a DISABLED role that grants more than one holds: refused; the owner re-enabling it: allowed", async () => {
    expect(k.holds("user:viewer@acme.test", SET_PROJECT_POLICY, P1)).toBe(false);
    await refused(() => patch("radmin", "projects/proj1/roles/dormant", { stage: "GA" }), 403, "PERMISSION_DENIED");
    await refused(() => patch("radmin", "projects/proj1/roles/dormant", { stage: "GA", includedPermissions: ["run.services.get"] }, "stage"), 403, "PERMISSION_DENIED");
    expect((await patch("owner", "projects/proj1/roles/dormant", { stage: "GA" })).status).toBe(200);
    expect(k.holds("user:viewer@acme.test", SET_PROJECT_POLICY, P1)).toBe(true);
  });

  it("a role cannot be renamed or its deletion flag patched", async () => {
    await refused(() => patch("radmin", "projects/proj1/roles/shared", { name: "projects/proj1/roles/big", title: "x" }), 400, "INVALID_ARGUMENT", /rename/);
    await refused(() => patch("radmin", "projects/proj1/roles/shared", { deleted: true }), 400, "INVALID_ARGUMENT");
  });
});
