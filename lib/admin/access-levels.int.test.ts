// Access levels over HTTP against a real PostgreSQL and the live engine: Access Context Manager's
// shapes, instance-wide authorisation (a missing level refused like a hidden one), every validation
// error a 400 with nothing written (CEL, CIDRs, members, regions, required levels, cycles), and the
// decision on deleting a level something still names: refused, the references listed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, startAdminTestStack, type AdminTestStack, type ApiAnswer } from "@/lib/test/admin-stack";

const POLICY = "accessPolicies/1";
const CORP = `${POLICY}/accessLevels/corp`;
const BLOCKED = `${POLICY}/accessLevels/blocked`;
const NEEDS = `${POLICY}/accessLevels/needs`;
const BASE = `/api/v1/${POLICY}/accessLevels`;

const USERS = ["owner", "half", "reader", "bob"];
const WORLD = {
  organizations: [
    { id: "1", domain: "acme.test" },
    { id: "2", domain: "other.test" },
  ],
  projects: [{ id: "proj1", number: "4242", parent: "organizations/1" }],
  users: USERS.map((u) => ({ email: `${u}@acme.test` })),
  accessLevels: [
    { name: CORP, title: "Corp", basic: { conditions: [{ ipSubnetworks: ["10.0.0.0/8"] }] } },
    { name: BLOCKED, title: "Blocked", custom: { expr: { expression: "origin.region_code == 'KP'" } } },
    { name: NEEDS, title: "Needs corp", basic: { conditions: [{ requiredAccessLevels: [CORP], regions: ["DE"] }] } },
  ],
  policies: [
    // owner: instance-wide (every organization); half: one of two; reader: reads everywhere.
    { resource: "organizations/1", bindings: [{ role: "roles/owner", members: ["user:owner@acme.test", "user:half@acme.test"] }, { role: "roles/viewer", members: ["user:reader@acme.test"] }] },
    { resource: "organizations/2", bindings: [{ role: "roles/owner", members: ["user:owner@acme.test"] }, { role: "roles/viewer", members: ["user:reader@acme.test"] }] },
    {
      resource: "projects/proj1",
      bindings: [{ role: "roles/run.invoker", members: ["user:bob@acme.test"], condition: { title: "On the corp network", expression: `'${CORP}' in request.auth.access_levels` } }],
    },
  ],
  denyPolicies: [
    {
      attachedTo: "projects/proj1",
      name: "no-blocked",
      rules: [{ deniedPrincipals: ["allUsers"], deniedPermissions: ["run.routes.invoke"], denialCondition: { title: "Blocked regions", expression: `'${BLOCKED}' in request.auth.access_levels` } }],
    },
  ],
};

let k: AdminTestStack;
beforeAll(async () => {
  k = await startAdminTestStack(WORLD, USERS);
});
afterAll(async () => {
  await k?.close();
});

const rows = () => k.t.prisma.accessLevel.findMany({ orderBy: { name: "asc" }, omit: { createdAt: true, updatedAt: true } });
const refused = (fn: () => Promise<ApiAnswer>, status: number, code: string, says?: string | RegExp) => k.refused(rows, fn, status, code, says);
const oneRecord = (fn: () => Promise<ApiAnswer>, status: number) => k.oneRecord(fn, status);
const level = (name: string) => `/api/v1/${name}`;
const inEngine = (name: string) => k.stack.ctx.engine.current().snapshot.accessLevels.get(name);

describe("access levels: create, get, list, patch, delete", () => {
  it("creates basic and custom levels in Access Context Manager's shape; one record each; the engine has them", async () => {
    const home = { name: `${POLICY}/accessLevels/home`, title: "Home", description: "From home", basic: { combiningFunction: "OR", conditions: [{ regions: ["DE", "FR"] }, { members: ["user:Bob@acme.test"], negate: true }] } };
    const { r, audit } = await oneRecord(() => k.api("owner", "POST", BASE, home), 201);
    expect(r.body).toEqual({ ...home, basic: { combiningFunction: "OR", conditions: [{ regions: ["DE", "FR"] }, { members: ["user:bob@acme.test"], negate: true }] } });
    expect(audit).toMatchObject({ methodName: "CreateAccessLevel", serviceName: "accesscontextmanager.googleapis.com", resourceName: home.name, actor: "owner@acme.test", response: { after: { title: "Home" } } });
    expect(inEngine(home.name)).toMatchObject({ title: "Home" });
    const office = { name: `${POLICY}/accessLevels/office`, custom: { expr: { expression: "inIpRange(origin.ip, '192.168.0.0/16')" } } };
    expect((await oneRecord(() => k.api("owner", "POST", BASE, office), 201)).r.body).toEqual({ ...office, title: "", description: "" });
    expect((await k.api("reader", "GET", level(home.name))).body).toEqual(r.body);
  });

  it("lists one access policy's levels, or all with '-', paged and filtered", async () => {
    expect((await k.api("owner", "POST", "/api/v1/accessPolicies/2/accessLevels", { name: "accessPolicies/2/accessLevels/other", basic: { conditions: [{ ipSubnetworks: ["2001:db8::/32"] }] } })).status).toBe(201);
    const names = (r: ApiAnswer) => (r.body.accessLevels as { name: string }[]).map((l) => l.name);
    const first = await k.api("reader", "GET", `${BASE}?pageSize=3`);
    expect(names(first)).toEqual([BLOCKED, CORP, `${POLICY}/accessLevels/home`]);
    expect(names(await k.api("reader", "GET", `${BASE}?pageSize=3&pageToken=${first.body.nextPageToken as string}`))).toEqual([NEEDS, `${POLICY}/accessLevels/office`]);
    expect(names(await k.api("reader", "GET", "/api/v1/accessPolicies/-/accessLevels?filter=OTHER"))).toEqual(["accessPolicies/2/accessLevels/other"]);
  });

  it("patches with an updateMask; one record with before and after; basic can become custom", async () => {
    const { r, audit } = await oneRecord(() => k.api("owner", "PATCH", `${level(`${POLICY}/accessLevels/home`)}?updateMask=title`, { title: "Home office", description: "ignored" }), 200);
    expect(r.body).toMatchObject({ title: "Home office", description: "From home" });
    expect(audit).toMatchObject({ methodName: "UpdateAccessLevel", request: { updateMask: ["title"] }, response: { before: { title: "Home" }, after: { title: "Home office" } } });
    const custom = await k.api("owner", "PATCH", level(`${POLICY}/accessLevels/home`), { custom: { expr: { expression: "origin.region_code == 'DE'" } } });
    expect(custom.status, JSON.stringify(custom.body)).toBe(200);
    expect(custom.body).toEqual({ name: `${POLICY}/accessLevels/home`, title: "Home office", description: "From home", custom: { expr: { expression: "origin.region_code == 'DE'" } } });
    expect(inEngine(`${POLICY}/accessLevels/home`)).toMatchObject({ custom: { expr: { expression: "origin.region_code == 'DE'" } } });
    await k.changesNothing(async () => expect((await k.api("owner", "PATCH", level(`${POLICY}/accessLevels/home`), { title: "Home office" })).status).toBe(200), rows);
  });

  it("deletes a level nothing names; one record", async () => {
    const { audit } = await oneRecord(() => k.api("owner", "DELETE", level(`${POLICY}/accessLevels/office`)), 200);
    expect(audit).toMatchObject({ methodName: "DeleteAccessLevel", resourceName: `${POLICY}/accessLevels/office` });
    expect(inEngine(`${POLICY}/accessLevels/office`)).toBeUndefined();
    await refused(() => k.api("owner", "DELETE", level(`${POLICY}/accessLevels/office`)), 404, "NOT_FOUND");
  });
});

describe("validation: every error is a 400 naming the field, and nothing is written", () => {
  it("refuses bad levels", async () => {
    const n = `${POLICY}/accessLevels/bad`;
    for (const [body, field] of [
      [{ name: n, basic: { conditions: [{ ipSubnetworks: ["10.0.0.0/33"] }] } }, "basic.conditions[0].ipSubnetworks[0]"],
      [{ name: n, basic: { conditions: [{ ipSubnetworks: ["not-an-ip"] }] } }, "basic.conditions[0].ipSubnetworks[0]"],
      [{ name: n, basic: { conditions: [{ regions: ["de"] }] } }, "basic.conditions.0.regions.0"],
      [{ name: n, basic: { conditions: [{ members: ["group:eng@acme.test"] }] } }, "basic.conditions.0.members.0"],
      [{ name: n, basic: { conditions: [{}] } }, "basic.conditions[0]"],
      [{ name: n, basic: { conditions: [] } }, "basic.conditions"],
      [{ name: n, basic: { conditions: [{ requiredAccessLevels: [`${POLICY}/accessLevels/nosuch`] }] } }, "basic.conditions[0].requiredAccessLevels[0]"],
      [{ name: n, basic: { conditions: [{ requiredAccessLevels: ["accessPolicies/2/accessLevels/other"] }] } }, "basic.conditions[0].requiredAccessLevels[0]"],
      [{ name: n, basic: { conditions: [{ requiredAccessLevels: [n] }] } }, "basic.conditions[0].requiredAccessLevels[0]"],
      [{ name: n, basic: { conditions: [{ requiredAccessLevels: ["corp"] }] } }, "basic.conditions.0.requiredAccessLevels.0"],
      [{ name: n, custom: { expr: { expression: "origin.ip ==" } } }, "custom.expr.expression"],
      [{ name: n, custom: { expr: { expression: "request.nothing == 1" } } }, "custom.expr.expression"],
      [{ name: n, custom: { expr: { expression: "true", title: "x" } } }, "custom.expr"],
      [{ name: n, basic: { conditions: [{ regions: ["DE"] }] }, custom: { expr: { expression: "true" } } }, ""],
      [{ name: n }, ""],
      [{ name: "accessPolicies/2/accessLevels/bad", basic: { conditions: [{ regions: ["DE"] }] } }, "name"],
      [{ name: "accessPolicies/1/accessLevels/bad-name", basic: { conditions: [{ regions: ["DE"] }] } }, "name"],
      [{ name: n, basic: { conditions: [{ regions: ["DE"] }] }, devicePolicy: {} }, ""],
    ] as const) {
      const r = await refused(() => k.api("owner", "POST", BASE, body), 400, "INVALID_ARGUMENT");
      expect(JSON.stringify(r.body.error), JSON.stringify(body)).toContain(field);
    }
    await refused(() => k.api("owner", "POST", BASE, { name: CORP, basic: { conditions: [{ regions: ["DE"] }] } }), 409, "ALREADY_EXISTS");
    await refused(() => k.api("owner", "PATCH", level(CORP), { name: BLOCKED }), 400, "INVALID_ARGUMENT");
    await refused(() => k.api("owner", "PATCH", `${level(CORP)}?updateMask=devicePolicy`, {}), 400, "INVALID_ARGUMENT", /updateMask/);
    await refused(() => k.api("owner", "PATCH", `${level(CORP)}?updateMask=basic`, {}), 400, "INVALID_ARGUMENT");
    await refused(() => k.api("owner", "GET", "/api/v1/accessPolicies/1/accessLevels/bad-name"), 400, "INVALID_ARGUMENT");
  });

  it("refuses a requirement cycle, directly or through other levels", async () => {
    // needs → corp; corp → needs would close it.
    await refused(() => k.api("owner", "PATCH", level(CORP), { basic: { conditions: [{ requiredAccessLevels: [NEEDS] }] } }), 400, "INVALID_ARGUMENT", new RegExp(`cycle: ${CORP} → ${NEEDS} → ${CORP}`));
    expect((await k.api("owner", "POST", BASE, { name: `${POLICY}/accessLevels/outer`, basic: { conditions: [{ requiredAccessLevels: [NEEDS] }] } })).status).toBe(201);
    await refused(() => k.api("owner", "PATCH", level(CORP), { basic: { conditions: [{ requiredAccessLevels: [`${POLICY}/accessLevels/outer`] }] } }), 400, "INVALID_ARGUMENT", /cycle/);
    expect((await k.api("owner", "DELETE", level(`${POLICY}/accessLevels/outer`))).status).toBe(200);
  });
});

describe("authorisation: instance-wide; a missing level is refused like a hidden one", () => {
  it("answers 403 with the same words (but the name) to a caller without the permission, 404 to one with it", async () => {
    const hidden = await k.api("half", "GET", level(CORP));
    const missing = await k.api("half", "GET", level(`${POLICY}/accessLevels/nosuch`));
    expectError(hidden, 403, "PERMISSION_DENIED");
    expectError(missing, 403, "PERMISSION_DENIED");
    expect(missing.body.error!.message).toBe(hidden.body.error!.message.replace("/corp", "/nosuch"));
    expectError(await k.api("owner", "GET", level(`${POLICY}/accessLevels/nosuch`)), 404, "NOT_FOUND");
    expectError(await k.api("half", "GET", BASE), 403, "PERMISSION_DENIED");
    for (const who of ["half", "reader", "bob"]) {
      await refused(() => k.api(who, "POST", BASE, { name: `${POLICY}/accessLevels/mine`, basic: { conditions: [{ regions: ["DE"] }] } }), 403, "PERMISSION_DENIED");
      await refused(() => k.api(who, "PATCH", level(CORP), { title: "x" }), 403, "PERMISSION_DENIED");
      await refused(() => k.api(who, "PATCH", level(`${POLICY}/accessLevels/nosuch`), { title: "x" }), 403, "PERMISSION_DENIED");
      await refused(() => k.api(who, "DELETE", level(`${POLICY}/accessLevels/home`)), 403, "PERMISSION_DENIED");
    }
  });
});

describe("deleting a level something still names is refused, with the references", () => {
  it("names the bindings, deny rules and levels that reference it; a longer name sharing its prefix does not count", async () => {
    const corp = await refused(() => k.api("owner", "DELETE", level(CORP)), 409, "FAILED_PRECONDITION");
    expect(corp.body.error!.message).toContain(`access level ${NEEDS}`);
    expect(corp.body.error!.message).toContain('the condition "On the corp network" of roles/run.invoker on projects/proj1');
    const blocked = await refused(() => k.api("owner", "DELETE", level(BLOCKED)), 409, "FAILED_PRECONDITION");
    expect(blocked.body.error!.message).toContain("rules[0] of deny policy policies/cloudresourcemanager.googleapis.com%2Fprojects%2Fproj1/denypolicies/no-blocked");
    // needs now requires corp2 instead, and the binding's condition names corp2: corp's name is a
    // prefix of corp2's, which is not a reference to corp.
    expect((await k.api("owner", "POST", BASE, { name: `${CORP}2`, basic: { conditions: [{ regions: ["DE"] }] } })).status).toBe(201);
    expect((await k.api("owner", "PATCH", level(NEEDS), { basic: { conditions: [{ requiredAccessLevels: [`${CORP}2`] }] } })).status).toBe(200);
    await refused(() => k.api("owner", "DELETE", level(CORP)), 409, "FAILED_PRECONDITION", /On the corp network/);
    const p = (await k.api("owner", "POST", "/api/v1/projects/proj1:getIamPolicy", { options: { requestedPolicyVersion: 3 } })).body as { etag: string };
    const condition = { title: "On the corp network", expression: `'${CORP}2' in request.auth.access_levels` };
    expect((await k.api("owner", "POST", "/api/v1/projects/proj1:setIamPolicy", { policy: { version: 3, etag: p.etag, bindings: [{ role: "roles/run.invoker", members: ["user:bob@acme.test"], condition }] } })).status).toBe(200);
    const corp2 = await refused(() => k.api("owner", "DELETE", level(`${CORP}2`)), 409, "FAILED_PRECONDITION");
    expect(corp2.body.error!.message).toContain(`access level ${NEEDS}`);
    expect(corp2.body.error!.message).toContain("On the corp network");
    expect((await k.api("owner", "DELETE", level(CORP))).status).toBe(200);
  });
});
